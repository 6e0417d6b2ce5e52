"""20 concurrent API clients, 200 questions: every one answered, none lost, and each reply
retrieved what it should: for an answerable question the gold phrase is in one of the top 5
passages (`hits`) and the reply does not abstain; for the unanswerable one the reply abstains.
This checks retrieval under load, not that the composed answer text is right."""

from __future__ import annotations

import json
import queue
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from webserver import HOST, OUTPUT, Server, web_index, web_server  # noqa: F401 (fixtures)

CLIENTS = 20
REQUESTS = 200
REQUEST_TIMEOUT = 120  # seconds for one answer, queueing included
OVERALL_TIMEOUT = 600  # seconds for all of them
# (question, gold phrase one of the top 5 returned hits must contain), from
# /work/shared/eval/dev.jsonl; None: the documents cannot answer, the reply must abstain.
QUESTIONS: list[tuple[str, str | None]] = [
    ("Hur länge gäller Haninges överenskommelse?", "gäller fram till den 31 december 2027"),
    ("Vem är brandchef för Södertörns brandförsvarsförbund?", "Lars-Göran Uddholm"),
    ("Vilka aktörer ingår i samverkansöverenskommelsen enligt Huge?",
     "Huddinge Samhällsfastigheter"),
    ("Vilka områden prioriteras i Södertäljes samverkansöverenskommelse?",
     "organiserad brottlighet, kriminalitet bland ungdomar"),
    ("Vilka är Haninges fyra fokusområden?", "fyra fokusområden inom vilka kommun och polis"),
    ("Vilken period gällde Huddinges första samverkansavtal med polisområde Stockholm syd?",
     "samverkansavtal för perioden 2015-2018"),
    ("Vem är lokalpolisområdeschef i Huddinge?",
     "Christer Johansson, lokalpolisområdeschef i Huddinge"),
    ("Vad innebär fokusområdet barn och unga i Haninge?",
     "kriminella eller riskerar att utveckla en kriminell livsstil"),
    ("Vad säger Peter Nylind om uthållighet?", "Vi måste ha uthållighet"),
    ("Vad blir vädret i Stockholm i morgon?", None),
]  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.model]


def flat(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class Outcome:
    index: int
    question: str
    seconds: float = 0.0
    gold_in_top5: bool = False  # see the module docstring
    error: str = ""


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


def check(reply: Any, expected: str | None) -> str:
    """ "" when the reply's hits hold the gold phrase (or it abstains on the unanswerable
    question), else what is wrong with it. The answer text itself is not checked."""
    if not isinstance(reply, dict):
        return f"not a JSON object: {reply!r:.200}"
    if expected is None:
        return "" if reply.get("abstained") else "answered a question it cannot answer"
    if reply.get("abstained"):
        return "abstained"
    texts = [flat(h.get("text", "")) for h in reply.get("hits", [])]
    return "" if any(flat(expected) in t for t in texts) else f"{expected!r} not in the hits"


def worker(url: str, work: queue.Queue[int], tally: Tally, deadline: float) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
    while time.monotonic() < deadline:
        try:
            index = work.get_nowait()
        except queue.Empty:
            return
        question, expected = QUESTIONS[index % len(QUESTIONS)]
        outcome = Outcome(index, question)
        started = time.perf_counter()
        try:
            job = client.submit(question, 5, "", "", "", "", api_name="/search")
            reply = job.result(timeout=REQUEST_TIMEOUT)
            outcome.error = check(reply, expected)
            outcome.gold_in_top5 = not outcome.error
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none is lost
            outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.seconds = time.perf_counter() - started
        tally.add(outcome)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def test_concurrent_clients_all_get_the_gold_passage(web_server: Server) -> None:  # noqa: F811
    assert web_server.url.startswith(f"http://{HOST}:")
    work: queue.Queue[int] = queue.Queue()
    for i in range(REQUESTS):
        work.put(i)
    tally = Tally()
    deadline = time.monotonic() + OVERALL_TIMEOUT
    started = time.perf_counter()
    threads = [
        threading.Thread(target=worker, args=(web_server.url, work, tally, deadline), daemon=True)
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + REQUEST_TIMEOUT))
    wall = time.perf_counter() - started

    outcomes = sorted(tally.outcomes, key=lambda o: o.index)
    latencies = [o.seconds for o in outcomes]
    report = {
        "clients": CLIENTS,
        "requests": REQUESTS,
        "answered": len(outcomes),
        # Gold phrase among the top 5 passages (or abstained when unanswerable); the answer
        # text is not judged.
        "gold_in_top5": sum(o.gold_in_top5 for o in outcomes),
        "wall_seconds": round(wall, 2),
        "throughput_per_second": round(len(outcomes) / wall, 2) if wall else None,
        "p50_seconds": round(percentile(latencies, 0.50), 3) if latencies else None,
        "p95_seconds": round(percentile(latencies, 0.95), 3) if latencies else None,
        "max_seconds": round(max(latencies), 3) if latencies else None,
        "mean_seconds": round(statistics.fmean(latencies), 3) if latencies else None,
        "failures": [
            {"index": o.index, "question": o.question, "error": o.error}
            for o in outcomes
            if not o.gold_in_top5
        ][:20],
    }
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "load.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(
        f"\n{report['answered']}/{REQUESTS} answered, {report['gold_in_top5']} with the gold "
        f"passage in the top 5, "
        f"{CLIENTS} clients, {wall:.1f} s: p50 {report['p50_seconds']} s, "
        f"p95 {report['p95_seconds']} s, max {report['max_seconds']} s"
    )
    assert not any(t.is_alive() for t in threads), "clients still waiting after the timeout"
    assert sorted(o.index for o in outcomes) == list(range(REQUESTS)), "requests were lost"
    assert report["gold_in_top5"] == REQUESTS, report["failures"]
    assert web_server.process.poll() is None, "the server died under load"
