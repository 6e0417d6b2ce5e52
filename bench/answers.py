"""Answer benchmark: is the answer a user reads right? (`make bench` runs it after run.py)

    python bench/answers.py [--shared ../shared] [--work $TMPDIR/samverkan-bench] [--no-readme]

For answers_dev.jsonl on the shipped corpus, alone and with the 968 distractor documents
indexed beside it, prints answer-correct, group recall, abstention and median answer length
for the answer pipeline (with the default, BM25-only and dense-only retrieval) beside a plain
baseline: the best sentence of the top search hit (what `search` shows), abstaining when the
search does. Also warm latency of `ask` against `search` on the same questions. Rewrites the
README block between `<!-- answers:start -->` and `<!-- answers:end -->` on a full run.
Nothing here tunes anything: answers_dev.jsonl is held out.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from run import DataSet, _index_for, bench_parser, rewrite_block

from samverkan_qa.answers.assistant import Assistant
from samverkan_qa.embedding import load_embedder
from samverkan_qa.evaluate import (
    AnswerQuestion,
    answer_all,
    read_answer_questions,
    score_answers,
)
from samverkan_qa.index import load_index
from samverkan_qa.retrieval import RetrievalConfig, Retriever, SearchResult
from samverkan_qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- answers:start -->", "<!-- answers:end -->"
MODES = (("answers (default retrieval)", None), ("answers, BM25 only", "lexical"),
         ("answers, dense only", "dense"))  # fmt: skip


def index_for(name: str, sources: tuple[Path, ...], work: Path) -> Settings:
    # bench/run.py's index for the same sources: both scripts share one built index.
    return _index_for(DataSet(name, sources, Path()), work, Settings())


def top_sentence(retriever: Retriever, question: str) -> tuple[str, bool]:
    """The baseline: the top hit's best sentence, as `search` marks it."""
    return best_sentence(retriever.search(question, 5))


def best_sentence(result: SearchResult) -> tuple[str, bool]:
    """(the top hit's best sentence, abstained) of a search result."""
    if result.abstained or not result.hits:
        return "", True
    hit = result.hits[0]
    if not hit.spans:
        return " ".join(hit.text.split()), False
    s, e = hit.spans[0]
    return " ".join(hit.document.text[s:e].split()), False


def timed(fn, items: list, rounds: int = 3) -> float:
    fn(items[0])  # warm up
    times = []
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter()
            fn(item)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def evaluate(name: str, settings: Settings, questions: list[AnswerQuestion]) -> list[str]:
    index = load_index(settings.index_dir)
    embedder = load_embedder(settings)
    rows = []
    for label, mode in MODES:
        config = RetrievalConfig() if mode is None else RetrievalConfig(mode=mode)
        assistant = Assistant(Retriever(index, embedder, config))
        rows.append(_row(name, label, answer_all(assistant, questions)))
    retriever = Retriever(index, embedder)
    baseline = [top_sentence(retriever, q.question) for q in questions]
    rows.append(_row(name, "baseline: top search sentence", score_answers(questions, baseline)))
    assistant = Assistant(retriever)
    ask_ms = timed(lambda q: assistant.ask(q.question, list(q.history)), questions)
    search_ms = timed(lambda q: retriever.search(q.question, 5), questions)
    rows.append(
        f"| {name} | warm p50: ask {ask_ms:.1f} ms, search {search_ms:.1f} ms "
        f"(ratio {ask_ms / search_ms:.2f}) | | | | | |"
    )
    return rows


def _row(name: str, label: str, report) -> str:
    unans = report.abstained_unanswerable
    return (
        f"| {name} | {label} | {report.answer_correct:.3f} | {report.group_recall:.3f} | "
        f"{'–' if unans is None else f'{unans:.3f}'} | {report.abstained_answerable:.3f} | "
        f"{report.median_chars:.0f} |"
    )


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--corpus-only", action="store_true", help="skip the distractors")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    args = parser.parse_args()
    ev = args.shared / "eval"
    questions = read_answer_questions(ev / "answers_dev.jsonl")
    corpus = ROOT / "corpus"
    sets = [("corpus", (corpus,))]
    if not args.corpus_only:
        sets.append(("corpus+distractors", (corpus, ev / "distractors" / "g0vse_topical.jsonl")))
    lines = [
        f"answers_dev.jsonl: {len(questions)} questions "
        f"({sum(q.abstain for q in questions)} unanswerable), held out.",
        "",
        "| data set | pipeline | answer-correct | group recall | abstained, unanswerable "
        "| abstained, answerable | median chars |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, sources in sets:
        lines += evaluate(name, index_for(name, sources, args.work), questions)
    text = "\n".join(lines)
    print(text)
    readme = ROOT / "README.md"
    if not (args.no_readme or args.corpus_only) and rewrite_block(readme, START, END, text):
        print("README.md answer table rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
