"""Read documents from files: one reader per file type, each returning clean Documents."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from samverkan_qa.cleaning import clean_text, split_front_matter
from samverkan_qa.documents import Document, PageSpan
from samverkan_qa.errors import CorpusNotFoundError

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".jsonl")
# Files that describe a folder rather than being part of it.
_IGNORED_NAMES = {"readme.md", "license", "license.md", ".gitkeep"}


class SkipFile(Exception):
    """A file that cannot be indexed; the message says why in a few words."""


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass
class LoadResult:
    documents: list[Document]
    skipped: list[Skipped]


def slugify(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", ascii_text).strip("-").lower()
    return slug or "doc"


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"unreadable ({exc.strerror or exc})") from exc
    if not data.strip():
        raise SkipFile("empty file")
    return data


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise SkipFile("binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(f"not UTF-8 text (byte {exc.start})") from exc


def _first_line(text: str, limit: int = 120) -> str:
    for line in text.splitlines():
        line = line.strip(" #\t")
        if line:
            return line[:limit]
    return ""


def guess_title(text: str) -> str:
    """The first heading-like line near the top (several words, no full stop), else the
    first sentence: "Datum" or "Pressmeddelande 2016-12-20" are labels, not titles."""
    lines = [line.strip(" #\t") for line in text.splitlines() if line.strip()]
    for line in lines[:12]:
        if len(line) > 200:
            break  # running text has begun: a title comes before it
        heading = len(line.split()) >= 3 and len(line) <= 160 and line[-1] not in ".:?"
        if heading and not re.search(r"\S+@\S+|\d{4}-\d\d-\d\d", line):
            return line
    first = lines[0] if lines else ""
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return sentence if len(sentence) <= 120 else sentence[:117].rsplit(" ", 1)[0] + " …"


def _document(path: Path, doc_id: str, text: str, kind: str, **extra: object) -> Document:
    if not text.strip():
        raise SkipFile("no text after cleaning")
    title = str(extra.pop("title", "") or "")
    metadata = dict(extra.pop("metadata", None) or {})  # type: ignore[call-overload]
    if not title:
        # A display name guessed from the text; not indexed with every chunk as a real one is.
        title = guess_title(text)
        metadata["title_from"] = "first_line"
    return Document(
        doc_id=doc_id,
        title=title,
        source=str(path),
        text=text,
        doc_type=kind,
        metadata=metadata,
        **extra,  # type: ignore[arg-type]
    )


def read_text_file(path: Path, doc_id: str) -> list[Document]:
    text = clean_text(_decode(_read_bytes(path)))
    return [_document(path, doc_id, text, "txt")]


def read_markdown(path: Path, doc_id: str) -> list[Document]:
    front, body = split_front_matter(_decode(_read_bytes(path)).replace("\r\n", "\n"))
    title = front.get("title") or front.get("rubrik") or ""
    return [_document(path, doc_id, clean_text(body), "md", title=title, metadata=front)]


def read_html(path: Path, doc_id: str) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(_read_bytes(path)), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "form", "aside"]):
        tag.decompose()
    for tag in soup.select('[id*="cookie" i], [class*="cookie" i], [class*="skip" i]'):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    h1 = soup.find("h1")
    if h1:
        title = h1.get_text(" ", strip=True) or title
    if soup.title:
        soup.title.decompose()
    blocks = _html_blocks(soup)
    return [_document(path, doc_id, clean_text("\n\n".join(blocks)), "html", title=title)]


def _html_blocks(soup: object) -> list[str]:
    names = ["h1", "h2", "h3", "h4", "p", "li", "td", "th", "pre", "blockquote", "dt", "dd"]
    blocks = []
    for tag in soup.find_all(names):  # type: ignore[attr-defined]
        if tag.find(names):  # a container: its children are blocks of their own
            continue
        text = " ".join(tag.get_text(" ", strip=True).split())
        if text:
            blocks.append(("• " if tag.name == "li" else "") + text)
    if not blocks:
        blocks = [soup.get_text("\n", strip=True)]  # type: ignore[attr-defined]
    return blocks


def read_pdf(path: Path, doc_id: str) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise SkipFile(f"corrupt PDF ({exc.__class__.__name__})") from exc
    pages = strip_running_lines(pages)
    text, spans = _join_pages([clean_text(p, pdf_like=True) if p.strip() else "" for p in pages])
    return [_document(path, doc_id, text, "pdf", title=info_title, pages=spans)]


def strip_running_lines(pages: list[str]) -> list[str]:
    """Remove header/footer lines that repeat on most pages (page numbers included)."""
    if len(pages) < 2:
        return pages

    def norm(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    edges = Counter()
    for page in pages:
        lines = [line for line in page.splitlines() if line.strip()]
        edges.update({norm(line) for line in lines[:3] + lines[-3:]})
    running = {k for k, n in edges.items() if n >= max(2, (len(pages) * 2 + 2) // 3)}
    return ["\n".join(ln for ln in p.splitlines() if norm(ln) not in running) for p in pages]


def _join_pages(pages: list[str]) -> tuple[str, list[PageSpan]]:
    parts, spans, offset = [], [], 0
    for number, page in enumerate(pages, start=1):
        page = page.strip()
        if not page:
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        spans.append(PageSpan(page=number, start=offset, end=offset + len(page)))
        parts.append(page)
        offset += len(page)
    return "".join(parts) + ("\n" if parts else ""), spans


def read_docx(path: Path, doc_id: str) -> list[Document]:
    import zipfile

    from docx import Document as DocxDocument
    from docx.opc.exceptions import PackageNotFoundError

    try:
        docx = DocxDocument(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SkipFile(f"corrupt DOCX ({exc.__class__.__name__})") from exc
    paragraphs = [p.text for p in docx.paragraphs if p.text.strip()]
    for table in docx.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paragraphs.append(" | ".join(cells))
    title = docx.core_properties.title or ""
    return [_document(path, doc_id, clean_text("\n\n".join(paragraphs)), "docx", title=title)]


def read_jsonl(path: Path, doc_id: str) -> list[Document]:
    """Records {id, title, text, ...}; extra keys are kept as metadata."""
    docs = []
    for number, line in enumerate(_decode(_read_bytes(path)).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text = record["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            log.warning("%s line %d skipped: not a record with 'text' (%s)", path, number, exc)
            continue
        rid = str(record.get("id") or record.get("path") or f"{doc_id}-{number}")
        meta = {k: v for k, v in record.items() if k not in ("id", "title", "text")}
        clean = clean_text(str(text))
        if clean.strip():
            docs.append(
                _document(path, rid, clean, "jsonl", title=record.get("title") or "", metadata=meta)
            )
    if not docs:
        raise SkipFile("no usable records")
    return docs


READERS: dict[str, Callable[[Path, str], list[Document]]] = {
    ".txt": read_text_file,
    ".md": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".jsonl": read_jsonl,
}


def iter_files(sources: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield (file, root) for every file under the sources, sorted, so ids are stable."""
    for source in sources:
        if not source.exists():
            raise CorpusNotFoundError(f"corpus not found: {source}")
        if source.is_file():
            yield source, source.parent
            continue
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            if not any(part.startswith(".") for part in path.relative_to(source).parts):
                yield path, source


def load_file(path: Path, doc_id: str | None = None) -> list[Document]:
    """Read one file; raises SkipFile with the reason when it cannot be used."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise SkipFile(f"unsupported file type {path.suffix or '(none)'}")
    return reader(path, doc_id or slugify(path.stem))


def load_documents(sources: Iterable[Path]) -> LoadResult:
    """Load every supported file; unusable files are skipped with a reason, never fatal."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for path, root in iter_files(sources):
        if path.name.lower() in _IGNORED_NAMES:
            continue
        rel = path.relative_to(root).with_suffix("")
        try:
            docs = load_file(path, slugify(str(rel)))
        except SkipFile as exc:
            log.warning("skipped %s: %s", path, exc)
            skipped.append(Skipped(str(path), str(exc)))
            continue
        for doc in docs:
            if doc.doc_id in seen:
                skipped.append(Skipped(f"{path}#{doc.doc_id}", "duplicate document id"))
                continue
            seen.add(doc.doc_id)
            documents.append(doc)
    return LoadResult(documents, skipped)
