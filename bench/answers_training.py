"""Answers to the written training questions: what the answer stage's rules are tuned on.

    python bench/answers_training.py [--shared ../shared] [--work $TMPDIR/samverkan-bench]
                                     [--failures FILE]

Asks the answer pipeline each question of bench/data/domain_training.jsonl (written for
training over the 968 regeringen.se pages, never over the shipped corpus) with those pages
indexed, and scores the answer a user reads against the question's `any_of` phrases (the
words on the page that answer it):

- exact: the answer holds a whole phrase (case- and whitespace-insensitive);
- answer-correct: the answer holds at least 80 % of some phrase's words (an answer quoting
  the right sentence cut a little differently), not abstained, at most 500 characters;
- gold cited: a cited source is a page the question was written from.

Unanswerable questions count as right when the answer abstains. The same run prints a
baseline, the top search hit's best sentence (what `search` shows), and the default answers
per question style, and rewrites the README block between `<!-- answers-training:start -->`
and `<!-- answers-training:end -->`. These questions tune the answer stage's rules (question
kinds, evidence); answers_dev.jsonl (bench/answers.py) stays held out.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from answers import best_sentence
from run import (
    ROOT,
    _fold,
    _index_for,
    bench_parser,
    domain_training_set,
    rewrite_block,
    training_questions,
)

from samverkan_qa.answers.assistant import Assistant
from samverkan_qa.embedding import load_embedder
from samverkan_qa.index import load_index
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings

START, END = "<!-- answers-training:start -->", "<!-- answers-training:end -->"
MAX_CHARS = 500
WORD_SHARE = 0.8
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Scored:
    qid: str
    style: str
    answerable: bool
    abstained: bool
    exact: bool
    correct: bool
    gold_cited: bool


def word_share(phrase: str, answer: str) -> float:
    """Share of the phrase's words found in the answer (both folded)."""
    words = set(_WORD.findall(_fold(phrase)))
    return len(words & set(_WORD.findall(_fold(answer)))) / max(1, len(words))


def scored(q, text: str, abstained: bool, cited: set[str]) -> Scored:
    fine = not abstained and len(text) <= MAX_CHARS
    exact = fine and any(_fold(p) in _fold(text) for p in q.phrases)
    share = max((word_share(p, text) for p in q.phrases), default=0.0)
    return Scored(
        q.qid,
        q.style,
        q.answerable,
        abstained,
        exact,
        fine and share >= WORD_SHARE,
        bool(cited & q.doc_ids),
    )


def summary(label: str, rows: list[Scored]) -> str:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]

    def share(items: list[Scored], test: Callable[[Scored], bool]) -> str:
        return f"{sum(map(test, items)) / len(items):.3f}" if items else "–"

    return (
        f"| {label} | {len(answerable)} | {share(answerable, lambda r: r.correct)} | "
        f"{share(answerable, lambda r: r.exact)} | {share(answerable, lambda r: r.gold_cited)} | "
        f"{share(answerable, lambda r: r.abstained)} | "
        f"{share(unanswerable, lambda r: r.abstained)} |"
    )


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--failures", type=Path, help="write the wrong answers here (JSONL)")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    args = parser.parse_args()
    ds = domain_training_set(args.shared)
    settings = _index_for(ds, args.work, Settings())
    retriever = Retriever(load_index(settings.index_dir), load_embedder(settings))
    assistant = Assistant(retriever)
    questions = training_questions(ds)
    answers, base = [], []
    failures = []
    for q in questions:
        answer = assistant.ask(q.question)
        cited = {s.hit.doc_id for s in answer.sources if s.cited}
        row = scored(q, answer.text, answer.abstained, cited)
        answers.append(row)
        if not row.correct if row.answerable else not row.abstained:
            failures.append({"id": q.qid, "question": q.question, "answer": answer.text,
                             "kind": answer.kind, "any_of": list(q.phrases)})  # fmt: skip
        result = retriever.search(q.question, 5)
        text, abstained = best_sentence(result)
        top = {result.hits[0].doc_id} if result.hits and not abstained else set()
        base.append(scored(q, text, abstained, top))
    lines = [
        f"{ds.questions.name}: {len(questions)} questions over the 968 regeringen.se pages "
        "(training data: the answer stage's rules are tuned on these).",
        "",
        "| pipeline | answerable | answer-correct | exact phrase | gold cited "
        "| abstained, answerable | abstained, unanswerable |",
        "|---|---|---|---|---|---|---|",
        summary("answers (default)", answers),
        summary("baseline: top search sentence", base),
    ]
    for style in sorted({r.style for r in answers if r.answerable}):
        lines.append(summary(f"answers, style {style}", [r for r in answers if r.style == style]))
    text = "\n".join(lines)
    print(text)
    if not args.no_readme and rewrite_block(ROOT / "README.md", START, END, text):
        print("README.md training answer table rewritten", file=sys.stderr)
    if args.failures:
        args.failures.write_text(
            "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in failures), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
