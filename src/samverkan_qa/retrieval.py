"""Retrieval: dense (FAISS) and Swedish BM25 candidates, fused, de-duplicated, with spans."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from samverkan_qa.catalog import document_facts
from samverkan_qa.documents import Chunk, Document
from samverkan_qa.embedding import Embedder, load_embedder
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.index import Index, load_index
from samverkan_qa.metadata import Fact, FieldFilter, matches
from samverkan_qa.ranking import AbstainThresholds
from samverkan_qa.settings import Settings

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "lexical")
MAX_K = 100


@dataclass(frozen=True)
class RetrievalConfig:
    """How candidates are found and combined; defaults were tuned on the development data."""

    mode: str = "hybrid"
    candidates: int = 50
    # Chosen by bench/tune.py over every development set at once (corpus, corpus with 968
    # distractors, SweQUAD-MC dev, SweFAQ dev): cosine as is plus 0.4 x BM25/(BM25 + 30).
    fusion: str = "convex"
    lexical_weight: float = 0.4
    dense_norm: str = "none"
    lexical_norm: str = "saturate"
    saturation: float = 30.0
    rrf_k: int = 60
    abstain: AbstainThresholds = field(default_factory=AbstainThresholds)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInputError(f"unknown search mode {self.mode!r}; use one of {MODES}")


@dataclass
class Hit:
    rank: int
    score: float
    dense: float | None
    lexical: float | None
    chunk: Chunk
    document: Document
    spans: list[tuple[int, int]] = field(default_factory=list)  # answer sentences, doc offsets

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def start(self) -> int:
        return self.chunk.start

    @property
    def end(self) -> int:
        return self.chunk.end

    def to_json(self) -> dict[str, Any]:
        doc = self.document
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "dense_score": None if self.dense is None else round(self.dense, 6),
            "lexical_score": None if self.lexical is None else round(self.lexical, 6),
            "doc_id": doc.doc_id,
            "chunk_id": self.chunk.chunk_id,
            "title": doc.title,
            "source": doc.source,
            "doc_type": doc.doc_type,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "page": self.chunk.page,
            "text": self.chunk.text,
            "answer_spans": [{"start": s, "end": e, "text": doc.text[s:e]} for s, e in self.spans],
        }


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    abstained: bool = False


class Retriever:
    """Search one index with one embedder. Heavy parts load on first use."""

    def __init__(self, index: Index, embedder: Embedder, config: RetrievalConfig | None = None):
        self.index = index
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        if self.config.mode != "lexical":
            index.check_model(embedder.identity)

    @classmethod
    def open(cls, settings: Settings, config: RetrievalConfig | None = None) -> Retriever:
        return cls(load_index(settings.index_dir), load_embedder(settings), config)

    @cached_property
    def _facts(self) -> dict[str, dict[str, list[Fact]]]:
        """Parsed once per loaded index: every filtered search reads them all."""
        return {d: document_facts(doc) for d, doc in self.index.documents.items()}

    def allowed_rows(self, filters: list[FieldFilter]) -> np.ndarray | None:
        """Row numbers of chunks whose document passes every filter (None: no filter)."""
        if not filters:
            return None
        keep = {d for d, facts in self._facts.items() if matches(facts, filters, doc_id=d)}
        return np.array([i for i, c in enumerate(self.index.chunks) if c.doc_id in keep], "int64")

    def search(
        self, question: str, k: int = 5, filters: list[FieldFilter] | None = None
    ) -> SearchResult:
        return self.search_many([question], k, filters)[0]

    def search_many(
        self, questions: list[str], k: int = 5, filters: list[FieldFilter] | None = None
    ) -> list[SearchResult]:
        for question in questions:
            check_question(question)
        check_k(k)
        allowed = self.allowed_rows(filters or [])
        vectors = None
        if self.config.mode != "lexical":
            vectors = self.embedder.embed_queries(questions)
        return [
            self._search_one(q, k, allowed, None if vectors is None else vectors[i])
            for i, q in enumerate(questions)
        ]

    def _search_one(
        self, question: str, k: int, allowed: np.ndarray | None, vector: np.ndarray | None
    ) -> SearchResult:
        if allowed is not None and len(allowed) == 0:
            return SearchResult(question, [], abstained=True)
        n = max(self.config.candidates, k * 4)
        mode = self.config.mode
        dense_rows = self._dense_rows(vector, n, allowed) if vector is not None else []
        lexical_all = self.index.lexical.scores(question)
        lexical_rows = [] if mode == "dense" else self._top_lexical(lexical_all, n, allowed)
        # Score every candidate on both sides exactly, so fusion never guesses a missing score.
        rows = list(dict.fromkeys(dense_rows + lexical_rows))
        dense = self._cosines(vector, rows) if vector is not None else {}
        lexical = {r: float(lexical_all[r]) for r in rows if lexical_all[r] > 0}
        ranked = self._fuse(dense, lexical) if rows else []
        return self._finish(question, ranked, dense, lexical, k)

    def _dense_rows(self, vector: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
        import faiss

        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        n = min(n, self.index.faiss.ntotal)
        _, rows = self.index.faiss.search(vector[None, :], n, params=params)
        return [int(r) for r in rows[0] if r >= 0]

    def _cosines(self, vector: np.ndarray, rows: list[int]) -> dict[int, float]:
        scores = self.index.vectors[rows] @ vector
        return {r: float(s) for r, s in zip(rows, scores, strict=True)}

    @staticmethod
    def _top_lexical(scores: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
        if allowed is not None:
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        top = np.argsort(-scores, kind="stable")[:n]
        return [int(r) for r in top if scores[r] > 0]

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float]) -> list[Any]:
        from samverkan_qa.ranking import fuse

        c = self.config
        weight = {"dense": 0.0, "lexical": 1.0}.get(c.mode, c.lexical_weight)
        return fuse(
            dense,
            lexical,
            method=c.fusion,
            weight=weight,
            dense_norm=c.dense_norm,
            lexical_norm=c.lexical_norm,
            saturation=c.saturation,
            rrf_k=c.rrf_k,
        )

    def _finish(
        self,
        question: str,
        ranked: list[Any],
        dense: dict[int, float],
        lexical: dict[int, float],
        k: int,
    ) -> SearchResult:
        from samverkan_qa.ranking import collapse_duplicates

        hits = [self._hit(question, f) for f in ranked[: max(k * 3, 20)]]
        hits = collapse_duplicates(hits)[:k]
        for rank, hit in enumerate(hits, start=1):
            hit.rank = rank
        return SearchResult(question, hits, abstained=self._abstain(question, hits, dense, lexical))

    def _hit(self, question: str, fused: Any) -> Hit:
        chunk = self.index.chunks[fused.row]
        doc = self.index.documents[chunk.doc_id]
        hit = Hit(0, fused.fused, fused.dense, fused.lexical, chunk, doc)
        hit.spans = self._spans(question, chunk)
        return hit

    def _spans(self, question: str, chunk: Chunk) -> list[tuple[int, int]]:
        from samverkan_qa.ranking import best_spans

        lexical = self.index.lexical
        spans = best_spans(question, chunk.text, lexical.analyzer, idf=lexical.idf())
        return [(chunk.start + s, chunk.start + e) for s, e, _ in spans]

    def _abstain(
        self, question: str, hits: list[Hit], dense: dict[int, float], lexical: dict[int, float]
    ) -> bool:
        """No support: nothing retrieved, a named thing no top document mentions, or weak
        similarity together with few of the question's words in the best passages."""
        from samverkan_qa.ranking import abstain_features, missing_names, should_abstain

        if not hits:
            return True
        analyzer = self.index.lexical.analyzer
        top = hits[:3]
        if missing_names(
            question, [f"{h.document.title}\n{h.document.text}" for h in top], analyzer
        ):
            return True
        features = [
            abstain_features(
                question,
                h.text,
                analyzer,
                top_dense=max(dense.values()) if dense else 1.0,
                top_lexical=max(lexical.values()) if lexical else 0.0,
                idf=self.index.lexical.idf(),
            )
            for h in top
        ]
        best = max(features, key=lambda f: f.query_coverage)
        return should_abstain(
            best.top_dense,
            best.top_lexical_norm,
            best.query_coverage,
            thresholds=self.config.abstain,
        )


def check_question(question: str) -> None:
    if not isinstance(question, str) or not question.strip():
        raise InvalidInputError("the question is empty")


def check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InvalidInputError(f"-k must be between 1 and {MAX_K}, got {k}")
