from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder

from samverkan_qa.errors import IndexMismatchError, IndexNotFoundError, InvalidInputError
from samverkan_qa.index import FORMAT_VERSION, build_index, load_index
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings


def test_build_writes_plain_files_and_manifest(settings: Settings, fake_embedder) -> None:
    report = build_index(settings, fake_embedder)
    folder = settings.index_dir
    names = {p.name for p in folder.iterdir()}
    assert {
        "manifest.json",
        "documents.jsonl",
        "texts.bin",
        "documents.npy",
        "chunks.npy",
        "vectors.npy",
        "dense.faiss",
        "lexical",
    } <= names
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == fake_embedder.identity
    assert manifest["chunking"]["chunk_tokens"] == 40 and manifest["chunking"]["overlap"] == 8
    assert manifest["lexical"]
    index = load_index(folder)
    assert set(manifest["documents"]) == set(index.documents)
    for doc_id, entry in manifest["documents"].items():
        assert entry["hash"] == index.documents[doc_id].hash
    assert report.documents == 7 and report.chunks == len(index.chunks) == index.faiss.ntotal
    for chunk in index.chunks:
        assert index.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    assert not list(folder.parent.glob(".index.*")), "no staging folders left behind"


def test_reindex_embeds_only_new_or_changed_and_drops_removed(
    settings: Settings, small_corpus: Path
) -> None:
    first = FakeEmbedder()
    build_index(settings, first)
    before = load_index(settings.index_dir)
    (small_corpus / "oby-trygghet.html").unlink()
    changed = small_corpus / "alvby-overenskommelse.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nNytt stycke om nattvandring.\n", encoding="utf-8"
    )
    (small_corpus / "ny.txt").write_text("Ny text om trygghet i Åby centrum.", encoding="utf-8")
    second = FakeEmbedder()
    report = build_index(settings, second)
    after = load_index(settings.index_dir)
    assert sorted(report.new_or_changed) == ["alvby-overenskommelse", "ny"]
    assert report.removed == ["oby-trygghet"]
    assert report.embedded_chunks == sum(
        1 for c in after.chunks if c.doc_id in ("alvby-overenskommelse", "ny")
    )
    assert sum(second.calls) == report.embedded_chunks
    assert "oby-trygghet" not in after.documents
    # Reused vectors are the very same rows as before.
    old = {c.chunk_id: before.vectors[i] for i, c in enumerate(before.chunks)}
    for i, chunk in enumerate(after.chunks):
        if chunk.doc_id == "avtal":
            np.testing.assert_array_equal(after.vectors[i], old[chunk.chunk_id])


def test_unchanged_corpus_embeds_nothing(settings: Settings) -> None:
    build_index(settings, FakeEmbedder())
    again = FakeEmbedder()
    report = build_index(settings, again)
    assert report.embedded_chunks == 0 and not again.calls and report.reused_documents == 7


def test_other_model_is_refused_when_searching(settings: Settings, fake_embedder) -> None:
    build_index(settings, fake_embedder)
    with pytest.raises(IndexMismatchError, match="other|rebuild"):
        Retriever(load_index(settings.index_dir), FakeEmbedder("another-model"))


def test_other_format_version_is_refused(settings: Settings, fake_embedder) -> None:
    build_index(settings, fake_embedder)
    path = settings.index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = 999
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="format version 999"):
        load_index(settings.index_dir)


def test_building_with_another_model_rebuilds_everything(settings: Settings) -> None:
    build_index(settings, FakeEmbedder("a"))
    report = build_index(settings, FakeEmbedder("b"))
    assert report.reused_documents == 0 and report.embedded_chunks == report.chunks


def test_interrupted_build_leaves_previous_index_intact(
    settings: Settings, small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(settings, FakeEmbedder())
    before = (settings.index_dir / "chunks.npy").read_bytes()
    (small_corpus / "ny.txt").write_text("Helt ny text om polisen.", encoding="utf-8")
    import faiss

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, FakeEmbedder())
    assert (settings.index_dir / "chunks.npy").read_bytes() == before
    assert load_index(settings.index_dir).manifest["n_documents"] == 7
    assert not list(settings.index_dir.parent.glob(".index.*"))


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="no index"):
        load_index(tmp_path / "nowhere")


def test_refuses_to_overwrite_a_folder_that_is_not_an_index(
    settings: Settings, fake_embedder, tmp_path: Path
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("mitt arbete", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not a samverkan-qa index"):
        build_index(settings.with_(index_dir=precious), fake_embedder)
    assert (precious / "thesis.txt").read_text(encoding="utf-8") == "mitt arbete"


def test_corpus_with_no_usable_documents_is_an_error(tmp_path: Path, fake_embedder) -> None:
    empty = tmp_path / "tom"
    empty.mkdir()
    (empty / "tom.txt").write_text("", encoding="utf-8")
    settings = Settings(corpus=(empty,), index_dir=tmp_path / "index")
    with pytest.raises(InvalidInputError, match="no indexable documents"):
        build_index(settings, fake_embedder)
    assert not (tmp_path / "index").exists()


def test_reindex_keeps_facts_of_unchanged_documents_and_reextracts_changed(
    settings: Settings, small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import samverkan_qa.metadata as metadata

    build_index(settings, FakeEmbedder())
    seen: list[str] = []
    real = metadata.extract_facts

    def counting(text: str, **kwargs):
        seen.append(kwargs.get("filename", ""))
        return real(text, **kwargs)

    monkeypatch.setattr(metadata, "extract_facts", counting)
    md = small_corpus / "raddningstjanst.md"
    md.write_text(
        md.read_text(encoding="utf-8").replace("2024-03-01", "2024-04-01"), encoding="utf-8"
    )
    build_index(settings, FakeEmbedder())
    assert seen == ["raddningstjanst.md"]  # front matter changed; nothing else re-extracted
    docs = load_index(settings.index_dir).documents
    assert docs["avtal"].metadata["facts"]["dates"]  # kept from the first build
