"""Yes/no questions: "Ja" or "Nej" with the sentence that settles it, else "Dokumenten säger
inte det uttryckligen" with the nearest evidence.

These are settled from the extracted facts:

- membership: "Ingår brandförsvaret i Haninges överenskommelse?", "Skrev polisen under …?".
  Ja when the document names a party of that kind; Nej only when it also states its parties
  in one sentence ("… mellan Haninge kommun och lokalpolisområde Haninge …") and no sentence
  about the agreement names that kind of party: mere absence is no "Nej".
- validity: "Gäller avtalet fortfarande/2026?": the stated period against the year asked
  for, or today.
- signing: "Är avtalet undertecknat?": Ja with the sentence that dates it.
- existence: "Har Kalix ett samverkansavtal?", "Omfattar Kalix avtal narkotika?": a document
  about the municipality that is an agreement (a topic asked about, "… om narkotika?", must be
  one of its priority areas or stated in one of its sentences).

Any other yes/no question is answered from passages; its lead is "Ja" only when a quoted
sentence holds every content word of the question and no negation (`passage_lead`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from samverkan_qa.answers.analysis import Analysis, fold, lexicon, without_frame_words
from samverkan_qa.answers.evidence import is_heading, is_title, plain, without_places
from samverkan_qa.answers.facts import (
    Cited,
    FactAnswer,
    Part,
    candidates,
    field_facts,
    list_intro,
    sentence_around,
)
from samverkan_qa.catalog import is_agreement
from samverkan_qa.documents import Document
from samverkan_qa.ranking import coverage, question_words, split_sentences

YES, NO, UNSETTLED = "yes", "no", "unsettled"
_LIST_REACH = 1500  # an item this far after its list's intro still reads with it
_LEADS = {
    False: {YES: "Ja.", NO: "Nej.", UNSETTLED: "Dokumenten säger inte det uttryckligen."},
    True: {YES: "Yes.", NO: "No.", UNSETTLED: "The documents do not say so explicitly."},
}
# A sentence that states who the parties are: "mellan A och B", "A och B har skrivit under".
_LISTING_RE = re.compile(
    r"\b(mellan|skrivit under|skrev under|skriver under|undertecknat|undertecknade|"
    r"undertecknar|tecknat|tecknade|tecknar|ingått|ingick)\b"
)


def lead(verdict: str, english: bool = False) -> str:
    """What the answer says first: "Ja.", "Nej." or "Dokumenten säger inte det uttryckligen."."""
    return _LEADS[english][verdict]


def verdict_of(answer: FactAnswer) -> str:
    """The verdict a yes/no fact answer gives (its first part's lead)."""
    first = answer.parts[0].lead
    return next((v for leads in _LEADS.values() for v, text in leads.items() if text == first), "")


def yes_no(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str], today: date
) -> FactAnswer | None:
    """The Ja/Nej the facts give to a yes/no question, or None (answer from passages)."""
    if analysis.kind != "yesno":
        return None
    words = _cues()
    folded = " ".join(analysis.words)
    agreement = _mentions_agreement(folded)
    if analysis.party_kinds and (agreement or _has(folded, words["membership"])):
        return _membership(analysis, documents, ranked)
    asks_when = analysis.years or _has(folded, words["now"])
    if _has(folded, words["validity"]) and asks_when:
        return _validity(analysis, documents, ranked, today)
    if agreement and _has(folded, words["signed"]):
        return _signed_when(analysis, documents, ranked)
    asks_what = _has(folded, words["existence"]) or _has(folded, words["covers"])
    if agreement and asks_what and analysis.municipalities:
        return _existence(analysis, documents, ranked)
    return None


# --- membership ---------------------------------------------------------------------------


