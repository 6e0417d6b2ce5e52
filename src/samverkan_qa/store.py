"""The index's documents and chunks on disk, read on demand.

A million passages must not become a million Python objects when an index opens. The texts
of all documents are one UTF-8 blob (`texts.bin`); `documents.npy` holds each document's
byte range in it and its length in characters; `chunks.npy` holds one row per chunk (its
document's row, start and end offsets into that document's text, its page or -1). All three
are memory-mapped. `documents.jsonl` holds everything else about a document (title, source,
pages, facts), one line each, without the text, parsed when that document is first used.
`filters.json` holds what filters and answers need of every document's facts, gathered at
indexing time: document rows by municipality and by type, and the municipalities named.
A chunk's text is its document's text sliced, so the two can never disagree; a chunk's id
is `DOC_ID#N`, N its place in the document (as chunking.py numbers them).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from samverkan_qa.documents import Chunk, Document, PageSpan
from samverkan_qa.errors import IndexDamagedError

TEXTS = "texts.bin"
DOCUMENTS = "documents.jsonl"
DOCUMENT_TABLE = "documents.npy"
CHUNK_TABLE = "chunks.npy"
FILTERS = "filters.json"
FILES = (TEXTS, DOCUMENTS, DOCUMENT_TABLE, CHUNK_TABLE, FILTERS)
POSTED_KEYS = ("kommun", "typ")  # filter keys whose postings filters.json holds

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
    (folder / FILTERS).write_text(json.dumps(_filter_index(documents), ensure_ascii=False))


def _filter_index(documents: Sequence[Document]) -> dict[str, Any]:
    """Document rows by municipality and type (metadata.filter_term's terms), and the
    municipalities the documents name in order: what would otherwise need every
    document's facts parsed at the first filter or question."""
    from samverkan_qa.catalog import municipalities
    from samverkan_qa.metadata import document_terms

    postings: dict[str, dict[str, list[int]]] = {key: {} for key in POSTED_KEYS}
    for row, doc in enumerate(documents):
        for key, terms in postings.items():
            for term in sorted(document_terms(key, doc.metadata.get("facts"), doc.doc_id)):
                terms.setdefault(term, []).append(row)
    names = list(dict.fromkeys(m for doc in documents for m in municipalities(doc)))
    return {"postings": postings, "municipalities": names}


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
        self._bytes = _map(path)
        size = len(self._bytes)
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

    def __init__(self, table: np.ndarray, documents: DocumentTable, blob: TextBlob):
        self.table = table
        self.documents = documents
        self._blob = blob
        # Row of each chunk's document, and each document's first chunk row and count.
        self.doc_rows = np.ascontiguousarray(table[:, DOC_ROW])
        counts = np.bincount(self.doc_rows, minlength=len(documents))
        self.first_row = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype("int64")
        self.counts = counts.astype("int64")

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
        doc_id = self.documents.ids[d]
        ordinal = row - int(self.first_row[d])
        text = self.documents.text(d)[start:end]
        return Chunk(f"{doc_id}#{ordinal}", doc_id, start, end, text, None if page < 0 else page)

    def __iter__(self) -> Iterator[Chunk]:
        for row in range(len(self)):
            yield self[row]

    def rows_of(self, doc_id: str) -> range:
        """The chunk rows of one document (contiguous, in order; empty for an unknown id)."""
        doc_row = self.documents.rows.get(doc_id)
        if doc_row is None:
            return range(0)
        first = int(self.first_row[doc_row])
        return range(first, first + int(self.counts[doc_row]))

    def of_document(self, doc_id: str) -> list[Chunk]:
        return [self[r] for r in self.rows_of(doc_id)]


class LoadedChunks(Sequence[Chunk]):
    """Chunks a store loaded whole (PostgreSQL), with the arrays a ChunkTable gives: the
    hot path reads the same attributes whichever store the index came from."""

    def __init__(self, chunks: Sequence[Chunk], doc_ids: Sequence[str]) -> None:
        self._chunks = list(chunks)
        rows = {doc_id: row for row, doc_id in enumerate(doc_ids)}
        self.doc_rows = np.array([rows[c.doc_id] for c in self._chunks], "int64")
        if np.any(np.diff(self.doc_rows) < 0):
            raise StoreFormatError("chunks are not grouped by document, in document order")
        self.counts = np.bincount(self.doc_rows, minlength=len(rows)).astype("int64")
        self.first_row = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype("int64")
        self._rows = rows

    def __len__(self) -> int:
        return len(self._chunks)

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        return self._chunks[row]

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self._chunks)

    def rows_of(self, doc_id: str) -> range:
        doc_row = self._rows.get(doc_id)
        if doc_row is None:
            return range(0)
        first = int(self.first_row[doc_row])
        return range(first, first + int(self.counts[doc_row]))

    def of_document(self, doc_id: str) -> list[Chunk]:
        return [self._chunks[r] for r in self.rows_of(doc_id)]


