from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_pdf

from samverkan_qa.cli import main

HIT_KEYS = {"rank", "score", "doc_id", "title", "source", "start", "end", "page", "text"}


@pytest.fixture
def index_dir(tmp_path: Path, small_corpus: Path, use_fake_embedder) -> Path:
    folder = tmp_path / "index"
    assert (
        main(
            [
                "index",
                str(small_corpus),
                "--index",
                str(folder),
                "-q",
                "--chunk-tokens",
                "40",
                "--overlap",
                "8",
            ]
        )
        == 0
    )
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_does_not_import_torch_or_numpy() -> None:
    code = (
        "import sys\nfrom samverkan_qa.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'numpy', 'faiss', 'sentence_transformers')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_index_prints_summary_with_skipped_files(
    tmp_path: Path, small_corpus: Path, use_fake_embedder, capsys
) -> None:
    (small_corpus / "trasig.pdf").write_bytes(b"%PDF-1.4 nonsense")
    code, out, _ = run(capsys, "index", str(small_corpus), "--index", str(tmp_path / "ix"), "-q")
    assert code == 0
    assert "Indexed 7 documents" in out
    assert "Skipped 1 files" in out and "trasig.pdf: corrupt PDF" in out


def test_search_json_has_every_field(index_dir: Path, capsys) -> None:
    code, out, _ = run(
        capsys,
        "search",
        "Vilka fokusområden har Älvby?",
        "--index",
        str(index_dir),
        "-k",
        "3",
        "--json",
    )
    assert code == 0
    hits = json.loads(out)
    assert isinstance(hits, list) and 1 <= len(hits) <= 3
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    for hit in hits:
        assert hit.keys() >= HIT_KEYS
        assert isinstance(hit["start"], int) and hit["end"] > hit["start"]


PROTOCOL_PAGES = [
    "Kommunstyrelsen i Älvby sammanträder om trygghet. Ordföranden öppnar mötet och "
    "hälsar ledamöterna välkomna till sammanträdet.",
    "Styrelsen diskuterar budgeten för fritidsgårdarna och beslutar att öka bidraget till "
    "föreningarna under nästa år.",
    "Kommundelen Åsa får nya gatlampor längs gångvägen till skolan. Arbetet börjar i augusti "
    "och ska vara klart före jul.",
]


def test_search_json_gives_a_pdf_hit_its_page(tmp_path: Path, use_fake_embedder, capsys) -> None:
    corpus = tmp_path / "pdf"
    corpus.mkdir()
    write_pdf(corpus / "protokoll.pdf", PROTOCOL_PAGES, header="ÄLVBY KOMMUN", footer="Sida")
    (corpus / "gator.txt").write_text(
        "Gatlampor och belysning i Älvby sköts av tekniska kontoret.", encoding="utf-8"
    )
    folder = str(tmp_path / "ix")
    argv = ["index", str(corpus), "--index", folder, "-q", "--chunk-tokens", "30", "--overlap", "0"]
    assert main(argv) == 0
    capsys.readouterr()
    code, out, _ = run(
        capsys, "search", "nya gatlampor i kommundelen Åsa", "--index", folder, "-k", "2", "--json"
    )
    assert code == 0
    hits = json.loads(out)
    pdf = [h for h in hits if h["source"].endswith("protokoll.pdf")]
    assert pdf, hits  # the check below must not run over an empty list
    assert "gatlampor" in pdf[0]["text"] and "budgeten" not in pdf[0]["text"]
    assert pdf[0]["page"] == 3
    assert [h["page"] for h in hits if h["source"].endswith(".txt")] in ([], [None])


def test_search_readable_output(index_dir: Path, capsys) -> None:
    code, out, _ = run(capsys, "search", "brandförsvarsförbund", "--index", str(index_dir))
    assert code == 0 and "[1]" in out and "raddningstjanst.md" in out


def test_batch_search_one_line_per_question(index_dir: Path, tmp_path: Path, capsys) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"id": "a", "question": "Vem deltar i samverkan kring brandsäkerhet?"}\n'
        '{"id": "b", "question": "När undertecknades avtalet med Kriminalvården?"}\n',
        encoding="utf-8",
    )
    code, out, _ = run(
        capsys, "search", "--queries", str(queries), "--json", "--index", str(index_dir), "-k", "2"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in rows] == ["a", "b"]
    assert all(len(r["hits"]) == 2 and r["question"] for r in rows)


def test_eval_reports_metrics(index_dir: Path, tmp_path: Path, capsys) -> None:
    questions = tmp_path / "dev.jsonl"
    questions.write_text(
        '{"id": "1", "question": "Vem anlitar ordningsvakter vid stationen?", '
        '"any_of": ["anlitar ordningsvakter"]}\n'
        '{"id": "2", "question": "Vilket avtal finns med Kriminalvården?", "doc_ids": ["avtal"]}\n'
        '{"id": "3", "question": "Hur byter jag elavtal?", "any_of": []}\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "eval", str(questions), "--index", str(index_dir), "--json")
    report = json.loads(out)
    assert code == 0 and report["questions"] == 3 and report["unanswerable"] == 1
    assert {"hit_at_1", "hit_at_5", "mrr_at_10", "abstained_unanswerable"} <= report.keys()
    assert report["hit_at_5"] == 1.0


def test_long_question_is_accepted(index_dir: Path, capsys) -> None:
    question = ("Hur samverkar kommunen med polisen om trygghet? " * 250)[:10_000]
    code, out, _ = run(capsys, "search", question, "--index", str(index_dir), "--json")
    assert code == 0 and json.loads(out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "", "--index", "{index}"], "question is empty"),
        (["search", "   \n\t", "--index", "{index}"], "question is empty"),
        (["search", "polisen", "-k", "0", "--index", "{index}"], "-k must be between"),
        (["search", "polisen", "--index", "{tmp}/saknas"], "no index at"),
        (["index", "{tmp}/finns-inte", "--index", "{tmp}/ix"], "corpus not found"),
        (["search", "polisen", "--filter", "färg=blå", "--index", "{index}"], "färg=blå"),
        (["eval", "{tmp}/saknas.jsonl", "--index", "{index}"], "not found"),
    ],
)
def test_bad_input_gives_one_line_error(
    index_dir: Path, tmp_path: Path, capsys, argv: list[str], message: str
) -> None:
    argv = [a.format(index=index_dir, tmp=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("samverkan-qa: error:")
    assert message in err and "Traceback" not in err


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "samverkan_qa", "--help"], capture_output=True, text=True, check=True
    )
    assert "search" in out.stdout and "index" in out.stdout


def test_serve_on_a_taken_port_is_a_one_line_error(capsys) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "serve", "--port", str(port))
    assert code == 2 and "Address already in use" in err and err.count("\n") == 1
