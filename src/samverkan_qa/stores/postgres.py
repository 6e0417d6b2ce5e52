"""The index in a PostgreSQL database with pgvector, shared by many app processes.

Tables (created by the first index run, all prefixed `sqa_`):
  sqa_meta       one row: format version, model identity, chunking, analyzer and facts
                 versions, a generation id per committed run
  sqa_documents  clean text, pages, metadata with the facts (also a JSONB column `facts`
                 under a GIN index, for SQL filters), position = order of the index
  sqa_chunks     offsets, page, text (with a Swedish tsvector under a GIN index) and the
                 vector (pgvector; an HNSW index once there are HNSW_MIN_CHUNKS of them)
  sqa_files      the project's own Swedish BM25 index, as the file store writes it

An index run is one transaction under an advisory lock: a second run waits for the first
and then builds on what it committed; a run killed at any point is rolled back by the
server. A reader reads one snapshot (REPEATABLE READ, read only), so it sees the content
before a run or after it, never between. The search itself is the file store's, over that
snapshot held in memory (FAISS and the BM25 index): the same rankings on both stores.
"""

from __future__ import annotations

import json
import logging
import struct
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.documents import Chunk, Document, PageSpan
from samverkan_qa.embedding import Embedder
from samverkan_qa.errors import (
    IndexMismatchError,
    IndexNotFoundError,
    InvalidInputError,
    MissingExtraError,
    StoreError,
)
from samverkan_qa.index import (
    FORMAT_VERSION,
    BuildPlan,
    BuildReport,
    Index,
    context_title,
    damaged,
    indexed_text,
    plan_build,
)
from samverkan_qa.metadata import FACTS_VERSION
from samverkan_qa.settings import Settings

log = logging.getLogger(__name__)

# Bump when the tables change shape; a database of another version is refused, not altered.
SCHEMA_VERSION = 1
# pg_advisory_xact_lock key of index runs ("SQA1"): one run at a time per database.
LOCK_KEY = 0x53514131
# Below this many chunks an exact scan of the vectors is as fast as an HNSW graph.
HNSW_MIN_CHUNKS = 20_000
CONNECT_TIMEOUT = 10  # seconds

Progress = Callable[[int, int], None]


@dataclass
class DatabaseIndex(Index):
    """An index read from a database: `location` names it in messages (no password)."""

    location: str = ""
    url: str = field(default="", repr=False)  # with the password: to read it again, never shown

    def check_model(self, identity: dict[str, Any]) -> None:
        built = self.manifest.get("model", {})
        if built.get("sha256") != identity.get("sha256"):
            raise IndexMismatchError(
                f"index in {self.location} was built with model {built.get('name')!r} "
                f"({str(built.get('sha256'))[:12]}), not {identity.get('name')!r} "
                f"({str(identity.get('sha256'))[:12]}): rebuild it with `samverkan-qa index`"
            )


# ---- connecting ----------------------------------------------------------------------------


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise MissingExtraError(
            "the PostgreSQL store needs the [postgres] extra: "
            "pip install 'samverkan-qa[postgres]' (psycopg)"
        ) from None
    return psycopg


def describe(url: str) -> str:
    """The address without its password, for messages and logs."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:  # not parseable, or psycopg missing: keep only what follows the '@'
        return "postgresql://" + url.rsplit("@", 1)[-1].split("://", 1)[-1]
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{info.get('host') or 'localhost'}{port}/{info.get('dbname', '')}"


def _reason(exc: BaseException) -> str:
    """psycopg's message on one line, without the 'connection failed:' prefix repeated."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= 240 else text[:239] + "…"


@contextmanager
def connect(url: str) -> Iterator[Any]:
    """A connection whose every database error is one StoreError naming the address."""
    psycopg = _psycopg()
    where = describe(url)
    try:
        conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, application_name=PROGRAM)
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to {where}: {_reason(exc)}") from None
    except psycopg.ProgrammingError as exc:  # a malformed address
        raise InvalidInputError(
            f"not a usable PostgreSQL address {where}: {_reason(exc)}"
        ) from None
    try:
        with conn:
            yield conn
    except psycopg.Error as exc:
        raise StoreError(f"{where}: {_reason(exc)}") from None


PROGRAM = "samverkan-qa"


# ---- reading -------------------------------------------------------------------------------


