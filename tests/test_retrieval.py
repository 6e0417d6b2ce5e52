from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FakeEmbedder, retriever_over

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
    return retriever_over(tmp_path, DOCS)


# Twelve Tyresö documents that match "Tyresö överenskommelse" better than the one Vaxholm
# document does: more than the candidates each side keeps for k=2 (max(3, 2 * 4) = 8).
TOPICS = [
    "nattvandring på helgerna",
    "belysning längs gångvägarna",
    "klotter på skolorna",
    "trafiken vid stationen",
    "ungdomarnas fritidsgårdar",
    "bränder i soprum",
    "cykelstölder i centrum",
    "trygghetsvandringar med boende",
    "kameror på torget",
    "stöd till brottsutsatta",
    "föräldrar som nattvandrar",
    "narkotika bland unga",
]
CROWD = {
    f"tyreso-{i:02d}.txt": f"Tyresö kommun och polisen i Tyresö har en överenskommelse om {topic}. "
    f"Överenskommelsen i Tyresö gäller {topic}."
    for i, topic in enumerate(TOPICS)
}
LONE = {
    "vaxholm.txt": "Vaxholms kommun och polisen samverkar mot bostadsinbrott. Trygghet i "
    "centrum är en del av deras överenskommelse."
}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_filter_applies_before_ranking(tmp_path: Path, mode: str) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, text in {**CROWD, **LONE}.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(corpus=(corpus,), index_dir=tmp_path / "ix", chunk_tokens=60)
    build_index(settings, FakeEmbedder())
    config = RetrievalConfig(mode=mode, candidates=3)
    retriever = Retriever(load_index(settings.index_dir), FakeEmbedder(), config)
    unfiltered = retriever.search("Tyresö överenskommelse", k=2)
    assert unfiltered.hits and all(h.doc_id.startswith("tyreso-") for h in unfiltered.hits)
    # Ranking first and filtering the ranked candidates afterwards would leave nothing here:
    # the Vaxholm passage is never among the unfiltered candidates.
    ranked_all = Retriever(retriever.index, retriever.embedder, RetrievalConfig(mode=mode))
    place = [h.doc_id for h in ranked_all.search("Tyresö överenskommelse", k=20).hits]
    assert "vaxholm" not in place[:8]
    result = retriever.search(
        "Tyresö överenskommelse", k=2, filters=[parse_filter("kommun=Vaxholm")]
    )
    assert [h.doc_id for h in result.hits] == ["vaxholm"]


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