def _membership(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    one = replace(analysis, kind="list", field="parties")
    docs = candidates(one, documents, ranked, "parties")  # without a place: those found
    for doc in docs:
        named = _party_sentence(doc, analysis.party_kinds)
        if named is not None:
            return _answer(analysis, YES, doc, named)
        listing = _listing_sentence(doc)
        if listing is not None:
            return _answer(analysis, NO, doc, listing)
    return None


def _party_sentence(doc: Document, kinds: Sequence[str]) -> tuple[int, int] | None:
    """The sentence naming a party of each kind asked for, one about the agreement first;
    None when the document names no party of one of those kinds."""
    stated: dict[str, tuple[int, int]] = {}  # kind -> the first sentence naming such a party
    for f in field_facts(doc, "parties"):
        assert f.start is not None and f.end is not None
        span = sentence_around(doc.text, f.start, f.end)
        if isinstance(f.value, Mapping) and not _negated(doc.text[span[0] : span[1]]):
            stated.setdefault(str(f.value.get("kind")), span)
    about_agreement = [
        (s, e)
        for s, e in _sentences(doc)
        if _mentions_agreement(fold(doc.text[s:e]))
        and not _negated(doc.text[s:e])  # "… ingår inte i avtalet" is no Ja
        and all(_names_kind(doc, s, e, k) for k in kinds)
    ]
    if about_agreement:
        return about_agreement[0]
    if not all(k in stated for k in kinds):
        return None
    return stated[kinds[0]]


def _names_kind(doc: Document, start: int, end: int, kind: str) -> bool:
    """The sentence names a party of this kind: an extracted party inside it, or a word
    for that kind ("Brandförsvaret", "polisen")."""
    for f in field_facts(doc, "parties"):
        inside = f.start is not None and start <= f.start and (f.end or 0) <= end
        if inside and isinstance(f.value, Mapping) and f.value.get("kind") == kind:
            return True
    said = fold(doc.text[start:end])
    if kind == "kommun":
        return "kommun" in said
    return _has_word_start(said, lexicon()["party_kinds"].get(kind, ()))


def _listing_sentence(doc: Document) -> tuple[int, int] | None:
    """A sentence that states the agreement's parties: it names the agreement, two or more
    kinds of party, and says "mellan" or who signed. "mellan" first."""
    found = []
    for s, e in _sentences(doc):
        text = fold(doc.text[s:e])
        m = _LISTING_RE.search(text)
        if not (m and _mentions_agreement(text)):
            continue
        kinds = {k for k in (*lexicon()["party_kinds"], "kommun") if _names_kind(doc, s, e, k)}
        if len(kinds) >= 2:
            found.append((m.group(1) != "mellan", s, e))
    if not found:
        return None
    _, s, e = min(found)
    return s, e


# --- validity -----------------------------------------------------------------------------


def _validity(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str], today: date
) -> FactAnswer | None:
    """Ja when a stated period covers the year asked for (or today); Nej when the periods
    stated end before it or start after it. With a municipality named, any of its
    agreements may cover it; else the best-matching document's period decides."""
    lo, hi = _asked_span(analysis, today)
    one = replace(analysis, kind="period", field="validity", years=())
    docs = candidates(one, documents, ranked, "validity")
    if not analysis.municipalities:
        docs = docs[:1]
    periods = [(doc, f, span) for doc in docs for f in field_facts(doc, "validity")[:1]
               if (span := _period(doc, f.value)) is not None]  # fmt: skip
    if not periods:
        return None
    for doc, fact, (p_lo, p_hi) in periods:
        if p_lo <= hi and p_hi >= lo:
            return _answer(analysis, YES, doc, _fact_sentence(doc, fact))
    doc, fact, _ = max(periods, key=lambda p: p[2][1])  # the latest period stated
    return _answer(analysis, NO, doc, _fact_sentence(doc, fact))


def _asked_span(analysis: Analysis, today: date) -> tuple[date, date]:
    if analysis.years:
        return date(min(analysis.years), 1, 1), date(max(analysis.years), 12, 31)
    return today, today


