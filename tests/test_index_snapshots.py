"""An index is read as one generation; one build per folder; killed builds lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FakeEmbedder

import samverkan_qa.index as index_module
from samverkan_qa.cli import main
from samverkan_qa.errors import IndexBusyError
from samverkan_qa.index import build_index, index_lock, load_index, lock_path
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings

TESTS = Path(__file__).parent


def _corpus(root: Path, name: str, town: str, n: int = 3) -> Path:
    """n small documents that all name `town`: which generation a passage is from is visible."""
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{name}-{i}.txt").write_text(
            f"{town} kommun och polisen samverkar om trygghet, dokument {i}.\n\n"
            f"I {town} gäller överenskommelsen från 2024 till 2026. Fokus är skolan och "
            f"centrum i {town}.\n",
            encoding="utf-8",
        )
    return folder


def _settings(corpus: Path, folder: Path) -> Settings:
    return Settings(corpus=(corpus,), index_dir=folder, chunk_tokens=40, chunk_overlap=8)


def _one_generation(index: Any, towns: tuple[str, ...]) -> str:
    """The one town every file of the loaded index speaks of; fails on any mix."""
    seen = {town for town in towns for doc in index.documents.values() if town in doc.text}
    assert len(seen) == 1, f"documents from two generations: {seen}"
    town = seen.pop()
    assert index.faiss.ntotal == len(index.chunks) == len(index.vectors)
    assert index.lexical.n_docs == len(index.chunks)
    for row, chunk in enumerate(index.chunks):
        assert town in index.documents[chunk.doc_id].text
        assert index.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
        assert np.allclose(index.faiss.reconstruct(row), index.vectors[row])
    return town


def test_a_rebuild_during_open_is_detected_and_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of the issue, made deterministic: the folder is swapped after the documents
    and chunks were read and before the vectors and search structures were; the reader must
    not mix the two."""
    alvby, oby = _corpus(tmp_path, "a", "Älvby"), _corpus(tmp_path, "b", "Öby", n=5)
    folder = tmp_path / "index"
    build_index(_settings(alvby, folder), FakeEmbedder())
    real = index_module.read_store
    reads: list[Path] = []

    def rebuild_after_chunks(path: Path, ids: list[str]) -> Any:
        store = real(path, ids)
        reads.append(path)
        if len(reads) == 1:
            monkeypatch.setattr(index_module, "read_store", real)  # the builder reads too
            build_index(_settings(oby, folder), FakeEmbedder())
            monkeypatch.setattr(index_module, "read_store", rebuild_after_chunks)
        return store

    monkeypatch.setattr(index_module, "read_store", rebuild_after_chunks)
    index = load_index(folder)
    assert _one_generation(index, ("Älvby", "Öby")) == "Öby"
    assert len(reads) == 2, "the first, mixed read was thrown away"


def test_searches_overlapping_rebuilds_see_one_generation(tmp_path: Path) -> None:
    towns = ("Älvby", "Öby")
    corpora = [_corpus(tmp_path, "a", towns[0]), _corpus(tmp_path, "b", towns[1], n=6)]
    folder = tmp_path / "index"
    build_index(_settings(corpora[0], folder), FakeEmbedder())
    stop = threading.Event()
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            for i in range(12):
                build_index(_settings(corpora[(i + 1) % 2], folder), FakeEmbedder())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            stop.set()

    builder = threading.Thread(target=rebuild)
    builder.start()
    seen: set[str] = set()
    searches = 0
    while not stop.is_set() or searches < 3:
        index = load_index(folder)
        town = _one_generation(index, towns)
        seen.add(town)
        hits = Retriever(index, FakeEmbedder()).search(f"trygghet i {town}", k=3).hits
        assert hits and all(town in hit.document.text for hit in hits)
        searches += 1
    builder.join()
    assert not errors, errors
    assert searches >= 3 and seen


def test_an_open_index_is_unchanged_by_a_rebuild(tmp_path: Path) -> None:
    alvby, oby = _corpus(tmp_path, "a", "Älvby"), _corpus(tmp_path, "b", "Öby")
    folder = tmp_path / "index"
    build_index(_settings(alvby, folder), FakeEmbedder())
    retriever = Retriever(load_index(folder), FakeEmbedder())
    before = [h.to_json() for h in retriever.search("Vad gäller i Älvby?", k=3).hits]
    build_index(_settings(oby, folder), FakeEmbedder())
    after = [h.to_json() for h in retriever.search("Vad gäller i Älvby?", k=3).hits]
    assert before == after and all("Älvby" in h["text"] for h in after)