class DocumentTable(Mapping[str, Document]):
    """doc_id -> Document, in index order; a document's record is parsed when it is first
    used (a million passages' documents are not parsed to open the index)."""

    def __init__(self, folder: Path, ids: list[str], records: np.ndarray, blob: TextBlob) -> None:
        self.folder = folder
        self.ids = ids
        self.rows = {doc_id: row for row, doc_id in enumerate(ids)}
        self._records = records
        # Where each line of documents.jsonl starts and ends: one scan for newlines.
        ends = np.flatnonzero(records == ord("\n"))
        self._starts = np.concatenate([[0], ends[:-1] + 1]).astype("int64")
        self._ends = ends
        self._blob = blob
        self._docs: list[StoredDocument | None] = [None] * len(ids)
        if len(ends) != len(ids):
            raise StoreFormatError(f"{DOCUMENTS} has {len(ends)} lines for {len(ids)} documents")

    def __getitem__(self, doc_id: str) -> Document:
        return self.at(self.rows[doc_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.rows

    def at(self, row: int) -> StoredDocument:
        doc = self._docs[row]
        if doc is None:
            doc = self._docs[row] = StoredDocument(self.record(row), self._blob, row)
        return doc

    def record(self, row: int) -> dict[str, Any]:
        """The stored record of one document (its line of documents.jsonl), checked to be
        that document's; IndexDamagedError (with what to do) if it is not."""
        line = self._records[self._starts[row] : self._ends[row]].tobytes()
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise self._damaged(f"line {row + 1} unreadable ({exc.__class__.__name__})") from None
        if not isinstance(record, dict) or record.get("doc_id") != self.ids[row]:
            raise self._damaged(f"line {row + 1} is not document {self.ids[row]!r}")
        return record

    def _damaged(self, detail: str) -> IndexDamagedError:
        return IndexDamagedError(
            f"index damaged, rebuild it with samverkan-qa index ({self.folder}: {DOCUMENTS} "
            f"{detail})"
        )

    def text(self, row: int) -> str:
        doc = self._docs[row]
        return doc.text if doc is not None else self._blob.text(row)


class DocumentList(Sequence[Document]):
    """Some documents of a DocumentTable (all, or `rows`), each parsed when first read: a
    question that reads a few documents' facts parses those, not a million."""

    def __init__(self, table: DocumentTable, rows: Sequence[int] | None = None) -> None:
        self._table = table
        self._rows = range(len(table)) if rows is None else rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> Document: ...

    @overload
    def __getitem__(self, i: slice) -> DocumentList: ...

    def __getitem__(self, i: int | slice) -> Document | DocumentList:
        if isinstance(i, slice):
            return DocumentList(self._table, self._rows[i])
        return self._table.at(int(self._rows[i]))


def read_store(folder: Path, ids: list[str]) -> tuple[DocumentTable, ChunkTable, dict[str, Any]]:
    """Open the store of the documents `ids` (the manifest's, in order): texts, chunk rows
    and document records memory-mapped, the filter index parsed; the first and last
    records are checked now, each other one when it is first read.

    Raises FileNotFoundError, StoreFormatError or what json/numpy raise on a damaged file."""
    doc_table = np.load(folder / DOCUMENT_TABLE, mmap_mode="r", allow_pickle=False)
    chunk_table = np.load(folder / CHUNK_TABLE, mmap_mode="r", allow_pickle=False)
    for name, table, width in ((DOCUMENT_TABLE, doc_table, 3), (CHUNK_TABLE, chunk_table, 4)):
        if table.ndim != 2 or table.shape[1] != width or table.dtype != np.int64:
            raise StoreFormatError(f"{name} has shape {table.shape} of {table.dtype}")
    if len(doc_table) != len(ids):
        raise StoreFormatError(f"{len(ids)} documents but {len(doc_table)} text ranges")
    blob = TextBlob(folder / TEXTS, doc_table)
    docs = DocumentTable(folder, ids, _map(folder / DOCUMENTS), blob)
    for row in {0, len(ids) - 1} if ids else ():
        docs.at(row)
    filters = json.loads((folder / FILTERS).read_text(encoding="utf-8"))
    if not isinstance(filters, dict) or not isinstance(filters.get("postings"), dict):
        raise StoreFormatError(f"{FILTERS} is not a filter index")
    _check_chunks(chunk_table, doc_table)
    return docs, ChunkTable(chunk_table, docs, blob), filters


def _map(path: Path) -> np.ndarray:
    size = path.stat().st_size
    return np.memmap(path, np.uint8, "r") if size else np.zeros(0, np.uint8)


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
