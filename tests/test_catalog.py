from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from samverkan_qa.cli import main

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped corpus indexed with the fake embedder: facts do not need the model."""
    from conftest import FakeEmbedder

    from samverkan_qa.index import build_index
    from samverkan_qa.settings import Settings

    folder = tmp_path_factory.mktemp("catalog") / "index"
    build_index(Settings(corpus=(CORPUS,), index_dir=folder), FakeEmbedder())
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_docs_json_lists_every_document_with_sourced_values(corpus_index: Path, capsys) -> None:
    rows = json.loads(run(capsys, "docs", "--index", str(corpus_index), "--json"))
    assert len(rows) == 6
    haninge = next(r for r in rows if r["doc_id"].startswith("haninge"))
    assert haninge["kommun"]["values"] == ["Haninge"]
    assert "…–2027-12-31 (överenskommelse)" in haninge["giltighet"]["values"]
    text = (CORPUS / "haninge-2025-overenskommelse-polisen-webbsida.txt").read_text("utf-8")
    for source in haninge["giltighet"]["sources"]:
        assert source["quote"] in text


def test_docs_filter_by_municipality_and_validity(corpus_index: Path, capsys) -> None:
    out = run(capsys, "docs", "--index", str(corpus_index), "--json", "--filter", "giltig=2024")
    assert [r["doc_id"] for r in json.loads(out)] == [
        "huge-bostader-2023-tillsammans-for-trygghet-webbsida"
    ]
    out = run(
        capsys, "docs", "--index", str(corpus_index), "--json", "--filter", "kommun=sodertalje"
    )
    assert [r["doc_id"] for r in json.loads(out)] == [
        "sodertalje-2016-samverkansoverenskommelse-pressmeddelande"
    ]


def test_docs_csv_has_values_and_sources(corpus_index: Path, capsys) -> None:
    out = run(capsys, "docs", "--index", str(corpus_index), "--csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 6
    tu = next(r for r in table if r["doc_id"].startswith("huddinge-2020"))
    assert tu["diarienummer"] == "KS-2018/91.103"
    assert "«KS-2018/91.103»" in tu["diarienummer (källa)"]


def test_compare_shows_agreements_side_by_side(corpus_index: Path, capsys) -> None:
    out = run(capsys, "compare", "--index", str(corpus_index), "--markdown")
    assert out.startswith("| doc_id | titel | kommun | parter | giltighet | fokusområden |")
    assert "sfs-2023-196" not in out  # a law is not an agreement
    for name in ("Haninge", "Södertälje", "Huddinge"):
        assert name in out
    assert "«gäller från 1 januari 2017 till 31 december 2018»" in out


def test_compare_terminal_lists_sources(corpus_index: Path, capsys) -> None:
    out = run(capsys, "compare", "--index", str(corpus_index), "--filter", "kommun=Haninge")
    assert "Barn och unga" in out and "Källor:" in out and "[1]" in out
    assert "huddinge" not in out.split("Källor:")[0]


def test_filter_with_no_match_gives_empty_table(corpus_index: Path, capsys) -> None:
    out = run(capsys, "compare", "--index", str(corpus_index), "--filter", "kommun=Kiruna")
    assert out.strip() == "Inga dokument."


def test_listing_commands_do_not_import_torch(corpus_index: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\nfrom samverkan_qa.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['docs', '--index', {str(corpus_index)!r}])\n"
        f"    main(['compare', '--index', {str(corpus_index)!r}, '--json'])\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'faiss') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_csv_export_neutralises_formula_cells() -> None:
    from samverkan_qa.catalog import safe_cell, to_csv

    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("- punkt") == "- punkt" and safe_cell("-1+1") == "'-1+1"
    table = [{"doc_id": "d", "titel": "@SUM(A1)", "källa": "+x"}]
    assert "'@SUM(A1)" in to_csv(table) and "'+x" in to_csv(table)
