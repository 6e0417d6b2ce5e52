"""The index on disk: build (incrementally), write atomically, load and check its identity.

Files in the index folder, all plain (no pickle):
  manifest.json     format version, model identity, chunking, every document's content hash
  documents.jsonl   the documents' titles, sources, pages and facts (no text)
  texts.bin         the documents' clean texts, one UTF-8 blob (memory-mapped)
  documents.npy     each document's byte range in texts.bin and length in characters
  chunks.npy        passages: document row, offsets into its clean text, page (memory-mapped)
  vectors.npy       one normalised embedding per chunk, same order (memory-mapped)
  dense.faiss       FAISS inner-product index over vectors.npy: exact (flat) below
                    Settings.ann_min_chunks, approximate (IVF) from there (memory-mapped)
  lexical/          the Swedish BM25 index
  uploads/          documents added from the web page (kept across builds, indexed by each)
See store.py for the document and chunk files.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.chunking import Chunker
from samverkan_qa.documents import Chunk, Document
from samverkan_qa.embedding import Embedder
from samverkan_qa.errors import (
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidInputError,
)
from samverkan_qa.loading import Skipped, load_documents
from samverkan_qa.metadata import FACTS_VERSION
from samverkan_qa.settings import Settings
from samverkan_qa.store import FILES as STORE_FILES
from samverkan_qa.store import ChunkTable, LoadedChunks, read_store, write_store

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: texts and chunks as memory-mapped arrays (store.py)
# Bump when cleaning or metadata extraction changes what a document's stored form is.
PIPELINE_VERSION = 3
MANIFEST = "manifest.json"
UPLOADS = "uploads"

Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    reused_documents: int = 0
    new_or_changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Index:
    """A loaded index: documents, chunks and their vectors, in one order."""

    folder: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: ChunkTable | LoadedChunks  # chunks[row] is a Chunk
    vectors: np.ndarray
    filters: dict[str, Any] = field(default_factory=dict)  # store.py's filters.json
    _faiss: Any = None
    _lexical: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.chunks, ChunkTable | LoadedChunks):  # a list, from a store
            self.chunks = LoadedChunks(self.chunks, list(self.documents))  # type: ignore[assignment]

    @property
    def faiss(self) -> Any:
        if self._faiss is None:
            self._faiss = _read_dense(self.folder / "dense.faiss")
        return self._faiss

    @property
    def lexical(self) -> Any:
        if self._lexical is None:
            from samverkan_qa.lexical import LexicalIndex

            self._lexical = LexicalIndex.load(self.folder / "lexical")
        return self._lexical

    def check_model(self, identity: dict[str, Any]) -> None:
        built = self.manifest.get("model", {})
        if built.get("sha256") != identity.get("sha256"):
            raise IndexMismatchError(
                f"index {self.folder} was built with model {built.get('name')!r} "
                f"({str(built.get('sha256'))[:12]}), not {identity.get('name')!r} "
                f"({str(identity.get('sha256'))[:12]}): rebuild it with `samverkan-qa index`"
            )


def _chunking_settings(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    from samverkan_qa.chunking import SEPARATORS

    return {
        "chunk_tokens": settings.chunk_tokens,
        "overlap": settings.chunk_overlap,
        "separators": SEPARATORS,
        "max_tokens": embedder.max_tokens,
        "pipeline_version": PIPELINE_VERSION,
    }


def damaged(folder: Path, detail: str) -> IndexDamagedError:
    detail = " ".join(detail.split())
    detail = detail if len(detail) <= 160 else detail[:159] + "…"
    return IndexDamagedError(
        f"index damaged, rebuild it with samverkan-qa index ({folder}: {detail})"
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        _recover_interrupted_swap(folder)
    if not path.exists():
        raise IndexNotFoundError(f"no index at {folder}: build it with `samverkan-qa index`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise damaged(folder, f"unreadable manifest.json: {exc}") from None
    if not isinstance(manifest, dict):
        raise damaged(folder, "manifest.json is not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index {folder} has format version {manifest.get('format_version')}, this "
            f"program reads version {FORMAT_VERSION}: rebuild it with `samverkan-qa index`"
        )
    return manifest


def load_documents_only(folder: Path) -> list[Document]:
    """The indexed documents with their facts, without the search structures."""
    return list(load_index(folder, search=False).documents.values())


def load_index(folder: Path, *, search: bool = True) -> Index:
    """The index as one consistent snapshot, checked before any model loads.

    Every file is read at once (FAISS and BM25 too, unless `search` is False), then the
    manifest's generation id and the folder's identity are read again: a rebuild that swapped
    the folder meanwhile is detected and the whole snapshot is read again. Damage (a file
    missing, truncated, or disagreeing with the others) is one IndexDamagedError, here, not
    at the first search."""
    missing: Exception | None = None
    for _ in range(_SNAPSHOT_TRIES):
        stamp = _stamp(folder)
        try:
            index = _read_snapshot(folder, search)
        except IndexDamagedError:
            if _stamp(folder) == stamp:
                raise
            continue  # swapped while reading: the damage was the mix, not the index
        except (IndexNotFoundError, FileNotFoundError) as exc:
            if _stamp(folder) == stamp and not _swapping(folder):
                raise
            missing = exc
            time.sleep(0.05)  # between the two renames of a swap
            continue
        if _stamp(folder) == stamp:
            return index
    if missing is not None and not folder.exists():
        raise missing
    raise IndexBusyError(f"index {folder} changed {_SNAPSHOT_TRIES} times while being read")


_SNAPSHOT_TRIES = 5


def _swapping(folder: Path) -> bool:
    """A build is between its two renames (or died there): the old folder is beside it."""
    return any(folder.parent.glob(f".{folder.name}.old-*"))


def _stamp(folder: Path) -> tuple[Any, ...]:
    """What identifies one generation of the folder: its inode and its manifest, which holds
    the build's random generation id."""
    try:
        inode = os.stat(folder).st_ino
        text = (folder / MANIFEST).read_bytes()
    except OSError:
        return (None, None)
    return (inode, text)