class SlowEmbedder(FakeEmbedder):
    """Embeds slowly and says when it has started, so a second build can overlap it."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.started.set()
        time.sleep(0.5)
        return super().embed_passages(texts)


def test_two_indexers_on_one_folder_lose_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], use_fake_embedder: FakeEmbedder
) -> None:
    alvby, oby = _corpus(tmp_path, "a", "Älvby"), _corpus(tmp_path, "b", "Öby")
    folder = tmp_path / "index"
    slow = SlowEmbedder()
    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(build_index(_settings(alvby, folder), slow))
    )
    first.start()
    assert slow.started.wait(10)
    # The second run is refused at once, in one line, and changes nothing.
    code = main(["index", str(oby), "--index", str(folder), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "being built by another" in err
    assert f"pid {os.getpid()}" in err
    with pytest.raises(IndexBusyError):
        build_index(_settings(oby, folder), FakeEmbedder())
    first.join()
    assert results and results[0].documents == 3
    assert _one_generation(load_index(folder), ("Älvby", "Öby")) == "Älvby"
    # Run again when the first has finished: it succeeds and says what it replaced.
    report = build_index(_settings(oby, folder), FakeEmbedder())
    assert len(report.removed) == 3 and report.documents == 3
    assert _one_generation(load_index(folder), ("Älvby", "Öby")) == "Öby"
    assert not lock_path(folder).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "index"]


def test_stale_lock_and_staging_folders_are_cleaned(tmp_path: Path) -> None:
    alvby = _corpus(tmp_path, "a", "Älvby")
    folder = tmp_path / "index"
    build_index(_settings(alvby, folder), FakeEmbedder())
    # What a build killed at various moments leaves: a lock file naming a dead process,
    # a half-written staging folder and an old index that was never removed.
    lock_path(folder).write_text("pid 999999\n")
    (tmp_path / ".index.building-999999").mkdir()
    (tmp_path / ".index.building-999999" / "chunks.npy").write_text("{")
    (tmp_path / ".index.old-999998").mkdir()
    assert _one_generation(load_index(folder), ("Älvby",)) == "Älvby"  # readers are unaffected
    build_index(_settings(alvby, folder), FakeEmbedder())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "index"]


def test_an_interrupted_swap_is_restored(tmp_path: Path) -> None:
    alvby = _corpus(tmp_path, "a", "Älvby")
    folder = tmp_path / "index"
    build_index(_settings(alvby, folder), FakeEmbedder())
    os.replace(folder, tmp_path / ".index.old-999999")  # killed between the two renames
    assert _one_generation(load_index(folder), ("Älvby",)) == "Älvby"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "index"]


def test_a_reader_never_restores_under_a_running_build(tmp_path: Path) -> None:
    alvby = _corpus(tmp_path, "a", "Älvby")
    folder = tmp_path / "index"
    build_index(_settings(alvby, folder), FakeEmbedder())
    os.replace(folder, tmp_path / ".index.old-1")
    with index_lock(folder, clean=False):  # a build between its renames holds the lock
        with pytest.raises(Exception, match="no index"):
            load_index(folder)
        assert (tmp_path / ".index.old-1").exists()


KILLED_BUILD = """
import sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from conftest import FakeEmbedder
from samverkan_qa.index import build_index
from samverkan_qa.settings import Settings

class Slow(FakeEmbedder):
    def embed_passages(self, texts):
        time.sleep(0.4)
        return super().embed_passages(texts)

print("started", flush=True)
build_index(Settings(corpus=(Path({corpus!r}),), index_dir=Path({folder!r}), chunk_tokens=16,
                     chunk_overlap=0), Slow())
"""


def test_a_build_killed_at_random_points_keeps_the_previous_index(tmp_path: Path) -> None:
    alvby, oby = _corpus(tmp_path, "a", "Älvby"), _corpus(tmp_path, "b", "Öby", n=30)
    folder = tmp_path / "index"
    build_index(_settings(alvby, folder), FakeEmbedder())
    question = "Vad gäller i Älvby?"
    expected = [
        h.to_json() for h in Retriever(load_index(folder), FakeEmbedder()).search(question).hits
    ]
    script = KILLED_BUILD.format(tests=str(TESTS), corpus=str(oby), folder=str(folder))
    rng = np.random.default_rng(11)
    for delay in rng.uniform(0.0, 1.2, size=3):
        child = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        time.sleep(float(delay))
        child.send_signal(signal.SIGKILL)
        child.wait()
        index = load_index(folder)
        town = _one_generation(index, ("Älvby", "Öby"))
        if town == "Öby":  # the kill came after the swap: that build had finished
            break
        hits = [h.to_json() for h in Retriever(index, FakeEmbedder()).search(question).hits]
        assert hits == expected
    build_index(_settings(alvby, folder), FakeEmbedder())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "index"]
    assert json.loads((folder / "manifest.json").read_text())["n_documents"] == 3
