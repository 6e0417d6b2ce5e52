"""Documents as data: the facts each document states, as tables to filter, compare and export.

Every cell keeps where its value came from (document, offsets, quote) so it can be cited.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from samverkan_qa.documents import Document
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.metadata import Fact, FieldFilter, facts_from_json, matches

log = logging.getLogger(__name__)

# (column heading, fact field) for the documents table.
DOC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("typ", "doc_type"),
    ("kommun", "municipalities"),
    ("parter", "parties"),
    ("datum", "dates"),
    ("giltighet", "validity"),
    ("diarienummer", "diary_number"),
    ("fokusområden", "priority_areas"),
    ("platser", "places"),
)
COMPARE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("kommun", "municipalities"),
    ("parter", "parties"),
    ("giltighet", "validity"),
    ("fokusområden", "priority_areas"),
)


def document_facts(doc: Document) -> dict[str, list[Fact]]:
    """The facts metadata.py extracted at indexing time ({} for a malformed record).

    Parsed once per document and facts record: answers read every document's facts per
    question. The cache is keyed by the record itself, so new facts are parsed anew."""
    raw = doc.metadata.get("facts") or {}
    cached = doc.__dict__.get("_parsed_facts")
    if cached is not None and cached[0] is raw:
        return cached[1]
    try:
        parsed = facts_from_json(raw)
    except InvalidInputError:
        log.warning("ignoring malformed facts of document %s", doc.doc_id)
        parsed = {}
    doc.__dict__["_parsed_facts"] = (raw, parsed)
    return parsed


def fact_values(doc: Document, name: str) -> list[Any]:
    return [f.value for f in document_facts(doc).get(name, [])]


def municipalities(doc: Document) -> list[str]:
    """Municipalities the document is about, in the order the facts give them."""
    names = [v for v in fact_values(doc, "municipalities") if isinstance(v, str)]
    return list(dict.fromkeys(names))


# Which of a document's dates a citation shows, most telling first.
_DATE_ROLE_ORDER = ("published", "signed", "decision", "document", "in_force")


# A law is cited by the date it was issued (utfärdad), not when a copy was published online.
_LAW_DATE_ROLE_ORDER = ("document", "signed", "decision", "in_force", "published")


def document_date(doc: Document) -> str:
    """The document's own date (published, signed, decided, ...) as YYYY-MM-DD, or ""."""
    dates = [v for v in fact_values(doc, "dates") if isinstance(v, Mapping) and v.get("date")]
    order = _LAW_DATE_ROLE_ORDER if document_kind(doc) == "lag" else _DATE_ROLE_ORDER
    for role in order:
        for value in dates:
            if value.get("role") == role:
                return str(value["date"])
    return ""


def document_kind(doc: Document) -> str:
    """What kind of document it is ("pressmeddelande", "lag", ...), else its file kind."""
    kinds = [v for v in fact_values(doc, "doc_type") if isinstance(v, str)]
    return kinds[0] if kinds else doc.doc_type


# Front-matter keys that name who issued a document.
_ISSUER_KEYS = ("organisation", "utgivare", "myndighet", "departement", "kommun")


def organisation(doc: Document) -> str:
    """Who the document is from: a stated issuer, else the party the text speaks as ("vi på
    Huge", "mejla våra handläggare: x@huge.se"), else its municipality's kommun party, else
    the municipality it is about, else ""."""
    for key in _ISSUER_KEYS:
        value = doc.metadata.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    own = own_voice_party(doc)
    if own:
        return own
    places = municipalities(doc)
    for party in fact_values(doc, "parties"):
        if isinstance(party, Mapping) and party.get("kind") == "kommun":
            name = str(party.get("name", ""))
            if any(name.startswith(p) for p in places):
                return name
    return " och ".join(places[:2])


