"""A learned ranker: logistic regression over per-candidate features, weights from a JSON file.

The weights are trained by `bench/train_ranker.py` on SweQUAD-MC's training split only (fixed
seed, deterministic Newton steps) and ship as `data/ranker.json` with a version and the
feature names they expect; a file of another version or feature list is refused, never
silently misread. Features are computed from what retrieval already has: the exact dense
cosine and BM25 of each candidate, and the question's words found in the chunk, its best
sentence, its document's title and its whole document.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.errors import SamverkanError
from samverkan_qa.ranking import coverage

RANKER_VERSION = 2
FEATURES = (
    "dense",  # cosine of question and chunk (with its title)
    "dense_gap",  # cosine minus the best candidate's: how far behind the leader
    "dense_rrank",  # 1 / rank by cosine among the candidates
    "bm25_log",  # log(1 + BM25)
    "bm25_rel",  # BM25 / the best candidate's BM25
    "bm25_rrank",  # 1 / rank by BM25 (0 without any matching word)
    "coverage",  # idf-weighted share of the question's words in the chunk and title
    "sentence_coverage",  # the same share in the chunk's best single sentence
    "title_coverage",  # ... in the document's title
    "doc_coverage",  # ... anywhere in the document
    "names_found",  # share of the names the question mentions found in the document
    "years_found",  # share of the years the question mentions found in the document
    "first_chunk",  # the document's opening passage
    "position",  # chunk ordinal / (chunks in the document - 1)
    "doc_dense_gap",  # best cosine of any candidate of the same document minus the leader's
    "doc_bm25_rel",  # best BM25 of any candidate of the same document / the best candidate's
    "doc_candidates",  # log(1 + candidates of the same document): a document found many ways
    "english_dense_gap",  # dense_gap for an English question (0 otherwise): its words are
    "english_bm25_rel",  # ... not the documents', so the two sides weigh differently
)
_YEAR_RE = re.compile(r"\b(?:19|20)\d\d\b")


class RankerWeightsError(SamverkanError):
    """The ranker weights file is missing, of another version, or for other features."""


@dataclass(frozen=True)
class Candidate:
    """What the features of one candidate chunk are computed from."""

    dense: float
    bm25: float
    stems: frozenset[str]  # analyzed chunk text with its title, as indexed
    sentences: Sequence[frozenset[str]]  # analyzed sentences of the chunk's own text
    title_stems: frozenset[str]
    doc_stems: frozenset[str]
    ordinal: int
    n_chunks: int
    doc_id: str = ""


@dataclass(frozen=True)
class Query:
    """The question's side of the features, computed once per search."""

    words: Sequence[tuple[str, tuple[str, ...]]]  # (whole stem, part stems) per content word
    weights: Sequence[float]  # idf per word
    names: Sequence[str]  # stems of names (capitalised words) the question mentions
    years: Sequence[str]
    english: bool = False


def question_years(question: str) -> list[str]:
    return list(dict.fromkeys(_YEAR_RE.findall(question)))


def _rrank(values: np.ndarray, positive_only: bool = False) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    out = 1.0 / ranks
    if positive_only:
        out[values <= 0] = 0.0
    return out


def _share(needed: Sequence[str], stems: frozenset[str]) -> float:
    return sum(n in stems for n in needed) / len(needed) if needed else 1.0


def feature_matrix(query: Query, candidates: Sequence[Candidate]) -> np.ndarray:
    """One row of `FEATURES` per candidate (float64)."""
    n = len(candidates)
    out = np.zeros((n, len(FEATURES)))
    if n == 0:
        return out
    dense = np.array([c.dense for c in candidates])
    bm25 = np.array([max(c.bm25, 0.0) for c in candidates])
    top_bm25 = float(bm25.max())
    out[:, 0] = dense
    out[:, 1] = dense - dense.max()
    out[:, 2] = _rrank(dense)
    out[:, 3] = np.log1p(bm25)
    out[:, 4] = bm25 / top_bm25 if top_bm25 > 0 else 0.0
    out[:, 5] = _rrank(bm25, positive_only=True)
    w, ws = query.words, query.weights
    for i, c in enumerate(candidates):
        out[i, 6] = coverage(w, c.stems, weights=ws)
        out[i, 7] = max((coverage(w, s, weights=ws) for s in c.sentences), default=0.0)
        out[i, 8] = coverage(w, c.title_stems, weights=ws)
        out[i, 9] = coverage(w, c.doc_stems, weights=ws)
        out[i, 10] = _share(query.names, c.doc_stems)
        out[i, 11] = _share(query.years, c.doc_stems)
        out[i, 12] = 1.0 if c.ordinal == 0 else 0.0
        out[i, 13] = c.ordinal / (c.n_chunks - 1) if c.n_chunks > 1 else 0.0
    _document_features(candidates, out)
    if query.english:
        out[:, 17] = out[:, 1]
        out[:, 18] = out[:, 4]
    return out


def _document_features(candidates: Sequence[Candidate], out: np.ndarray) -> None:
    """Columns 14-16: what the other candidates of the same document add (a document whose
    several passages match is likelier the one asked about than a lone lucky passage)."""
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        by_doc.setdefault(c.doc_id, []).append(i)
    for rows in by_doc.values():
        out[rows, 14] = out[rows, 1].max()
        out[rows, 15] = out[rows, 4].max()
        out[rows, 16] = math.log1p(len(rows))


@dataclass(frozen=True)
class LearnedRanker:
    """P(relevant | features) = sigmoid(((x - mean) / scale) · coef + intercept)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    meta: Mapping[str, Any]

    def score(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self, decimals: int = 10) -> dict[str, Any]:
        return {
            "version": RANKER_VERSION,
            "features": list(FEATURES),
            "mean": [round(float(v), decimals) for v in self.mean],
            "scale": [round(float(v), decimals) for v in self.scale],
            "coef": [round(float(v), decimals) for v in self.coef],
            "intercept": round(float(self.intercept), decimals),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "ranker weights") -> LearnedRanker:
        version = data.get("version")
        if version != RANKER_VERSION:
            raise RankerWeightsError(
                f"{source} have version {version!r}, this program reads version "
                f"{RANKER_VERSION}: retrain them with `python bench/train_ranker.py`"
            )
        if tuple(data.get("features", ())) != FEATURES:
            raise RankerWeightsError(
                f"{source} are for features {data.get('features')}, not {list(FEATURES)}"
            )
        arrays = [np.asarray(data[k], dtype=float) for k in ("mean", "scale", "coef")]
        if any(a.shape != (len(FEATURES),) for a in arrays) or not math.isfinite(
            float(data["intercept"])
        ):
            raise RankerWeightsError(f"{source} are damaged (wrong lengths or values)")
        return cls(*arrays, float(data["intercept"]), data.get("meta", {}))

    @classmethod
    def load(cls, path: Path | None = None) -> LearnedRanker:
        """The shipped weights (package data), or the file at `path`."""
        try:
            if path is None:
                text = (resources.files("samverkan_qa") / "data" / "ranker.json").read_text(
                    encoding="utf-8"
                )
            else:
                text = Path(path).read_text(encoding="utf-8")
            data = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise RankerWeightsError(f"cannot read ranker weights: {exc}") from exc
        return cls.from_json(data, str(path or "shipped ranker weights"))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method on standardised features.

    Deterministic (no random start, no shuffling): the same data give the same weights.
    Returns (mean, scale, coef, intercept).
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ beta)))
        grad = z.T @ (p - y) + penalty * beta
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return mean, scale, beta[:-1], float(beta[-1])
