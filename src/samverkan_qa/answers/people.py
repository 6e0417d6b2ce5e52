"""People by role: "Vem är brandchef i Södertälje?" answered from the people the documents
name with their roles, quoted with the sentence that names them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from samverkan_qa.answers.analysis import Analysis, fold, lexicon
from samverkan_qa.answers.facts import (
    FactAnswer,
    about,
    base_word,
    field_facts,
    sentence_part,
)
from samverkan_qa.catalog import municipalities
from samverkan_qa.documents import Document
from samverkan_qa.metadata import Fact

_SKIP = frozenset(
    {
        "vem", "vems", "who", "var", "ar", "is", "was", "enligt", "nar", "den", "det", "och",
        "for", "som", "med", "har", "hade", "pa", "the", "and", "of", "in", "at",
    }
)  # fmt: skip


def person(
    analysis: Analysis, documents: Sequence[Document], ranked: Sequence[str]
) -> FactAnswer | None:
    """The person whose stated role best matches the question's words ("Vem är brandchef
    i Södertälje?"), quoted with the sentence that names them."""
    words = {base_word(w)[:6] for w in analysis.words if len(w) > 1 and w not in _SKIP}
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
            role = {base_word(w)[:6] for w in re.findall(r"[^\W_]+", role_text)}
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
    return FactAnswer([sentence_part(doc, fact, "people")])


def _names_place(doc: Document, named: Sequence[str]) -> bool:
    wanted = {n.casefold() for n in named}
    return bool(wanted & {m.casefold() for m in municipalities(doc)})