# The document speaking as itself: "vi på X" or its own contact address ("våra ...: a@x.se").
_OWN_VOICE = re.compile(
    r"\b[Vv]i på (?P<name>[A-ZÅÄÖ][\w-]+)"
    r"|\b[Vv]år[at]?\b[^.\n]{0,80}?[\w.+-]+@(?P<domain>[\w-]+)\.se\b"
)
# A quoted speaker's line ("– Vi på polisen ...") speaks for the speaker, not the publisher.
_QUOTED_LINE = re.compile(r"^\s*[–—\"”-]")


def own_voice_party(doc: Document) -> str:
    """The party (from the document's facts) the text speaks as outside quotations, or ""."""
    parties = [
        str(p.get("name", ""))
        for p in fact_values(doc, "parties")
        if isinstance(p, Mapping) and p.get("name")
    ]
    for line in doc.text.splitlines():
        if _QUOTED_LINE.match(line):
            continue
        for m in _OWN_VOICE.finditer(line):
            word = (m.group("name") or m.group("domain")).casefold()
            for name in parties:
                if name.split()[0].casefold() == word:
                    return name
    return ""


def document_title(doc: Document) -> str:
    """The title to cite. A document without a heading got its first sentence as title at
    load time; for a known kind from a known issuer a supplied title in square brackets (as
    in references to untitled works), "[Pressmeddelande från Huddinge kommun]", says more."""
    title = " ".join(doc.title.split())
    if doc.metadata.get("title_from") != "first_line" or not _is_first_sentence(doc, title):
        return title
    kind, issuer = document_kind(doc), organisation(doc)
    if kind == doc.doc_type or not issuer:
        return title
    return f"[{kind[:1].upper()}{kind[1:]} från {issuer}]"


def _is_first_sentence(doc: Document, title: str) -> bool:
    """Whether `title` is the opening of a first line that goes on: running text, since a
    heading is a line of its own."""
    first = " ".join(next((ln for ln in doc.text.splitlines() if ln.strip()), "").split())
    head = title.removesuffix(" …")
    return first.startswith(head) and len(first) > len(head)


def document_matches(doc: Document, filters: list[FieldFilter]) -> bool:
    return matches(document_facts(doc), filters, doc_id=doc.doc_id)


def select(documents: Iterable[Document], filters: list[FieldFilter]) -> list[Document]:
    return [d for d in documents if not filters or document_matches(d, filters)]


def is_agreement(doc: Document) -> bool:
    """A document that states an agreement's terms: a period or priority areas (not a law)."""
    facts = doc.metadata.get("facts", {})
    types = {f["value"] for f in facts.get("doc_type", [])}
    return "lag" not in types and bool(facts.get("validity") or facts.get("priority_areas"))


def format_value(field: str, value: Any) -> str:
    """A fact's value as a person reads it."""
    if not isinstance(value, dict):
        return str(value)
    if field == "parties":
        return str(value.get("name") or value.get("kind"))
    if field == "dates":
        return f"{value.get('date')} ({_ROLES.get(value.get('role') or '', value.get('role'))})"
    if field == "validity":
        period = f"{value.get('from') or '…'}–{value.get('to') or '…'}"
        return f"{period} ({value['noun']})" if value.get("noun") else period
    if field == "people":
        return f"{value.get('name')}, {value.get('role')}" if value.get("role") else value["name"]
    return ", ".join(f"{k}={v}" for k, v in value.items())


_ROLES = {
    "published": "publicerad",
    "signed": "undertecknad",
    "decision": "beslut",
    "document": "daterad",
    "in_force": "ikraft",
    "valid_from": "gäller från",
    "valid_to": "gäller till",
    "": "datum",
}


@dataclass(frozen=True)
class Cell:
    """The values of one field in one document, each with where it came from."""

    values: list[str]
    sources: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "; ".join(dict.fromkeys(self.values))


def cell(doc: Document, field: str) -> Cell:
    facts = doc.metadata.get("facts", {}).get(field, [])
    values = [format_value(field, f["value"]) for f in facts]
    sources = [
        {
            "doc_id": doc.doc_id,
            "source": doc.source,
            "start": f.get("start"),
            "end": f.get("end"),
            "quote": f.get("quote"),
            "from": f.get("source", "text"),
        }
        for f in facts
    ]
    return Cell(values, sources)


