"""The two records everything else passes around: a cleaned document and a chunk of it."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PageSpan:
    """Characters [start, end) of a document's clean text come from page `page` (1-based)."""

    page: int
    start: int
    end: int


@dataclass
class Document:
    """A cleaned document. `text` is what chunks and offsets refer to."""

    doc_id: str
    title: str
    source: str
    text: str
    doc_type: str = ""  # file kind: txt, md, html, pdf, docx, jsonl
    pages: list[PageSpan] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return content_hash(self.text)

    def page_at(self, offset: int) -> int | None:
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return self.pages[-1].page if self.pages and offset >= self.pages[-1].start else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hash"] = self.hash
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        pages = [PageSpan(**p) for p in data.get("pages", [])]
        return cls(
            doc_id=data["doc_id"],
            title=data["title"],
            source=data["source"],
            text=data["text"],
            doc_type=data.get("doc_type", ""),
            pages=pages,
            metadata=data.get("metadata", {}),
        )


@dataclass(frozen=True)
class Chunk:
    """A passage: `text == document.text[start:end]`."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)
