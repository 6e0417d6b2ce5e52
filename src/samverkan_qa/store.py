"""The index's documents and chunks on disk, read on demand.

A million passages must not become a million Python objects when an index opens. The texts
of all documents are one UTF-8 blob (`texts.bin`); `documents.npy` holds each document's
byte range in it and its length in characters; `chunks.npy` holds one row per chunk (its
document's row, start and end offsets into that document's text, its page or -1). All three
are memory-mapped. `documents.jsonl` holds everything else about a document (title, source,
pages, facts), one line each, without the text. A chunk's text is its document's text
sliced, so the two can never disagree; a chunk's id is `DOC_ID#N`, N its place in the
document (as chunking.py numbers them).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from samverkan_qa.documents import Chunk, Document, PageSpan

TEXTS = "texts.bin"
DOCUMENTS = "documents.jsonl"
DOCUMENT_TABLE = "documents.npy"
CHUNK_TABLE = "chunks.npy"
FILES = (TEXTS, DOCUMENTS, DOCUMENT_TABLE, CHUNK_TABLE)

# Columns of documents.npy and chunks.npy.
BYTE_START, BYTE_END, N_CHARS = 0, 1, 2
DOC_ROW, START, END, PAGE = 0, 1, 2, 3
TEXT_CACHE = 256  # decoded document texts a store keeps (the hits of a few questions)


class StoreFormatError(ValueError):
    """A store file is missing a piece or disagrees with the others (index.py names it)."""


def write_store(folder: Path, documents: Sequence[Document], chunks: Sequence[Chunk]) -> None:
    """Write the documents and chunks (chunks grouped by document, in document order)."""
    rows = {d.doc_id: i for i, d in enumerate(documents)}
    table = np.zeros((len(documents), 3), "int64")
    with (folder / TEXTS).open("wb") as blob, (folder / DOCUMENTS).open("w") as meta:
        offset = 0
        for i, doc in enumerate(documents):
            data = doc.text.encode("utf-8")
            blob.write(data)
            table[i] = (offset, offset + len(data), len(doc.text))
            offset += len(data)
            record = doc.to_dict()
            del record["text"]
            meta.write(json.dumps(record, ensure_ascii=False) + "\n")
    np.save(folder / DOCUMENT_TABLE, table, allow_pickle=False)
    np.save(folder / CHUNK_TABLE, _chunk_table(chunks, rows), allow_pickle=False)


def _chunk_table(chunks: Sequence[Chunk], rows: dict[str, int]) -> np.ndarray:
    table = np.zeros((len(chunks), 4), "int64")
    ordinal, previous = 0, None
    for i, chunk in enumerate(chunks):
        ordinal = ordinal + 1 if chunk.doc_id == previous else 0
        previous = chunk.doc_id
        if chunk.chunk_id != f"{chunk.doc_id}#{ordinal}":
            raise ValueError(f"chunk {chunk.chunk_id!r} is not {chunk.doc_id}#{ordinal}")
        page = -1 if chunk.page is None else chunk.page
        table[i] = (rows[chunk.doc_id], chunk.start, chunk.end, page)
    return table


class TextBlob:
    """Document texts by row, decoded from the memory-mapped blob when asked for."""

    def __init__(self, path: Path, table: np.ndarray) -> None:
        size = path.stat().st_size
        self._bytes = np.memmap(path, np.uint8, "r") if size else np.zeros(0, np.uint8)
        self._table = table
        self._cache: OrderedDict[int, str] = OrderedDict()
        if len(table) and int(table[:, BYTE_END].max()) > size:
            raise StoreFormatError(f"{TEXTS} is shorter than {DOCUMENT_TABLE} says")

    def text(self, row: int) -> str:
        cached = self._cache.get(row)
        if cached is not None:
            self._cache.move_to_end(row)
            return cached
        start, end = int(self._table[row, BYTE_START]), int(self._table[row, BYTE_END])
        try:
            text = self._bytes[start:end].tobytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StoreFormatError(f"{TEXTS}: document {row} is not UTF-8 ({exc})") from None
        self._cache[row] = text
        if len(self._cache) > TEXT_CACHE:
            self._cache.popitem(last=False)
        return text


class StoredDocument(Document):
    """A Document of an opened index: its text is read from the blob on first use (and
    kept only in the blob's small cache), its hash is the one stored at indexing time."""

    def __init__(self, record: dict[str, Any], blob: TextBlob, row: int) -> None:
        self._blob, self._row, self._text = blob, row, None
        self._hash = record.get("hash")
        pages = [PageSpan(**p) for p in record.get("pages", [])]
        super().__init__(
            doc_id=record["doc_id"],
            title=record["title"],
            source=record["source"],
            text=None,  # type: ignore[arg-type]  # read from the blob by the property
            doc_type=record.get("doc_type", ""),
            pages=pages,
            metadata=record.get("metadata", {}),
        )

    @property  # type: ignore[override]
    def text(self) -> str:
        return self._text if self._text is not None else self._blob.text(self._row)

    @text.setter
    def text(self, value: str | None) -> None:
        self._text = value

    @property
    def hash(self) -> str:
        return self._hash if self._text is None and self._hash else super().hash


class ChunkTable(Sequence[Chunk]):
    """The chunks of an index by row, each made when asked for; arrays for the hot path."""

    def __init__(self, table: np.ndarray, documents: list[StoredDocument], blob: TextBlob):
        self.table = table
        self.documents = documents
        self._blob = blob
        # Row of each chunk's document, and each document's first chunk row and count.
        self.doc_rows = np.ascontiguousarray(table[:, DOC_ROW])
        counts = np.bincount(self.doc_rows, minlength=len(documents))
        self.first_row = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype("int64")
        self.counts = counts.astype("int64")
        self._doc_row = {d.doc_id: i for i, d in enumerate(documents)}

    def __len__(self) -> int:
        return len(self.table)

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"chunk row {row} out of range")
        d, start, end, page = (int(v) for v in self.table[row])
        doc = self.documents[d]
        ordinal = row - int(self.first_row[d])
        text = self._blob.text(d)[start:end] if doc._text is None else doc.text[start:end]
        return Chunk(
            f"{doc.doc_id}#{ordinal}", doc.doc_id, start, end, text, None if page < 0 else page
        )

    def __iter__(self) -> Iterator[Chunk]:
        for row in range(len(self)):
            yield self[row]

    def rows_of(self, doc_id: str) -> range:
        """The chunk rows of one document (contiguous, in order; empty for an unknown id)."""
        doc_row = self._doc_row.get(doc_id)
        if doc_row is None:
            return range(0)
        first = int(self.first_row[doc_row])
        return range(first, first + int(self.counts[doc_row]))

    def of_document(self, doc_id: str) -> list[Chunk]:
        return [self[r] for r in self.rows_of(doc_id)]


