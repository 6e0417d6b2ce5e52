"""A real `samverkan-qa serve` for the browser and load tests.

The index is built once per test session with the real model from the shipped corpus plus
tests/data/ (a document full of markup that must stay text). Each test module gets its own
server on a free 127.0.0.1 port, started as a subprocess exactly as a user would start it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
INJECTION_DOC = REPO / "tests" / "data" / "sakerhetstest-testby.txt"
OUTPUT = REPO / "test-output"
HOST = "127.0.0.1"
INDEX_TIMEOUT = 900  # the first run converts the model (about a minute), then embeds
START_TIMEOUT = 240

_index_cache: dict[str, Path] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    # Requests to the local server must never go through a proxy.
    env["NO_PROXY"] = env["no_proxy"] = f"{HOST},localhost"
    return env


def build_index(folder: Path) -> Path:
    """Index corpus/ and the injection test document with the real model."""
    cmd = [sys.executable, "-m", "samverkan_qa", "index", str(CORPUS), str(INJECTION_DOC),
           "--index", str(folder), "-q"]  # fmt: skip
    done = subprocess.run(
        cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=INDEX_TIMEOUT
    )
    if done.returncode != 0:
        pytest.fail(f"indexing failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return folder


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _wait_until_up(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.log_tail()}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(server.url + "config", timeout=5) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"server did not answer within {timeout:.0f} s:\n{server.log_tail()}")


@contextlib.contextmanager
def server_process(
    cmd: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start `cmd` (a server listening on 127.0.0.1:`port`), wait until it answers, stop it
    afterwards; its output goes to `log`, `env` is added to the environment."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            cmd, cwd=REPO, env={**_env(), **(env or {})}, stdout=sink, stderr=sink
        )
        server = Server(f"http://{HOST}:{port}/", port, process, log)
        try:
            _wait_until_up(server, START_TIMEOUT)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@contextlib.contextmanager
def running_server(
    index: Path, log: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> Iterator[Server]:
    """`samverkan-qa serve --index INDEX [ARGS]` on 127.0.0.1 and a free port, stopped
    afterwards; `env` is added to the environment."""
    port = free_port()
    cmd = [sys.executable, "-m", "samverkan_qa", "serve", "--index", str(index),
           "--host", HOST, "--port", str(port), *args]  # fmt: skip
    with server_process(cmd, port, log, env) as server:
        yield server


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real index per session, shared by every module that imports the fixtures."""
    if "index" not in _index_cache:
        _index_cache["index"] = build_index(tmp_path_factory.mktemp("web") / "index")
    return _index_cache["index"]


@pytest.fixture(scope="module")
def web_server(web_index: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    name = Path(str(request.node.fspath)).stem
    with running_server(web_index, OUTPUT / f"{name}-server.log") as server:
        yield server
