"""The index format read on demand (store.py) and the approximate dense index beyond a size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder

from samverkan_qa import retrieval
from samverkan_qa.cli import main
from samverkan_qa.errors import IndexDamagedError, IndexMismatchError
from samverkan_qa.index import FORMAT_VERSION, build_index, load_index
from samverkan_qa.metadata import FieldFilter
from samverkan_qa.retrieval import RetrievalConfig, Retriever
from samverkan_qa.settings import Settings

TOWNS = ("Haninge", "Huddinge", "Nacka", "Tyresö", "Botkyrka")
TOPICS = (
    "trygghet i skolan och på fritidsgården",
    "anlagda bränder och skadegörelse i centrum",
    "narkotika bland unga och föräldrars ansvar",
    "belysning på gångvägar och nattvandring",
    "våld i nära relationer och socialtjänstens stöd",
)


def _corpus(tmp_path: Path, n_docs: int = 30) -> Path:
    """Documents of several passages each, every one naming its town and two topics."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(n_docs):
        town = TOWNS[i % len(TOWNS)]
        paragraphs = [
            f"{town} kommun och polisen samverkar om {TOPICS[(i + j) % len(TOPICS)]}. "
            f"Arbetet i {town} följs upp varje år av styrgruppen, som rapporterar "
            f"till kommunstyrelsen om {TOPICS[(i * j + 1) % len(TOPICS)]}."
            for j in range(4)
        ]
        (corpus / f"rapport-{i:02d}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    return corpus


def _settings(tmp_path: Path, corpus: Path, name: str, **changes: object) -> Settings:
    return Settings(
        corpus=(corpus,),
        index_dir=tmp_path / name,
        chunk_tokens=30,
        chunk_overlap=0,
        **changes,  # type: ignore[arg-type]
    )


def test_chunks_and_texts_are_read_on_demand(settings: Settings) -> None:
    build_index(settings, FakeEmbedder())
    index = load_index(settings.index_dir)
    blob = index.chunks._blob
    assert not blob._cache, "opening decodes no text"
    parsed = [d for d in index.documents._docs if d is not None]
    assert len(parsed) == 2 < len(index.documents), "only the first and last records"
    row = len(index.chunks) - 1
    chunk = index.chunks[row]
    doc = index.documents[chunk.doc_id]
    assert list(blob._cache) == [list(index.documents).index(chunk.doc_id)]
    assert doc.text[chunk.start : chunk.end] == chunk.text
    ordinal = row - index.chunks.rows_of(chunk.doc_id)[0]
    assert chunk.chunk_id == f"{chunk.doc_id}#{ordinal}"
    for c in index.chunks:  # pages as chunking gave them
        assert c.page == index.documents[c.doc_id].page_at(c.start)
    assert None not in {c.page for c in index.chunks.of_document("beslut")}
    assert {c.page for c in index.chunks.of_document("alvby-overenskommelse")} == {None}
    assert doc.to_dict()["text"] == doc.text and doc.hash == doc.to_dict()["hash"]


def test_an_index_of_the_previous_format_says_to_rebuild(
    settings: Settings, capsys: pytest.CaptureFixture[str], use_fake_embedder: FakeEmbedder
) -> None:
    build_index(settings, FakeEmbedder())
    folder = settings.index_dir
    # What format 1 left: documents with their texts, chunks.jsonl, no store arrays.
    index = load_index(folder)
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk in index.chunks:
            handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    for name in ("texts.bin", "documents.npy", "chunks.npy"):
        (folder / name).unlink()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(IndexMismatchError, match="rebuild it with `samverkan-qa index`"):
        load_index(folder)
    code = main(["search", "polisen", "--index", str(folder)])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"format version 1, this program reads version {FORMAT_VERSION}" in err

    corpus = str(settings.corpus[0])
    assert main(["index", corpus, "--index", str(folder), "-q"]) == 0
    rebuilt = load_index(folder)
    assert rebuilt.manifest["format_version"] == FORMAT_VERSION
    assert [c.text for c in rebuilt.chunks] == [c.text for c in index.chunks]
    assert not (folder / "chunks.jsonl").exists()


def test_a_damaged_record_is_one_line_when_it_is_read(
    settings: Settings, capsys: pytest.CaptureFixture[str], use_fake_embedder: FakeEmbedder
) -> None:
    build_index(settings, FakeEmbedder())
    path = settings.index_dir / "documents.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    middle = json.loads(lines[2])
    middle["doc_id"] = "ett-annat-dokument"
    lines[2] = json.dumps(middle, ensure_ascii=False) + "\n"
    path.write_text("".join(lines), encoding="utf-8")

    index = load_index(settings.index_dir)  # the middle records are read when needed
    wanted = list(index.documents)[2]
    with pytest.raises(IndexDamagedError, match="rebuild it with samverkan-qa index"):
        index.documents[wanted]
    assert main(["docs", "--index", str(settings.index_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"line 3 is not document {wanted!r}" in err


@pytest.fixture(scope="module")
def flat_and_ivf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Retriever, Retriever]:
    """The same documents indexed exactly and (threshold 1) approximately."""
    tmp_path = tmp_path_factory.mktemp("ann")
    corpus = _corpus(tmp_path)
    out = []
    for name, threshold in (("flat", 10**9), ("ivf", 1)):
        settings = _settings(tmp_path, corpus, name, ann_min_chunks=threshold)
        build_index(settings, FakeEmbedder())
        out.append(Retriever(load_index(settings.index_dir), FakeEmbedder()))
    return out[0], out[1]


QUESTIONS = ("Vem ansvarar för nattvandring?", "bränder i centrum", "narkotika bland unga")


def test_beyond_the_threshold_the_dense_index_is_approximate(flat_and_ivf) -> None:
    flat, ivf = flat_and_ivf
    assert not hasattr(flat.index.faiss, "nlist")
    lists = ivf.index.faiss.nlist
    assert 1 < lists < len(ivf.index.chunks)
    # Probing every list is exact: the same scores as the flat index (tied rows may come
    # in another order).
    # (Convex fusion: its scores depend on each hit alone; the learned ranker's document
    # features also count which tied rows made the candidate cut.)
    every = Retriever(
        ivf.index, FakeEmbedder(), RetrievalConfig("hybrid", fusion="convex", ann_probes=lists)
    )
    flat_convex = Retriever(flat.index, FakeEmbedder(), RetrievalConfig("hybrid", fusion="convex"))
    one = Retriever(ivf.index, FakeEmbedder(), RetrievalConfig(ann_probes=1))
    vectors = FakeEmbedder().embed_queries(list(QUESTIONS))
    for vector in vectors:
        exact = _scores(flat, vector, flat._dense_rows(vector, 10, None))
        assert _scores(flat, vector, every._dense_rows(vector, 10, None)) == exact
        assert len(one._dense_rows(vector, 10, None)) == 10
    for question in QUESTIONS:
        assert [round(h.score, 5) for h in every.search(question, k=5).hits] == [
            round(h.score, 5) for h in flat_convex.search(question, k=5).hits
        ]


def _scores(retriever: Retriever, vector: np.ndarray, rows: list[int]) -> list[float]:
    return [round(s, 5) for s in retriever._cosines(vector, rows).values()]


def test_a_selective_filter_is_searched_exactly_over_its_rows(flat_and_ivf) -> None:
    flat, ivf = flat_and_ivf
    one = Retriever(ivf.index, FakeEmbedder(), RetrievalConfig(ann_probes=1))
    filters = [FieldFilter("doc", "rapport-07")]
    allowed = one.allowed_rows(filters)
    assert allowed is not None and 0 < len(allowed) < 10
    for vector in FakeEmbedder().embed_queries(list(QUESTIONS)):
        rows = one._dense_rows(vector, 50, allowed)
        assert sorted(rows) == allowed.tolist(), "every allowed row, none other"
        assert _scores(flat, vector, rows) == _scores(
            flat, vector, flat._dense_rows(vector, 50, allowed)
        )
        assert _scores(flat, vector, rows) == sorted(_scores(flat, vector, rows), reverse=True)
    hits = one.search(QUESTIONS[0], k=5, filters=filters).hits
    assert hits and {h.doc_id for h in hits} == {"rapport-07"}


def test_a_broad_filter_on_the_approximate_index_keeps_to_its_rows(
    flat_and_ivf, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ivf = flat_and_ivf
    monkeypatch.setattr(retrieval, "EXACT_FILTER_FACTOR", 0)  # the selector path, always
    one = Retriever(ivf.index, FakeEmbedder(), RetrievalConfig(ann_probes=1))
    filters = [FieldFilter("kommun", "Huddinge")]
    allowed = one.allowed_rows(filters)
    towns = {ivf.index.chunks[r].doc_id for r in allowed}
    assert towns == {f"rapport-{i:02d}" for i in range(1, 30, len(TOWNS))}
    for vector in FakeEmbedder().embed_queries(list(QUESTIONS)):
        rows = one._dense_rows(vector, 8, allowed)
        assert len(rows) == 8 and set(rows) <= set(allowed.tolist())
        # One probed list may hold fewer than asked for: then more lists are probed.
        many = one._dense_rows(vector, len(allowed), allowed)
        assert sorted(many) == allowed.tolist()


def test_filters_are_document_arrays_and_ed(flat_and_ivf) -> None:
    flat, _ = flat_and_ivf
    town = flat.allowed_documents([FieldFilter("kommun", "Nacka")])
    both = flat.allowed_documents(
        [FieldFilter("kommun", "Nacka"), FieldFilter("doc", "rapport-02")]
    )
    assert town is not None and both is not None
    names = list(flat.index.documents)
    assert [names[r] for r in town] == [f"rapport-{i:02d}" for i in range(2, 30, len(TOWNS))]
    assert [names[r] for r in both] == ["rapport-02"]
    rows = flat.allowed_rows([FieldFilter("doc", "rapport-02")])
    assert rows is not None
    assert rows.tolist() == list(flat.index.chunks.rows_of("rapport-02"))
    assert np.all(np.diff(rows) == 1)


FILTERS = [
    "kommun=Nacka",
    "kommun=nacka kommun",
    "kommun=Tyresö",
    "kommun=tyreso",
    "kommun=Huddinges",
    "kommun=Haninge",
    "kommun=Stockholm",
    "typ=webbsida",
    "typ=avtal",
    "typ=Pressmeddelande",
    "doc=Rapport-03",
    "doc=rapport-03",
    "doc=finns-inte",
    "part=polis",
    "år=2024",
    "giltig=2025",
]


def test_indexed_filters_match_as_the_facts_do(flat_and_ivf, settings: Settings) -> None:
    from samverkan_qa.catalog import document_facts
    from samverkan_qa.metadata import matches, parse_filter

    build_index(settings, FakeEmbedder())
    small = Retriever(load_index(settings.index_dir), FakeEmbedder())
    for retriever in (flat_and_ivf[0], small):
        docs = list(retriever.index.documents.values())
        for text in FILTERS:
            flt = parse_filter(text)
            expected = [
                i for i, d in enumerate(docs) if matches(document_facts(d), [flt], doc_id=d.doc_id)
            ]
            got = retriever.allowed_documents([flt])
            assert got is not None and got.tolist() == expected, text
    assert len(flat_and_ivf[0].allowed_documents([parse_filter("kommun=nacka kommun")])) == 6


def test_a_question_parses_only_the_documents_it_reads(flat_and_ivf) -> None:
    from samverkan_qa.answers import Assistant
    from samverkan_qa.metadata import parse_filter

    index = load_index(flat_and_ivf[0].index.folder)  # a fresh snapshot: nothing parsed
    # the ranker reads its candidates' documents: 5 + 5 candidates of 30 documents
    assistant = Assistant(Retriever(index, FakeEmbedder(), RetrievalConfig(candidates=5)))
    answer = assistant.ask("Hur arbetar man med nattvandring?").to_json()
    parsed = {d.doc_id for d in index.documents._docs if d is not None}
    assert answer["hits"] and {h["doc_id"] for h in answer["hits"]} <= parsed
    assert len(parsed) < len(index.documents)
    towns = assistant._filtered([parse_filter("kommun=Nacka")])
    assert [d.doc_id for d in towns] == [f"rapport-{i:02d}" for i in range(2, 30, len(TOWNS))]
    assert len(assistant._filtered([])) == len(index.documents)
