"""Two `serve` processes on one PostgreSQL database behind a round-robin, 20 clients: every
question is answered, with the passage it should find, while an index run adds a document
(paused with its rows written but not committed, then committed mid-load); then both servers
take up the new document without a restart."""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import FakeEmbedder
from test_store_postgres_runs import finish, start, wait_until
from webserver import OUTPUT, Server, free_port, server_process

from samverkan_qa.settings import Settings
from samverkan_qa.stores import build

LAUNCHER = Path(__file__).with_name("store_server.py")
SRC = Path(__file__).resolve().parents[1] / "src"
CLIENTS = 20
REQUESTS = 120
REQUEST_TIMEOUT = 120
START_TIMEOUT = 240
# (question, phrase one of the top 5 passages must hold), from conftest's small corpus.
QUESTIONS = [
    ("Vilka fokusområden gäller i Älvby?", "trygghet i skolan"),
    ("Vem ansvarar för utbildning i skolor?", "Brandförsvaret ansvarar för utbildning"),
    ("Anlitar kommunen ordningsvakter vid stationen?", "ordningsvakter vid stationen"),
    ("Vad gör Öby för trygghet på torget?", "trygghet på torget"),
]

pytestmark = pytest.mark.slow


@contextmanager
def serving(url: str, log: Path) -> Iterator[Server]:
    port = free_port()
    env = {"PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with server_process([sys.executable, str(LAUNCHER), url, str(port)], port, log, env) as server:
        yield server


def ask(clients: dict[str, object], url: str, question: str) -> dict:
    job = clients[url].submit(question, 5, "", "", "", "", api_name="/search")  # type: ignore
    return job.result(timeout=REQUEST_TIMEOUT)


def wait_for_document(clients: dict[str, object], url: str) -> None:
    """The committed run's new document is found by `url` within START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        hits = ask(clients, url, "Vem övar tillsammans varje höst?").get("hits", [])
        if any("övar tillsammans varje höst" in h["text"] for h in hits):
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} never took up the committed run")


def test_two_servers_answer_every_question_while_a_run_adds_documents(
    settings: Settings, small_corpus: Path, pg_url: str, tmp_path: Path
) -> None:
    from gradio_client import Client

    build(settings.with_(store=pg_url), FakeEmbedder())
    larger = tmp_path / "larger"
    shutil.copytree(small_corpus, larger)
    (larger / "ny.txt").write_text(
        "Öby kommun och räddningstjänsten övar tillsammans varje höst.", encoding="utf-8"
    )
    gate = tmp_path / "gate"
    gate.mkdir()
    with (
        serving(pg_url, OUTPUT / "store-server-1.log") as one,
        serving(pg_url, OUTPUT / "store-server-2.log") as two,
    ):
        run = start(pg_url, larger, gate, "run", pause="write")
        wait_until((gate / "run.paused").exists, "wrote its rows", run)
        turn = itertools.cycle([one.url, two.url])  # the round-robin in front of both
        turn_lock = threading.Lock()
        work: queue.Queue[int] = queue.Queue()
        for i in range(REQUESTS):
            work.put(i)
        results: dict[int, str] = {}
        served: dict[str, int] = {one.url: 0, two.url: 0}

        def client() -> None:
            clients = {u: Client(u, verbose=False, download_files=False) for u in served}
            while True:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                if i == REQUESTS // 2:
                    (gate / "run.go").touch()  # the run commits while questions go on
                question, phrase = QUESTIONS[i % len(QUESTIONS)]
                with turn_lock:
                    url = next(turn)
                    served[url] += 1
                try:
                    hits = ask(clients, url, question).get("hits", [])
                    found = any(phrase.casefold() in h["text"].casefold() for h in hits)
                    results[i] = "" if found else f"{phrase!r} not in {url}'s hits"
                except Exception as exc:  # noqa: BLE001 - every failure is reported
                    results[i] = f"{type(exc).__name__}: {exc}"

        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=REQUESTS * REQUEST_TIMEOUT / CLIENTS)
        report = finish(run)
        assert one.process.poll() is None and two.process.poll() is None
        for server in (one, two):
            clients = {server.url: Client(server.url, verbose=False, download_files=False)}
            wait_for_document(clients, server.url)
    assert sorted(results) == list(range(REQUESTS)), "questions were lost"
    assert [r for r in results.values() if r] == []
    assert served == {one.url: REQUESTS // 2, two.url: REQUESTS // 2}
    assert report["new_or_changed"] and report["reused"] == report["documents"] - 1
