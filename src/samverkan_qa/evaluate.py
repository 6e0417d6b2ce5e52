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


def check_question_file(path: Path) -> None:
    """A question file that can be read: else one line saying what `path` is instead."""
    if not path.exists():
        raise CorpusNotFoundError(f"question file not found: {path}")
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder; give a JSONL file of questions")
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a regular file; give a JSONL file of questions")


def read_questions(path: Path) -> list[Question]:
    """Questions in the eval format: {id, question, any_of | doc_ids}."""
    check_question_file(path)
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row["question"]
            if not isinstance(text, str):
                raise TypeError("question must be text")
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


# ---------------------------------------------------------------------------------------------
# Answer-level evaluation: is the answer a user reads right?
# ---------------------------------------------------------------------------------------------

DEFAULT_MAX_CHARS = 500


@dataclass(frozen=True)
class AnswerQuestion:
    """{id, question, history?, must?, max_chars?, abstain?}: every `must` group (a list of
    alternatives) must appear in the answer, within `max_chars`; `abstain` marks a question
    the documents cannot answer."""

    qid: str
    question: str
    history: tuple[str, ...] = ()
    must: tuple[tuple[str, ...], ...] = ()
    max_chars: int = DEFAULT_MAX_CHARS
    abstain: bool = False


def is_answer_file(path: Path) -> bool:
    """True when the file's first record is an answer question (has must or abstain)."""
    for line in _read_lines(path):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                return False
            return isinstance(row, dict) and ("must" in row or "abstain" in row)
    return False


def _read_lines(path: Path) -> list[str]:
    check_question_file(path)
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not UTF-8 text: {exc.reason}") from None


def read_answer_questions(path: Path) -> list[AnswerQuestion]:
    out = []
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            must = tuple(tuple(str(a) for a in group) for group in row.get("must") or ())
            history = row.get("history") or []
            if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
                raise TypeError("history must be a list of strings")
            out.append(
                AnswerQuestion(
                    qid=str(row.get("id", number)),
                    question=str(row["question"]),
                    history=tuple(history),
                    must=must,
                    max_chars=int(row.get("max_chars") or DEFAULT_MAX_CHARS),
                    abstain=bool(row.get("abstain", False)),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(
                f"{path} line {number}: not an answer question ({exc})"
            ) from None
    return out


def _loose(text: str) -> str:
    """Case- and whitespace-insensitive, with – and - alike (as the eval README says)."""
    return re.sub(r"\s+", " ", text.replace("–", "-").replace("—", "-")).strip().casefold()


def groups_found(question: AnswerQuestion, answer: str) -> int:
    text = _loose(answer)
    return sum(1 for group in question.must if any(_loose(a) in text for a in group))


def answer_correct(question: AnswerQuestion, answer: str, abstained: bool) -> bool:
    if question.abstain:
        return abstained
    return (
        not abstained
        and len(answer) <= question.max_chars
        and groups_found(question, answer) == len(question.must)
    )


@dataclass
class AnswerReport:
    questions: int
    answerable: int
    unanswerable: int
    answer_correct: float  # answerable questions answered right
    group_recall: float  # share of all must-groups found, over answerable questions
    abstained_unanswerable: float | None
    abstained_answerable: float
    median_chars: float  # median length of the answers given (not abstentions)
    wrong: list[str]  # ids of the answerable questions answered wrong, and unanswerable answered

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Asker(Protocol):
    def ask(self, question: str, history: list[str]) -> Any: ...


def answer_all(assistant: _Asker, questions: list[AnswerQuestion]) -> AnswerReport:
    """Ask every question (with its history) and score the answers."""
    answers = []
    for q in questions:
        answer = assistant.ask(q.question, list(q.history))
        answers.append((answer.text, answer.abstained))
    return score_answers(questions, answers)


def score_answers(questions: list[AnswerQuestion], answers: list[tuple[str, bool]]) -> AnswerReport:
    """`answers[i]` is (answer text, abstained) for `questions[i]`."""
    correct = groups = total_groups = wrong_abstain = right_abstain = 0
    lengths: list[int] = []
    wrong: list[str] = []
    for q, (text, abstained) in zip(questions, answers, strict=True):
        if not abstained:
            lengths.append(len(text))
        if q.abstain:
            right_abstain += int(abstained)
            if not abstained:
                wrong.append(q.qid)
            continue
        ok = answer_correct(q, text, abstained)
        correct += int(ok)
        wrong_abstain += int(abstained)
        groups += 0 if abstained else groups_found(q, text)
        total_groups += len(q.must)
        if not ok:
            wrong.append(q.qid)
    unanswerable = sum(1 for q in questions if q.abstain)
    answerable = len(questions) - unanswerable
    lengths.sort()
    mid = len(lengths) // 2
    median = (
        0.0
        if not lengths
        else float(lengths[mid])
        if len(lengths) % 2
        else (lengths[mid - 1] + lengths[mid]) / 2
    )
    return AnswerReport(
        questions=len(questions),
        answerable=answerable,
        unanswerable=unanswerable,
        answer_correct=_share(correct, answerable),
        group_recall=_share(groups, total_groups),
        abstained_unanswerable=right_abstain / unanswerable if unanswerable else None,
        abstained_answerable=_share(wrong_abstain, answerable),
        median_chars=median,
        wrong=wrong,
    )