def read_store(folder: Path) -> tuple[dict[str, StoredDocument], ChunkTable]:
    """Open the store: the documents' records parsed, texts and chunk rows memory-mapped.

    Raises FileNotFoundError, StoreFormatError or what json/numpy raise on a damaged file."""
    doc_table = np.load(folder / DOCUMENT_TABLE, mmap_mode="r", allow_pickle=False)
    chunk_table = np.load(folder / CHUNK_TABLE, mmap_mode="r", allow_pickle=False)
    for name, table, width in ((DOCUMENT_TABLE, doc_table, 3), (CHUNK_TABLE, chunk_table, 4)):
        if table.ndim != 2 or table.shape[1] != width or table.dtype != np.int64:
            raise StoreFormatError(f"{name} has shape {table.shape} of {table.dtype}")
    blob = TextBlob(folder / TEXTS, doc_table)
    with (folder / DOCUMENTS).open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    if len(records) != len(doc_table):
        raise StoreFormatError(f"{len(records)} documents but {len(doc_table)} text ranges")
    docs = [StoredDocument(r, blob, i) for i, r in enumerate(records)]
    _check_chunks(chunk_table, doc_table)
    chunks = ChunkTable(chunk_table, docs, blob)
    return {d.doc_id: d for d in docs}, chunks


def _check_chunks(chunks: np.ndarray, docs: np.ndarray) -> None:
    """Vectorised: every chunk names a document, lies inside its text, and a document's
    chunks are contiguous rows."""
    if not len(chunks):
        return
    rows = chunks[:, DOC_ROW]
    if rows.min() < 0 or rows.max() >= len(docs):
        raise StoreFormatError("a chunk names an unknown document")
    if np.any(np.diff(rows) < 0):
        raise StoreFormatError("chunks are not grouped by document")
    starts, ends = chunks[:, START], chunks[:, END]
    if np.any(starts < 0) or np.any(ends < starts) or np.any(ends > docs[rows, N_CHARS]):
        raise StoreFormatError("a chunk lies outside its document's text")
