"""Retrieval benchmark: dense-only, BM25-only and hybrid on four Swedish data sets.

    python bench/run.py [--shared ../shared] [--work bench/.work] [--only corpus,distractors]

Prints a Markdown table (hit@1, hit@5, MRR@10, abstention, warm latency p50/p95) and writes
it with the raw numbers to bench/results/. Indexes are built once per data set and reused.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from samverkan_qa.embedding import load_embedder
from samverkan_qa.evaluate import Question, read_questions, score
from samverkan_qa.index import build_index, load_index
from samverkan_qa.retrieval import MODES, RetrievalConfig, Retriever
from samverkan_qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DataSet:
    name: str
    sources: tuple[Path, ...]
    questions: Path
    split: str | None = None  # keep only questions whose id contains this


def data_sets(shared: Path) -> list[DataSet]:
    ev = shared / "eval"
    corpus = ROOT / "corpus"
    return [
        DataSet("corpus", (corpus,), ev / "dev.jsonl"),
        DataSet(
            "corpus+distractors",
            (corpus, ev / "distractors" / "g0vse_topical.jsonl"),
            ev / "dev.jsonl",
        ),
        DataSet(
            "swequad-mc dev",
            (ev / "external/swequad_mc/passages.jsonl",),
            ev / "external/swequad_mc/questions.jsonl",
            split="-dev-",
        ),
        DataSet(
            "swequad-mc train",
            (ev / "external/swequad_mc/passages.jsonl",),
            ev / "external/swequad_mc/questions.jsonl",
            split="-training-",
        ),
        DataSet(
            "swefaq dev",
            (ev / "external/swefaq/passages.jsonl",),
            ev / "external/swefaq/questions.jsonl",
        ),
    ]


def index_key(ds: DataSet) -> str:
    """One index folder per distinct set of sources (two data sets are both passages.jsonl)."""
    return "-".join(f"{p.parent.name}-{p.stem}" for p in ds.sources)


def _index_for(ds: DataSet, work: Path, base: Settings) -> Settings:
    key = index_key(ds)
    settings = base.with_(corpus=ds.sources, index_dir=work / key)
    report = build_index(settings, load_embedder(settings))
    print(
        f"[{ds.name}] index: {report.documents} docs, {report.chunks} chunks, "
        f"{report.embedded_chunks} embedded in {report.seconds:.1f} s",
        file=sys.stderr,
    )
    return settings


def _questions(ds: DataSet) -> list[Question]:
    questions = read_questions(ds.questions)
    return [q for q in questions if ds.split is None or ds.split in q.qid]


def _latency(
    retriever: Retriever, questions: list[Question], rounds: int = 3
) -> tuple[float, float]:
    retriever.search(questions[0].question, 5)  # warm up model, index and caches
    times = []
    for _ in range(rounds):
        for q in questions:
            started = time.perf_counter()
            retriever.search(q.question, 5)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def run(ds: DataSet, settings: Settings, latency: bool) -> list[dict]:
    index = load_index(settings.index_dir)
    embedder = load_embedder(settings)
    questions = _questions(ds)
    rows = []
    for mode in MODES:
        retriever = Retriever(index, embedder, RetrievalConfig(mode=mode))
        results = retriever.search_many([q.question for q in questions], 10)
        report = score(questions, [(r.hits, r.abstained) for r in results]).to_dict()
        if latency:
            report["p50_ms"], report["p95_ms"] = _latency(retriever, questions)
        rows.append({"data set": ds.name, "mode": mode, "chunks": len(index.chunks), **report})
    return rows


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.1f}"
    return str(value)


def table(rows: list[dict]) -> str:
    cols = [
        "data set",
        "mode",
        "questions",
        "hit_at_1",
        "hit_at_5",
        "mrr_at_10",
        "abstained_unanswerable",
        "abstained_answerable",
        "p50_ms",
        "p95_ms",
    ]
    heads = [
        "data set",
        "mode",
        "questions",
        "hit@1",
        "hit@5",
        "MRR@10",
        "abstain (unanswerable)",
        "abstain (answerable)",
        "p50 ms",
        "p95 ms",
    ]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "samverkan-bench"
    )
    parser.add_argument("--only", help="comma-separated data set names")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--chunk-tokens", type=int, default=Settings().chunk_tokens)
    parser.add_argument("--overlap", type=int, default=Settings().chunk_overlap)
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    rows = []
    for ds in data_sets(args.shared):
        if wanted and ds.name not in wanted:
            continue
        base = Settings(chunk_tokens=args.chunk_tokens, chunk_overlap=args.overlap)
        settings = _index_for(ds, args.work, base)
        latency = not args.no_latency and ds.name == "corpus+distractors"
        rows.extend(run(ds, settings, latency))
    out = table(rows)
    print(out)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(out + "\n", encoding="utf-8")
    (results / "latest.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
