"""What an answer is made of, and how its sources are cited and exported.

`Answer` (text, quotes, numbered sources, abstained, kind, table) is what the pipeline in
`assistant.py` returns to the web, the CLI and the Python API. Every quote is a verbatim range
of a document (whitespace collapsed); `citation_line`, `sources_csv` and `sources_markdown`
describe the sources (Excel-safe cells, Markdown-inert text).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from samverkan_qa.answers.followup import SEARCHED_LABEL
from samverkan_qa.catalog import (
    document_date,
    document_kind,
    document_title,
    organisation,
    safe_cell,
)
from samverkan_qa.documents import Document
from samverkan_qa.retrieval import Hit

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "Jag hittar inget stöd för det i dokumenten."


# ---------------------------------------------------------------------------------------------
# Facts: read defensively, since the facts format belongs to metadata.py
# ---------------------------------------------------------------------------------------------


def source_name(doc: Document) -> str:
    """The file name (or the address) the document was read from."""
    if "://" in doc.source:
        return doc.source
    return PurePath(doc.source).name or doc.source


def citation_line(hit: Hit) -> str:
    """A copyable reference: ”Title”, SFS number, organisation, date. file, p. N."""
    tail = source_name(hit.document)
    if hit.chunk.page:
        tail += f", s. {hit.chunk.page}"
    return f"{_reference_head(hit.document)}. {tail}."


def _reference_head(doc: Document, section: str = "") -> str:
    """”Title”, SFS 2023:196, issuer, date, 4 § (what is known of these)."""
    title = document_title(doc)
    # A supplied title ("[Pressmeddelande från …]") is a description, not quoted.
    shown = title if title.startswith("[") else f"”{title}”"
    parts = (shown, sfs_number(doc), organisation(doc), document_date(doc), section)
    return ", ".join(p for p in parts if p)


def sfs_number(doc: Document) -> str:
    """ "SFS 2023:196" for a law whose front matter states its `beteckning`, else ""."""
    value = doc.metadata.get("beteckning") or doc.metadata.get("sfs")
    text = _flat(str(value)) if isinstance(value, str | int | float) else ""
    if not re.fullmatch(r"(?:SFS\s*)?\d{4}:\d+", text):
        return ""
    return text if text.startswith("SFS") else f"SFS {text}"


def quotable_citation(answer: Answer, source: Source) -> str:
    """What "Kopiera" copies: the sentences the answer quotes from this source (for an
    uncited hit its best sentences), then the reference with § for a law, page, file and
    character range, e.g.
    «… 31 december 2027.» ”Överenskommelse …”, Haninge kommun, 2025-02-13. fil.txt, tecken 10–92.
    """
    doc, hit = source.hit.document, source.hit
    quotes = [
        q for quote in answer.quotes if quote.source == source.number for q in (quote, *quote.items)
    ]
    ranges = [(q.start, q.end) for q in quotes]
    if not ranges and source.matching:
        ranges = list(hit.spans)
    sections = list(dict.fromkeys(q.section for q in quotes if q.section))
    said = " … ".join(_flat(doc.text[s:e]) for s, e in ranges)
    ranges = ranges or [(hit.chunk.start, hit.chunk.end)]  # the passage, when nothing matched
    pages = sorted({p for s, _ in ranges if (p := doc.page_at(s) if doc.pages else None)})
    pages = pages or ([hit.chunk.page] if hit.chunk.page else [])
    tail = [source_name(doc)]
    if pages:
        tail.append("s. " + ", ".join(str(p) for p in pages))
    tail.append("tecken " + ", ".join(f"{s}–{e}" for s, e in ranges))
    head = _reference_head(doc, ", ".join(sections))
    quoted = f"«{said}» " if said else ""
    return f"{quoted}{head}. {', '.join(tail)}."


def _flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """One answer sentence: document.text[start:end], cited as source `source`.

    `items` are the list entries a list intro ("… fyra fokusområden …:") announces, each
    also verbatim from the same document.
    """

    text: str
    source: int
    doc_id: str
    start: int
    end: int
    items: tuple[Quote, ...] = ()
    section: str = ""  # the law paragraph ("4 §") the quote belongs to

    @property
    def display(self) -> str:
        text = f"{self.section}: {self.text}" if self.section else self.text
        if not self.items:
            return text
        return f"{text} {'; '.join(i.text for i in self.items)}"


@dataclass(frozen=True)
class Source:
    """A numbered entry of an answer's source list; `matching` is False when abstained."""

    number: int
    hit: Hit
    citation: str
    matching: bool
    cited: bool