def rows(documents: list[Document], columns: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """One row per document: id, title, source and a Cell per column."""
    return [
        {
            "doc_id": d.doc_id,
            "titel": document_title(d),
            "källa": d.source,
            **{head: cell(d, field) for head, field in columns},
        }
        for d in documents
    ]


def rows_json(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            k: ({"values": v.values, "sources": v.sources} if isinstance(v, Cell) else v)
            for k, v in row.items()
        }
        for row in table
    ]


def _flat(value: Any) -> str:
    return value.text if isinstance(value, Cell) else str(value)


def _quote_sources(value: Any) -> str:
    if not isinstance(value, Cell):
        return ""
    return " | ".join(
        f"{s['doc_id']}:{s['start']}-{s['end']} «{s['quote']}»"
        if s["start"] is not None
        else f"{s['doc_id']} ({s['from']})"
        for s in value.sources
    )


def to_csv(table: list[dict[str, Any]]) -> str:
    """Values and, beside each cell, its sources (document:start-end «quote»)."""
    if not table:
        return ""
    heads = list(table[0])
    out = io.StringIO()
    writer = csv.writer(out)
    cells = [h for h in heads if isinstance(table[0][h], Cell)]
    writer.writerow(heads + [f"{h} (källa)" for h in cells])
    for row in table:
        values = [_flat(row[h]) for h in heads] + [_quote_sources(row[h]) for h in cells]
        writer.writerow([safe_cell(v) for v in values])
    return out.getvalue()


_CSV_FORMULA = re.compile(r"^(?:[=+@\t\r]|-(?!\s))")


def safe_cell(value: Any) -> str:
    """Text for a spreadsheet cell; a leading = + @ would run as a formula in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if _CSV_FORMULA.match(text) else text


def to_markdown(table: list[dict[str, Any]], *, with_sources: bool = True) -> str:
    """A Markdown table; each value carries a footnote number pointing at its quote."""
    if not table:
        return "_Inga dokument._\n"
    heads = [h for h in table[0] if h != "källa"]
    notes: list[str] = []
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in table:
        lines.append("| " + " | ".join(_md_cell(row[h], notes, with_sources) for h in heads) + " |")
    if with_sources and notes:
        lines += ["", *[f"[{n}] {note}" for n, note in enumerate(notes, start=1)]]
    return "\n".join(lines) + "\n"


def _md_cell(value: Any, notes: list[str], with_sources: bool) -> str:
    if not isinstance(value, Cell):
        return str(value).replace("|", "\\|")
    parts = []
    for text, source in zip(value.values, value.sources, strict=True):
        if with_sources:
            notes.append(source_note(source))
            text = f"{text} [{len(notes)}]"
        parts.append(text.replace("|", "\\|"))
    return "; ".join(parts) or "–"


def source_note(source: dict[str, Any]) -> str:
    if source["start"] is None:
        return f"{source['source']} ({source['from']})"
    quote = " ".join(str(source["quote"]).split())
    return f"{source['source']}, tecken {source['start']}–{source['end']}: «{quote}»"


def to_terminal(table: list[dict[str, Any]], *, width: int = 30) -> str:
    """A wrapped fixed-width table (nothing cut off), then the numbered sources."""
    if not table:
        return "Inga dokument.\n"
    notes: list[str] = []
    heads = [h for h in table[0] if h not in ("källa", "titel")]
    grid = [[_md_cell(row[h], notes, True) for h in heads] for row in table]
    widths = [min(width, max(len(h), *(len(r[i]) for r in grid))) for i, h in enumerate(heads)]
    lines = [_line(heads, widths), _line(["-" * w for w in widths], widths)]
    for cells in grid:
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
        for n in range(max(len(w) for w in wrapped)):
            lines.append(_line([w[n] if n < len(w) else "" for w in wrapped], widths))
        lines.append("")
    lines += ["Källor:", *[f"[{n}] {note}" for n, note in enumerate(notes, start=1)]]
    return "\n".join(lines) + "\n"


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
