from __future__ import annotations

from pathlib import Path

import pytest

from samverkan_qa.documents import Document
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.index import _annotate
from samverkan_qa.web_documents import export, filter_error, table_for, table_html


def _docs() -> list[Document]:
    docs = [
        Document(
            "a",
            "Avtal <script>alert(1)</script>",
            "a.txt",
            "Tyresö kommun och polisen har skrivit under en överenskommelse. "
            "Överenskommelsen gäller från 1 januari 2024 till 31 december 2025.\n",
        ),
        Document(
            "b",
            "Pressmeddelande",
            "b.txt",
            "Pressmeddelande 2016-12-20\n\nVaxholms kommun och polisen undertecknar en "
            "samverkansöverenskommelse som gäller 2017–2018.\n",
        ),
    ]
    _annotate(docs)
    return docs


def test_table_filters_and_escapes() -> None:
    rows = table_for(_docs(), "Alla dokument", kommun="Tyresö")
    assert [r["doc_id"] for r in rows] == ["a"]
    page = table_html(rows)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Tyresö" in page and "sv-fact-1" in page


def test_validity_filter_and_compare_view() -> None:
    rows = table_for(_docs(), "Jämför avtal", giltig="2017")
    assert [r["doc_id"] for r in rows] == ["b"]
    assert "giltighet" in rows[0] and "typ" not in rows[0]


def test_export_writes_csv_and_markdown(tmp_path: Path) -> None:
    csv_path, md_path = export(table_for(_docs(), "Alla dokument"), tmp_path)
    assert Path(csv_path).read_text(encoding="utf-8").lstrip("\ufeff").startswith("doc_id,")
    assert "| doc_id |" in Path(md_path).read_text(encoding="utf-8")


def test_bad_validity_filter_is_refused_in_swedish_and_escaped() -> None:
    with pytest.raises(InvalidInputError):
        table_for(_docs(), "Alla dokument", giltig="0000")
    message = filter_error("<b>0000</b>")
    assert "Skriv ett år (t.ex. 2024)" in message
    assert "<b>" not in message and "&lt;b&gt;0000&lt;/b&gt;" in message