def _read_snapshot(folder: Path, search: bool) -> Index:
    manifest = read_manifest(folder)
    files = "documents and chunks"
    listed = manifest.get("documents")
    if not isinstance(listed, dict):
        raise damaged(folder, "manifest.json lists no documents")
    try:
        documents, chunks, filters = read_store(folder, list(listed))
        files = "vectors.npy"
        # Memory-mapped, read-only: cosines read the rows they need. A rebuild writes new
        # files and swaps the folder, never these files, so a mapping never changes.
        vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
    except FileNotFoundError as exc:
        raise damaged(folder, f"{Path(exc.filename or files).name} is missing") from exc
    except IndexDamagedError:
        raise
    except RecursionError:
        raise damaged(folder, f"{files}: nested too deeply") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError) as exc:
        raise damaged(folder, f"{files}: {exc}") from exc
    index = Index(folder, manifest, documents, chunks, vectors, filters)  # type: ignore[arg-type]
    _check_consistent(index)
    if search:
        index._faiss = _read_faiss(folder, len(chunks), vectors)
        index._lexical = _read_lexical(folder, len(chunks))
    return index


def _check_consistent(index: Index) -> None:
    """The files agree with each other: a mix of two generations, or a truncated file that
    still parses, never reaches a search. (store.py checks that every chunk lies inside
    its document, a chunk's text being its document's text sliced, and that the documents'
    records are the manifest's documents.)"""
    folder, chunks, vectors = index.folder, index.chunks, index.vectors
    if vectors.ndim != 2 or len(chunks) != len(vectors):
        raise damaged(folder, f"{len(chunks)} chunks but vectors of shape {vectors.shape}")
    if index.manifest.get("n_chunks", len(chunks)) != len(chunks):
        raise damaged(folder, "chunks.npy does not match manifest.json")
    listed = index.manifest["documents"]
    counts = [entry.get("chunks") if isinstance(entry, dict) else None for entry in listed.values()]
    if None not in counts and counts != chunks.counts.tolist():
        raise damaged(folder, "chunks.npy does not match manifest.json")