def load_index(url: str, *, search: bool = True) -> DatabaseIndex:
    """The database's index as one snapshot (documents, chunks, vectors; FAISS and BM25 too
    unless `search` is False), checked before any model loads."""
    psycopg = _psycopg()
    with connect(url) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            manifest = read_manifest(conn, url)
            if manifest is None:
                raise IndexNotFoundError(
                    f"no index in {describe(url)}: build it with `samverkan-qa index --store URL`"
                )
            return _read(conn, url, manifest, search=search)


def read_manifest(conn: Any, url: str) -> dict[str, Any] | None:
    """The committed run's manifest; None when the database holds no index. Another schema
    version is refused: this program neither reads nor alters it."""
    found = conn.execute("SELECT to_regclass('sqa_meta') IS NOT NULL").fetchone()[0]
    if not found:
        return None
    row = conn.execute("SELECT value FROM sqa_meta WHERE key = 'manifest'").fetchone()
    if row is None:
        return None
    manifest = row[0]
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if version != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"index in {describe(url)} has schema version {version}, this program reads "
            f"version {SCHEMA_VERSION}: use the matching samverkan-qa, or another database"
        )
    return manifest


def _read(conn: Any, url: str, manifest: dict[str, Any], *, search: bool) -> DatabaseIndex:
    documents = {}
    rows = conn.execute(
        "SELECT doc_id, title, source, text, doc_type, pages, metadata "
        "FROM sqa_documents ORDER BY position"
    )
    for doc_id, title, source, text, doc_type, pages, metadata in rows:
        documents[doc_id] = Document(
            doc_id, title, source, text, doc_type, [PageSpan(**p) for p in pages], metadata
        )
    chunks, vectors = _read_chunks(conn, documents, int(manifest["dim"]))
    index = DatabaseIndex(
        Path(), manifest, documents, chunks, vectors, location=describe(url), url=url
    )
    if search:
        index._faiss = _flat_index(vectors)
        index.vectors = _vectors_of(index._faiss, vectors)
        index._lexical = _read_lexical(conn, url, len(chunks))
    return index


def _vectors_of(dense: Any, vectors: np.ndarray) -> np.ndarray:
    """The flat FAISS index's own vectors (a read-only view): the vectors are held once."""
    import faiss

    if not dense.ntotal:
        return vectors
    view = faiss.rev_swig_ptr(dense.get_xb(), dense.ntotal * dense.d).reshape(dense.ntotal, -1)
    view.setflags(write=False)
    return view


def _read_chunks(
    conn: Any, documents: dict[str, Document], dim: int
) -> tuple[list[Chunk], np.ndarray]:
    """Chunks in the index's order; a chunk's text is its document's (never sent twice).
    Vectors come in pgvector's binary form and are decoded in one numpy call."""
    cursor = conn.cursor(binary=True)
    cursor.execute(
        "SELECT c.chunk_id, c.doc_id, c.start_offset, c.end_offset, c.page, "
        "vector_send(c.embedding) FROM sqa_chunks c JOIN sqa_documents d USING (doc_id) "
        "ORDER BY d.position, c.position"
    )
    chunks, blobs = [], []
    for chunk_id, doc_id, start, end, page, blob in cursor:
        text = documents[doc_id].text[start:end]
        chunks.append(Chunk(chunk_id, doc_id, start, end, text, page))
        blobs.append(bytes(blob)[4:])  # int16 dim, int16 unused, then float4 big-endian
    if not chunks:
        return chunks, np.zeros((0, dim), "float32")
    flat = np.frombuffer(b"".join(blobs), dtype=">f4").astype("float32")
    return chunks, flat.reshape(len(chunks), dim)


def _flat_index(vectors: np.ndarray) -> Any:
    import faiss

    dense = faiss.IndexFlatIP(vectors.shape[1])
    dense.add(np.ascontiguousarray(vectors))
    return dense


