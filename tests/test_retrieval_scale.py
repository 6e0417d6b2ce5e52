"""The scaled hot path (cached filter rows, partitioned BM25 top-n, memory-mapped vectors)
ranks exactly as the previous implementation did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder

from samverkan_qa.index import build_index, load_index
from samverkan_qa.metadata import FieldFilter, matches, parse_filter
from samverkan_qa.retrieval import RetrievalConfig, Retriever
from samverkan_qa.settings import Settings

TOWNS = ("Tyresö", "Vaxholm", "Huddinge", "Haninge")
TOPICS = ("trygghet i centrum", "anlagda bränder", "bostadsinbrott", "nattvandring")


def old_allowed_rows(retriever: Retriever, filters: list[FieldFilter]) -> np.ndarray | None:
    if not filters:
        return None
    keep = {d for d, f in retriever._facts.items() if matches(f, filters, doc_id=d)}
    chunks = retriever.index.chunks
    return np.array([i for i, c in enumerate(chunks) if c.doc_id in keep], "int64")


def old_top_lexical(scores: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
    if allowed is not None:
        masked = np.zeros_like(scores)
        masked[allowed] = scores[allowed]
        scores = masked
    top = np.argsort(-scores, kind="stable")[:n]
    return [int(r) for r in top if scores[r] > 0]


@pytest.mark.parametrize("seed", range(20))
def test_top_lexical_matches_a_full_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 300))
    # Few distinct values: many ties, also at the n-th place; many zeros.
    scores = rng.integers(0, 5, size=size).astype("float32") * np.float32(0.7)
    allowed = np.sort(rng.choice(size, size=int(rng.integers(0, size + 1)), replace=False))
    for n in (1, 3, 8, 50, size, size + 5):
        assert Retriever._top_lexical(scores, n, None) == old_top_lexical(scores, n, None)
        assert Retriever._top_lexical(scores, n, allowed) == old_top_lexical(scores, n, allowed)


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(24):
        town, topic = TOWNS[i % 4], TOPICS[(i // 4) % 4]
        (corpus / f"d{i:02d}.txt").write_text(
            f"{town} kommun och polisen har en överenskommelse om {topic}. "
            f"Arbetet i {town} gäller {topic} under {2020 + i % 5}.\n\n"
            f"Uppföljning av {topic} sker varje år i {town}.",
            encoding="utf-8",
        )
    settings = Settings(
        corpus=(corpus,), index_dir=tmp_path / "ix", chunk_tokens=20, chunk_overlap=0
    )
    build_index(settings, FakeEmbedder())
    return settings.index_dir


FILTERS = ([], ["kommun=Tyresö"], ["kommun=Vaxholm", "år=2021"], ["kommun=Stockholm"])


@pytest.mark.parametrize("filters", FILTERS)
def test_allowed_rows_as_before_and_cached(index_dir: Path, filters: list[str]) -> None:
    retriever = Retriever(load_index(index_dir), FakeEmbedder())
    parsed = [parse_filter(f) for f in filters]
    rows = retriever.allowed_rows(parsed)
    old = old_allowed_rows(retriever, parsed)
    if old is None:
        assert rows is None
        return
    np.testing.assert_array_equal(rows, old)
    assert retriever.allowed_rows(list(reversed(parsed))) is rows  # once per filter set
    assert not rows.flags.writeable


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_ranking_identical_to_the_previous_hot_path(index_dir: Path, mode: str) -> None:
    index = load_index(index_dir)
    new = Retriever(index, FakeEmbedder(), RetrievalConfig(mode=mode))
    old = Retriever(index, FakeEmbedder(), RetrievalConfig(mode=mode))
    old.allowed_rows = lambda filters: old_allowed_rows(old, filters)  # type: ignore[method-assign]
    old._top_lexical = old_top_lexical  # type: ignore[method-assign]
    questions = [
        "Vilken överenskommelse har Tyresö om trygghet?",
        "anlagda bränder i Vaxholm",
        "Uppföljning av nattvandring",
        "bostadsinbrott",
    ]
    for filters in FILTERS:
        parsed = [parse_filter(f) for f in filters]
        for question in questions:
            a = new.search(question, k=5, filters=parsed)
            b = old.search(question, k=5, filters=parsed)
            assert [h.to_json() for h in a.hits] == [h.to_json() for h in b.hits]
            assert a.abstained == b.abstained


def test_vectors_are_read_once_memory_mapped(index_dir: Path) -> None:
    index = load_index(index_dir)
    assert isinstance(index.vectors, np.memmap)
    assert not index.vectors.flags.writeable
    for row in range(len(index.chunks)):
        np.testing.assert_array_equal(index.faiss.reconstruct(row), index.vectors[row])


def test_cosines_read_the_faiss_copy(index_dir: Path) -> None:
    index = load_index(index_dir)
    retriever = Retriever(index, FakeEmbedder())
    assert not isinstance(retriever._vectors, np.memmap)
    np.testing.assert_array_equal(retriever._vectors, index.vectors)
    assert retriever._vectors.shape == index.vectors.shape
