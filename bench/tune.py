"""Choose the hand-set fusion's settings (RetrievalConfig's convex defaults) on training data.

    python bench/tune.py [--shared ../shared] [--work $TMPDIR/samverkan-bench]

Data: the training sets of bench/run.py's `training_sets` and nothing else: SweQUAD-MC
`split: training` over all SweQUAD-MC passages, and bench/data/domain_training.jsonl over the
968 regeringen.se pages. Every grid point is scored by MRR@10 over the same candidates the
retriever fuses (a hit as each set counts it), averaged over the two sets; the best one wins,
ties to the earlier grid point, so the choice is deterministic. Exits 1 when the shipped
RetrievalConfig defaults differ from the choice.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from typing import Any

from run import (
    DataSet,
    _index_for,
    bench_parser,
    convex_params,
    gold_labels,
    training_questions,
    training_sets,
)

from samverkan_qa.embedding import load_embedder
from samverkan_qa.index import load_index
from samverkan_qa.ranking import fuse
from samverkan_qa.retrieval import RetrievalConfig, Retriever
from samverkan_qa.settings import Settings

WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SATURATIONS = (2.0, 5.0, 10.0, 20.0, 30.0, 50.0)


def grid() -> Iterator[dict[str, Any]]:
    for w, sat in itertools.product(WEIGHTS, SATURATIONS):
        yield {
            "method": "convex",
            "weight": w,
            "dense_norm": "none",
            "lexical_norm": "saturate",
            "saturation": sat,
        }
    for w in WEIGHTS:
        yield {"method": "rrf", "weight": w}


def cases(retriever: Retriever, ds: DataSet) -> list[tuple[dict, dict, set[int]]]:
    questions = [q for q in training_questions(ds) if q.answerable]
    vectors = retriever.embedder.embed_queries([q.question for q in questions])
    out = []
    for q, vec in zip(questions, vectors, strict=True):
        rows, dense, lexical = retriever.candidates(q.question, vec)
        _, counted = gold_labels(retriever.index, rows, q)
        out.append((dense, lexical, {r for r, c in zip(rows, counted, strict=True) if c}))
    return out


def mrr(data: list[tuple[dict, dict, set[int]]], **params: Any) -> float:
    total = 0.0
    for dense, lexical, gold in data:
        for rank, f in enumerate(fuse(dense, lexical, **params)[:10], start=1):
            if f.row in gold:
                total += 1 / rank
                break
    return total / len(data)


def main() -> int:
    parser = bench_parser(__doc__)
    args = parser.parse_args()
    data = []
    for ds in training_sets(args.shared):
        settings = _index_for(ds, args.work, Settings())
        retriever = Retriever(load_index(settings.index_dir), load_embedder(settings))
        data.append(cases(retriever, ds))
    # each source weighs the same, as in bench/train_ranker.py
    scored = [
        (round(sum(mrr(d, **p) for d in data) / len(data), 6), i, p) for i, p in enumerate(grid())
    ]
    scored.sort(key=lambda t: (-t[0], t[1]))
    for value, _, params in scored[:10]:
        print(f"MRR@10 {value:.4f} {params}")
    best = scored[0][2]
    shipped = convex_params(RetrievalConfig())
    shipped = {k: v for k, v in shipped.items() if k in best}
    ok = shipped == best
    print(f"chosen {best}; shipped defaults {'match' if ok else 'DIFFER: ' + str(shipped)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
