"""Choose fusion settings on the development data sets (run bench/run.py first: it builds
the indexes this reads). Prints MRR@10 per data set for a grid of fusion settings.

    python bench/tune.py [--work DIR]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from run import ROOT, _questions, data_sets, index_key

from samverkan_qa.embedding import load_embedder
from samverkan_qa.evaluate import is_relevant
from samverkan_qa.index import load_index
from samverkan_qa.ranking import fuse
from samverkan_qa.settings import Settings


def candidates(ds, work: Path, n: int = 100) -> list[tuple[dict, dict, set[int]]]:
    key = index_key(ds)
    index = load_index(work / key)
    embedder = load_embedder(Settings())
    questions = _questions(ds)
    vectors = embedder.embed_queries([q.question for q in questions])
    out = []
    for q, vec in zip(questions, vectors, strict=True):
        cos = index.vectors @ vec
        lex = index.lexical.scores(q.question)
        top_lex = np.argsort(-lex)[:n]
        rows = set(np.argsort(-cos)[:n].tolist()) | set(top_lex[lex[top_lex] > 0].tolist())
        dense = {r: float(cos[r]) for r in rows}
        lexical = {r: float(lex[r]) for r in rows if lex[r] > 0}
        relevant = {r for r in rows if is_relevant(q, index.chunks[r])}
        if q.answerable:
            out.append((dense, lexical, relevant))
    return out


def mrr(cases, **params) -> float:
    total = 0.0
    for dense, lexical, relevant in cases:
        ranked = fuse(dense, lexical, **params)[:10]
        for rank, f in enumerate(ranked, start=1):
            if f.row in relevant:
                total += 1 / rank
                break
    return total / len(cases)


def grid():
    for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0):
        yield {"method": "rrf", "weight": w}
        for dn, ln, sat in itertools.product(
            ("minmax", "none"), ("max", "saturate"), (2.0, 5.0, 10.0)
        ):
            if ln == "max" and sat != 2.0:
                continue
            yield {
                "method": "convex",
                "weight": w,
                "dense_norm": dn,
                "lexical_norm": ln,
                "saturation": sat,
            }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/samverkan-bench"))
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    sets = {ds.name: candidates(ds, args.work) for ds in data_sets(args.shared)}
    results = []
    for params in grid():
        scores = {name: mrr(cases, **params) for name, cases in sets.items()}
        results.append((min(scores.values()), statistics_mean(scores), params, scores))
    results.sort(key=lambda r: -r[1])
    for worst, mean, params, scores in results[:25]:
        print(
            f"mean {mean:.3f} worst {worst:.3f} {params} "
            + " ".join(f"{k}={v:.3f}" for k, v in scores.items())
        )
    return 0


def statistics_mean(scores: dict[str, float]) -> float:
    return sum(scores.values()) / len(scores)


if __name__ == "__main__":
    sys.exit(main())
