from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FakeEmbedder

from samverkan_qa.errors import InvalidInputError
from samverkan_qa.index import build_index, load_index
from samverkan_qa.metadata import parse_filter
from samverkan_qa.retrieval import RetrievalConfig, Retriever
from samverkan_qa.settings import Settings

DOCS = {
    "tyreso.txt": "Tyresö kommun och polisen har en överenskommelse om trygghet. "
    "Överenskommelsen gäller från 1 januari 2024 till 31 december 2025.",
    "vaxholm.txt": "Vaxholms kommun och polisen samverkar mot bostadsinbrott och trygghet i "
    "centrum. "
    "Samverkansöverenskommelsen gäller för perioden 2021–2022.",
    "press.txt": "Pressmeddelande 2023-05-04\n\nBrandförsvaret deltar i arbetet mot anlagda "
    "bränder i Vaxholms kommun.",
    "repris.txt": "Pressmeddelande 2023-05-04\n\nBrandförsvaret deltar i arbetet mot anlagda "
    "bränder i Vaxholms kommun.",
}


@pytest.fixture
def retriever(tmp_path: Path) -> Retriever:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(
        corpus=(corpus,), index_dir=tmp_path / "ix", chunk_tokens=40, chunk_overlap=0
    )
    embedder = FakeEmbedder()
    build_index(settings, embedder)
    return Retriever(load_index(settings.index_dir), embedder)


def test_filter_applies_before_ranking(retriever: Retriever) -> None:
    allowed = {"vaxholm", "press", "repris"}
    chunks = [c for c in retriever.index.chunks if c.doc_id in {"vaxholm"}]
    result = retriever.search(
        "Tyresö överenskommelse", k=50, filters=[parse_filter("kommun=Vaxholm")]
    )
    assert {h.doc_id for h in result.hits} <= allowed
    assert {c.chunk_id for c in chunks} <= {h.chunk.chunk_id for h in result.hits}


def test_filter_that_matches_nothing_returns_no_hits(retriever: Retriever) -> None:
    result = retriever.search("trygghet", k=5, filters=[parse_filter("kommun=Kiruna")])
    assert result.hits == [] and result.abstained


def test_republished_passage_is_collapsed(retriever: Retriever) -> None:
    hits = retriever.search("Brandförsvaret anlagda bränder Vaxholms", k=4).hits
    texts = [" ".join(h.text.split()) for h in hits]
    assert len(texts) == len(set(texts))
    assert sum("anlagda bränder" in t for t in texts) == 1


def test_hits_expose_parts_and_answer_spans(retriever: Retriever) -> None:
    # Lexical mode: the fake embedder's vectors say little about meaning.
    lexical = Retriever(retriever.index, retriever.embedder, RetrievalConfig(mode="lexical"))
    result = lexical.search("Hur länge gäller överenskommelsen i Tyresö?", k=3)
    top = next(h for h in result.hits if h.spans)
    assert top.doc_id == "tyreso"
    data = top.to_json()
    assert {"score", "dense_score", "lexical_score", "answer_spans"} <= data.keys()
    span = data["answer_spans"][0]
    assert "31 december 2025" in span["text"]
    assert top.document.text[span["start"] : span["end"]] == span["text"]


def test_modes_and_bad_mode(retriever: Retriever) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        r = Retriever(retriever.index, retriever.embedder, RetrievalConfig(mode=mode))
        hits = r.search("bostadsinbrott", k=2).hits
        assert hits and all(h.lexical is not None for h in hits) == (mode == "lexical")
    lexical = Retriever(retriever.index, retriever.embedder, RetrievalConfig(mode="lexical"))
    assert lexical.search("bostadsinbrott", k=2).hits[0].doc_id == "vaxholm"
    with pytest.raises(InvalidInputError, match="unknown search mode"):
        RetrievalConfig(mode="magic")


def test_compound_query_finds_the_compound(retriever: Retriever) -> None:
    r = Retriever(retriever.index, FakeEmbedder(), RetrievalConfig(mode="lexical"))
    assert r.search("överenskommelse Vaxholms", k=1).hits[0].doc_id == "vaxholm"