def _read_dense(path: Path) -> Any:
    """dense.faiss memory-mapped: its vectors stay in the page cache, held once."""
    import faiss

    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def _read_faiss(folder: Path, rows: int, vectors: np.ndarray) -> Any:
    path = folder / "dense.faiss"
    if not path.is_file():
        raise damaged(folder, "dense.faiss is missing")
    try:
        dense = _read_dense(path)
    except RuntimeError:  # FAISS's message is a C++ stack; what matters is which file
        raise damaged(folder, "dense.faiss is truncated or not a FAISS index") from None
    if dense.ntotal != rows or (rows and dense.d != vectors.shape[1]):
        raise damaged(folder, f"dense.faiss holds {dense.ntotal} vectors for {rows} chunks")
    return dense


def _read_lexical(folder: Path, rows: int) -> Any:
    from samverkan_qa.lexical import LexicalIndex

    try:
        lexical = LexicalIndex.load(folder / "lexical")
    except IndexMismatchError:
        raise  # another format version: its own message says to rebuild
    except IndexNotFoundError:
        raise damaged(folder, "lexical/ is missing") from None
    except Exception as exc:  # bm25s and numpy raise many kinds on a truncated file
        raise damaged(folder, f"lexical/ unreadable ({exc.__class__.__name__})") from None
    if lexical.n_docs != rows:
        raise damaged(folder, f"lexical/ holds {lexical.n_docs} passages for {rows} chunks")
    return lexical


def _previous(folder: Path, model: dict[str, Any], chunking: dict[str, Any]) -> Index | None:
    """The existing index, if it was shaped by the same model and chunking; else None."""
    try:
        old = load_index(folder, search=False)  # under the build lock: nothing changes it
    except (IndexNotFoundError, IndexMismatchError):
        return None
    if old.manifest.get("model") != model or old.manifest.get("chunking") != chunking:
        log.info("index at %s was built with other settings: rebuilding all", folder)
        return None
    return old


