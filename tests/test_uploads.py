"""Adding documents from the web page: request checks, stored names, the background job and
the switch to the new index snapshot. Hand-made Swedish texts, the fake embedder."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder

from samverkan_qa import uploads, web_upload
from samverkan_qa.answers.assistant import Assistant
from samverkan_qa.errors import ServerError, UploadRefusedError
from samverkan_qa.index import UPLOADS, build_index, index_lock, load_index
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings

NYBY = (
    "Samverkansavtal för Nyby\n\n"
    "Nyby kommun och polisen har kommit överens om att minska klotter vid pendeltågsstationen. "
    "Avtalet gäller från 1 april 2026 till 31 mars 2028. Kontaktperson är Karin Ljungqvist.\n"
)
TOKEN = "en-hemlig-nyckel-123"


def incoming(folder: Path, name: str, text: str | bytes) -> uploads.Incoming:
    """A file as the web server receives it: in its own folder, under the name sent."""
    path = folder / f"in-{len(list(folder.iterdir()))}"
    path.mkdir()
    data = text.encode("utf-8") if isinstance(text, str) else text
    (path / Path(name.replace("\\", "/")).name).write_bytes(data)
    return uploads.Incoming(path / Path(name.replace("\\", "/")).name, name)


@pytest.fixture
def received(tmp_path: Path) -> Path:
    folder = tmp_path / "received"
    folder.mkdir()
    return folder


# --- names, tokens, limits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Överenskommelse Älvby 2025.PDF", "overenskommelse-alvby-2025.pdf"),
        ("../../etc/cron.d/avtal.txt", "avtal.txt"),
        ("C:\\Users\\kim\\Beslut (slutlig).docx", "beslut-slutlig.docx"),
        ("<script>alert(1)</script>.md", "script.md"),
        ("Avtal & beslut (2).md", "avtal-beslut-2.md"),
        ("...", "doc"),
        (".bashrc", "bashrc"),
        ("rapport.tar.gz", "rapport-tar.gz"),
        ("x" * 300 + ".html", "x" * uploads.MAX_NAME_CHARS + ".html"),
    ],
)
def test_stored_names_are_plain_and_never_leave_the_folder(sent: str, stored: str) -> None:
    assert uploads.safe_name(sent) == stored


def test_a_public_server_needs_a_long_enough_token() -> None:
    assert uploads.check_upload_setup("127.0.0.1", None) is None
    assert uploads.check_upload_setup("::1", "") is None
    assert uploads.check_upload_setup("localhost", None) is None
    with pytest.raises(ServerError, match="--upload-token or set SAMVERKAN_QA_UPLOAD_TOKEN"):
        uploads.check_upload_setup("0.0.0.0", None)
    with pytest.raises(ServerError, match="needs a token"):
        uploads.check_upload_setup("samverkan.example.se", "  ")
    with pytest.raises(ServerError, match="at least 16 characters"):
        uploads.check_upload_setup("0.0.0.0", "kort")
    assert uploads.check_upload_setup("0.0.0.0", f" {TOKEN} ") == TOKEN
    # A token given for a local server is asked for too.
    assert uploads.check_upload_setup("127.0.0.1", TOKEN) == TOKEN


def test_the_token_must_match() -> None:
    uploads.check_token(TOKEN, TOKEN)
    uploads.check_token(None, None)  # no token set: none asked for
    for wrong in (None, "", TOKEN + "x", TOKEN.upper()):
        with pytest.raises(UploadRefusedError, match="wrong upload token"):
            uploads.check_token(wrong, TOKEN)


def test_bad_type_and_large_file_are_skipped_with_the_index_commands_reasons(
    received: Path,
) -> None:
    settings = Settings(max_upload_file_bytes=200)
    files = [
        incoming(received, "nyby.txt", NYBY[:150]),
        incoming(received, "program.exe", b"MZ\x90\x00"),
        incoming(received, "utan-filtyp", "text"),
        incoming(received, "stor.md", "å" * 150),  # 300 bytes in UTF-8
    ]
    checked = uploads.check_files(files, settings)
    assert [(name, original) for _, name, original in checked.files] == [("nyby.txt", "nyby.txt")]
    assert [(s.source, s.reason) for s in checked.skipped] == [
        ("program.exe", "unsupported file type .exe"),
        ("utan-filtyp", "unsupported file type (none)"),
        ("stor.md", "file is 300 bytes; at most 200 (max_upload_file_bytes)"),
    ]


def test_a_request_over_its_limits_is_refused_whole(received: Path) -> None:
    two = [incoming(received, f"{n}.txt", "x" * 60) for n in "ab"]
    with pytest.raises(UploadRefusedError, match=r"120 bytes together; at most 100 \(max_upl"):
        uploads.check_files(two, Settings(max_upload_request_bytes=100))
    with pytest.raises(UploadRefusedError, match=r"2 files; at most 1 at a time"):
        uploads.check_files(two, Settings(max_upload_files=1))
    with pytest.raises(UploadRefusedError, match="no files"):
        uploads.check_files([], Settings())


# --- the background job ------------------------------------------------------------------


class Recorder:
    """`on_indexed`: the index snapshot the server would switch to, each time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.opened: list[set[str]] = []

    def __call__(self) -> None:
        self.opened.append(set(load_index(self.settings.index_dir).documents))