def _read_lexical(conn: Any, url: str, rows: int) -> Any:
    from samverkan_qa.lexical import LexicalIndex

    files = conn.execute("SELECT name, data FROM sqa_files").fetchall()
    with tempfile.TemporaryDirectory(prefix="samverkan-qa-lexical-") as tmp:
        for name, data in files:
            path = Path(tmp, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        lexical = LexicalIndex.load(Path(tmp))
    if lexical.n_docs != rows:
        raise damaged(Path(describe(url)), f"BM25 holds {lexical.n_docs} passages for {rows}")
    return lexical


# ---- writing -------------------------------------------------------------------------------


def build_index(
    settings: Settings,
    embedder: Embedder,
    *,
    sources: list[Path] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Index the sources into the database in one transaction, re-embedding only new or
    changed documents. A second run at the same time waits for this one, then builds on it."""
    started = time.perf_counter()
    url = str(settings.store)
    with connect(url) as conn, conn.transaction():
        _lock(conn)
        _require_pgvector(conn, url)
        manifest = read_manifest(conn, url)  # refuses another schema version, before any work

        def previous(model: dict[str, Any], chunking: dict[str, Any]) -> Index | None:
            shaped = _as_json({"model": model, "chunking": chunking})
            if manifest is None or {k: manifest.get(k) for k in shaped} != shaped:
                log.info("%s: no index of this model and chunking, building all", describe(url))
                return None
            return _read(conn, url, manifest, search=False)

        plan = plan_build(settings, embedder, sources, progress, previous)
        if not plan.unchanged:
            _write(conn, plan, embedder)
    plan.report.seconds = time.perf_counter() - started
    return plan.report


def _as_json(value: Any) -> Any:
    """As the JSONB column gives it back (tuples become lists)."""
    return json.loads(json.dumps(value))


def _lock(conn: Any) -> None:
    """Serialise index runs: the lock is the transaction's, so a killed run releases it."""
    if not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
        log.warning("another index run holds the database; waiting for it to finish")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))


def _require_pgvector(conn: Any, url: str) -> None:
    psycopg = _psycopg()
    try:
        with conn.transaction():  # a savepoint: a refusal must not end the transaction
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise StoreError(
            f"{describe(url)} has no pgvector extension and it could not be added "
            f"({_reason(exc)}): install pgvector and run CREATE EXTENSION vector"
        ) from None


def _write(conn: Any, plan: BuildPlan, embedder: Embedder) -> None:
    dim = int(plan.vectors.shape[1])
    if plan.previous is None:
        _create_tables(conn, dim)
        changed = [d.doc_id for d in plan.documents]
    else:
        changed = plan.report.new_or_changed
        gone = sorted(set(changed) | set(plan.report.removed))
        conn.execute("DELETE FROM sqa_documents WHERE doc_id = ANY(%s)", (gone,))
    _write_documents(conn, plan, set(changed))
    _write_chunks(conn, plan, set(changed))
    lexical = _write_lexical(conn, plan)
    if len(plan.chunks) >= HNSW_MIN_CHUNKS:
        conn.execute(
            "CREATE INDEX IF NOT EXISTS sqa_chunks_hnsw ON sqa_chunks "
            "USING hnsw (embedding vector_ip_ops)"
        )
    manifest = _manifest(plan, embedder, dim, lexical)
    conn.execute(
        "INSERT INTO sqa_meta (key, value) VALUES ('manifest', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (_json(manifest),),
    )


