"""Answers across documents: the local agreements that meet a question's conditions
("Vilka kommuner har avtal med både polis och räddningstjänst?", "Vilka avtal gällde 2024?"),
and the same field side by side for several municipalities ("Jämför A och B").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from samverkan_qa.answers.analysis import Analysis
from samverkan_qa.answers.facts import (
    FIELD_LABELS,
    Cited,
    FactAnswer,
    Part,
    candidates,
    field_facts,
    unique,
    values_part,
)
from samverkan_qa.catalog import document_facts, is_agreement, municipalities
from samverkan_qa.documents import Document
from samverkan_qa.metadata import Fact, stated_years


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


def aggregate(analysis: Analysis, documents: Sequence[Document]) -> FactAnswer | None:
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
        row["villkor"] = "; ".join(unique([_fact_text(doc, f) for f in cites]))
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


def comparison(
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
        part = values_part(docs[0], name, facts)
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