def build_index(
    settings: Settings,
    embedder: Embedder,
    *,
    sources: list[Path] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Index the sources into settings.index_dir, re-embedding only new or changed documents.

    One build per index folder at a time: a second one raises IndexBusyError at once.
    Documents added from the web page (the index folder's uploads/) are indexed too."""
    with index_lock(settings.index_dir):
        return _build_index(settings, embedder, _with_uploads(settings, sources), progress)


def _with_uploads(settings: Settings, sources: list[Path] | None) -> list[Path]:
    """The sources and the index's uploads/ folder: a rebuild never drops added documents."""
    chosen = list(sources or settings.corpus)
    uploads = settings.index_dir / UPLOADS
    if uploads.is_dir() and all(p.resolve() != uploads.resolve() for p in chosen):
        chosen.append(uploads)
    return chosen


def add_documents(
    settings: Settings,
    embedder: Embedder,
    files: list[tuple[Path, str]],
    progress: Progress | None = None,
) -> tuple[BuildReport, list[tuple[Path, bool]]]:
    """Store `files` ((file, safe name) pairs) in the index folder's uploads/ and index them
    beside every document the index holds, in one incremental build under the index lock.

    The names are made unique (a number added) so that no document is replaced. Returns the
    build report and, for each file, where it was stored and whether it was kept (a file none
    of whose documents were indexed is removed again, and so is every stored file when the
    build fails; the previous index then stays)."""
    with index_lock(settings.index_dir):
        manifest = read_manifest(settings.index_dir)
        chunking = manifest.get("chunking", {})
        # The index's own chunking, not the defaults: the build must reuse its vectors.
        settings = settings.with_(
            chunk_tokens=chunking.get("chunk_tokens", settings.chunk_tokens),
            chunk_overlap=chunking.get("overlap", settings.chunk_overlap),
        )
        stored = _store(files, settings.index_dir / UPLOADS, set(manifest.get("documents", {})))
        try:
            report = _build_index(settings, embedder, stored, progress, keep=True)
        except BaseException:
            for path in stored:
                path.unlink(missing_ok=True)
            raise
        documents = read_manifest(settings.index_dir).get("documents", {})
        indexed = {entry.get("source") for entry in documents.values()}
        kept = [(path, upload_source(path, settings.index_dir) in indexed) for path in stored]
        for path, ok in kept:
            if not ok:
                path.unlink(missing_ok=True)
        return report, kept


def _store(files: list[tuple[Path, str]], uploads: Path, taken: set[str]) -> list[Path]:
    """Copy each file into uploads/ under its name, made unique among the index's document
    ids and the files already there (a document id is the file name's stem)."""
    from samverkan_qa.loading import slugify

    uploads.mkdir(exist_ok=True)
    taken = taken | {slugify(p.stem) for p in uploads.iterdir()}
    stored = []
    for source, name in files:
        stem, suffix = Path(name).stem, Path(name).suffix
        candidate, number = stem, 1
        while slugify(candidate) in taken:
            number += 1
            candidate = f"{stem}-{number}"
        taken.add(slugify(candidate))
        target = uploads / f"{candidate}{suffix}"
        shutil.copyfile(source, target)
        stored.append(target)
    return stored


def _build_index(
    settings: Settings,
    embedder: Embedder,
    sources: list[Path] | None,
    progress: Progress | None,
    *,
    keep: bool = False,
) -> BuildReport:
    """With `keep`, the documents already indexed stay (see `plan_build`)."""
    started = time.perf_counter()
    _check_target(settings.index_dir)
    plan = plan_build(
        settings,
        embedder,
        sources,
        progress,
        lambda model, chunking: _previous(settings.index_dir, model, chunking),
        keep=keep,
    )
    if not (plan.unchanged and _intact(plan.previous)):
        _write_index(settings, embedder, plan.chunking, plan.documents, plan.chunks, plan.vectors)
    plan.report.seconds = time.perf_counter() - started
    return plan.report


@dataclass
class BuildPlan:
    """What an index run stores, whatever the store: every document (with its facts), its
    chunks and their vectors in one order, and the previous index whose work it re-used."""

    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    chunking: dict[str, Any]
    previous: Index | None
    report: BuildReport

    @property
    def unchanged(self) -> bool:
        """Nothing to write: the same documents in the same order, and the keyword index
        and facts written by this program's versions."""
        old, report = self.previous, self.report
        return bool(
            old is not None
            and not report.new_or_changed
            and not report.removed
            and not _lexical_stale(old)
            and not _facts_stale(old)
            and list(old.documents) == [d.doc_id for d in self.documents]
        )


def plan_build(
    settings: Settings,
    embedder: Embedder,
    sources: list[Path] | None,
    progress: Progress | None,
    previous_index: Callable[[dict[str, Any], dict[str, Any]], Index | None],
    *,
    keep: bool = False,
) -> BuildPlan:
    """Read the sources, extract facts, chunk and embed what is new or changed. The store
    gives `previous_index(model, chunking)`: its current content if shaped the same way.
    With `keep`, the documents already indexed stay (their vectors reused) and the sources'
    documents are added to them."""
    loaded = load_documents(sources or list(settings.corpus), settings)
    _name_uploads(loaded.documents, settings.index_dir)
    report = BuildReport(skipped=loaded.skipped)
    previous = None
    chunking = _chunking_settings(settings, embedder)
    if loaded.documents or keep:
        previous = previous_index(embedder.identity, chunking)
        if keep:
            loaded.documents = _beside_indexed(settings.index_dir, previous, loaded, report)
        # One document whose facts or chunks fail is skipped, not the whole run.
        loaded.documents = _annotate(loaded.documents, previous, report.skipped)
    if not loaded.documents:
        names = ", ".join(str(s) for s in (sources or settings.corpus))
        raise InvalidInputError(f"no indexable documents in {names}")
    chunker = Chunker(
        embedder.count_tokens,
        chunk_tokens=settings.chunk_tokens,
        overlap=settings.chunk_overlap,
        max_tokens=embedder.max_tokens - 16,  # room for the "passage: " prompt and specials
    )
    chunks, vectors = _chunks_and_vectors(
        loaded.documents, chunker, embedder, previous, report, progress
    )
    if previous:
        current = {d.doc_id for d in loaded.documents}
        report.removed = sorted(set(previous.documents) - current)
    report.documents, report.chunks = len(loaded.documents), len(chunks)
    return BuildPlan(loaded.documents, chunks, vectors, chunking, previous, report)


def _name_uploads(documents: list[Document], folder: Path) -> None:
    """Documents added from the web page are named `uploads/<file>`, not by the server's
    own path to its index folder, which answers and the API would otherwise show."""
    for doc in documents:
        doc.source = upload_source(Path(doc.source), folder) or doc.source


def upload_source(path: Path, folder: Path) -> str | None:
    """`uploads/<file>` for a file in the index folder's uploads/, else None."""
    uploads = (folder / UPLOADS).resolve()
    path = path.resolve()
    return (
        f"{UPLOADS}/{path.relative_to(uploads).as_posix()}"
        if path.is_relative_to(uploads)
        else None
    )


def _beside_indexed(
    folder: Path, previous: Index | None, loaded: Any, report: BuildReport
) -> list[Document]:
    """The indexed documents followed by the new ones; a new document whose id an indexed
    one from another file has is skipped, as `load_documents` skips duplicates."""
    if previous is None:  # another model or chunking: adding would re-embed everything
        raise InvalidInputError(
            f"cannot add documents to {folder}: it was built with other settings; "
            "rebuild it with `samverkan-qa index`"
        )
    new: dict[str, Document] = {}
    texts = {d.hash: d.doc_id for d in previous.documents.values()}
    for doc in loaded.documents:
        old = previous.documents.get(doc.doc_id)
        if old is not None and Path(old.source).resolve() != Path(doc.source).resolve():
            report.skipped.append(Skipped(f"{doc.source}#{doc.doc_id}", "duplicate document id"))
            continue
        if texts.get(doc.hash, doc.doc_id) != doc.doc_id:  # the same file sent twice
            where = f"{doc.source}#{doc.doc_id}" if doc.doc_type == "jsonl" else doc.source
            reason = f"same text as the indexed document {texts[doc.hash]}"
            report.skipped.append(Skipped(where, reason))
            continue
        texts[doc.hash] = doc.doc_id
        new[doc.doc_id] = doc
    kept = [d for d in previous.documents.values() if d.doc_id not in new]
    return kept + list(new.values())


def _intact(index: Index | None) -> bool:
    """The search structures open and match the chunks: a damaged dense.faiss or lexical/
    is written again (from the stored vectors) even when no document changed."""
    if index is None:
        return False
    try:
        _read_faiss(index.folder, len(index.chunks), index.vectors)
        _read_lexical(index.folder, len(index.chunks))
    except IndexMismatchError as exc:
        log.warning("writing the index again: %s", exc)
        return False
    return True


def _lexical_stale(index: Index) -> bool:
    """The keyword index was written by another analyzer version: rebuild it (the vectors
    are reused, so this costs seconds, not a re-embedding)."""
    from samverkan_qa.lexical import FORMAT_VERSION as LEXICAL_FORMAT

    return index.manifest.get("lexical", {}).get("format_version") != LEXICAL_FORMAT


def _facts_stale(index: Index) -> bool:
    """The stored facts were extracted by another version of metadata.py: extract them again
    (no re-embedding) and rewrite the index."""
    return index.manifest.get("facts_version") != FACTS_VERSION


def _check_target(folder: Path) -> None:
    """Never replace a folder that is not an index (a typo in --index must not delete data)."""
    if folder.is_file():
        raise InvalidInputError(f"index path is a file, not a folder: {folder}")
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if not names <= _INDEX_FILES and MANIFEST not in names:
        raise InvalidInputError(f"refusing to overwrite {folder}: it is not a samverkan-qa index")


# What an index folder holds: one that holds only these (its manifest lost) may be rebuilt.
_INDEX_FILES = {
    MANIFEST,
    "documents.jsonl",
    "chunks.jsonl",  # format 1
    *STORE_FILES,
    "vectors.npy",
    "dense.faiss",
    "lexical",
    UPLOADS,
}


def _annotate(
    documents: list[Document], previous: Index | None = None, skipped: list[Skipped] | None = None
) -> list[Document]:
    """Attach the facts each document states (dates, parties, period, ...). An unchanged
    document keeps the facts the previous build extracted (same facts version). Returns the
    documents that could be annotated; a failure skips that document with its reason."""
    kept = []
    for doc in documents:
        try:
            _annotate_one(doc, previous)
        except Exception as exc:  # a bug triggered by one document must not stop the run
            log.warning("skipped %s: fact extraction failed (%r)", doc.source, exc)
            if skipped is not None:
                skipped.append(Skipped(doc.source, f"fact extraction failed ({_brief(exc)})"))
            continue
        kept.append(doc)
    return kept


def _brief(exc: BaseException) -> str:
    text = " ".join(f"{exc.__class__.__name__}: {exc}".split())
    return text if len(text) <= 120 else text[:119] + "…"


def _annotate_one(doc: Document, previous: Index | None) -> None:
    from samverkan_qa.metadata import extract_facts, facts_to_json

    reuse = previous if previous is not None and not _facts_stale(previous) else None
    front = {k: v for k, v in doc.metadata.items() if k != "facts"}
    old = reuse.documents.get(doc.doc_id) if reuse else None
    if old is not None and (old.hash, old.title) == (doc.hash, doc.title):
        old_front = {k: v for k, v in old.metadata.items() if k != "facts"}
        if old_front == front:  # front matter dates are facts too
            doc.metadata["facts"] = old.metadata.get("facts", {})
            return
    facts = extract_facts(
        doc.text, title=doc.title, filename=Path(doc.source).name, front_matter=front
    )
    doc.metadata["facts"] = facts_to_json(facts)


def _chunks_and_vectors(
    documents: list[Document],
    chunker: Chunker,
    embedder: Embedder,
    previous: Index | None,
    report: BuildReport,
    progress: Progress | None,
) -> tuple[list[Chunk], np.ndarray]:
    reuse: dict[str, tuple[list[Chunk], np.ndarray]] = {}
    if previous:
        reuse = _by_document(previous)
    todo: list[Chunk] = []
    per_doc: list[tuple[list[Chunk], np.ndarray | None]] = []
    for doc in list(documents):
        old = previous.documents.get(doc.doc_id) if previous else None
        if (
            old is not None
            and (old.hash, old.title) == (doc.hash, doc.title)
            and doc.doc_id in reuse
        ):
            per_doc.append(reuse[doc.doc_id])
            report.reused_documents += 1
            continue
        try:
            new_chunks = chunker.split(doc)
        except Exception as exc:  # isolate one document, as in _annotate
            log.warning("skipped %s: chunking failed (%r)", doc.source, exc)
            report.skipped.append(Skipped(doc.source, f"chunking failed ({_brief(exc)})"))
            documents.remove(doc)
            continue
        todo.extend(new_chunks)
        per_doc.append((new_chunks, None))
        report.new_or_changed.append(doc.doc_id)
    fresh = _embed(embedder, todo, {d.doc_id: context_title(d) for d in documents}, progress)
    report.embedded_chunks = len(todo)
    return _assemble(per_doc, fresh, _dim(previous, fresh))


def _dim(previous: Index | None, fresh: np.ndarray) -> int:
    if fresh.size or previous is None:
        return int(fresh.shape[1]) if fresh.ndim == 2 else 0
    return int(previous.vectors.shape[1])


def _assemble(
    per_doc: list[tuple[list[Chunk], np.ndarray | None]], fresh: np.ndarray, dim: int
) -> tuple[list[Chunk], np.ndarray]:
    chunks: list[Chunk] = []
    blocks: list[np.ndarray] = []
    cursor = 0
    for doc_chunks, vectors in per_doc:
        if vectors is None:
            vectors = fresh[cursor : cursor + len(doc_chunks)]
            cursor += len(doc_chunks)
        chunks.extend(doc_chunks)
        blocks.append(vectors)
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), "float32")
    return chunks, np.ascontiguousarray(matrix, dtype="float32")


