"""Read documents from files: one reader per file type, each returning clean Documents."""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samverkan_qa.cleaning import clean_text, split_front_matter, strip_front_matter
from samverkan_qa.documents import Document, PageSpan
from samverkan_qa.errors import CorpusNotFoundError
from samverkan_qa.settings import Settings

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".jsonl")
# Files that describe a folder rather than being part of it.
_IGNORED_NAMES = {"readme.md", "license", "license.md", ".gitkeep"}
# The limits a reader enforces when called without explicit settings.
DEFAULT_LIMITS = Settings()


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


def _read_bytes(path: Path, limits: Settings = DEFAULT_LIMITS) -> bytes:
    _check_file_size(path, limits)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"unreadable ({exc.strerror or exc})") from exc
    if not data.strip():
        raise SkipFile("empty file")
    return data


def _check_file_size(path: Path, limits: Settings) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipFile(f"unreadable ({exc.strerror or exc})") from exc
    check_size(size, limits.max_file_bytes, "max_file_bytes")


def check_size(size: int, limit: int, setting: str) -> None:
    """SkipFile when a file of `size` bytes is over `limit` (the Settings field `setting`)."""
    if size > limit:
        raise SkipFile(f"file is {size:,} bytes; at most {limit:,} ({setting})")


def check_type(name: str) -> None:
    """SkipFile unless the file name's suffix is one a reader exists for."""
    suffix = Path(name).suffix
    if suffix.lower() not in READERS:
        raise SkipFile(f"unsupported file type {suffix or '(none)'}")


def _check_text_size(text: str, limits: Settings) -> str:
    """Refuse a text too long to clean and extract facts from in reasonable time."""
    if len(text) > limits.max_text_chars:
        raise SkipFile(
            f"text has {len(text):,} characters; at most {limits.max_text_chars:,} (max_text_chars)"
        )
    return text


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


def read_text_file(path: Path, doc_id: str, limits: Settings = DEFAULT_LIMITS) -> list[Document]:
    text = clean_text(_check_text_size(_decode(_read_bytes(path, limits)), limits))
    return [_document(path, doc_id, text, "txt")]


def read_markdown(path: Path, doc_id: str, limits: Settings = DEFAULT_LIMITS) -> list[Document]:
    raw = _check_text_size(_decode(_read_bytes(path, limits)), limits).replace("\r\n", "\n")
    try:
        front, body = split_front_matter(raw, max_chars=limits.max_front_matter_chars)
    except ValueError as exc:
        # The text is still worth indexing; only the metadata block is refused.
        log.warning("%s: front matter ignored: %s", _printable(path), exc)
        front, body = {}, strip_front_matter(raw)
    title = front.get("title") or front.get("rubrik") or ""
    if not isinstance(title, str):
        title = str(title)
    return [_document(path, doc_id, clean_text(body), "md", title=title, metadata=front)]


def read_html(path: Path, doc_id: str, limits: Settings = DEFAULT_LIMITS) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(_read_bytes(path, limits)), "html.parser")
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
    text = _check_text_size("\n\n".join(_html_blocks(soup)), limits)
    return [_document(path, doc_id, clean_text(text), "html", title=title)]


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


def read_pdf(path: Path, doc_id: str, limits: Settings = DEFAULT_LIMITS) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    _check_file_size(path, limits)
    try:
        reader = PdfReader(str(path))
        if len(reader.pages) > limits.max_pdf_pages:
            raise SkipFile(
                f"PDF has {len(reader.pages):,} pages; at most {limits.max_pdf_pages:,} "
                "(max_pdf_pages)"
            )
        pages, total = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            total += len(pages[-1])
            if total > limits.max_text_chars:  # stop extracting as soon as it is too much
                _check_text_size("".join(pages), limits)
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


