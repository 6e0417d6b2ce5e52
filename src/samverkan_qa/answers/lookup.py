"""Which fact answer serves a question: across documents, a comparison, a person by role,
a law paragraph by number, or one document's field; None when the facts do not hold it.
"""

from __future__ import annotations

from collections.abc import Sequence

from samverkan_qa.answers.across import aggregate, comparison
from samverkan_qa.answers.analysis import Analysis
from samverkan_qa.answers.facts import (
    FactAnswer,
    candidates,
    field_facts,
    field_part,
    names_a_value,
    section_part,
)
from samverkan_qa.answers.people import person
from samverkan_qa.documents import Document


def fact_answer(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    """The answer the documents' facts give, or None. `ranked` are doc ids in retrieval
    order (the best-matching document decides between equals)."""
    if analysis.kind == "aggregate":
        return aggregate(analysis, documents)
    several = len(analysis.municipalities) >= 2 and analysis.kind in ("list", "other", "period")
    if analysis.kind == "comparison" or (several and analysis.fact_answerable):
        return comparison(analysis, documents, ranked)
    if analysis.kind == "person":
        return person(analysis, documents, ranked)
    if analysis.sections and analysis.kind in ("other", "list", "reason", "yesno"):
        part = section_part(analysis, documents, ranked)
        if part is not None:
            return FactAnswer([part])
    if not analysis.fact_answerable:
        return None
    docs = candidates(analysis, documents, ranked, analysis.field)
    if analysis.kind == "other" and names_a_value(analysis, docs):
        return None  # "Vad innebär fokusområdet hemmiljö?" asks about one value, not the list
    if not docs:
        return None
    parts = [field_part(analysis, docs[0], analysis.field)]
    for name in analysis.also:  # "Vilka parter ingår och hur länge gäller den?"
        if field_facts(docs[0], name):
            parts.append(field_part(analysis, docs[0], name))
    return FactAnswer(parts)