def _by_document(index: Index) -> dict[str, tuple[list[Chunk], np.ndarray]]:
    rows: dict[str, list[int]] = {}
    for row, chunk in enumerate(index.chunks):
        rows.setdefault(chunk.doc_id, []).append(row)
    return {d: ([index.chunks[r] for r in rs], index.vectors[rs]) for d, rs in rows.items()}


def context_title(doc: Document) -> str:
    """A title worth indexing with every chunk: a real one, not the text's first line."""
    return "" if doc.metadata.get("title_from") == "first_line" else doc.title


def indexed_text(chunk: Chunk, title: str) -> str:
    """What is embedded and keyword-indexed for a chunk: the document's title gives a passage
    its context ("Haninge ..." for a list of focus areas that never names the town)."""
    if not title or chunk.text.startswith(title):
        return chunk.text
    return f"{title}\n{chunk.text}"


def _embed(
    embedder: Embedder, chunks: list[Chunk], titles: dict[str, str], progress: Progress | None
) -> np.ndarray:
    batch = 64
    parts = []
    if progress and chunks:
        progress(0, len(chunks))  # start the clock before the first batch, not after it
    for i in range(0, len(chunks), batch):
        texts = [indexed_text(c, titles[c.doc_id]) for c in chunks[i : i + batch]]
        parts.append(embedder.embed_passages(texts))
        if progress:
            progress(min(i + batch, len(chunks)), len(chunks))
    if not parts:
        return np.zeros((0, 0), "float32")
    return np.concatenate(parts).astype("float32")


