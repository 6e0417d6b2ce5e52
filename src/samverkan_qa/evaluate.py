"""Retrieval evaluation: hit@1, hit@5, MRR@10 and abstention over a JSONL question file."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from samverkan_qa.errors import CorpusNotFoundError, InvalidInputError


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    any_of: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.any_of or self.doc_ids)


class _HitLike(Protocol):
    doc_id: str
    text: str


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def read_questions(path: Path) -> list[Question]:
    """Questions in the eval format: {id, question, any_of | doc_ids}."""
    if not path.exists():
        raise CorpusNotFoundError(f"question file not found: {path}")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = str(row["question"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path} line {number}: not a question record ({exc})") from exc
        questions.append(
            Question(
                qid=str(row.get("id", number)),
                question=text,
                any_of=tuple(row.get("any_of") or ()),
                doc_ids=tuple(row.get("doc_ids") or ()),
            )
        )
    return questions


def is_relevant(question: Question, hit: _HitLike) -> bool:
    if question.doc_ids and hit.doc_id in question.doc_ids:
        return True
    text = _norm(hit.text)
    return any(_norm(phrase) in text for phrase in question.any_of)


def first_relevant_rank(question: Question, hits: list[Any]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if is_relevant(question, hit):
            return rank
    return None


@dataclass
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    abstained_unanswerable: float | None  # share of unanswerable questions abstained on
    abstained_answerable: float  # share of answerable questions wrongly abstained on

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(questions: list[Question], results: list[tuple[list[Any], bool]]) -> EvalReport:
    """`results[i]` is (hits, abstained) for `questions[i]`."""
    ranks, wrong_abstain, right_abstain = [], 0, 0
    for question, (hits, abstained) in zip(questions, results, strict=True):
        if question.answerable:
            ranks.append(first_relevant_rank(question, hits[:10]))
            wrong_abstain += int(abstained)
        else:
            right_abstain += int(abstained)
    n, unanswerable = len(ranks), len(questions) - len(ranks)
    return EvalReport(
        questions=len(questions),
        answerable=n,
        unanswerable=unanswerable,
        hit_at_1=_share(sum(1 for r in ranks if r == 1), n),
        hit_at_5=_share(sum(1 for r in ranks if r and r <= 5), n),
        mrr_at_10=_share(sum(1.0 / r for r in ranks if r), n),
        abstained_unanswerable=right_abstain / unanswerable if unanswerable else None,
        abstained_answerable=_share(wrong_abstain, n),
    )


def _share(count: float, total: int) -> float:
    return round(count / total, 4) if total else 0.0
