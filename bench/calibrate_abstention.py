"""Calibrate the abstention thresholds (ranking.AbstainThresholds) on training data only.

    python bench/calibrate_abstention.py [--shared ../shared] [--work $TMPDIR/samverkan-bench]

Answerable: SweQUAD-MC `split: training` questions asked of all SweQUAD-MC passages.
Unanswerable: the same questions asked of the shipped samverkan corpus, which is about crime
prevention, not visas or parental leave, so nothing in it answers them. Each question is
searched with the shipped retriever (the learned ranker) and the abstention evidence the
search itself used is read from the result (`SearchResult.evidence`), so calibration and search
cannot disagree. Questions the name check already abstains on are counted as abstained for
every grid point. The thresholds chosen: among grid points that wrongly abstain on at most 2 %
of the answerable questions (held-out target: 3 %), the one with the largest share of
unanswerable abstained minus share of answerable abstained (Youden's J: both errors weigh the
same, so the rule is not pushed to the limit of the allowance), ties to the fewer wrong
abstentions, then to the earlier grid point. Exits 1 when the shipped defaults differ.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from run import ROOT, DataSet, _index_for, bench_parser, training_questions, training_sets

from samverkan_qa.embedding import load_embedder
from samverkan_qa.index import load_index
from samverkan_qa.ranking import AbstainThresholds, search_abstains
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings

MAX_WRONG = 0.02


def grid() -> Iterator[AbstainThresholds]:
    """Only consistent rules: sure_dense >= min_dense and min_any_coverage <= min_coverage
    (the second rule catches passages similar enough to pass the first that share almost
    none of the question's words)."""
    dense = [round(0.80 + 0.01 * i, 2) for i in range(11)]  # 0.80 .. 0.90
    coverages = [round(0.1 * i, 1) for i in range(2, 9)]  # 0.2 .. 0.8
    any_coverages = [round(0.05 * i, 2) for i in range(13)]  # 0.0 .. 0.6
    for min_dense, sure_dense, min_cov, any_cov in itertools.product(
        dense, dense, coverages, any_coverages
    ):
        if sure_dense >= min_dense and any_cov <= min_cov:
            yield AbstainThresholds(min_dense, sure_dense, min_cov, 0.0, any_cov)


def evidence(retriever: Retriever, questions: list[str]) -> list[tuple[str, Any]]:
    results = retriever.search_many(questions, 5)
    return [(q, r.evidence) for q, r in zip(questions, results, strict=True)]


def rate(evidence_list: list[tuple[str, Any]], t: AbstainThresholds) -> float:
    """Share abstained under `t`, by the search's own rule (ranking.search_abstains)."""
    return sum(search_abstains(q, e, t) for q, e in evidence_list) / len(evidence_list)


def collect(args: Any) -> tuple[dict[str, list], dict[str, list]]:
    """(answerable, unanswerable) evidence per training source, searched by the shipped
    retriever."""
    embedder = load_embedder(Settings())

    def search(ds: DataSet, questions: list[str]) -> list[tuple[str, Any]]:
        settings = _index_for(ds, args.work, Settings())
        return evidence(Retriever(load_index(settings.index_dir), embedder), questions)

    swequad, domain = training_sets(args.shared)
    corpus = DataSet("corpus", (ROOT / "corpus",), swequad.questions)
    sq = [q.question for q in training_questions(swequad)]
    dq = training_questions(domain)
    answerable = {
        "SweQUAD-MC training": search(swequad, sq),
        "written, answerable": search(domain, [q.question for q in dq if q.answerable]),
    }
    unanswerable = {
        "SweQUAD-MC training over the corpus": search(corpus, sq),
        "written, unanswerable": search(domain, [q.question for q in dq if not q.answerable]),
    }
    return answerable, unanswerable


def choose(answerable: dict[str, list], unanswerable: dict[str, list]) -> AbstainThresholds | None:
    best = None
    for i, t in enumerate(grid()):
        wrong = [rate(e, t) for e in answerable.values()]
        if max(wrong) > MAX_WRONG:
            continue
        right = [rate(e, t) for e in unanswerable.values()]
        j = sum(right) / len(right) - sum(wrong) / len(wrong)
        key = (-round(j, 9), round(sum(wrong), 9), i)
        if best is None or key < best[0]:
            best = (key, t)
    return None if best is None else best[1]


def main() -> int:
    parser = bench_parser(__doc__)
    args = parser.parse_args()
    answerable, unanswerable = collect(args)
    chosen = choose(answerable, unanswerable)
    if chosen is None:
        print("no grid point keeps wrong abstentions within the limit")
        return 1
    shipped = AbstainThresholds()
    print(f"chosen {asdict(chosen)}")
    for label, t in (("chosen", chosen), ("shipped", shipped)):
        for name, e in {**answerable, **unanswerable}.items():
            print(f"{label:8} {name:40} abstained {rate(e, t):.3f} of {len(e)}")
    ok = chosen == shipped
    print("shipped defaults match" if ok else f"shipped defaults DIFFER: {asdict(shipped)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
