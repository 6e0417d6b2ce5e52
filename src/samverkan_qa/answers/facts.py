"""Answers from one document's extracted facts: the fields, the sentence that states them, the
paragraph of a law by number; the parts that every fact answer is made of.

Every value shown is cited by the offsets it was extracted from. A fact answer is only made
when the facts hold the answer; otherwise the caller answers from passages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from samverkan_qa.answers.analysis import Analysis, fold, lexicon
from samverkan_qa.answers.evidence import after_item_number, is_title
from samverkan_qa.catalog import document_facts, format_value, municipalities
from samverkan_qa.documents import Document
from samverkan_qa.metadata import OWN_DATE_ROLES, Fact, stated_years
from samverkan_qa.ranking import split_sentences

FIELD_LABELS = {
    "priority_areas": "Fokusområden",
    "parties": "Parter",
    "places": "Prioriterade kommundelar",
    "validity": "Giltighet",
    "signed": "Undertecknad",
    "published": "Publicerad",
    "diary_number": "Diarienummer",
    "people": "Person",
}
MAX_SENTENCE = 320  # a longer sentence is not a short answer: cite the value itself


@dataclass(frozen=True)
class Cited:
    """A verbatim range of a document: document.text[start:end]."""

    doc_id: str
    start: int
    end: int


@dataclass
class Part:
    """One piece of a fact answer: `lead` (may be empty), then values each citing `cites`."""

    doc: Document
    lead: str
    values: list[str]
    cites: list[Cited]
    row: dict[str, str] = field(default_factory=dict)
    extra: list[Part] = field(default_factory=list)  # more documents saying the same
    section: str = ""  # the law paragraph quoted ("9 §")


@dataclass
class FactAnswer:
    parts: list[Part]
    table: list[dict[str, str]] = field(default_factory=list)


def names_a_value(analysis: Analysis, docs: Sequence[Document]) -> bool:
    question = " ".join(analysis.words)
    for doc in docs:
        for fact in field_facts(doc, analysis.field):
            if isinstance(fact.value, str) and re.search(
                rf"\b{re.escape(fold(fact.value))}\b", question
            ):
                return True
    return False


def field_facts(doc: Document, name: str) -> list[Fact]:
    """The facts of one field, with text offsets ("signed" = the signing dates)."""
    facts = document_facts(doc)
    if name in ("signed", "published"):
        found = [
            f
            for f in facts.get("dates", [])
            if isinstance(f.value, dict) and f.value.get("role") == name
        ]
    else:
        found = facts.get(name, [])
    return [f for f in found if f.start is not None and f.end is not None]


def candidates(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str], name: str
) -> list[Document]:
    """Documents with facts for `name` about the named municipalities and years, best first."""
    docs = [d for d in documents if field_facts(d, name)]
    if analysis.document_kinds:  # "Hur länge gäller lagen?" asks about a law, not an agreement
        docs = [d for d in docs if document_kinds(d) & set(analysis.document_kinds)]
    order = {doc_id: i for i, doc_id in enumerate(ranked)}
    if analysis.municipalities:
        named = {m.casefold() for m in analysis.municipalities}
        docs = [d for d in docs if named & {m.casefold() for m in municipalities(d)}]
    else:  # a document the search did not find is about something else
        docs = [d for d in docs if d.doc_id in order]
    if analysis.years:  # the documents of the year asked for, those dated by it first
        best = max((year_match(d, analysis.years) for d in docs), default=0)
        docs = [d for d in docs if year_match(d, analysis.years) == best]
    elif analysis.era:  # "det gamla avtalet": the earliest of them, "det senaste" the latest
        docs = of_era(docs, analysis.era)
    return sorted(
        docs,
        key=lambda d: (-named_in(analysis, d), order.get(d.doc_id, len(order)), -_latest(d)),
    )


# Kinds whose year is not the document's: a period asked about, or conditions across documents.
_YEAR_IS_A_CONDITION = frozenset({"aggregate", "comparison", "yesno"})


def year_gap(analysis: Analysis, docs: Sequence[Document]) -> str:
    """Why nothing answers a question about a year (empty when something may): the named
    municipality's documents neither date from nor state that year. Said, rather than
    answered from another year's document."""
    if not (analysis.years and analysis.municipalities and docs):
        return ""
    if analysis.kind in _YEAR_IS_A_CONDITION:
        return ""
    if any(year_match(d, analysis.years) for d in docs):
        return ""
    asked = " och ".join(str(y) for y in analysis.years)
    places = " och ".join(analysis.municipalities)
    have = sorted({min(own_years(d) or stated_years(document_facts(d)) or {0}) for d in docs})
    dated = [str(y) for y in have if y]
    if analysis.english:
        tail = f" (they are from {_joined(dated, 'and')})" if dated else ""
        return f"The documents about {places} say nothing about {asked}{tail}."
    tail = f" (de är från {_joined(dated, 'och')})" if dated else ""
    return f"Dokumenten om {places} säger inget om {asked}{tail}."