def _json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _create_tables(conn: Any, dim: int) -> None:
    """A first run, or another model or chunking: every table anew (in the transaction,
    so readers keep the old tables until it commits)."""
    conn.execute("DROP TABLE IF EXISTS sqa_chunks, sqa_documents, sqa_files, sqa_meta")
    conn.execute("CREATE TABLE sqa_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
    conn.execute(
        """CREATE TABLE sqa_documents (
            doc_id text PRIMARY KEY,
            position integer NOT NULL,
            hash text NOT NULL,
            title text NOT NULL,
            source text NOT NULL,
            doc_type text NOT NULL,
            text text NOT NULL,
            pages jsonb NOT NULL,
            metadata jsonb NOT NULL,
            facts jsonb GENERATED ALWAYS AS (metadata -> 'facts') STORED)"""
    )
    conn.execute("CREATE INDEX sqa_documents_facts ON sqa_documents USING gin (facts)")
    conn.execute(
        f"""CREATE TABLE sqa_chunks (
            doc_id text NOT NULL REFERENCES sqa_documents ON DELETE CASCADE,
            position integer NOT NULL,
            chunk_id text NOT NULL,
            start_offset integer NOT NULL,
            end_offset integer NOT NULL,
            page integer,
            text text NOT NULL,
            lexemes tsvector GENERATED ALWAYS AS (to_tsvector('swedish', text)) STORED,
            embedding vector({int(dim)}) NOT NULL,
            PRIMARY KEY (doc_id, position))"""
    )
    conn.execute("CREATE INDEX sqa_chunks_lexemes ON sqa_chunks USING gin (lexemes)")
    conn.execute("CREATE TABLE sqa_files (name text PRIMARY KEY, data bytea NOT NULL)")


def _write_documents(conn: Any, plan: BuildPlan, changed: set[str]) -> None:
    """New and changed documents are inserted; the others get their position and facts
    (re-extracted when the facts version changed) updated."""
    new, kept = [], []
    for position, doc in enumerate(plan.documents):
        pages = _json([{"page": p.page, "start": p.start, "end": p.end} for p in doc.pages])
        if doc.doc_id in changed:
            new.append((doc.doc_id, position, doc.hash, doc.title, doc.source, doc.doc_type,
                        doc.text, pages, _json(doc.metadata)))  # fmt: skip
        else:
            kept.append((position, doc.title, doc.source, doc.doc_type, pages,
                         _json(doc.metadata), doc.doc_id))  # fmt: skip
    with conn.cursor() as cur:
        with cur.copy(
            "COPY sqa_documents (doc_id, position, hash, title, source, doc_type, text, pages, "
            "metadata) FROM STDIN"
        ) as copy:
            for row in new:
                copy.write_row(row)
        cur.executemany(
            "UPDATE sqa_documents SET position = %s, title = %s, source = %s, doc_type = %s, "
            "pages = %s, metadata = %s WHERE doc_id = %s",
            kept,
        )


def _write_chunks(conn: Any, plan: BuildPlan, changed: set[str]) -> None:
    """The chunks of new and changed documents, vectors in pgvector's binary form."""
    ordinal: dict[str, int] = {}
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY sqa_chunks (doc_id, position, chunk_id, start_offset, end_offset, page, text, "
            "embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["text", "int4", "text", "int4", "int4", "int4", "text", "bytea"])
        for row, chunk in enumerate(plan.chunks):
            position = ordinal.get(chunk.doc_id, 0)
            ordinal[chunk.doc_id] = position + 1
            if chunk.doc_id not in changed:
                continue
            copy.write_row(
                (chunk.doc_id, position, chunk.chunk_id, chunk.start, chunk.end, chunk.page,
                 chunk.text, vector_bytes(plan.vectors[row]))
            )  # fmt: skip


def vector_bytes(vector: np.ndarray) -> bytes:
    """pgvector's binary input: int16 dimensions, int16 zero, float4 big-endian values."""
    return struct.pack(">HH", len(vector), 0) + np.asarray(vector, ">f4").tobytes()


def _write_lexical(conn: Any, plan: BuildPlan) -> dict[str, Any]:
    """The BM25 index over every chunk, built as the file store builds it, stored as files;
    returns its settings (analyzer version) for the manifest."""
    from samverkan_qa.lexical import LexicalIndex

    titles = {d.doc_id: context_title(d) for d in plan.documents}
    lexical = LexicalIndex.build([indexed_text(c, titles[c.doc_id]) for c in plan.chunks])
    conn.execute("DELETE FROM sqa_files")
    with tempfile.TemporaryDirectory(prefix="samverkan-qa-lexical-") as tmp:
        lexical.save(Path(tmp))
        files = [p for p in sorted(Path(tmp).rglob("*")) if p.is_file()]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO sqa_files (name, data) VALUES (%s, %s)",
                [(str(p.relative_to(tmp)), p.read_bytes()) for p in files],
            )
    return lexical.settings()


def _manifest(
    plan: BuildPlan, embedder: Embedder, dim: int, lexical: dict[str, Any]
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "format_version": FORMAT_VERSION,
        "generation": uuid.uuid4().hex,
        "facts_version": FACTS_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": embedder.identity,
        "chunking": plan.chunking,
        "lexical": lexical,
        "dim": dim,
        "n_documents": len(plan.documents),
        "n_chunks": len(plan.chunks),
    }


def generation(url: str) -> str | None:
    """The committed run's id (None: no index): cheap, for a server to notice a new run."""
    with connect(url) as conn:
        manifest = read_manifest(conn, url)
    return None if manifest is None else str(manifest.get("generation"))


class GenerationWatch:
    """Calls `on_change` (in its own thread) after an index run commits to the database:
    the generation id is read every `every` seconds. A failed read or reload is logged and
    tried again at the next turn; the server keeps answering from what it holds."""

    def __init__(
        self, url: str, on_change: Callable[[], None], every: float, seen: str | None
    ) -> None:
        self.url, self.on_change, self.every = url, on_change, every
        self.seen = seen  # the run the caller holds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                now = generation(self.url)
                if now is not None and now != self.seen:
                    log.info("%s: a new index run committed, reading it", describe(self.url))
                    self.on_change()
                    self.seen = now
            except Exception as exc:  # the next turn tries again; serving goes on
                log.warning("%s: could not take up the new run: %s", describe(self.url), exc)

    def close(self) -> None:
        self._stop.set()