@pytest.fixture
def indexed(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    build_index(settings, fake_embedder)
    fake_embedder.calls.clear()
    return settings


def test_added_documents_are_stored_indexed_and_opened(
    indexed: Settings, fake_embedder: FakeEmbedder, received: Path
) -> None:
    before = load_index(indexed.index_dir)
    opened = Recorder(indexed)
    jobs = uploads.Uploads(indexed, fake_embedder, opened)
    try:
        job = jobs.submit(
            [
                incoming(received, "Avtal Nyby 2026.txt", NYBY),
                incoming(received, "bild.png", b"\x89PNG"),
                incoming(received, "tom.md", "   \n"),
            ]
        )
        job = jobs.wait(job.id, timeout=120)
    finally:
        jobs.close()
    assert job.stage == uploads.DONE, job
    assert job.added == ["Avtal Nyby 2026.txt"] and job.documents == 1
    assert [(s.source, s.reason) for s in job.skipped] == [
        ("bild.png", "unsupported file type .png"),
        ("tom.md", "empty file"),
    ]
    after = load_index(indexed.index_dir)
    assert set(after.documents) == set(before.documents) | {"avtal-nyby-2026"}
    assert opened.opened == [set(after.documents)]
    # Stored under the index folder (the skipped file removed again), never where it came from.
    assert sorted(p.name for p in (indexed.index_dir / UPLOADS).iterdir()) == [
        "avtal-nyby-2026.txt"
    ]
    assert not any(received.rglob("*.txt"))
    # Cited by its name in the index folder, never by the server's own path to it.
    assert after.documents["avtal-nyby-2026"].source == "uploads/avtal-nyby-2026.txt"
    # Incremental: only the new document's passages were embedded; the others reused.
    new_chunks = [c for c in after.chunks if c.doc_id == "avtal-nyby-2026"]
    assert sum(fake_embedder.calls) == len(new_chunks) > 0
    old_rows = [i for i, c in enumerate(after.chunks) if c.doc_id != "avtal-nyby-2026"]
    assert np.array_equal(after.vectors[old_rows], before.vectors)
    # Searchable, with its facts, and the page reports it.
    retriever = Retriever(after, fake_embedder)
    hits = retriever.search("klotter vid pendeltågsstationen i Nyby", k=1).hits
    assert hits[0].document.doc_id == "avtal-nyby-2026"
    facts = after.documents["avtal-nyby-2026"].metadata["facts"]
    assert {d["value"]["date"] for d in facts["dates"]} >= {"2026-04-01", "2028-03-31"}
    page = web_upload.status_html(job)
    assert "Klart: 1 dokument tillagt och sökbart (Avtal Nyby 2026.txt)" in page
    assert "Hoppades över (2)" in page
    assert (
        "filtypen .png kan inte läsas (<code class='sv-up-reason'>unsupported file type .png"
        in page
    )
    assert "filen är tom (<code class='sv-up-reason'>empty file</code>)" in page


def test_a_rebuild_from_the_command_line_keeps_added_documents(
    indexed: Settings, fake_embedder: FakeEmbedder, received: Path
) -> None:
    jobs = uploads.Uploads(indexed, fake_embedder, lambda: None)
    try:
        jobs.wait(jobs.submit([incoming(received, "nyby.txt", NYBY)]).id, timeout=120)
    finally:
        jobs.close()
    # A corpus document changes: the folder is written anew and swapped in.
    changed = indexed.corpus[0] / "alvby-overenskommelse.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "Nytt stycke.\n", encoding="utf-8")
    report = build_index(indexed, fake_embedder)  # the corpus folder only, as `make run` does
    assert report.new_or_changed == ["alvby-overenskommelse"]
    assert report.removed == [] and report.skipped == []
    assert load_index(indexed.index_dir).documents["nyby"].source == "uploads/nyby.txt"
    assert (indexed.index_dir / UPLOADS / "nyby.txt").read_text(encoding="utf-8") == NYBY
    # Deleting the file and indexing again removes the document.
    (indexed.index_dir / UPLOADS / "nyby.txt").unlink()
    assert build_index(indexed, fake_embedder).removed == ["nyby"]


def test_a_name_taken_by_an_indexed_document_gets_a_number(
    indexed: Settings, fake_embedder: FakeEmbedder, received: Path
) -> None:
    corpus_doc = load_index(indexed.index_dir).documents["alvby-overenskommelse"]
    jobs = uploads.Uploads(indexed, fake_embedder, lambda: None)
    try:
        first = jobs.submit([incoming(received, "alvby-overenskommelse.txt", NYBY)])
        assert jobs.wait(first.id, timeout=120).stage == uploads.DONE
        second = jobs.submit([incoming(received, "Alvby överenskommelse.txt", NYBY + "Ny.\n")])
        assert jobs.wait(second.id, timeout=120).stage == uploads.DONE
    finally:
        jobs.close()
    docs = load_index(indexed.index_dir).documents
    assert docs["alvby-overenskommelse"].text == corpus_doc.text  # never replaced
    assert "Nyby" in docs["alvby-overenskommelse-2"].text
    assert "Ny." in docs["alvby-overenskommelse-3"].text


class BlockingEmbedder(FakeEmbedder):
    """Holds a build inside its embedding until released (questions still get through)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = threading.Event()
        self.release = threading.Event()
        self.fail = False

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedding.set()
        assert self.release.wait(60)
        if self.fail:
            raise RuntimeError("modellen kraschade")
        return super().embed_passages(texts)


def test_questions_are_answered_from_the_old_snapshot_while_indexing(
    settings: Settings, received: Path
) -> None:
    embedder = BlockingEmbedder()
    embedder.release.set()
    build_index(settings, embedder)
    embedder.release.clear()
    embedder.embedding.clear()
    serving = Assistant(Retriever(load_index(settings.index_dir), embedder))
    jobs = uploads.Uploads(settings, embedder, lambda: None)
    try:
        job = jobs.submit([incoming(received, "nyby.txt", NYBY)])
        assert embedder.embedding.wait(60)
        assert jobs.status(job.id).stage == uploads.EMBEDDING
        # Mid-build: the folder and the open pipeline are the old ones, whole.
        assert "nyby" not in load_index(settings.index_dir).documents
        answer = serving.ask("Hur länge gäller överenskommelsen i Älvby?")
        assert "31 december 2025" in answer.text
        embedder.release.set()
        assert jobs.wait(job.id, timeout=120).stage == uploads.DONE
    finally:
        embedder.release.set()
        jobs.close()
    assert "nyby" not in serving.documents  # the old pipeline keeps its snapshot
    reopened = serving.reopened()
    answer = reopened.ask("Hur länge gäller avtalet för Nyby?")
    assert "31 mars 2028" in answer.text
    assert any(s.hit.document.doc_id == "nyby" for s in answer.sources if s.cited)


def test_a_failed_build_stores_nothing_and_keeps_the_index(
    settings: Settings, received: Path
) -> None:
    embedder = BlockingEmbedder()
    embedder.release.set()
    build_index(settings, embedder)
    before = (settings.index_dir / "manifest.json").read_text(encoding="utf-8")
    embedder.fail = True
    opened: list[int] = []
    jobs = uploads.Uploads(settings, embedder, lambda: opened.append(1))
    try:
        job = jobs.wait(jobs.submit([incoming(received, "nyby.txt", NYBY)]).id, timeout=120)
    finally:
        jobs.close()
    assert job.stage == uploads.FAILED and "RuntimeError: modellen kraschade" in job.error
    assert (settings.index_dir / "manifest.json").read_text(encoding="utf-8") == before
    assert list((settings.index_dir / UPLOADS).iterdir()) == []
    assert opened == []
    assert "Inga dokument lades till" in web_upload.status_html(job)


def test_a_build_running_elsewhere_fails_the_job_with_one_line(
    indexed: Settings, fake_embedder: FakeEmbedder, received: Path
) -> None:
    jobs = uploads.Uploads(indexed, fake_embedder, lambda: None)
    try:
        with index_lock(indexed.index_dir):
            job = jobs.wait(jobs.submit([incoming(received, "nyby.txt", NYBY)]).id, timeout=120)
    finally:
        jobs.close()
    assert job.stage == uploads.FAILED
    assert "is being built by another" in job.error and "\n" not in job.error
    assert "Inga dokument lades till: indexet byggs just nu av en annan körning" in (
        web_upload.status_html(job)
    )
    assert not (indexed.index_dir / UPLOADS).exists()


def test_a_wrong_token_stores_nothing(
    indexed: Settings, fake_embedder: FakeEmbedder, received: Path
) -> None:
    jobs = uploads.Uploads(indexed, fake_embedder, lambda: None, token=TOKEN)
    try:
        with pytest.raises(UploadRefusedError, match="wrong upload token"):
            jobs.submit([incoming(received, "nyby.txt", NYBY)], "fel")
        assert jobs.token_needed
    finally:
        jobs.close()
    assert (received / "in-0" / "nyby.txt").exists()  # not taken
    assert not (indexed.index_dir / UPLOADS).exists()


def test_the_done_status_agrees_in_number() -> None:
    one = uploads.Job("1", ["a.txt"], stage=uploads.DONE, added=["a.txt"], documents=1)
    assert "Klart: 1 dokument tillagt och sökbart (a.txt)." in web_upload.status_html(one)
    two = uploads.Job("2", ["a.txt", "b.md"], stage=uploads.DONE, added=["a.txt", "b.md"])
    two.documents = 2
    assert "Klart: 2 dokument tillagda och sökbara (a.txt, b.md)." in web_upload.status_html(two)


def test_the_drop_area_script_collapses_whitespace() -> None:
    """The page's script gets the regex as written for JavaScript: /\\s+/ (any whitespace),
    not /\\\\s+/ (a backslash and s), whatever Python string escaping does to it."""
    assert 'innerText.replace(/\\s+/g, " ")' in web_upload.STATUS_JS


def test_the_status_is_escaped_and_shows_progress() -> None:
    job = uploads.Job("1", ["<img src=x onerror=alert(1)>.txt"], stage=uploads.EMBEDDING)
    job.done, job.total = 3, 8
    page = web_upload.status_html(job)
    assert "<img" not in page and "&lt;img src=x" in page
    assert '<progress max="8" value="3"' in page and "Indexerar stycken: 3 av 8" in page
    assert 'data-announce="Indexerar stycken"' in page  # announced once per stage
    refused = web_upload.status_html(refused="wrong upload token")
    assert 'role="alert"' in refused
    assert "Kan inte lägga till dokumenten: fel uppladdningsnyckel (wrong upload token)" in refused


def test_serve_refuses_a_public_upload_server_without_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from samverkan_qa.cli import main

    monkeypatch.delenv(uploads.TOKEN_ENV, raising=False)
    argv = ["serve", "--allow-upload", "--host", "0.0.0.0", "--index", str(tmp_path / "ix")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a token" in err and "Traceback" not in err
    monkeypatch.setenv(uploads.TOKEN_ENV, "kort")
    assert main(argv) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    store = ["--store", "postgresql://localhost/samverkan", "--host", "127.0.0.1"]
    assert main([*argv, *store]) == 2
    assert "does not work with --store" in capsys.readouterr().err


def test_the_same_text_sent_again_is_skipped_and_not_stored(
    indexed: Settings, fake_embedder: FakeEmbedder, received: Path
) -> None:
    jobs = uploads.Uploads(indexed, fake_embedder, lambda: None)
    try:
        jobs.wait(jobs.submit([incoming(received, "nyby.txt", NYBY)]).id, timeout=120)
        again = jobs.submit([incoming(received, "Nyby kopia.txt", NYBY)])
        again = jobs.wait(again.id, timeout=120)
    finally:
        jobs.close()
    assert again.stage == uploads.DONE and again.added == []
    assert [(s.source, s.reason) for s in again.skipped] == [
        ("Nyby kopia.txt", "same text as the indexed document nyby")
    ]
    assert [p.name for p in (indexed.index_dir / UPLOADS).iterdir()] == ["nyby.txt"]
    assert "Klart, men inget nytt dokument lades till." in web_upload.status_html(again)


@pytest.mark.parametrize(
    ("reason", "swedish"),
    [
        ("unsupported file type .exe", "filtypen .exe kan inte läsas"),
        (
            "file is 300 bytes; at most 200 (max_upload_file_bytes)",
            "filen är för stor (300 byte, högst 200)",
        ),
        ("corrupt PDF (PdfReadError)", "PDF-filen är trasig"),
        (
            "same text as the indexed document nyby",
            "samma text som det redan indexerade dokumentet nyby",
        ),
        ("a reason no one has worded", ""),
    ],
)
def test_skip_reasons_are_worded_in_swedish(reason: str, swedish: str) -> None:
    assert web_upload.swedish_reason(reason) == swedish