def _joined(items: Sequence[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def of_era(docs: Sequence[Document], era: str) -> list[Document]:
    """The documents of the earliest (or latest) year among `docs`; undated ones only when
    none is dated."""
    first = {d.doc_id: min(own_years(d) or stated_years(document_facts(d)) or {0}) for d in docs}
    dated = [d for d in docs if first[d.doc_id]]
    if not dated:
        return list(docs)
    pick = min if era == "earliest" else max
    year = pick(first[d.doc_id] for d in dated)
    return [d for d in dated if first[d.doc_id] == year]


def own_years(doc: Document) -> set[int]:
    """The years a document is of: its own dates (published, signed, decided, dated, or the
    year its file name carries) and the years of its first period, the one it is about."""
    facts = document_facts(doc)
    years = {
        int(str(f.value["date"])[:4])
        for f in facts.get("dates", [])
        if isinstance(f.value, Mapping)
        and f.value.get("role") in OWN_DATE_ROLES
        and re.match(r"\d{4}", str(f.value.get("date", "")))
    }
    for f in facts.get("validity", [])[:1]:
        value: Any = f.value
        if isinstance(value, Mapping):
            lo = value.get("from") or (str(min(years)) if years else None) or value.get("to")
            hi = value.get("to") or value.get("from")
            if lo and hi:
                years.update(range(int(str(lo)[:4]), int(str(hi)[:4]) + 1))
    return years


def year_match(doc: Document, years: Sequence[int]) -> int:
    """2: the document is of a year asked for (own_years); 1: it states one (a period or date
    it mentions, "avtalet för perioden 2015–2018" in a decision of 2020); 0: neither."""
    if set(years) & own_years(doc):
        return 2
    return 1 if set(years) & stated_years(document_facts(doc)) else 0


_GENERIC_NAME_WORDS = frozenset({"kommun", "kommuns", "polismyndigheten", "lokalpolisomrade"})


def named_in(analysis: Analysis, doc: Document) -> int:
    """How many of the question's words name this document's own things: its parties,
    people or kind of agreement ("Huges", "huvudavtal", "tjänsteutlåtandet")."""
    words = {base_word(w) for w in analysis.words if len(w) > 3}
    names: set[str] = set()
    facts = document_facts(doc)
    for f in facts.get("parties", []) + facts.get("people", []):
        value: Any = f.value
        if isinstance(value, Mapping):
            names.update(base_word(w) for w in fold(str(value.get("name", ""))).split())
    for f in facts.get("validity", []):
        value = f.value
        if isinstance(value, Mapping) and value.get("noun"):
            names.add(base_word(fold(str(value["noun"]))))
    for f in facts.get("doc_type", []):
        names.add(base_word(fold(str(f.value))))
    distinctive = {base_word(n) for n in lexicon()["distinctive_nouns"]}
    names = {n for n in names if len(n) > 3 and n not in _GENERIC_NAME_WORDS}
    names -= {base_word(fold(m)) for m in municipalities(doc)} - distinctive
    return len(words & names)


def base_word(word: str) -> str:
    """A word without Swedish genitive or definite endings, for name matching."""
    for ending in ("ens", "ets", "en", "et", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _named_first(analysis: Analysis, facts: list[Fact]) -> list[Fact]:
    """Validity facts whose noun the question names ("huvudavtalet") first."""
    words = {base_word(w) for w in analysis.words}

    def named(f: Fact) -> bool:
        value: Any = f.value
        noun = value.get("noun") if isinstance(value, Mapping) else None
        return bool(noun) and base_word(fold(str(noun))) in words

    return sorted(facts, key=lambda f: not named(f))


def _latest(doc: Document) -> int:
    return max(stated_years(document_facts(doc)), default=0)


def field_part(analysis: Analysis, doc: Document, name: str) -> Part:
    facts = field_facts(doc, name)
    if name == "validity" and re.search(r"\b(fran|from|sedan)\b", " ".join(analysis.words)):
        facts = [f for f in facts if isinstance(f.value, dict) and f.value.get("from")] or facts
    if name == "validity":
        facts = _named_first(analysis, facts)
    if name in ("signed", "published", "validity"):
        return sentence_part(doc, facts[0], name)
    if name == "diary_number":
        return values_part(doc, name, facts[:1])
    if analysis.kind == "count":
        part = values_part(doc, name, facts)
        part.lead = f"{len(unique(part.values))} st. {FIELD_LABELS[name].lower()}"
        return part
    return _list_part(doc, name, facts)


def sentence_part(doc: Document, fact: Fact, name: str) -> Part:
    """The sentence that states the fact, quoted whole when it is short."""
    assert fact.start is not None and fact.end is not None
    start, end = sentence_around(doc.text, fact.start, fact.end)
    multiline = "\n" in doc.text[fact.start : fact.end]
    if end - start > MAX_SENTENCE or multiline or is_title(doc, start, end):
        return values_part(doc, name, [fact])
    return Part(doc, "", [doc.text[start:end]], [Cited(doc.doc_id, start, end)])


def _list_part(doc: Document, name: str, facts: list[Fact]) -> Part:
    """Listed values: one short sentence naming them all is quoted whole; otherwise each
    value is quoted on its own."""
    first = min(f.start for f in facts if f.start is not None)
    last = max(f.end for f in facts if f.end is not None)
    start, end = sentence_around(doc.text, first, first + 1)
    if end >= last and end - start <= MAX_SENTENCE and name != "parties":
        return Part(doc, "", [doc.text[start:end]], [Cited(doc.doc_id, start, end)])
    part = values_part(doc, name, facts)
    intro = list_intro(doc.text, first)
    if intro is not None:  # "Överenskommelsen anger fyra fokusområden …:" leads the list
        part.lead = " ".join(doc.text[intro[0] : intro[1]].split()).rstrip(":").rstrip()
        part.cites.insert(0, Cited(doc.doc_id, *intro))
    return part


_MARKER_RE = re.compile(r"[\s•\-–*·▪●◦]*(?:\d{1,2}[.)])?[\s]*$")


def list_intro(text: str, first: int) -> tuple[int, int] | None:
    """The sentence ending in ":" right before the first list item, if short."""
    before = _MARKER_RE.sub("", text[max(0, first - MAX_SENTENCE) : first])
    if not before.endswith(":"):
        return None
    colon = max(0, first - MAX_SENTENCE) + len(before) - 1
    start, end = sentence_around(text, colon, colon + 1)
    if end - start > MAX_SENTENCE or end > first:
        return None
    return start, end


def values_part(doc: Document, name: str, facts: list[Fact]) -> Part:
    values, cites = [], []
    for f in facts:
        if name in ("signed", "published") and isinstance(f.value, Mapping):
            value = str(f.value.get("date"))  # the label already says which date
        else:
            value = format_value(name, f.value)
        if value in values:
            continue
        values.append(value)
        cites.append(Cited(doc.doc_id, f.start or 0, f.end or 0))
    return Part(doc, FIELD_LABELS.get(name, name), values, cites)


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence of `text` holding [start, end), found within its paragraph."""
    lo = max(0, text.rfind("\n\n", max(0, start - 1500), start))
    hi = text.find("\n\n", end, end + 1500)
    hi = len(text) if hi < 0 else hi
    best = (start, end)
    for s, e in split_sentences(text[lo:hi]):
        if lo + s <= start < lo + e:
            begin = after_item_number(text, lo + s, lo + e)
            best = (begin if begin <= start else lo + s, max(lo + e, end))
            break
    return best


def unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def about(doc: Document, named: Sequence[str]) -> bool:
    """False only when the question names municipalities and the document is about others."""
    places = {m.casefold() for m in municipalities(doc)}
    if not named or not places:
        return True
    return bool(places & {n.casefold() for n in named})


# ---------------------------------------------------------------------------------------------
# A law's paragraph by number
# ---------------------------------------------------------------------------------------------

MAX_SECTION = 600


def section_part(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> Part | None:
    """ "Vad säger 9 §?": the paragraph under that heading, quoted from its first sentence
    (the law the question names, or the best-ranked one that has the paragraph)."""
    order = {doc_id: i for i, doc_id in enumerate(ranked)}
    wanted = analysis.sections[0].split()[0]
    heading = re.compile(rf"^[#\s]*{re.escape(wanted)}\s?§[ \t]*$", re.MULTILINE)
    found = []
    for doc in documents:
        m = heading.search(doc.text)
        if m:
            named = bool(analysis.document_kinds) and "lag" in analysis.document_kinds
            other_kind = not (named and "lag" in document_kinds(doc))
            found.append((other_kind, order.get(doc.doc_id, 99), doc, m))
    if not found:
        return None
    _, _, doc, m = min(found, key=lambda f: (f[0], f[1]))
    start = m.end()
    while start < len(doc.text) and doc.text[start].isspace():
        start += 1
    nxt = re.compile(r"^[#\s]*\d+\s?[a-z]?\s?§[ \t]*$|^#", re.MULTILINE).search(doc.text, start)
    end = nxt.start() if nxt else len(doc.text)
    if end - start > MAX_SECTION:  # a long paragraph: its sentences that fit
        cut = doc.text.rfind(". ", start, start + MAX_SECTION)
        end = cut + 1 if cut > start else start + MAX_SECTION
    end = len(doc.text[:end].rstrip())
    if end <= start:
        return None
    label = f"{wanted} §"
    cites = [Cited(doc.doc_id, start, end)]
    return Part(doc, label, [doc.text[start:end]], cites, section=label)


def document_kinds(doc: Document) -> set[str]:
    return {str(f.value) for f in document_facts(doc).get("doc_type", [])}
