"""The bad-input matrix: every ordinary mistake, bad file, damaged index or wrong API argument
is one line (CLI: on stderr with exit code 2; API: one gr.Error and one log line), never a
traceback, and one bad file never stops an index run."""

from __future__ import annotations

import json
import logging
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import HADDOCK_TXT, FakeEmbedder, fake_engine, write_docx, write_pdf
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from samverkan_qa.cli import main
from samverkan_qa.errors import InvalidInputError, SamverkanError
from samverkan_qa.index import build_index, load_index
from samverkan_qa.loading import SkipFile, load_one
from samverkan_qa.settings import Settings

DAMAGED = "index damaged, rebuild it with samverkan-qa index"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, message: str) -> None:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("samverkan-qa: error:"), err
    assert message in err, err


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny index, built once for the read-only CLI cases (copied where damaged)."""
    root = tmp_path_factory.mktemp("bad-input")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "alvby.txt").write_text(HADDOCK_TXT, encoding="utf-8")
    (corpus / "oby.md").write_text(
        "---\ntitle: Trygghet i Öby\n---\n\nÖby kommun och polisen samverkar om trygghet "
        "på torget. Överenskommelsen gäller 2024–2026.\n",
        encoding="utf-8",
    )
    settings = Settings(corpus=(corpus,), index_dir=root / "index", cache_dir=root / "cache")
    build_index(settings, FakeEmbedder())
    return root / "index"


@pytest.fixture
def index_dir(built: Path, use_fake_embedder: FakeEmbedder) -> Path:
    return built


# --- CLI ---------------------------------------------------------------------------------

LATIN1 = '{"id": "1", "question": "Vilka fokusområden?"}\n'.encode("latin-1")
NESTED = "[" * 100_000 + "]" * 100_000 + "\n"

CLI_CASES: list[tuple[str, list[str], dict[str, Any], str]] = [
    ("empty question", ["search", ""], {}, "question is empty"),
    ("blank question", ["search", " \n\t"], {}, "question is empty"),
    ("no question", ["search"], {}, "give a question"),
    ("k zero", ["search", "polisen", "-k", "0"], {}, "between 1 and 100, got 0"),
    ("k above 100", ["search", "polisen", "-k", "101"], {}, "between 1 and 100, got 101"),
    ("k negative", ["search", "polisen", "-k", "-5"], {}, "got -5"),
    ("k not a number", ["search", "polisen", "-k", "fem"], {}, "'fem'"),
    ("ask k zero", ["ask", "polisen", "-k", "0"], {}, "between 1 and 100"),
    ("giltig 0000", ["search", "polisen", "--filter", "giltig=0000"], {}, "giltig=0000"),
    ("år 0000", ["search", "polisen", "--filter", "år=0000"], {}, "år=0000"),
    ("bad date", ["search", "polisen", "--filter", "giltig=2024-13-45"], {}, "2024-13-45"),
    ("unknown key", ["search", "polisen", "--filter", "färg=blå"], {}, "färg=blå"),
    ("no equals", ["search", "polisen", "--filter", "kommun"], {}, "expected KEY=VALUE"),
    ("no kommun", ["search", "polisen", "--filter", "kommun=Atlantis"], {}, "Atlantis"),
    ("ask giltig 0000", ["ask", "polisen", "--filter", "giltig=0000"], {}, "giltig=0000"),
    ("docs giltig 0000", ["docs", "--filter", "giltig=0000"], {}, "giltig=0000"),
    ("compare bad year", ["compare", "--filter", "år=abcd"], {}, "år=abcd"),
    ("invalid utf-8", ["search", "polisen \udcff\udcfe"], {}, "not valid UTF-8"),
    ("ask invalid utf-8", ["ask", "vem \udce5"], {}, "not valid UTF-8"),
    ("control chars", ["search", "polisen\x07"], {}, "control characters"),
    ("question too long", ["search", "a" * 20_001], {}, "max_question_chars"),
    ("ask too long", ["ask", "a" * 20_001], {}, "max_question_chars"),
    ("history invalid", ["ask", "Och i Öby?", "--history", "x\udcff"], {}, "--history"),
    ("filter invalid utf-8", ["search", "x", "--filter", "kommun=\udcc3"], {}, "UTF-8"),
    ("queries latin-1", ["search", "--queries", "{q_latin1}"], {}, "not UTF-8"),
    ("queries folder", ["search", "--queries", "{tmp}"], {}, "is a folder"),
    ("queries missing", ["search", "--queries", "{tmp}/saknas.jsonl"], {}, "not found"),
    ("queries not json", ["search", "--queries", "{q_text}"], {}, "line 1"),
    ("queries null", ["search", "--queries", "{q_null}"], {}, "NoneType"),
    ("queries number", ["search", "--queries", "{q_number}"], {}, "got int"),
    ("queries nested", ["search", "--queries", "{q_nested}"], {}, "line 1"),
    ("queries long", ["search", "--queries", "{q_long}"], {}, "max_question_chars"),
    ("ask queries latin-1", ["ask", "--queries", "{q_latin1}"], {}, "not UTF-8"),
    ("ask queries folder", ["ask", "--queries", "{tmp}"], {}, "is a folder"),
    ("ask queries history", ["ask", "--queries", "{q_history}"], {}, "history"),
    ("eval folder", ["eval", "{tmp}"], {}, "is a folder"),
    ("eval latin-1", ["eval", "{q_latin1}"], {}, "not UTF-8"),
    ("eval empty", ["eval", "{q_empty}"], {}, "holds no questions"),
    ("eval missing", ["eval", "{tmp}/saknas.jsonl"], {}, "not found"),
    ("eval not a file", ["eval", "/dev/null"], {}, "not a regular file"),
    ("queries not a file", ["search", "--queries", "/dev/null"], {}, "not a regular file"),
    ("serve empty host", ["serve", "--host", " "], {}, "name an address"),
    ("no index", ["search", "polisen", "--index", "{tmp}/saknas"], {"raw": True}, "no index"),
    ("index is a file", ["docs", "--index", "{q_empty}"], {"raw": True}, "no index"),
    ("corpus missing", ["index", "{tmp}/saknas", "--index", "{tmp}/ix"], {"raw": True}, "corpus"),
    (
        "chunk tokens",
        ["index", "{tmp}", "--index", "{tmp}/ix", "--chunk-tokens", "5"],
        {"raw": True},
        "chunk_tokens",
    ),
    (
        "overlap",
        ["index", "{tmp}", "--index", "{tmp}/ix", "--overlap", "900"],
        {"raw": True},
        "900",
    ),
    ("not an index", ["index", "{tmp}", "--index", "{tmp}"], {"raw": True}, "not a samverkan-qa"),
    ("index on a file", ["index", "{tmp}", "--index", "{q_empty}"], {"raw": True}, "is a file"),
    (
        "nothing to index",
        ["index", "{empty_dir}", "--index", "{tmp}/ix"],
        {"raw": True},
        "no index",
    ),
    (
        "index under a file",
        ["index", "{tmp}", "--index", "{q_empty}/ix"],
        {"raw": True},
        "cannot write an index",
    ),
    ("index in /proc", ["index", "{tmp}", "--index", "/proc/saknas"], {"raw": True}, "cannot"),
    ("unknown command", ["fråga", "x"], {"raw": True}, "invalid choice"),
    ("bad mode", ["search", "x", "--mode", "magi"], {}, "invalid choice"),
    ("bad port", ["serve", "--port", "70000"], {"raw": True}, "not a port"),
]


@pytest.mark.parametrize(
    ("argv", "options", "message"),
    [case[1:] for case in CLI_CASES],
    ids=[case[0] for case in CLI_CASES],
)
def test_cli_mistakes_are_one_line(
    index_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    options: dict[str, Any],
    message: str,
) -> None:
    files = _question_files(tmp_path)
    argv = [a.format(tmp=tmp_path, **files) for a in argv]
    if not options.get("raw"):
        argv += ["--index", str(index_dir)]
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    if message == "no index" and argv[0] == "index":
        message = "no indexable documents"
    assert_one_line(err, message)


def _question_files(tmp: Path) -> dict[str, str]:
    rows = {
        "q_latin1": LATIN1,
        "q_text": b"Vilka fokusomr\xc3\xa5den?\n",
        "q_null": b'{"id": 1, "question": null}\n',
        "q_number": b'{"id": 1, "question": 5}\n',
        "q_nested": NESTED.encode(),
        "q_long": json.dumps({"question": "a" * 20_001}).encode(),
        "q_history": b'{"question": "Och i \xc3\x96by?", "history": "inte en lista"}\n',
        "q_empty": b"",
    }
    out = {}
    for name, data in rows.items():
        path = tmp / f"{name}.jsonl"
        path.write_bytes(data)
        out[name] = str(path)
    (tmp / "tom").mkdir(exist_ok=True)
    out["empty_dir"] = str(tmp / "tom")
    return out


def test_a_ten_thousand_character_question_still_works(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = ("Hur samverkar Älvby kommun med polisen om trygghet? " * 200)[:10_000]
    code, out, err = run(capsys, "search", question, "--index", str(index_dir), "--json")
    assert code == 0 and json.loads(out) and not err


def test_search_queries_streams_one_line_per_question(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"id": f"q{i}", "question": f"Vad gäller i Älvby {i}?"} for i in range(40)]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    code, out, _ = run(
        capsys, "search", "--queries", str(path), "--json", "--index", str(index_dir)
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [line["id"] for line in lines] == [r["id"] for r in rows]


def test_an_unexpected_error_is_one_line_too(
    index_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import samverkan_qa.retrieval as retrieval

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated\nbug")

    monkeypatch.setattr(retrieval.Retriever, "search_many", boom)
    code, _, err = run(capsys, "search", "polisen", "--index", str(index_dir))
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "unexpected RuntimeError: simulated bug" in err


# --- files: one bad file never stops a run -----------------------------------------------


def _docx_with_body(path: Path, body: bytes) -> None:
    """A valid .docx whose document body is replaced by `body` (raw WordprocessingML)."""
    write_docx(path.with_suffix(".base.docx"), ["Hej"])
    with zipfile.ZipFile(path.with_suffix(".base.docx")) as base:
        parts = {name: base.read(name) for name in base.namelist()}
    path.with_suffix(".base.docx").unlink()
    xml = parts["word/document.xml"]
    start = xml.index(b"<w:body>") + len(b"<w:body>")
    parts["word/document.xml"] = xml[:start] + body + xml[start:]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def _bad_file(kind: str, folder: Path) -> Path:
    """Write one bad file of the given kind into folder; returns its path."""
    if kind == "name not utf-8":
        raw = os.path.join(os.fsencode(folder), b"avtal-\xe5r-2024.txt")
        with open(raw, "wb") as handle:
            handle.write(HADDOCK_TXT.encode())
        return Path(os.fsdecode(raw))
    writers: dict[str, tuple[str, bytes]] = {
        "latin-1 text": ("a.txt", "Överenskommelse för året".encode("latin-1")),
        "binary text": ("b.txt", b"\x00\x01\x02" * 100),
        "empty": ("c.txt", b""),
        "unsupported": ("d.xls", b"PK\x03\x04"),
        "corrupt pdf": ("e.pdf", b"%PDF-1.4 trasig"),
        "corrupt docx": ("f.docx", b"inte en zip"),
        "jsonl nothing usable": ("g.jsonl", (NESTED + '{"text": null}\n').encode()),
        "html deep nesting": ("h.html", ("<div>" * 50_000 + "Text" + "</div>" * 50_000).encode()),
    }
    if kind in writers:
        name, data = writers[kind]
        (folder / name).write_bytes(data)
        return folder / name
    if kind == "docx huge text node":
        path = folder / "i.docx"
        _docx_with_body(path, b"<w:p><w:r><w:t>" + b"a" * 11_000_000 + b"</w:t></w:r></w:p>")
        return path
    if kind == "docx million paragraphs":
        path = folder / "j.docx"
        _docx_with_body(path, b"<w:p/>" * 1_000_000)
        return path
    raise AssertionError(kind)


FILE_CASES = {
    "name not utf-8": "file name is not valid UTF-8",
    "latin-1 text": "not UTF-8 text",
    "binary text": "binary",
    "empty": "empty file",
    "unsupported": "unsupported file type",
    "corrupt pdf": "corrupt PDF",
    "corrupt docx": "corrupt DOCX",
    "jsonl nothing usable": "no usable records",
    "docx huge text node": "corrupt DOCX (XML",
    "docx million paragraphs": "max_elements",
    "html deep nesting": "",  # read or skipped, but never fatal
}


@pytest.mark.parametrize("kind", list(FILE_CASES))
def test_one_bad_file_is_skipped_the_rest_indexed(tmp_path: Path, kind: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alvby.txt").write_text(HADDOCK_TXT, encoding="utf-8")
    bad = _bad_file(kind, corpus)
    settings = Settings(corpus=(corpus,), index_dir=tmp_path / "index")
    report = build_index(settings, FakeEmbedder())
    index = load_index(settings.index_dir)
    assert "alvby" in index.documents
    reasons = {s.source: s.reason for s in report.skipped}
    if FILE_CASES[kind]:
        printable = os.fsencode(bad).decode("utf-8", "backslashreplace")
        assert FILE_CASES[kind] in reasons[printable], reasons
        assert "\n" not in reasons[printable]
    # What was stored can be printed and read back: no surrogates, no "None" texts.
    (settings.index_dir / "documents.jsonl").read_text(encoding="utf-8")
    texts = [index.documents[d].text for d in index.documents]
    assert all(isinstance(t, str) and not t.startswith("None") for t in texts)
    assert "".join(texts).encode("utf-8") == (settings.index_dir / "texts.bin").read_bytes()


def _index_one(tmp_path: Path, name: str, data: bytes, **limits: int) -> tuple[Any, Any]:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "alvby.txt").write_text(HADDOCK_TXT, encoding="utf-8")
    (corpus / name).write_bytes(data)
    settings = Settings(corpus=(corpus,), index_dir=tmp_path / "index", **limits)
    report = build_index(settings, FakeEmbedder())
    return report, load_index(settings.index_dir)


def test_front_matter_with_an_impossible_date_is_indexed(tmp_path: Path) -> None:
    md = "---\ntitle: Avtal i Öby\ndate: 2024-13-45\n---\n\nÖby kommun samverkar med polisen.\n"
    report, index = _index_one(tmp_path, "oby.md", md.encode())
    assert not report.skipped and index.documents["oby"].metadata["date"] == "2024-13-45"


def test_a_yaml_alias_bomb_is_never_expanded(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in "bcdefghi":
        prev = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{prev}"] * 9) + "]")
    md = "---\n" + "\n".join(lines) + "\n---\n\nÖby kommun samverkar med polisen.\n"
    report, index = _index_one(tmp_path, "bomb.md", md.encode())
    assert index.documents["bomb"].text.startswith("Öby kommun")
    assert (tmp_path / "index" / "documents.jsonl").stat().st_size < 50_000


def test_jsonl_bad_records_are_skipped_good_ones_kept(tmp_path: Path) -> None:
    lines = [
        NESTED.strip(),
        json.dumps({"id": "tom", "text": None}),
        json.dumps({"id": "tal", "text": 42}),
        '{"id": "surrogat", "text": "Trasig \\ud800 text"}',
        json.dumps({"id": "bra", "title": ["inte", "text"], "text": "Polisen i Öby samverkar."}),
    ]
    report, index = _index_one(tmp_path, "poster.jsonl", "\n".join(lines).encode())
    assert set(index.documents) == {"alvby", "bra"} and not report.skipped
    assert index.documents["bra"].title == "Polisen i Öby samverkar."


@pytest.mark.parametrize(
    ("name", "limits", "reason"),
    [
        ("stor.txt", {"max_file_bytes": 1000}, "max_file_bytes"),
        ("lang.txt", {"max_text_chars": 1000}, "max_text_chars"),
        ("fm.md", {"max_front_matter_chars": 10}, ""),  # body indexed, front matter ignored
        ("poster.jsonl", {"max_elements": 2}, "max_elements"),
    ],
)
def test_limits_skip_one_file_with_a_reason(
    tmp_path: Path, name: str, limits: dict[str, int], reason: str
) -> None:
    body = "Öby kommun samverkar med polisen om trygghet. " * 40
    data = {
        "fm.md": f"---\ntitle: {'x' * 50}\n---\n\n{body}\n",
        "poster.jsonl": "\n".join(json.dumps({"text": body}) for _ in range(3)),
    }.get(name, body)
    limits = {"max_file_bytes": 10**6, **limits}
    report, index = _index_one(tmp_path, name, data.encode(), **limits)
    reasons = [s.reason for s in report.skipped]
    if reason:
        assert len(reasons) == 1 and reason in reasons[0] and "\n" not in reasons[0]
    else:
        assert not reasons and len(index.documents) == 2
    assert "alvby" in index.documents


def test_pdf_page_limit(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "beslut.pdf", ["Sida ett om Öby.", "Sida två om Öby.", "Sida tre."])
    with pytest.raises(SkipFile, match="max_pdf_pages"):
        load_one(corpus / "beslut.pdf", "beslut", Settings(max_pdf_pages=2))


def test_fact_extraction_failure_skips_only_that_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import samverkan_qa.metadata as metadata

    real = metadata.extract_facts

    def flaky(text: str, **kwargs: Any) -> Any:
        if "Trasig" in text:
            raise IndexError("simulated bug in one document")
        return real(text, **kwargs)

    monkeypatch.setattr(metadata, "extract_facts", flaky)
    report, index = _index_one(tmp_path, "trasig.txt", "Trasig men läsbar text om Öby.".encode())
    assert set(index.documents) == {"alvby"}
    assert report.skipped and "fact extraction failed (IndexError" in report.skipped[0].reason


def test_index_report_prints_an_undecodable_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], use_fake_embedder: FakeEmbedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alvby.txt").write_text(HADDOCK_TXT, encoding="utf-8")
    _bad_file("name not utf-8", corpus)
    code, out, err = run(capsys, "index", str(corpus), "--index", str(tmp_path / "ix"), "-q")
    assert code == 0 and "avtal-\\xe5r-2024.txt: file name is not valid UTF-8" in out
    assert "Traceback" not in err


# --- the HTTP API's handlers -------------------------------------------------------------


@pytest.fixture(scope="module")
def handlers(built: Path) -> Any:
    import samverkan_qa.web as web

    engine = fake_engine(Settings(index_dir=built))
    return web.Handlers(engine, web.Downloads())


API_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("question None", {"question": None}, "must be text, got NoneType"),
    ("question number", {"question": 5}, "got int 5"),
    ("question list", {"question": ["vem"]}, "got list"),
    ("question dict", {"question": {"q": 1}}, "got dict"),
    ("question empty", {"question": ""}, "question is empty"),
    ("question blank", {"question": "   "}, "question is empty"),
    ("question surrogate", {"question": "vem \udcff"}, "not valid UTF-8"),
    ("question NUL", {"question": "vem\x00"}, "control characters"),
    ("question 1 MB", {"question": "a" * 1_000_000}, "max_question_chars"),
    ("k zero", {"k": 0}, "got 0"),
    ("k 101", {"k": 101}, "got 101"),
    ("k negative", {"k": -3}, "got -3"),
    ("k fraction", {"k": 2.5}, "got 2.5"),
    ("k string", {"k": "5"}, "got '5'"),
    ("k None", {"k": None}, "got None"),
    ("k bool", {"k": True}, "got True"),
    ("k huge", {"k": 10**30}, "got 1000000000000000000000000000000"),
    ("kommun number", {"kommun": 5}, "kommun must be text"),
    ("kommun unknown", {"kommun": "Atlantis"}, "Atlantis"),
    ("kommun surrogate", {"kommun": "\udcc3"}, "not valid UTF-8"),
    ("year 0000", {"year": "0000"}, "år=0000"),
    ("year text", {"year": "i fjol"}, "i fjol"),
    ("year number", {"year": 2024}, "year must be text, got int"),
    ("doc list", {"doc": ["a"]}, "doc must be text"),
    ("previous number", {"previous": 7}, "previous must be text"),
    ("previous surrogate", {"previous": "x\udcff"}, "not valid UTF-8"),
]


@pytest.mark.parametrize(
    ("arguments", "message"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_refuses_bad_arguments_in_one_line(
    handlers: Any, caplog: pytest.LogCaptureFixture, arguments: dict[str, Any], message: str
) -> None:
    import gradio as gr

    call = {"question": "Vad gäller i Älvby?", "k": 5, **arguments}
    with (
        caplog.at_level(logging.INFO, logger="samverkan_qa.web"),
        pytest.raises(gr.Error) as raised,
    ):
        handlers.api_search(**call)
    text = str(raised.value.message)
    assert message in text and "\n" not in text and "Traceback" not in text
    assert raised.value.print_exception is False  # gradio prints no traceback for it
    records = [r for r in caplog.records if r.name == "samverkan_qa.web"]
    assert len(records) == 1 and records[0].exc_info is None and "\n" not in records[0].message


def test_api_accepts_a_whole_float_k_and_empty_filters(handlers: Any) -> None:
    result = handlers.api_search("Vad gäller i Älvby?", 3.0, "", "", "", "")
    assert result["question"] == "Vad gäller i Älvby?" and len(result["hits"]) <= 3


@pytest.mark.parametrize("k", [0, 11.5, "tre"])
def test_chat_refuses_a_bad_k(handlers: Any, k: Any) -> None:
    import gradio as gr

    with pytest.raises(gr.Error, match="k must be a whole number"):
        handlers.respond("Vad gäller i Älvby?", None, k, "", "", "")


def test_documents_tab_refuses_giltig_0000(built: Path) -> None:
    from samverkan_qa.index import load_documents_only
    from samverkan_qa.web_documents import table_for

    with pytest.raises(InvalidInputError, match="giltig=0000"):
        table_for(load_documents_only(built), "Alla dokument", giltig="0000")


# --- fuzz: readers and parsers never raise anything but their own errors ------------------

FUZZ = hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(st.text(max_size=80))
def test_fuzz_filter_parser(expr: str) -> None:
    from samverkan_qa.catalog import select
    from samverkan_qa.documents import Document
    from samverkan_qa.metadata import parse_filter

    try:
        parsed = parse_filter(expr)
    except InvalidInputError:
        return
    facts = {"validity": [{"value": {"from": "2024", "to": "2026-12-31"}, "text": "x"}]}
    doc = Document("d", "Avtal", "d.txt", "Text.", metadata={"facts": facts})
    select([doc], [parsed])  # a filter that parsed is usable


@FUZZ
@given(st.one_of(st.text(max_size=200), st.none(), st.integers(), st.binary(max_size=20)))
def test_fuzz_question_check(question: Any) -> None:
    try:
        checked = Settings().check_question(question)
    except InvalidInputError as exc:
        assert "\n" not in str(exc)
        return
    assert checked.encode("utf-8") == question.encode("utf-8")


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_front_matter(body: str) -> None:
    from samverkan_qa.cleaning import split_front_matter

    try:
        front, rest = split_front_matter(f"---\n{body}\n---\ntext\n")
    except ValueError:
        return
    json.dumps(front)  # metadata is always JSON-able


@FUZZ
@given(
    st.sampled_from([".txt", ".md", ".html", ".jsonl", ".docx", ".pdf"]),
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
)
def test_fuzz_readers_skip_or_read(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        docs = load_one(path, "fuzz")
    except SkipFile as exc:
        assert "\n" not in str(exc)
        return
    for doc in docs:
        json.dumps(doc.to_dict(), ensure_ascii=False).encode("utf-8")


def test_library_errors_are_samverkan_errors() -> None:
    assert issubclass(InvalidInputError, SamverkanError)
    with pytest.raises(InvalidInputError, match="max_question_chars must be"):
        Settings(max_question_chars=0)


# --- damaged indexes: one line at open, for search, docs and serve ------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _rewrite_lines(path: Path, change: Any) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    change(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _change_table(path: Path, change: Any) -> None:
    import numpy as np

    table = np.load(path)
    change(table)
    np.save(path, table)


def _unknown_doc(table: Any) -> None:
    table[0, 0] = 99  # the row of a document that does not exist


def _outside_text(table: Any) -> None:
    table[-1, 2] = 10**6  # ends far beyond its document's text


def _other_document(rows: list[dict[str, Any]]) -> None:
    rows[0]["doc_id"] = "finns-inte"


DAMAGE: dict[str, Any] = {
    "dense.faiss missing": lambda ix: (ix / "dense.faiss").unlink(),
    "dense.faiss truncated": lambda ix: _truncate(ix / "dense.faiss"),
    "dense.faiss garbage": lambda ix: (ix / "dense.faiss").write_bytes(b"\x00garbage" * 50),
    "lexical missing": lambda ix: shutil.rmtree(ix / "lexical"),
    "lexical.json truncated": lambda ix: _truncate(ix / "lexical" / "lexical.json"),
    "bm25 data truncated": lambda ix: _truncate(ix / "lexical" / "bm25" / "data.csc.index.npy"),
    "bm25 vocab missing": lambda ix: (ix / "lexical" / "bm25" / "vocab.index.json").unlink(),
    "chunk names unknown document": lambda ix: _change_table(ix / "chunks.npy", _unknown_doc),
    "chunk outside its text": lambda ix: _change_table(ix / "chunks.npy", _outside_text),
    "documents from another index": lambda ix: _rewrite_lines(
        ix / "documents.jsonl", _other_document
    ),
    "texts.bin from another index": lambda ix: (ix / "texts.bin").write_bytes(b"Annan text"),
    "texts.bin missing": lambda ix: (ix / "texts.bin").unlink(),
    "filters.json missing": lambda ix: (ix / "filters.json").unlink(),
    "filters.json not an index": lambda ix: (ix / "filters.json").write_text("[]"),
    "chunks.npy truncated": lambda ix: _truncate(ix / "chunks.npy"),
    "chunks.npy missing": lambda ix: (ix / "chunks.npy").unlink(),
    "chunks.npy not a table": lambda ix: (ix / "chunks.npy").write_bytes(b"[]\n[1]\n"),
    "documents.npy truncated": lambda ix: _truncate(ix / "documents.npy"),
    "documents.jsonl missing": lambda ix: (ix / "documents.jsonl").unlink(),
    "documents.jsonl truncated": lambda ix: _truncate(ix / "documents.jsonl"),
    "vectors.npy missing": lambda ix: (ix / "vectors.npy").unlink(),
    "vectors.npy truncated": lambda ix: _truncate(ix / "vectors.npy"),
    "manifest a list": lambda ix: (ix / "manifest.json").write_text("[]"),
    "manifest a number": lambda ix: (ix / "manifest.json").write_text("42"),
    "manifest null": lambda ix: (ix / "manifest.json").write_text("null"),
    "manifest not json": lambda ix: (ix / "manifest.json").write_text("{trasig"),
    "manifest deeply nested": lambda ix: (ix / "manifest.json").write_text(NESTED),
    "documents.jsonl deeply nested": lambda ix: (ix / "documents.jsonl").write_text(NESTED),
}


@pytest.fixture
def damaged_copy(built: Path, tmp_path: Path) -> Any:
    def make(kind: str) -> Path:
        folder = tmp_path / "index"
        shutil.copytree(built, folder)
        DAMAGE[kind](folder)
        return folder

    return make


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_index_is_one_line_at_open(
    damaged_copy: Any,
    kind: str,
    capsys: pytest.CaptureFixture[str],
    use_fake_embedder: FakeEmbedder,
) -> None:
    folder = damaged_copy(kind)
    code, out, err = run(capsys, "search", "polisen", "--index", str(folder))
    assert code == 2 and not out
    assert_one_line(err, DAMAGED)
    assert not use_fake_embedder.calls, "refused before any question is embedded"


@pytest.mark.parametrize(
    "kind", ["chunk names unknown document", "documents.jsonl truncated", "manifest a list"]
)
def test_damaged_index_docs_command(
    damaged_copy: Any, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "docs", "--index", str(damaged_copy(kind)))
    assert code == 2
    assert_one_line(err, DAMAGED)


@pytest.mark.parametrize("kind", ["dense.faiss missing", "lexical missing", "manifest a number"])
def test_serve_refuses_a_damaged_index(
    damaged_copy: Any, kind: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    import socket

    import samverkan_qa.web as web

    def no_model(settings: Settings) -> None:
        raise AssertionError("the model must not load for a damaged index")

    monkeypatch.setattr(web, "load_embedder", no_model)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run(capsys, "serve", "--index", str(damaged_copy(kind)), "--port", str(port))
    assert code == 2
    assert_one_line(err, DAMAGED)


def test_a_rebuild_repairs_a_damaged_index(
    damaged_copy: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], use_fake_embedder: Any
) -> None:
    folder = damaged_copy("dense.faiss truncated")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alvby.txt").write_text(HADDOCK_TXT, encoding="utf-8")
    assert run(capsys, "index", str(corpus), "--index", str(folder), "-q")[0] == 0
    assert load_index(folder).faiss.ntotal == len(load_index(folder).chunks)


# --- the same refusals over HTTP, through gradio_client ---------------------------------


@pytest.fixture(scope="module")
def api_url(built: Path) -> Any:
    """The real app (fake embedder) on a free port, in this process, for gradio_client."""
    import socket

    import samverkan_qa.web as web

    engine = fake_engine(Settings(index_dir=built))
    demo = web.build_app(engine, web.Downloads())
    demo.queue()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved_env = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"  # never a proxy
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    for name, value in saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


HTTP_CASES = [
    ((None, 5), "the question must be text, got NoneType"),
    (({"q": 1}, 5), "got dict"),
    (("a" * 1_000_000, 5), "max_question_chars"),
    (("Vad gäller?", "abc"), "k must be a whole number from 1 to 100, got 'abc'"),
    (("Vad gäller?", 0), "got 0"),
    (("Vad gäller?", 500), "got 500"),
    (("Vad gäller?", 5, 7), "kommun must be text, got int"),
    (("Vad gäller?", 5, "", "0000"), "år=0000"),
]


@pytest.mark.parametrize(("args", "message"), HTTP_CASES, ids=[m for _, m in HTTP_CASES])
def test_http_api_refuses_in_one_line(
    api_url: str, args: tuple[Any, ...], message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(api_url, verbose=False)
    padded = (*args, *([""] * (6 - len(args))))
    with pytest.raises(AppError) as raised:
        client.predict(*padded, api_name="/search")
    assert message in str(raised.value) and "\n" not in str(raised.value)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_http_api_answers_a_good_request(api_url: str) -> None:
    from gradio_client import Client

    result = Client(api_url, verbose=False).predict(
        "Vad gäller i Älvby?", 2, "", "", "", "", api_name="/search"
    )
    assert result["question"] == "Vad gäller i Älvby?" and len(result["hits"]) <= 2


@pytest.mark.parametrize(
    "line",
    [
        "Älvby kommun och polisen ",  # one paragraph, thousands of party mentions
        "Part\tPolisen\tKommun\n",  # a table of thousands of rows naming parties
        "Datum: ",  # thousands of colons in one sentence
    ],
)
def test_fact_extraction_is_linear_on_pathological_text(line: str) -> None:
    """These took 20-300 s at this size before (quadratic); linear, they take well under 1 s."""
    import time

    from samverkan_qa.metadata import extract_facts

    text = (line * (80_000 // len(line) + 1))[:80_000]
    started = time.perf_counter()
    extract_facts(text, title="x", filename="x.txt", front_matter={})
    assert time.perf_counter() - started < 8


@pytest.mark.parametrize(
    "kind",
    [
        "dense.faiss truncated",
        "dense.faiss missing",
        "lexical missing",
        "bm25 data truncated",
        "chunks.npy truncated",
        "texts.bin missing",
        "vectors.npy missing",
        "manifest not json",
        "manifest deleted",
    ],
)
def test_index_repairs_a_damaged_index_of_the_same_documents(
    built: Path, tmp_path: Path, kind: str
) -> None:
    """`index` is what the message says to run: it must repair the index even when no
    document changed (unchanged vectors are reused where they can be read)."""
    folder = tmp_path / "index"
    shutil.copytree(built, folder)
    if kind == "manifest deleted":
        (folder / "manifest.json").unlink()
    else:
        DAMAGE[kind](folder)
    with pytest.raises(SamverkanError):
        load_index(folder)
    settings = Settings(corpus=(built.parent / "corpus",), index_dir=folder)
    build_index(settings, FakeEmbedder())
    repaired, original = load_index(folder), load_index(built)
    assert [c.text for c in repaired.chunks] == [c.text for c in original.chunks]
    assert repaired.faiss.ntotal == len(repaired.chunks) == repaired.lexical.n_docs


def test_many_bad_jsonl_lines_log_a_few_lines_and_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = ["{trasig"] * 50 + [json.dumps({"id": "lång", "text": "x" * 2000})]
    lines.append(json.dumps({"id": "bra", "text": "Polisen i Öby samverkar med kommunen."}))
    path = tmp_path / "poster.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="samverkan_qa.loading"):
        docs = load_one(path, "poster", Settings(max_text_chars=1000))
    assert [d.doc_id for d in docs] == ["bra"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4 and messages[-1].endswith("48 more bad lines skipped")


def test_a_killed_servers_export_folders_are_removed_by_the_next(tmp_path: Path) -> None:
    import subprocess

    from samverkan_qa.web import remove_stale_downloads

    dead = subprocess.Popen(["true"])  # a pid that has exited
    dead.wait()
    stale = tmp_path / f"samverkan-qa-web-{dead.pid}-abc"
    live = tmp_path / f"samverkan-qa-web-{os.getpid()}-def"
    for folder in (stale, live):
        (folder / "x").mkdir(parents=True)
    assert remove_stale_downloads(tmp_path, "samverkan-qa-web-") == [stale]
    assert live.exists() and not stale.exists()


def test_eval_refuses_a_question_that_is_not_text(tmp_path: Path) -> None:
    from samverkan_qa.evaluate import read_questions

    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": null, "any_of": ["x"]}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="line 1"):
        read_questions(path)
