"""Retrieval: dense (FAISS) and Swedish BM25 candidates, fused, de-duplicated, with spans."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.catalog import document_facts
from samverkan_qa.documents import Chunk, Document
from samverkan_qa.embedding import Embedder, load_embedder
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.index import Index, context_title, indexed_text
from samverkan_qa.metadata import (
    INDEXED_FILTER_KEYS,
    Fact,
    FieldFilter,
    document_terms,
    filter_term,
    matches,
)
from samverkan_qa.ranking import AbstainThresholds, search_abstains
from samverkan_qa.settings import Settings, check_text

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "lexical")
FUSIONS = ("learned", "convex", "rrf")
MAX_K = 100
ALLOWED_CACHE = 32  # filter sets whose rows a retriever remembers
FILTER_CACHE = 256  # single filters whose document masks a retriever remembers
# Filtered dense search on an IVF index scores the allowed rows exactly when the probed lists
# would hold fewer than this many times the candidates asked for (a selective filter).
EXACT_FILTER_FACTOR = 10


# Analysed passages and documents a Retriever keeps for its ranker features (see _stems).
STEM_CACHE_ENTRIES = 20_000


@dataclass(frozen=True)
class RetrievalConfig:
    """How candidates are found and combined; defaults were tuned on the development data."""

    mode: str = "hybrid"
    candidates: int = 50
    # "learned" (the default): the logistic ranker of samverkan_qa.learned (weights from
    # data/ranker.json, or `ranker_path`); "convex"/"rrf": the hand-set fusion below. The
    # default is whichever bench/train_ranker.py finds better by cross-validated MRR@10 on
    # the training data (its --check exits 1 if this differs).
    fusion: str = "learned"
    ranker_path: Path | None = None
    # The learned ranker scores the hand-set hybrid's best `rerank` candidates (the rest
    # follow in hybrid order): its features analyse each candidate's passage and document,
    # which at a million passages cost ~130 ms a question for all 100 candidates.
    rerank: int = 30
    # Convex weights chosen by bench/tune.py on the training data only (it exits 1 if these
    # differ from its choice): cosine plus 0.2 x BM25/(BM25 + 30).
    lexical_weight: float = 0.2
    dense_norm: str = "none"
    lexical_norm: str = "saturate"
    saturation: float = 30.0
    rrf_k: int = 60
    # An approximate (IVF) dense index searches the lists nearest the question: of about
    # 1,000 lists at a million chunks, 32 gave recall@10 0.97 and 64 gave 0.99 against exact
    # search on bench/scale.py's stand-in vectors (no dev data involved).
    ann_probes: int = 64
    abstain: AbstainThresholds = field(default_factory=AbstainThresholds)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInputError(f"unknown search mode {self.mode!r}; use one of {MODES}")
        if self.fusion not in FUSIONS:
            raise InvalidInputError(f"unknown fusion {self.fusion!r}; use one of {FUSIONS}")
        if self.rerank < 1:
            raise InvalidInputError(f"rerank must be at least 1, got {self.rerank}")


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
    # What the abstention decided on (None: no hits, or a named thing no top hit mentions);
    # bench/calibrate_abstention.py reads it, so calibration sees exactly what search sees.
    evidence: Any = None


class Retriever:
    """Search one index with one embedder. Heavy parts load on first use."""

    def __init__(self, index: Index, embedder: Embedder, config: RetrievalConfig | None = None):
        self.index = index
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        if self.config.mode != "lexical":
            index.check_model(embedder.identity)
        if self.config.ann_probes < 1:
            raise InvalidInputError(f"ann_probes must be positive, got {self.config.ann_probes}")

    @classmethod
    def open(cls, settings: Settings, config: RetrievalConfig | None = None) -> Retriever:
        from samverkan_qa.stores import open_index

        return cls(open_index(settings), load_embedder(settings), config)

    @cached_property
    def _facts(self) -> dict[str, dict[str, list[Fact]]]:
        """Parsed once per loaded index, in document row order."""
        return {d: document_facts(doc) for d, doc in self.index.documents.items()}

    @cached_property
    def _filter_masks(self) -> dict[FieldFilter, np.ndarray]:
        return {}

    def _document_mask(self, flt: FieldFilter) -> np.ndarray:
        """Which documents (by row) pass one filter, as an array made the first time the
        filter is used: from an inverted index for a municipality, type or id (made once
        per key), else by one pass over the documents' facts. A set of filters is these
        arrays and-ed."""
        mask = self._filter_masks.get(flt)
        if mask is not None:
            return mask
        if flt.key in INDEXED_FILTER_KEYS:
            mask = np.zeros(len(self.index.documents), bool)
            mask[self._postings(flt.key).get(filter_term(flt), [])] = True
        else:
            mask = np.fromiter(
                (matches(facts, [flt], doc_id=d) for d, facts in self._facts.items()),
                bool,
                count=len(self._facts),
            )
        mask.setflags(write=False)
        if len(self._filter_masks) >= FILTER_CACHE:
            self._filter_masks.pop(next(iter(self._filter_masks)))
        self._filter_masks[flt] = mask
        return mask

    @cached_property
    def _posting_lists(self) -> dict[str, dict[str, list[int]]]:
        return {}

    def _postings(self, key: str) -> dict[str, list[int]]:
        """term -> document rows for one indexed filter key: as indexing stored them
        (filters.json), else (document ids) made in one pass over the ids."""
        postings = self._posting_lists.get(key)
        if postings is None:
            postings = self.index.filters.get("postings", {}).get(key)
            if postings is None:
                postings = {}
                for row, doc_id in enumerate(self.index.documents):
                    doc = None if key == "doc" else self.index.documents[doc_id]
                    facts = None if doc is None else doc.metadata.get("facts")
                    for term in document_terms(key, facts, doc_id):
                        postings.setdefault(term, []).append(row)
            self._posting_lists[key] = postings
        return postings

    def allowed_documents(self, filters: list[FieldFilter]) -> np.ndarray | None:
        """Document rows (ascending) that pass every filter (None: no filter)."""
        if not filters:
            return None
        mask = np.ones(len(self.index.documents), bool)
        for flt in dict.fromkeys(filters):
            mask &= self._document_mask(flt)
        return np.flatnonzero(mask)

    @cached_property
    def _allowed_cache(self) -> dict[frozenset[FieldFilter], np.ndarray]:
        return {}

    def allowed_rows(self, filters: list[FieldFilter]) -> np.ndarray | None:
        """Row numbers (ascending, read-only) of chunks whose document passes every filter
        (None: no filter). Computed once per set of filters: the index never changes."""
        if not filters:
            return None
        key = frozenset(filters)
        cached = self._allowed_cache.get(key)
        if cached is not None:
            return cached
        keep = np.zeros(len(self.index.documents), bool)
        keep[self.allowed_documents(filters)] = True
        rows = np.flatnonzero(keep[self.index.chunks.doc_rows])
        rows.setflags(write=False)
        if len(self._allowed_cache) >= ALLOWED_CACHE:
            self._allowed_cache.pop(next(iter(self._allowed_cache), key), None)
        self._allowed_cache[key] = rows
        return rows

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
        if not rows:
            ranked = []
        elif mode == "hybrid" and self.config.fusion == "learned":
            top, rest = self.shortlist(dense, lexical)
            ranked = self._learned(question, top, dense, lexical) + rest
        else:
            ranked = self._fuse(dense, lexical)
        return self._finish(question, ranked, dense, lexical, k)

    def candidates(
        self, question: str, vector: np.ndarray, allowed: np.ndarray | None = None
    ) -> tuple[list[int], dict[int, float], dict[int, float]]:
        """Candidate rows (dense top n, then BM25 top n) with their exact cosine and BM25."""
        n = self.config.candidates
        lexical_all = self.index.lexical.scores(question)
        rows = self._dense_rows(vector, n, allowed) + self._top_lexical(lexical_all, n, allowed)
        rows = list(dict.fromkeys(rows))
        lexical = {r: float(lexical_all[r]) for r in rows if lexical_all[r] > 0}
        return rows, self._cosines(vector, rows), lexical

    # ---- learned ranking ----------------------------------------------------------------

    @cached_property
    def ranker(self) -> Any:
        from samverkan_qa.learned import LearnedRanker

        return LearnedRanker.load(self.config.ranker_path)

    def shortlist(
        self, dense: dict[int, float], lexical: dict[int, float]
    ) -> tuple[list[int], list[Any]]:
        """The rows the learned ranker scores (the hand-set hybrid's best `config.rerank`)
        and the other candidates in hybrid order, scored 0 below them."""
        fused = self._fuse(dense, lexical)
        n = self.config.rerank
        return [f.row for f in fused[:n]], [replace(f, fused=0.0) for f in fused[n:]]

    def features(
        self, question: str, rows: list[int], dense: dict[int, float], lexical: dict[int, float]
    ) -> np.ndarray:
        """The learned ranker's feature matrix for candidate `rows` (one row each)."""
        from samverkan_qa.learned import Candidate, Query, feature_matrix, question_years
        from samverkan_qa.ranking import (
            is_english,
            question_names,
            question_words,
            word_weights,
        )

        lex = self.index.lexical
        words = question_words(question, lex.analyzer)
        query = Query(
            words,
            word_weights(words, lex.idf()),
            question_names(question, lex.analyzer),
            question_years(question),
            is_english(question),
        )
        cands = []
        for r in rows:
            chunk = self.index.chunks[r]
            ordinal, n_chunks = self._position(r)
            cands.append(
                Candidate(
                    dense=dense.get(r, 0.0),
                    bm25=lexical.get(r, 0.0),
                    stems=self._chunk_stems(r),
                    sentences=self._sentence_stems(r),
                    title_stems=self._doc_stems(chunk.doc_id, title=True),
                    doc_stems=self._doc_stems(chunk.doc_id),
                    ordinal=ordinal,
                    n_chunks=n_chunks,
                    doc_id=chunk.doc_id,
                )
            )
        return feature_matrix(query, cands)

    def _learned(
        self, question: str, rows: list[int], dense: dict[int, float], lexical: dict[int, float]
    ) -> list[Any]:
        from samverkan_qa.ranking import FusedScore

        scores = self.ranker.score(self.features(question, rows, dense, lexical))
        out = [
            FusedScore(r, float(s), dense.get(r), lexical.get(r), 0.0, 0.0, None, None)
            for r, s in zip(rows, scores, strict=True)
        ]
        out.sort(key=lambda f: (-f.fused, f.row))
        return out

    def _position(self, row: int) -> tuple[int, int]:
        """(ordinal within its document, chunks in the document) of a row."""
        chunks = self.index.chunks
        doc = int(chunks.doc_rows[row])
        return row - int(chunks.first_row[doc]), int(chunks.counts[doc])

    @cached_property
    def _stem_cache(self) -> OrderedDict[Any, Any]:
        # Analysed texts, filled as candidates are seen: a warm server analyses each once,
        # up to STEM_CACHE_ENTRIES (least recently used dropped), so a server over a million
        # passages does not keep every one it ever ranked.
        return OrderedDict()

    def _stems(self, key: tuple[str, Any], make: Callable[[], Any]) -> Any:
        cache = self._stem_cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        value = cache[key] = make()
        if len(cache) > STEM_CACHE_ENTRIES:
            cache.popitem(last=False)
        return value

    def _chunk_stems(self, row: int) -> frozenset[str]:
        def make() -> frozenset[str]:
            chunk = self.index.chunks[row]
            text = indexed_text(chunk, context_title(self.index.documents[chunk.doc_id]))
            return frozenset(self.index.lexical.analyzer.analyze(text))

        return self._stems(("chunk", row), make)

    def _sentence_stems(self, row: int) -> list[frozenset[str]]:
        from samverkan_qa.ranking import split_sentences

        def make() -> list[frozenset[str]]:
            text = self.index.chunks[row].text
            analyze = self.index.lexical.analyzer.analyze
            return [frozenset(analyze(text[s:e])) for s, e in split_sentences(text)]

        return self._stems(("sentences", row), make)

    def _doc_stems(self, doc_id: str, *, title: bool = False) -> frozenset[str]:
        def make() -> frozenset[str]:
            doc = self.index.documents[doc_id]
            text = doc.title if title else f"{doc.title}\n{doc.text}"
            return frozenset(self.index.lexical.analyzer.analyze(text))

        return self._stems(("title" if title else "doc", doc_id), make)

    def _dense_rows(self, vector: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
        import faiss

        # One thread: a second gains little for one query, and OpenMP's waiting threads made
        # it five times slower (30 -> 155 ms at 100,000 chunks) on two cores busy with other
        # work. (A build sets its own thread count.)
        faiss.omp_set_num_threads(1)
        dense = self.index.faiss
        n = min(n, dense.ntotal)
        lists = getattr(dense, "nlist", 0)
        if allowed is not None and lists and self._selective(allowed, n, lists):
            return self._exact_rows(vector, n, allowed)
        kwargs: dict[str, Any] = {}
        if allowed is not None:
            kwargs["sel"] = self._selector(allowed)
        wanted = n if allowed is None else min(n, len(allowed))
        probes = min(self.config.ann_probes, lists)
        while True:
            if lists:
                params = faiss.SearchParametersIVF(nprobe=probes, **kwargs)
            else:
                params = faiss.SearchParameters(**kwargs) if kwargs else None
            _, found = dense.search(vector[None, :], n, params=params)
            rows = [int(r) for r in found[0] if r >= 0]
            if len(rows) >= wanted or probes >= lists:
                return rows
            probes = min(2 * probes, lists)  # the probed lists held fewer rows than asked for

    def _selective(self, allowed: np.ndarray, n: int, lists: int) -> bool:
        """The probed lists would hold too few allowed rows for the approximate search."""
        probes = min(self.config.ann_probes, lists)
        return len(allowed) * probes / lists < EXACT_FILTER_FACTOR * n

    def _exact_rows(self, vector: np.ndarray, n: int, allowed: np.ndarray) -> list[int]:
        """The n best allowed rows by exact inner product, ties by row."""
        if not len(allowed):
            return []
        scores = self.index.vectors[allowed] @ vector
        top = np.argpartition(-scores, n - 1)[:n] if len(scores) > n else np.arange(len(scores))
        top = top[np.lexsort((allowed[top], -scores[top]))]
        return [int(allowed[i]) for i in top]

    @cached_property
    def _selectors(self) -> dict[int, tuple[np.ndarray, np.ndarray, Any]]:
        return {}

    def _selector(self, allowed: np.ndarray) -> Any:
        """A FAISS bitmap selector of the allowed rows, made once per cached row set."""
        import faiss

        held = self._selectors.get(id(allowed))
        if held is None or held[0] is not allowed:
            bits = np.zeros(self.index.faiss.ntotal, bool)
            bits[allowed] = True
            bitmap = np.packbits(bits, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bitmap))
            if len(self._selectors) >= ALLOWED_CACHE:
                self._selectors.pop(next(iter(self._selectors)))
            held = self._selectors[id(allowed)] = (allowed, bitmap, selector)
        return held[2]

    @cached_property
    def _vectors(self) -> np.ndarray:
        """The chunk vectors as the flat FAISS index holds them (a view, not a copy), so a
        search never pages in vectors.npy; else the memory-mapped vectors.npy."""
        dense = self.index.faiss
        if not hasattr(dense, "get_xb") or not 0 < dense.ntotal == len(self.index.vectors):
            return self.index.vectors
        import faiss

        flat = faiss.rev_swig_ptr(dense.get_xb(), dense.ntotal * dense.d)
        view = flat.reshape(dense.ntotal, dense.d)
        view.setflags(write=False)
        return view

    def _cosines(self, vector: np.ndarray, rows: list[int]) -> dict[int, float]:
        scores = self._vectors[rows] @ vector
        return {r: float(s) for r, s in zip(rows, scores, strict=True)}

    @staticmethod
    def _top_lexical(scores: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
        """The n best rows with a positive score (among `allowed`, ascending rows), best
        first, ties by row: a partition, then a sort of the n (and any tied at the n-th)."""
        sub = scores if allowed is None else scores[allowed]
        positive = np.flatnonzero(sub > 0)
        if n <= 0 or positive.size == 0:
            return []
        if positive.size > n:
            values = sub[positive]
            nth = np.partition(values, positive.size - n)[positive.size - n]
            positive = positive[values >= nth]
        top = positive[np.lexsort((positive, -sub[positive]))[:n]]
        rows = top if allowed is None else allowed[top]
        return [int(r) for r in rows]

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float]) -> list[Any]:
        from samverkan_qa.ranking import fuse

        c = self.config
        weight = {"dense": 0.0, "lexical": 1.0}.get(c.mode, c.lexical_weight)
        # dense-only and lexical-only ranking are the convex fusion with one side's weight 0
        method = "convex" if c.fusion == "learned" else c.fusion
        return fuse(
            dense,
            lexical,
            method=method,
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

        hits = [self._hit(f) for f in ranked[: max(k * 3, 20)]]
        hits = collapse_duplicates(hits)[:k]
        for rank, hit in enumerate(hits, start=1):
            hit.rank = rank
            # Answer spans only for the hits kept: analysing a passage's sentences was most
            # of a search's time when all 20 candidates were.
            hit.spans = self._spans(question, hit.chunk)
        evidence = self._evidence(question, hits, dense, lexical)
        abstained = search_abstains(question, evidence, self.config.abstain)
        return SearchResult(question, hits, abstained=abstained, evidence=evidence)

    def _hit(self, fused: Any) -> Hit:
        chunk = self.index.chunks[fused.row]
        doc = self.index.documents[chunk.doc_id]
        return Hit(0, fused.fused, fused.dense, fused.lexical, chunk, doc)

    def _spans(self, question: str, chunk: Chunk) -> list[tuple[int, int]]:
        from samverkan_qa.ranking import best_spans

        lexical = self.index.lexical
        spans = best_spans(question, chunk.text, lexical.analyzer, idf=lexical.idf())
        return [(chunk.start + s, chunk.start + e) for s, e, _ in spans]

    def _evidence(
        self, question: str, hits: list[Hit], dense: dict[int, float], lexical: dict[int, float]
    ) -> Any:
        """The abstention features of the best-covered of the top three hits; None when
        nothing was retrieved or the question names something no top document mentions."""
        from samverkan_qa.ranking import abstain_features, missing_names

        if not hits:
            return None
        analyzer = self.index.lexical.analyzer
        top = hits[:3]
        synonyms = self.index.lexical.synonym_equivalents(question)
        texts = [f"{h.document.title}\n{h.document.text}" for h in top]
        if missing_names(question, texts, analyzer, synonyms):
            return None
        features = [
            abstain_features(
                question,
                h.text,
                analyzer,
                top_dense=max(dense.values()) if dense else 1.0,
                top_lexical=max(lexical.values()) if lexical else 0.0,
                idf=self.index.lexical.idf(),
                synonyms=synonyms,
            )
            for h in top
        ]
        return max(features, key=lambda f: f.query_coverage)


def check_question(question: object, limit: int = Settings.max_question_chars) -> None:
    """Usable question text (see settings.check_text), not empty: else a one-line refusal."""
    if not check_text(question, "the question", limit).strip():
        raise InvalidInputError("the question is empty")


def check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InvalidInputError(f"-k must be between 1 and {MAX_K}, got {k}")
