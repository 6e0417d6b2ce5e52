"""Index runs on the PostgreSQL store as separate processes: a run killed with SIGKILL in
the middle of its writes leaves the previous content, readers meanwhile see that content,
and two runs at once serialise, the second building on what the first committed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from conftest import FakeEmbedder

from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings
from samverkan_qa.stores import build, open_index
from samverkan_qa.stores.postgres import generation

INDEXER = Path(__file__).with_name("store_indexer.py")
SRC = Path(__file__).resolve().parents[1] / "src"
WAIT = 120  # seconds for a condition another process brings about; a failure, not a timing
QUESTIONS = ["Vilka fokusområden har Älvby?", "ordningsvakter vid stationen", "brandsäkerhet"]


def start(url: str, corpus: Path, gate: Path, name: str, pause: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [sys.executable, str(INDEXER), url, str(corpus), str(gate), name]
    if pause:
        command += ["--pause-at", pause]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_until(condition: Callable[[], bool], what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"exited before {what}: {proc.stderr.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)


def finish(proc: subprocess.Popen) -> dict[str, Any]:
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out)


def snapshot(settings: Settings) -> tuple[Any, ...]:
    """Everything a reader sees: the run's id, documents, chunks and rankings."""
    index = open_index(settings)
    retriever = Retriever(index, FakeEmbedder())
    rankings = [
        [(h.chunk.chunk_id, round(h.score, 6)) for h in retriever.search(q).hits] for q in QUESTIONS
    ]
    return (
        generation(str(settings.store)),
        [d.to_dict() for d in index.documents.values()],
        [c.to_dict() for c in index.chunks],
        rankings,
    )


def test_killed_run_leaves_the_previous_content(
    settings: Settings, small_corpus: Path, pg_url: str, tmp_path: Path
) -> None:
    database = settings.with_(store=pg_url)
    build(database, FakeEmbedder())
    before = snapshot(database)
    (small_corpus / "poster.jsonl").unlink()
    (small_corpus / "ny.txt").write_text(
        "Älvby kommun och polisen inför trygghetsvandringar i centrum.", encoding="utf-8"
    )
    gate = tmp_path / "gate"
    gate.mkdir()
    run = start(pg_url, small_corpus, gate, "a", pause="write")
    wait_until((gate / "a.paused").exists, "paused after writing its rows", run)
    assert snapshot(database) == before  # documents and chunks written, not committed
    os.kill(run.pid, signal.SIGKILL)
    run.wait(WAIT)
    assert snapshot(database) == before

    report = build(database, FakeEmbedder())  # the lock went with the killed run
    assert len(report.new_or_changed) == 1 and len(report.removed) == 2
    after = snapshot(database)
    assert after[0] != before[0]
    assert "trygghetsvandringar" in " ".join(d["text"] for d in after[1])


def test_two_runs_serialise_and_lose_nothing(
    settings: Settings, small_corpus: Path, pg_url: str, tmp_path: Path
) -> None:
    larger = tmp_path / "larger"
    shutil.copytree(small_corpus, larger)
    (larger / "ny.txt").write_text(
        "Öby kommun och räddningstjänsten övar tillsammans varje höst.", encoding="utf-8"
    )
    gate = tmp_path / "gate"
    gate.mkdir()
    first = start(pg_url, small_corpus, gate, "first", pause="embed")
    wait_until((gate / "first.paused").exists, "started embedding", first)
    second = start(pg_url, larger, gate, "second")
    wait_until(lambda: waiting_on_lock(pg_url), "waited for the first run's lock", second)
    assert second.poll() is None
    (gate / "first.go").touch()
    one, two = finish(first), finish(second)

    # The second run read what the first committed: it re-used all of it, embedded only
    # the new document, and the database holds exactly the second run's sources.
    assert one["reused"] == 0 and two["reused"] == one["documents"]
    assert len(two["new_or_changed"]) == 1 and two["removed"] == []
    fresh = settings.with_(corpus=(larger,), index_dir=tmp_path / "fresh")
    build(fresh, FakeEmbedder())
    stored = open_index(settings.with_(store=pg_url))
    expected = open_index(fresh)
    assert [c.to_dict() for c in stored.chunks] == [c.to_dict() for c in expected.chunks]
    assert list(stored.documents) == list(expected.documents)
    added = [c for c in stored.chunks if c.doc_id == two["new_or_changed"][0]]
    assert two["embedded"] == len(added) > 0


def waiting_on_lock(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'samverkan-qa' "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        ).fetchone()
    return bool(row and row[0])