def _write_index(
    settings: Settings,
    embedder: Embedder,
    chunking: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
) -> None:
    """Write everything beside the target, then swap it in: never a half-written index."""
    import faiss

    from samverkan_qa.lexical import LexicalIndex

    folder = settings.index_dir.resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        write_store(staging, documents, chunks)
        np.save(staging / "vectors.npy", vectors, allow_pickle=False)
        dense = dense_index(vectors, settings.ann_min_chunks)
        faiss.write_index(dense, str(staging / "dense.faiss"))
        titles = {d.doc_id: context_title(d) for d in documents}
        lexical = LexicalIndex.build([indexed_text(c, titles[c.doc_id]) for c in chunks])
        lexical.save(staging / "lexical")
        manifest = _manifest(embedder, chunking, documents, chunks, lexical.settings())
        _carry_uploads(folder / UPLOADS, staging / UPLOADS)
        # The manifest goes last: a folder without one is never taken for an index.
        (staging / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _carry_uploads(uploads: Path, target: Path) -> None:
    """The added documents' files go into the new folder too: hard links (no copy, and the
    originals stay where they are if the build dies before its swap), else copies."""
    if not uploads.is_dir():
        return
    target.mkdir()
    for path in uploads.iterdir():
        if not path.is_file():
            continue
        try:
            os.link(path, target / path.name)
        except OSError:  # a file system without hard links
            shutil.copy2(path, target / path.name)


def dense_index(vectors: np.ndarray, ann_min_chunks: int) -> Any:
    """Exact inner product (flat) below `ann_min_chunks` vectors; from there an inverted
    file (IVF) of about sqrt(n) lists, trained on a seeded sample, searched by probing the
    lists nearest the question (RetrievalConfig.ann_probes) and measured against exact
    search in bench/scale.py."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)  # a search may have set it to one
    n, dim = vectors.shape
    if n < ann_min_chunks:
        dense = faiss.IndexFlatIP(dim)
        dense.add(vectors)
        return dense
    lists = max(1, round(n**0.5))
    quantizer = faiss.IndexFlatIP(dim)
    dense = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    dense.cp.seed = 20261202
    sample = min(n, IVF_TRAIN_PER_LIST * lists)
    rows = np.sort(np.random.default_rng(20261202).choice(n, sample, replace=False))
    dense.train(np.ascontiguousarray(vectors[rows]))
    for start in range(0, n, 100_000):  # in blocks: the vectors may be memory-mapped
        dense.add(np.ascontiguousarray(vectors[start : start + 100_000]))
    return dense


IVF_TRAIN_PER_LIST = 64  # k-means sample: FAISS asks for at least 39 points a list


def _manifest(
    embedder: Embedder,
    chunking: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    lexical: dict[str, Any],
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for chunk in chunks:
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    return {
        "format_version": FORMAT_VERSION,
        "generation": uuid.uuid4().hex,  # tells one build's files from the next one's
        "facts_version": FACTS_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": embedder.identity,
        "chunking": chunking,
        "lexical": lexical,
        "n_documents": len(documents),
        "n_chunks": len(chunks),
        "documents": {
            d.doc_id: {
                "hash": d.hash,
                "source": d.source,
                "title": d.title,
                "chunks": counts.get(d.doc_id, 0),
            }
            for d in documents
        },
    }


def _swap_in(staging: Path, folder: Path) -> None:
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted_swap(folder: Path, *, locked: bool = False) -> None:
    """If a build died between its two renames, the previous index is still beside it.

    Only with the folder's lock: without it, a running build may be between its renames,
    and restoring the old folder then would make that build's swap fail."""
    if folder.exists() or not _swapping(folder):
        return
    if not locked:
        try:
            with index_lock(folder, clean=False):
                _recover_interrupted_swap(folder, locked=True)
        except (IndexBusyError, InvalidInputError, OSError):
            pass  # a build is running (it completes the swap), or the place is read-only
        return
    olds = sorted(folder.parent.glob(f".{folder.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and (olds[-1] / MANIFEST).exists():
        log.warning("restoring index %s from an interrupted build", folder)
        os.replace(olds[-1], folder)


def lock_path(folder: Path) -> Path:
    """The lock file sits beside the index folder, since the folder itself is replaced."""
    folder = folder.resolve()
    return folder.with_name(f".{folder.name}.lock")


@contextmanager
def index_lock(folder: Path, *, clean: bool = True) -> Iterator[None]:
    """Hold the index folder's lock: an flock on a file beside it, released by the kernel
    when the process dies (a killed build leaves no lock that blocks the next one) and
    removed when the build ends. With `clean`, first remove what killed builds left
    behind: staging folders and a previous index that was never swapped back."""
    folder = folder.resolve()
    path = lock_path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        handle = _acquire(path, folder)
    except OSError as exc:  # a read-only place, or a parent that is a file
        raise InvalidInputError(
            f"cannot write an index at {folder}: {exc.strerror or exc} ({exc.filename})"
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        if clean:
            _recover_interrupted_swap(folder, locked=True)
            _clean_leftovers(folder)
        yield
    finally:
        path.unlink(missing_ok=True)  # while still locked: a waiting opener re-checks it
        handle.close()


def _acquire(path: Path, folder: Path) -> Any:
    for _ in range(_SNAPSHOT_TRIES):
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (closed by index_lock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise IndexBusyError(
                f"{folder} is being built by another `samverkan-qa index` ({holder}); "
                "run again when it has finished"
            ) from None
        try:
            current = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            current = False
        if current:
            return handle
        handle.close()  # locked a file the previous holder had just removed: open it anew
    raise IndexBusyError(f"{folder}: could not take the index lock; run again")


def _clean_leftovers(folder: Path) -> None:
    """Staging and old folders of killed builds (we hold the lock: no build is running)."""
    for pattern in (f".{folder.name}.building-*", f".{folder.name}.old-*"):
        for leftover in folder.parent.glob(pattern):
            log.info("removing %s, left by an interrupted build", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
