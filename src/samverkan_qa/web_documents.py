"""The web app's "Dokument" tab: the facts table and the agreements side by side, with export.

The tables come from `catalog`; this module only renders them as escaped HTML.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from samverkan_qa import catalog
from samverkan_qa.documents import Document
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.metadata import DOC_TYPES, parse_filter

ALL = ""
VIEWS = {"Alla dokument": catalog.DOC_COLUMNS, "Jämför avtal": catalog.COMPARE_COLUMNS}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def table_for(
    documents: list[Document], view: str, kommun: str = ALL, giltig: str = ALL, typ: str = ALL
) -> list[dict[str, Any]]:
    wanted = [("kommun", kommun), ("giltig", giltig), ("typ", typ)]
    filters = [parse_filter(f"{k}={v.strip()}") for k, v in wanted if v and v.strip()]
    chosen = catalog.select(documents, filters)
    if view == "Jämför avtal":
        chosen = [d for d in chosen if catalog.is_agreement(d)]
    return catalog.rows(chosen, VIEWS.get(view, catalog.DOC_COLUMNS))


def table_html(table: list[dict[str, Any]]) -> str:
    """An HTML table; every value has a numbered source, listed below with its quote."""
    if not table:
        return "<p class='sv-empty'>Inga dokument matchar filtren.</p>"
    heads = [h for h in table[0] if h not in ("doc_id", "källa")]
    notes: list[str] = []
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell_html(row[h], notes)}</td>" for h in heads) + "</tr>"
        for row in table
    )
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    sources = "".join(f"<li id='sv-fact-{n}'>{esc(note)}</li>" for n, note in enumerate(notes, 1))
    # The table scrolls sideways in its own box (focusable, so the keyboard can scroll it).
    return (
        "<div class='sv-facts'><div class='sv-facts-scroll' tabindex='0' role='region' "
        f"aria-label='Dokumenttabell'><table><thead><tr>{head}</tr></thead><tbody>{body}"
        "</tbody></table></div><h2 class='sv-facts-head'>Källor</h2>"
        f"<ol class='sv-fact-sources'>{sources}</ol></div>"
    )


def filter_error(giltig: str) -> str:
    """The refusal of a bad filter, in Swedish (the only free-text filter is the year or
    date; the dropdowns offer valid values only)."""
    return (
        f"<p class='sv-error' role='alert'>Filtret «{esc(giltig.strip())}» går inte att "
        "använda. Skriv ett år (t.ex. 2024) eller ett datum (t.ex. 2024-05-01).</p>"
    )


def _cell_html(value: Any, notes: list[str]) -> str:
    if not isinstance(value, catalog.Cell):
        return esc(value)
    parts = []
    for text, source in zip(value.values, value.sources, strict=True):
        notes.append(catalog.source_note(source))
        parts.append(f"{esc(text)} <a href='#sv-fact-{len(notes)}'><sup>[{len(notes)}]</sup></a>")
    return "<br>".join(parts) or "–"


def export(table: list[dict[str, Any]], parent: Path) -> tuple[str, str]:
    """The table as CSV and Markdown files for the download buttons."""
    folder = Path(tempfile.mkdtemp(prefix="dokument-", dir=parent))
    csv_path, md_path = folder / "dokument.csv", folder / "dokument.md"
    csv_path.write_text("\ufeff" + catalog.to_csv(table), encoding="utf-8")
    md_path.write_text(catalog.to_markdown(table), encoding="utf-8")
    return str(csv_path), str(md_path)


def build_tab(
    gr: Any,
    documents: Callable[[], list[Document]],
    municipalities: list[tuple[str, str]],
    folder: Path,
    tab: Any = None,
) -> Any:
    """The tab's widgets and events (inside an open gr.Blocks / gr.Tab context).
    `documents` gives the indexed documents now (documents may be added while the server
    runs); the table is made again whenever `tab` is selected. Returns the municipality
    dropdown (its choices grow with the documents)."""
    with gr.Row():
        view = gr.Radio(list(VIEWS), value="Alla dokument", label="Visa", elem_id="sv-docs-view")
        kommun = gr.Dropdown(
            choices=municipalities, value=ALL, label="Kommun", elem_id="sv-docs-kommun"
        )
        giltig = gr.Textbox(
            label="Giltigt år eller datum", placeholder="t.ex. 2024", elem_id="sv-docs-giltig"
        )
        typ = gr.Dropdown(
            choices=[("Alla typer", ALL), *((t, t) for t in DOC_TYPES)],
            value=ALL,
            label="Typ",
            elem_id="sv-docs-typ",
        )
    first = table_for(documents(), "Alla dokument")
    first_files = export(first, folder)
    table = gr.HTML(table_html(first), elem_id="sv-docs-table")
    with gr.Row():
        csv_button = gr.DownloadButton("Tabellen som CSV", value=first_files[0], size="sm")
        md_button = gr.DownloadButton("Tabellen som Markdown", value=first_files[1], size="sm")

    def refresh(view_: str, kommun_: str, giltig_: str, typ_: str) -> tuple[str, str, str]:
        try:
            rows = table_for(documents(), view_, kommun_, giltig_, typ_)
        except InvalidInputError:
            return filter_error(giltig_), None, None  # type: ignore[return-value]
        csv_path, md_path = export(rows, folder)
        return table_html(rows), csv_path, md_path

    inputs = [view, kommun, giltig, typ]
    for widget in (view, kommun, typ):
        widget.change(
            refresh, inputs, [table, csv_button, md_button], api_visibility="undocumented"
        )
    giltig.submit(refresh, inputs, [table, csv_button, md_button], api_visibility="undocumented")
    if tab is not None:
        tab.select(refresh, inputs, [table, csv_button, md_button], api_visibility="undocumented")
    return kommun
