"""Where an index lives: the folder of files (the default) or a PostgreSQL database.

`Settings.store` (`--store postgresql://…`) selects the database; otherwise `index_dir` is
the folder. Either way the result is an `Index` (documents, chunks, vectors, FAISS, BM25),
so Retriever, Assistant, docs and compare run unchanged over both.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from samverkan_qa.documents import Document
from samverkan_qa.embedding import Embedder
from samverkan_qa.index import BuildReport, Index
from samverkan_qa.settings import Settings

Progress = Callable[[int, int], None]


def location(settings: Settings) -> str:
    """The store as a user may read it in a message (never a password)."""
    if settings.store is None:
        return str(settings.index_dir)
    from samverkan_qa.stores.postgres import describe

    return describe(settings.store)


def open_index(settings: Settings, *, search: bool = True) -> Index:
    """One consistent snapshot of the store's index, checked before any model loads."""
    if settings.store is None:
        from samverkan_qa.index import load_index

        return load_index(settings.index_dir, search=search)
    from samverkan_qa.stores.postgres import load_index as load_from_database

    return load_from_database(settings.store, search=search)


def reopen(index: Index) -> Index:
    """The current snapshot of the store `index` was read from (a running server takes up
    documents added since, without a restart)."""
    from samverkan_qa.stores.postgres import DatabaseIndex
    from samverkan_qa.stores.postgres import load_index as load_from_database

    if isinstance(index, DatabaseIndex):
        return load_from_database(index.url)
    from samverkan_qa.index import load_index

    return load_index(index.folder)


def watch(settings: Settings, on_change: Callable[[], None], held: Index) -> Any:
    """For a database store: call `on_change` after each index run another process commits
    after the one `held` was read from (see GenerationWatch; `.close()` stops it). None for
    the folder, which one process writes and whose server reloads after its own uploads."""
    if settings.store is None:
        return None
    from samverkan_qa.stores.postgres import GenerationWatch

    seen = held.manifest.get("generation")
    return GenerationWatch(settings.store, on_change, settings.store_poll_seconds, seen)


def open_documents(settings: Settings) -> list[Document]:
    """The indexed documents with their facts, without the search structures."""
    return list(open_index(settings, search=False).documents.values())


def build(
    settings: Settings,
    embedder: Embedder,
    *,
    sources: list[Path] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Index the sources into the store, re-embedding only new or changed documents."""
    if settings.store is None:
        from samverkan_qa.index import build_index

        return build_index(settings, embedder, sources=sources, progress=progress)
    from samverkan_qa.stores.postgres import build_index as build_in_database

    return build_in_database(settings, embedder, sources=sources, progress=progress)
