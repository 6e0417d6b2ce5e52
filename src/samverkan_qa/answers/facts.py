"""Answers from the facts extracted at index time: one document's field, a list across
documents ("Vilka kommuner …?"), or a side-by-side comparison ("Jämför A och B").

Every value shown is cited by the offsets it was extracted from. A fact answer is only made
when the facts hold the answer; otherwise the caller answers from passages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from samverkan_qa.answers.analysis import Analysis, fold, lexicon
from samverkan_qa.answers.evidence import is_title
from samverkan_qa.catalog import document_facts, format_value, is_agreement, municipalities
from samverkan_qa.documents import Document
from samverkan_qa.metadata import Fact, stated_years
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


def fact_answer(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    """The answer the documents' facts give, or None. `ranked` are doc ids in retrieval
    order (the best-matching document decides between equals)."""
    if analysis.kind == "aggregate":
        return _aggregate(analysis, documents)
    several = len(analysis.municipalities) >= 2 and analysis.kind in ("list", "other", "period")
    if analysis.kind == "comparison" or (several and analysis.fact_answerable):
        return _comparison(analysis, documents, ranked)
    if analysis.kind == "person":
        return _person(analysis, documents, ranked)
    if analysis.sections and analysis.kind in ("other", "list", "reason", "yesno"):
        part = _section(analysis, documents, ranked)
        if part is not None:
            return FactAnswer([part])
    if not analysis.fact_answerable:
        return None
    docs = candidates(analysis, documents, ranked, analysis.field)
    if analysis.kind == "other" and _names_a_value(analysis, docs):
        return None  # "Vad innebär fokusområdet hemmiljö?" asks about one value, not the list
    if not docs:
        return None
    parts = [_field_part(analysis, docs[0], analysis.field)]
    for name in analysis.also:  # "Vilka parter ingår och hur länge gäller den?"
        if field_facts(docs[0], name):
            parts.append(_field_part(analysis, docs[0], name))
    return FactAnswer(parts)


def _names_a_value(analysis: Analysis, docs: Sequence[Document]) -> bool:
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
        docs = [d for d in docs if _kinds(d) & set(analysis.document_kinds)]
    if analysis.municipalities:
        named = {m.casefold() for m in analysis.municipalities}
        docs = [d for d in docs if named & {m.casefold() for m in municipalities(d)}]
    if analysis.years:
        dated = [d for d in docs if set(analysis.years) & stated_years(document_facts(d))]
        docs = dated or docs
    order = {doc_id: i for i, doc_id in enumerate(ranked)}
    return sorted(
        docs,
        key=lambda d: (-named_in(analysis, d), order.get(d.doc_id, len(order)), -_latest(d)),
    )


_GENERIC_NAME_WORDS = frozenset({"kommun", "kommuns", "polismyndigheten", "lokalpolisomrade"})


def named_in(analysis: Analysis, doc: Document) -> int:
    """How many of the question's words name this document's own things: its parties,
    people or kind of agreement ("Huges", "huvudavtal", "tjänsteutlåtandet")."""
    words = {_base(w) for w in analysis.words if len(w) > 3}
    names: set[str] = set()
    facts = document_facts(doc)
    for f in facts.get("parties", []) + facts.get("people", []):
        value: Any = f.value
        if isinstance(value, Mapping):
            names.update(_base(w) for w in fold(str(value.get("name", ""))).split())
    for f in facts.get("validity", []):
        value = f.value
        if isinstance(value, Mapping) and value.get("noun"):
            names.add(_base(fold(str(value["noun"]))))
    for f in facts.get("doc_type", []):
        names.add(_base(fold(str(f.value))))
    distinctive = {_base(n) for n in lexicon()["distinctive_nouns"]}
    names = {n for n in names if len(n) > 3 and n not in _GENERIC_NAME_WORDS}
    names -= {_base(fold(m)) for m in municipalities(doc)} - distinctive
    return len(words & names)


def _base(word: str) -> str:
    """A word without Swedish genitive or definite endings, for name matching."""
    for ending in ("ens", "ets", "en", "et", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _named_first(analysis: Analysis, facts: list[Fact]) -> list[Fact]:
    """Validity facts whose noun the question names ("huvudavtalet") first."""
    words = {_base(w) for w in analysis.words}

    def named(f: Fact) -> bool:
        value: Any = f.value
        noun = value.get("noun") if isinstance(value, Mapping) else None
        return bool(noun) and _base(fold(str(noun))) in words

    return sorted(facts, key=lambda f: not named(f))


def _latest(doc: Document) -> int:
    return max(stated_years(document_facts(doc)), default=0)


def _field_part(analysis: Analysis, doc: Document, name: str) -> Part:
    facts = field_facts(doc, name)
    if name == "validity" and re.search(r"\b(fran|from|sedan)\b", " ".join(analysis.words)):
        facts = [f for f in facts if isinstance(f.value, dict) and f.value.get("from")] or facts
    if name == "validity":
        facts = _named_first(analysis, facts)
    if name in ("signed", "published", "validity"):
        return _sentence_part(doc, facts[0], name)
    if name == "diary_number":
        return _values_part(doc, name, facts[:1])
    if analysis.kind == "count":
        part = _values_part(doc, name, facts)
        part.lead = f"{len(_unique(part.values))} st. {FIELD_LABELS[name].lower()}"
        return part
    return _list_part(doc, name, facts)


def _sentence_part(doc: Document, fact: Fact, name: str) -> Part:
    """The sentence that states the fact, quoted whole when it is short."""
    assert fact.start is not None and fact.end is not None
    start, end = sentence_around(doc.text, fact.start, fact.end)
    multiline = "\n" in doc.text[fact.start : fact.end]
    if end - start > MAX_SENTENCE or multiline or is_title(doc, start, end):
        return _values_part(doc, name, [fact])
    return Part(doc, "", [doc.text[start:end]], [Cited(doc.doc_id, start, end)])


def _list_part(doc: Document, name: str, facts: list[Fact]) -> Part:
    """Listed values: one short sentence naming them all is quoted whole; otherwise each
    value is quoted on its own."""
    first = min(f.start for f in facts if f.start is not None)
    last = max(f.end for f in facts if f.end is not None)
    start, end = sentence_around(doc.text, first, first + 1)
    if end >= last and end - start <= MAX_SENTENCE and name != "parties":
        return Part(doc, "", [doc.text[start:end]], [Cited(doc.doc_id, start, end)])
    part = _values_part(doc, name, facts)
    intro = _list_intro(doc.text, first)
    if intro is not None:  # "Överenskommelsen anger fyra fokusområden …:" leads the list
        part.lead = " ".join(doc.text[intro[0] : intro[1]].split()).rstrip(":").rstrip()
        part.cites.insert(0, Cited(doc.doc_id, *intro))
    return part


_MARKER_RE = re.compile(r"[\s•\-–*·▪●◦]*(?:\d{1,2}[.)])?[\s]*$")


def _list_intro(text: str, first: int) -> tuple[int, int] | None:
    """The sentence ending in ":" right before the first list item, if short."""
    before = _MARKER_RE.sub("", text[max(0, first - MAX_SENTENCE) : first])
    if not before.endswith(":"):
        return None
    colon = max(0, first - MAX_SENTENCE) + len(before) - 1
    start, end = sentence_around(text, colon, colon + 1)
    if end - start > MAX_SENTENCE or end > first:
        return None
    return start, end


def _values_part(doc: Document, name: str, facts: list[Fact]) -> Part:
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
            best = (lo + s, max(lo + e, end))
            break
    return best


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ---------------------------------------------------------------------------------------------
# Across documents
# ---------------------------------------------------------------------------------------------


def _party_kinds(doc: Document) -> dict[str, list[Fact]]:
    out: dict[str, list[Fact]] = {}
    for f in field_facts(doc, "parties"):
        if isinstance(f.value, Mapping):
            out.setdefault(str(f.value.get("kind")), []).append(f)
    return out


def _covers(doc: Document, years: Sequence[int]) -> list[Fact]:
    """Validity facts of `doc` whose period includes every year in `years`."""
    found = []
    for f in field_facts(doc, "validity"):
        value: Any = f.value
        if not isinstance(value, Mapping):
            continue
        # An agreement "gäller till 2027" runs from the earliest year its document states.
        earliest = min(stated_years(document_facts(doc)), default=None)
        lo = value.get("from") or earliest or value.get("to")
        hi = value.get("to") or value.get("from")
        if lo and hi and all(int(str(lo)[:4]) <= y <= int(str(hi)[:4]) for y in years):
            found.append(f)
    return found


MAX_AGREEMENT_MUNICIPALITIES = 3


def is_local_agreement(doc: Document) -> bool:
    """A local cooperation agreement: terms stated (a period or priority areas), a
    municipality among its parties, and about a few municipalities, not a national list."""
    places = municipalities(doc)
    return (
        is_agreement(doc)
        and 0 < len(places) <= MAX_AGREEMENT_MUNICIPALITIES
        and "kommun" in _party_kinds(doc)
    )


def _aggregate(analysis: Analysis, documents: Sequence[Document]) -> FactAnswer | None:
    """Agreements meeting the question's conditions (parties by kind, years), listed by
    municipality or by document, each with the facts that show it meets them."""
    parts: list[Part] = []
    for doc in documents:
        if not is_local_agreement(doc):
            continue
        kinds = _party_kinds(doc)
        if any(k not in kinds for k in analysis.party_kinds):
            continue
        cites = [kinds[k][0] for k in analysis.party_kinds]
        if analysis.years:
            periods = _covers(doc, analysis.years)
            if not periods:
                continue
            cites.append(periods[0])
        places = municipalities(doc) or ["(ingen kommun angiven)"]
        label = ", ".join(places) if analysis.subject == "municipalities" else _doc_label(doc)
        cited = [Cited(doc.doc_id, f.start or 0, f.end or 0) for f in cites]
        if not cited:
            facts = field_facts(doc, "validity") or field_facts(doc, "parties")
            cited = [Cited(doc.doc_id, f.start or 0, f.end or 0) for f in facts[:1]]
        if not cited:
            continue  # nothing in the text to cite
        row = {"kommun": ", ".join(places), "dokument": doc.title}
        row["villkor"] = "; ".join(_unique([_fact_text(doc, f) for f in cites]))
        parts.append(Part(doc, "", [label], cited, row))
    if not parts:
        return None
    table = [p.row for p in parts]
    if analysis.subject == "municipalities":
        parts = _grouped(parts)
    return FactAnswer(parts, table)


def _grouped(parts: list[Part]) -> list[Part]:
    """One part per municipality (its documents cited after it), in first-seen order."""
    out: dict[str, Part] = {}
    for part in parts:
        label = part.values[0]
        if label in out:
            out[label].extra.append(part)
        else:
            out[label] = part
    return list(out.values())


def _comparison(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    """Each named municipality's value of the field, side by side (priority areas when the
    question names no field)."""
    name = analysis.field or "priority_areas"
    if name == "signed":
        name = "validity"
    parts: list[Part] = []
    for place in analysis.municipalities or ():
        one = Analysis(
            analysis.question, "list", field=name, municipalities=(place,), years=analysis.years
        )
        docs = candidates(one, documents, ranked, name)
        if not docs:
            continue
        facts = field_facts(docs[0], name)
        part = _values_part(docs[0], name, facts)
        part.lead = place
        part.row = {
            "kommun": place,
            "dokument": docs[0].title,
            FIELD_LABELS[name].lower(): "; ".join(part.values),
        }
        parts.append(part)
    if len(parts) < 2:
        return None
    return FactAnswer(parts, [p.row for p in parts])


def _doc_label(doc: Document) -> str:
    return " ".join(doc.title.split())


def _fact_text(doc: Document, fact: Fact) -> str:
    return " ".join(doc.text[fact.start or 0 : fact.end or 0].split())


# ---------------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------------

_SKIP = frozenset(
    {
        "vem", "vems", "who", "var", "ar", "is", "was", "enligt", "nar", "den", "det", "och",
        "for", "som", "med", "har", "hade", "pa", "the", "and", "of", "in", "at",
    }
)  # fmt: skip


def _person(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    """The person whose stated role best matches the question's words ("Vem är brandchef
    i Södertälje?"), quoted with the sentence that names them."""
    words = {_base(w)[:6] for w in analysis.words if len(w) > 1 and w not in _SKIP}
    words = {w for w in words if len(w) > 2 or w in ("vd", "tf")}  # short titles count
    places = {fold(m)[:6] for m in analysis.municipalities}
    role_words = (words - places) | {r[:6] for r in analysis.roles}
    if not role_words:
        return None
    order = {doc_id: i for i, doc_id in enumerate(ranked)}
    kind_cues = lexicon()["party_kinds"]  # "för polisen" matches a lokalpolisområdeschef
    best: tuple[tuple[int, int, int], Document, Fact] | None = None
    for doc in documents:
        if not about(doc, analysis.municipalities):
            continue
        for fact in field_facts(doc, "people"):
            value: Any = fact.value
            role_text = fold(str(value.get("role") or ""))
            role = {_base(w)[:6] for w in re.findall(r"[^\W_]+", role_text)}
            matched = len(role & role_words) + sum(
                any(cue in role_text for cue in kind_cues[k]) for k in analysis.party_kinds
            )
            if not matched:
                continue
            # A document about the municipality named outranks one about none in particular.
            named = 2 * _names_place(doc, analysis.municipalities)
            key = (-(matched + named), order.get(doc.doc_id, len(order)), fact.start or 0)
            if best is None or key < best[0]:
                best = (key, doc, fact)
    if best is None:
        return None
    _, doc, fact = best
    return FactAnswer([_sentence_part(doc, fact, "people")])


def _names_place(doc: Document, named: Sequence[str]) -> bool:
    wanted = {n.casefold() for n in named}
    return bool(wanted & {m.casefold() for m in municipalities(doc)})


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


def _section(
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
            found.append((not (named and "lag" in _kinds(doc)), order.get(doc.doc_id, 99), doc, m))
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


def _kinds(doc: Document) -> set[str]:
    return {str(f.value) for f in document_facts(doc).get("doc_type", [])}