def _period(doc: Document, value: Any) -> tuple[date, date] | None:
    """A validity fact's first and last day; an open start is its signing date (or the
    document's own earliest date), an open end is open."""
    if not isinstance(value, Mapping):
        return None
    start = _day(value.get("from"), upper=False) or _signed(doc)
    end = _day(value.get("to"), upper=True) or (date.max if start else None)
    if start is None or end is None:
        return None
    return start, end


def _signed(doc: Document) -> date | None:
    found = [
        _day(str(f.value.get("date")), upper=False)
        for f in field_facts(doc, "signed")
        if isinstance(f.value, Mapping)
    ]
    return min((d for d in found if d), default=None)


def _day(point: Any, upper: bool) -> date | None:
    text = str(point or "")
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 12, 31) if upper else date(int(text), 1, 1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _fact_sentence(doc: Document, fact: Any) -> tuple[int, int]:
    return sentence_around(doc.text, fact.start, fact.end)


def _signed_when(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    """ "Är avtalet undertecknat?": Ja with the sentence stating when. "Skrevs avtalet under
    2015?": Ja when it was signed that year, Nej when its signing date is another year's;
    None without a signing date."""
    one = replace(analysis, kind="date", field="signed")
    docs = candidates(one, documents, ranked, "signed")
    if not analysis.municipalities:
        docs = docs[:1]
    for doc in docs:
        for fact in field_facts(doc, "signed"):
            year = str(fact.value.get("date", ""))[:4] if isinstance(fact.value, Mapping) else ""
            if not analysis.years or (year.isdigit() and int(year) in analysis.years):
                return _answer(analysis, YES, doc, _fact_sentence(doc, fact))
    if not docs:
        return None
    return _answer(
        analysis, NO, docs[0], _fact_sentence(docs[0], field_facts(docs[0], "signed")[0])
    )


# --- existence ----------------------------------------------------------------------------


def _existence(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    """Ja when a document about the municipality is an agreement (and holds the topic asked
    about); None otherwise: no document is no "Nej"."""
    named = {m.casefold() for m in analysis.municipalities}
    order = {doc_id: i for i, doc_id in enumerate(ranked)}
    docs = sorted(
        (d for d in documents if is_agreement(d) and _about(d, named)),
        key=lambda d: order.get(d.doc_id, len(order)),
    )
    topic = _topic_words(analysis)
    for doc in docs:
        found = _topic_sentence(doc, topic) if topic else _agreement_sentence(doc)
        if found is not None:
            return _answer(analysis, YES, doc, found)
    return None


def _about(doc: Document, named: set[str]) -> bool:
    from samverkan_qa.catalog import municipalities

    return bool(named & {m.casefold() for m in municipalities(doc)})


def _topic_words(analysis: Analysis) -> list[str]:
    """What the question asks about beyond the agreement itself ("… om narkotika?")."""
    cues = _cues()
    skip = set(cues["existence"]) | set(cues["frame"]) | set(lexicon()["english"])
    places = {fold(m) for m in analysis.municipalities}
    out = []
    for word in analysis.words:
        base = word[:-1] if word.endswith("s") and word[:-1] in places else word
        if base in places or word in skip or _mentions_agreement(word) or len(word) < 4:
            continue
        out.append(word)
    return out


def _topic_sentence(doc: Document, topic: list[str]) -> list[tuple[int, int]] | None:
    """A priority area (after its list's intro) or else a sentence holding every topic word
    at a word start."""
    areas = field_facts(doc, "priority_areas")
    # The list's intro sits before its first item ("… tre fokusområden:").
    intro = list_intro(doc.text, areas[0].start or 0) if areas else None
    for f in areas:
        assert f.start is not None and f.end is not None
        if _holds(doc.text[f.start : f.end], topic):
            if intro is None or not 0 <= f.start - intro[1] <= _LIST_REACH:
                return [sentence_around(doc.text, f.start, f.end)]
            return [intro, (f.start, f.end)]
    for s, e in _sentences(doc):
        if _holds(doc.text[s:e], topic):
            return [(s, e)]
    return None


def _holds(text: str, topic: list[str]) -> bool:
    folded = fold(text)
    return all(re.search(rf"(?<!\w){re.escape(w[:6])}", folded) for w in topic)


def _agreement_sentence(doc: Document) -> tuple[int, int] | None:
    """The sentence that states the agreement: who made it, or its period."""
    listing = _listing_sentence(doc)
    if listing is not None:
        return listing
    facts = field_facts(doc, "validity")
    return _fact_sentence(doc, facts[0]) if facts else None


# --- from passages ------------------------------------------------------------------------


def passage_lead(analysis: Analysis, quotes: Sequence[str], analyzer: Any) -> str:
    """The verdict quoted sentences give: YES when one holds every content word of the
    question (places and framing words aside) and no negation the question lacks; else
    UNSETTLED (a passage never makes a "Nej": absence is no answer)."""
    question = without_frame_words(without_places(analysis.question, analysis.municipalities))
    question = _without_verbs(question)
    words = question_words(question, analyzer)
    folded = question_words(fold(question), analyzer)
    asked = set(analysis.words)
    for quote in quotes:
        if _negated(quote, asked):
            continue
        plain_cov = coverage(words, set(analyzer.analyze(quote)))
        folded_cov = coverage(folded, set(analyzer.analyze(fold(quote))))
        if words and max(plain_cov, folded_cov) >= 1.0:
            return YES
    return UNSETTLED


def _without_verbs(question: str) -> str:
    """The question minus the verbs that only pose it ("Måste …", "Ingår …", "Finns det …"):
    "Kommuner ska ta fram en lägesbild" answers "Måste kommunen ta fram en lägesbild?"."""
    cues = _cues()
    verbs = {*cues["modals"], *cues["starts"], *cues["existence"]}
    return "".join(" " if fold(w) in verbs else w for w in re.split(r"(\W+)", question))


# --- shared -------------------------------------------------------------------------------


def _answer(
    analysis: Analysis,
    verdict: str,
    doc: Document,
    spans: tuple[int, int] | list[tuple[int, int]],
) -> FactAnswer:
    """The verdict, then the quoted ranges (a list intro and its item read as one)."""
    ranges = spans if isinstance(spans, list) else [spans]
    said = " ".join(plain(doc.text[s:e]) for s, e in ranges)
    cites = [Cited(doc.doc_id, s, e) for s, e in ranges]
    return FactAnswer([Part(doc, lead(verdict, analysis.english), [said], cites)])


def _negated(text: str, asked: set[str] | frozenset[str] = frozenset()) -> bool:
    """The text holds a negation ("inte", "ej", "aldrig") the question does not."""
    said = set(re.findall(r"\w+", fold(text)))
    return bool((set(_cues()["negations"]) & said) - asked)


def _sentences(doc: Document) -> list[tuple[int, int]]:
    """The document's sentences, titles and headings left out."""
    return [
        (s, e)
        for s, e in split_sentences(doc.text)
        if not is_heading(doc.text, s, e) and not is_title(doc, s, e)
    ]


def _cues() -> dict[str, tuple[str, ...]]:
    return lexicon()["yes_no"]


def _mentions_agreement(folded: str) -> bool:
    """An agreement is named, also inside a compound ("samverkansöverenskommelsen")."""
    return any(noun in folded for noun in _cues()["agreement_nouns"])


def _has(folded: str, cues: Sequence[str]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(c)}(?!\w)", folded) for c in cues)


def _has_word_start(folded: str, cues: Sequence[str]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(c)}", folded) for c in cues)


__all__ = ["NO", "UNSETTLED", "YES", "lead", "passage_lead", "verdict_of", "yes_no"]