@dataclass
class Answer:
    """A cited answer. `kind` is the kind of answer the question asked for (analysis.KINDS);
    `table` holds the rows of an answer across documents (a comparison or a list)."""

    question: str
    searched: str
    text: str
    quotes: list[Quote]
    sources: list[Source]
    abstained: bool
    kind: str = ""
    table: list[dict[str, str]] = field(default_factory=list)
    followup: bool = False
    basis: str = "passages"  # or "facts": the text is composed from extracted facts
    # A yes/no question's verdict ("yes", "no", "unsettled"; "" for other kinds) and the
    # words the answer text opens with for it ("Ja.", "Nej.", "Dokumenten säger inte …").
    verdict: str = ""
    lead: str = ""

    @property
    def rewritten(self) -> bool:
        return _flat(self.searched) != _flat(self.question)

    @property
    def citations(self) -> list[dict[str, Any]]:
        """Each quoted range (list items too) with its source number, document and page."""
        by_number = {s.number: s for s in self.sources}
        out = []
        for quote in self.quotes:
            for q in (quote, *quote.items):
                source = by_number.get(q.source)
                if source is None:
                    continue
                doc = source.hit.document
                out.append(
                    {
                        "number": q.source,
                        "doc_id": q.doc_id,
                        "title": _flat(doc.title),
                        "source": doc.source,
                        "page": doc.page_at(q.start) if doc.pages else None,
                        "section": q.section or None,
                        "start": q.start,
                        "end": q.end,
                        "text": q.text,
                    }
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "searched": self.searched,
            "followup": self.followup,
            "kind": self.kind,
            "basis": self.basis,
            "verdict": self.verdict or None,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": self.citations,
            "table": self.table,
            "quotes": [_quote_json(q) for q in self.quotes],
            "sources": [
                {
                    "number": s.number,
                    "citation": s.citation,
                    "matching": s.matching,
                    "cited": s.cited,
                    "doc_id": s.hit.doc_id,
                }
                for s in self.sources
            ],
            "hits": [s.hit.to_json() for s in self.sources],
        }


def _quote_json(q: Quote) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": q.text,
        "source": q.source,
        "doc_id": q.doc_id,
        "start": q.start,
        "end": q.end,
    }
    if q.items:
        data["items"] = [_quote_json(i) for i in q.items]
    return data


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "nr",
    "källhänvisning",
    "titel",
    "organisation",
    "datum",
    "typ",
    "fil",
    "sida",
    "start",
    "slut",
    "citerad",
    "matchar",
    "svarsmeningar",
    "stycke",
)


def source_row(source: Source) -> dict[str, str]:
    hit, doc = source.hit, source.hit.document
    sentences = " | ".join(_flat(doc.text[s:e]) for s, e in hit.spans)
    row = {
        "nr": source.number,
        "källhänvisning": source.citation,
        "titel": _flat(doc.title),
        "organisation": organisation(doc),
        "datum": document_date(doc),
        "typ": document_kind(doc),
        "fil": source_name(doc),
        "sida": hit.chunk.page or "",
        "start": hit.chunk.start,
        "slut": hit.chunk.end,
        "citerad": "ja" if source.cited else "nej",
        "matchar": "ja" if source.matching else "nej",
        "svarsmeningar": sentences,
        "stycke": _flat(hit.chunk.text),
    }
    return {k: safe_cell(v) for k, v in row.items()}


def sources_csv(answer: Answer) -> str:
    """The answer's sources, one row each (UTF-8 text; Excel-safe cells)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for source in answer.sources:
        writer.writerow(source_row(source))
    return out.getvalue()


def sources_markdown(answer: Answer) -> str:
    """The question, what was searched, the answer and its numbered sources with passages."""
    lines = [f"# Källor: {_md(answer.question)}", ""]
    if answer.rewritten:
        lines += [f"{SEARCHED_LABEL}: {_md(answer.searched)}", ""]
    lines += [f"**Svar:** {_md(answer.text)}", ""]
    if answer.abstained and answer.sources:
        lines += ["Närmaste passager (matchar inte frågan):", ""]
    for source in answer.sources:
        lines.append(f"{source.number}. {_md(source.citation)}")
        lines.append(f"   > {_md(_flat(source.hit.chunk.text))}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    """Markdown-inert text: no raw HTML, links or emphasis from document contents."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", _flat(text))