def read_docx(path: Path, doc_id: str, limits: Settings = DEFAULT_LIMITS) -> list[Document]:
    import zipfile

    from docx import Document as DocxDocument
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    _check_file_size(path, limits)
    _check_docx_package(path, limits)
    try:
        docx = DocxDocument(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SkipFile(f"corrupt DOCX ({exc.__class__.__name__})") from exc
    except XMLSyntaxError as exc:  # e.g. a text node above libxml2's 10 MB limit
        raise SkipFile(f"corrupt DOCX (XML: {' '.join(str(exc).split())[:120]})") from exc
    paragraphs = [p.text for p in docx.paragraphs if p.text.strip()]
    for table in docx.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paragraphs.append(" | ".join(cells))
    title = docx.core_properties.title or ""
    text = _check_text_size("\n\n".join(paragraphs), limits)
    return [_document(path, doc_id, clean_text(text), "docx", title=title)]


# A paragraph or table row opening tag in WordprocessingML: <w:p>, <w:p ...>, <w:tr>.
_DOCX_ELEMENT = re.compile(rb"<w:(?:p|tr)[\s/>]")


def _check_docx_package(path: Path, limits: Settings) -> None:
    """Count paragraphs before parsing: a 67 KB .docx can hold millions of empty ones, which
    python-docx would parse into gigabytes. Streamed, so the check itself stays small."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as package:
            for info in package.infolist():
                if info.file_size > limits.max_file_bytes:
                    raise SkipFile(
                        f"DOCX part {info.filename} unpacks to {info.file_size:,} bytes; at "
                        f"most {limits.max_file_bytes:,} (max_file_bytes)"
                    )
            if "word/document.xml" not in package.namelist():
                return  # python-docx reports what is wrong with the package
            count, tail = 0, b""
            with package.open("word/document.xml") as xml:
                while block := xml.read(1 << 20):
                    data = tail + block
                    count += len(_DOCX_ELEMENT.findall(data, 0, len(data) - 8))
                    tail = data[len(data) - 8 :]
                    if count > limits.max_elements:
                        raise SkipFile(
                            f"DOCX has more than {limits.max_elements:,} paragraphs (max_elements)"
                        )
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SkipFile(f"corrupt DOCX ({exc.__class__.__name__})") from exc


def read_jsonl(path: Path, doc_id: str, limits: Settings = DEFAULT_LIMITS) -> list[Document]:
    """Records {id, title, text, ...}; extra keys are kept as metadata. A bad line is skipped
    with a warning (the first few each, then a count), never the whole file."""
    docs = []
    lines = _decode(_read_bytes(path, limits)).splitlines()
    if len(lines) > limits.max_elements:
        raise SkipFile(f"{len(lines):,} lines; at most {limits.max_elements:,} (max_elements)")
    bad: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record, reason = _record(line, limits)
        if record is None:
            bad.append(f"line {number}: {reason}")
            if len(bad) <= 3:
                log.warning("%s %s skipped", _printable(path), bad[-1])
            continue
        rid = str(record.get("id") or record.get("path") or f"{doc_id}-{number}")
        meta = {k: v for k, v in record.items() if k not in ("id", "title", "text")}
        title = record.get("title")
        clean = clean_text(record["text"])
        if clean.strip():
            title = title if isinstance(title, str) else ""
            docs.append(_document(path, rid, clean, "jsonl", title=title, metadata=meta))
    if len(bad) > 3:
        log.warning("%s: %d more bad lines skipped", _printable(path), len(bad) - 3)
    if not docs:
        raise SkipFile("no usable records" + (f" ({bad[0]})" if bad else ""))
    return docs


def _record(line: str, limits: Settings) -> tuple[dict[str, Any] | None, str]:
    """One JSONL line as a record with a usable "text", or None and why not."""
    try:
        record = json.loads(line)
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not JSON"
    if not isinstance(record, dict) or "text" not in record:
        return None, "not a record with 'text'"
    if not isinstance(record["text"], str):  # {"text": null} is no document, not "None"
        return None, "'text' is not a string"
    if len(record["text"]) > limits.max_text_chars:
        return None, f"text longer than {limits.max_text_chars:,} characters (max_text_chars)"
    if not _storable(record):  # e.g. a lone surrogate from a "\ud800" escape
        return None, "not valid Unicode text"
    return record, ""


READERS: dict[str, Callable[[Path, str, Settings], list[Document]]] = {
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


def load_file(
    path: Path, doc_id: str | None = None, limits: Settings = DEFAULT_LIMITS
) -> list[Document]:
    """Read one file; raises SkipFile with the reason when it cannot be used."""
    check_type(path.name)
    return READERS[path.suffix.lower()](path, doc_id or slugify(path.stem), limits)


def _printable(path: Path | str) -> str:
    """A file name for messages: bytes that are not UTF-8 shown escaped, never a crash."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _check_name(path: Path) -> None:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # The index stores sources as UTF-8 JSON; such a name would fail at write time.
        raise SkipFile("file name is not valid UTF-8; rename the file") from None


def _storable(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
        return False
    return True


def _check_storable(doc: Document) -> None:
    """Refuse a document that could not be written to the index (a lone surrogate from a
    JSON escape, metadata that is not JSON): fail here, for this file, not at the end."""
    if not _storable(doc.to_dict()):
        raise SkipFile("cannot be stored: not valid Unicode text or not JSON data")


def load_one(path: Path, doc_id: str, limits: Settings = DEFAULT_LIMITS) -> list[Document]:
    """One file's documents, every failure turned into SkipFile with a one-line reason."""
    try:
        _check_name(path)
        docs = load_file(path, doc_id, limits)
        for doc in docs:
            _check_storable(doc)
        return docs
    except SkipFile:
        raise
    except RecursionError:
        raise SkipFile("nested too deeply to read") from None
    except MemoryError:
        raise SkipFile("too large to read in memory") from None
    except Exception as exc:  # one bad file must never stop the run: isolate whatever it is
        log.debug("reading %s failed", _printable(path), exc_info=True)
        raise SkipFile(f"unreadable ({exc.__class__.__name__}: {_one_line(str(exc))})") from exc


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_documents(sources: Iterable[Path], limits: Settings = DEFAULT_LIMITS) -> LoadResult:
    """Load every supported file; unusable files are skipped with a reason, never fatal."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for path, root in iter_files(sources):
        if path.name.lower() in _IGNORED_NAMES:
            continue
        rel = path.relative_to(root).with_suffix("")
        try:
            docs = load_one(path, slugify(_printable(rel)), limits)
        except SkipFile as exc:
            log.warning("skipped %s: %s", _printable(path), exc)
            skipped.append(Skipped(_printable(path), str(exc)))
            continue
        for doc in docs:
            if doc.doc_id in seen:
                skipped.append(Skipped(f"{_printable(path)}#{doc.doc_id}", "duplicate document id"))
                continue
            seen.add(doc.doc_id)
            documents.append(doc)
    return LoadResult(documents, skipped)
