"""Adding documents from the web page: checked, stored under the index folder and indexed in
the background, while questions keep being answered from the index as it was.

`Uploads.submit` checks a request (token, number of files, sizes, file types) before
anything is stored and queues it; one worker thread runs the jobs in turn: `add_documents`
stores the files in the index folder's uploads/ and builds incrementally under the index
lock (a build swaps the folder atomically), then `on_indexed` lets the server switch to the
new snapshot. `status` tells a job's progress. Files are only read by the library's loaders,
never executed; the web server never serves the index folder.
"""

from __future__ import annotations

import hmac
import ipaddress
import itertools
import logging
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from samverkan_qa.embedding import Embedder
from samverkan_qa.errors import SamverkanError, ServerError, UploadRefusedError
from samverkan_qa.index import add_documents, upload_source
from samverkan_qa.loading import READERS, SkipFile, Skipped, check_size, check_type, slugify
from samverkan_qa.settings import Settings

log = logging.getLogger(__name__)

TOKEN_ENV = "SAMVERKAN_QA_UPLOAD_TOKEN"
MIN_TOKEN_CHARS = 16
SUFFIXES = tuple(READERS)  # the file types the loaders read
MAX_NAME_CHARS = 80
KEPT_JOBS = 50  # finished jobs whose status can still be asked for

# What a job is doing; the web page words each stage in Swedish.
QUEUED, READING, EMBEDDING, WRITING, OPENING, DONE, FAILED = (
    "queued", "reading", "embedding", "writing", "opening", "done", "failed",
)  # fmt: skip


@dataclass(frozen=True)
class Incoming:
    """A file as received: where the web server put it and the name the browser gave."""

    path: Path
    name: str


@dataclass(frozen=True)
class Checked:
    """A request's files that may be indexed (path, safe name, name as sent) and those
    refused with their reason."""

    files: list[tuple[Path, str, str]]
    skipped: list[Skipped]


@dataclass
class Job:
    """One request's progress, as `Uploads.status` reports it (a copy)."""

    id: str
    files: list[str]  # the accepted files' names as sent
    stage: str = QUEUED
    done: int = 0  # passages embedded so far
    total: int = 0
    added: list[str] = field(default_factory=list)  # files whose documents are now searchable
    documents: int = 0  # documents new in the index
    skipped: list[Skipped] = field(default_factory=list)
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.stage in (DONE, FAILED)


def safe_name(original: str) -> str:
    """A file name that is safe to store: the last path part only, ASCII letters, digits and
    hyphens (the document id the loaders derive from it), and the suffix in lower case.
    "../../Överenskommelse 2025.PDF" -> "overenskommelse-2025.pdf"."""
    base = PurePosixPath(original.replace("\\", "/")).name
    path = PurePosixPath(base)
    suffix = path.suffix.lower() if path.stem and path.suffix else ""
    stem = slugify(path.stem if suffix else base)[:MAX_NAME_CHARS].strip("-")
    return stem + suffix


def token_required(host: str) -> bool:
    """Whether a server on `host` is reachable from other machines (then uploading needs a
    token): anything but a loopback address or "localhost"."""
    if host.strip().lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: it may resolve to any interface


def check_upload_setup(
    host: str, token: str | None, settings: Settings | None = None
) -> str | None:
    """The token an upload-enabled server on `host` uses (None: none needed and none given);
    ServerError when a server reachable from other machines has none or a short one, or
    when the index is in a database (files are added to an index folder only)."""
    if settings is not None and settings.store is not None:
        raise ServerError(
            "--allow-upload adds files to an index folder; it does not work with --store"
        )
    token = (token or "").strip() or None
    if token is None and token_required(host):
        raise ServerError(
            f"--allow-upload on {host} (reachable from other machines) needs a token: "
            f"give --upload-token or set {TOKEN_ENV}"
        )
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ServerError(f"the upload token must be at least {MIN_TOKEN_CHARS} characters")
    return token


def check_token(given: str | None, expected: str | None) -> None:
    """UploadRefusedError unless `given` is the token (compared in constant time)."""
    if expected is None:
        return
    if not hmac.compare_digest((given or "").encode(), expected.encode()):
        raise UploadRefusedError("wrong upload token")


def check_files(files: Sequence[Incoming], settings: Settings) -> Checked:
    """The request's files that may be stored; refuses a request over a limit as a whole,
    skips a single file of a type no loader reads or over the per-file size cap (with the
    reason `samverkan-qa index` gives)."""
    if not files:
        raise UploadRefusedError("no files to add")
    if len(files) > settings.max_upload_files:
        raise UploadRefusedError(
            f"{len(files)} files; at most {settings.max_upload_files} at a time (max_upload_files)"
        )
    sizes = [_size(f.path) for f in files]
    if sum(sizes) > settings.max_upload_request_bytes:
        raise UploadRefusedError(
            f"the files are {sum(sizes):,} bytes together; at most "
            f"{settings.max_upload_request_bytes:,} (max_upload_request_bytes)"
        )
    accepted, skipped = [], []
    for incoming, size in zip(files, sizes, strict=True):
        try:
            check_type(incoming.name)
            check_size(size, settings.max_upload_file_bytes, "max_upload_file_bytes")
        except SkipFile as exc:
            skipped.append(Skipped(incoming.name, str(exc)))
            continue
        accepted.append((incoming.path, safe_name(incoming.name), incoming.name))
    return Checked(accepted, skipped)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise UploadRefusedError(f"cannot read an uploaded file: {exc.strerror or exc}") from None


class Uploads:
    """The upload jobs of one server: checked on submit, indexed one at a time by a worker
    thread, each followed by `on_indexed()` (the server opens the new index there)."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        on_indexed: Callable[[], None],
        token: str | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.on_indexed = on_indexed
        self.token = token
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Job, Checked, Path] | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._worker: threading.Thread | None = None
        self._spool = Path(tempfile.mkdtemp(prefix="samverkan-qa-uploads-"))

    @property
    def token_needed(self) -> bool:
        return self.token is not None

    def submit(self, files: Sequence[Incoming], token: str | None = None) -> Job:
        """Check a request and queue it; the files are moved out of the caller's folder (so
        the web server's copy is gone). UploadRefusedError names what is wrong."""
        check_token(token, self.token)
        checked = check_files(files, self.settings)
        job = Job(f"{next(self._ids)}", [name for _, _, name in checked.files])
        job.skipped = list(checked.skipped)
        if not checked.files:
            job.stage, job.error = FAILED, "no file could be added"
        spool = Path(tempfile.mkdtemp(dir=self._spool))
        moved = []
        for number, (path, name, original) in enumerate(checked.files):
            target = spool / f"{number}-{name}"  # numbered: two files may sanitise alike
            shutil.move(path, target)
            moved.append((target, name, original))
        with self._lock:
            self._jobs[job.id] = job
            self._prune()
        if checked.files:
            self._start()
            self._queue.put((job, Checked(moved, checked.skipped), spool))
        else:
            shutil.rmtree(spool, ignore_errors=True)
        return self.status(job.id)

    def status(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise UploadRefusedError(f"no upload job {job_id!r}")
            return replace(job, files=list(job.files), added=list(job.added),
                           skipped=list(job.skipped))  # fmt: skip

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has finished (or `timeout` seconds passed); its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not (job := self.status(job_id)).finished:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return job

    def close(self, wait: bool = True) -> None:
        """Stop the worker (after the queued jobs, with `wait`) and remove the spool folder.
        A build cut short when the process exits leaves the index as it was (it is swapped
        in whole or not at all); its stored files are indexed by the next build."""
        if self._worker is not None:
            self._queue.put(None)
            if wait:
                self._worker.join()
            self._worker = None
        shutil.rmtree(self._spool, ignore_errors=True)

    # --- the worker ----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="uploads", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            job, checked, spool = item
            try:
                self._run(job, checked)
            finally:
                shutil.rmtree(spool, ignore_errors=True)

    def _run(self, job: Job, checked: Checked) -> None:
        self._update(job, stage=READING)
        try:
            report, stored = add_documents(
                self.settings,
                self.embedder,
                [(path, name) for path, name, _ in checked.files],
                progress=lambda done, total: self._progress(job, done, total),
            )
        except SamverkanError as exc:
            self._update(job, stage=FAILED, error=str(exc))
            return
        except Exception as exc:  # a bug must end this job, not the worker
            log.exception("adding documents failed")
            self._update(job, stage=FAILED, error=f"unexpected {type(exc).__name__}: {exc}")
            return
        sent = [original for _, _, original in checked.files]
        # A skipped stored file is reported by its path or, once loaded, as uploads/<file>.
        names = {}
        for (path, _), name in zip(stored, sent, strict=True):
            names[str(path)] = names[upload_source(path, self.settings.index_dir) or ""] = name
        skipped = [_renamed(s, names) for s in report.skipped]
        added = [name for (_, kept), name in zip(stored, sent, strict=True) if kept]
        self._update(job, stage=OPENING, skipped=job.skipped + skipped, added=added,
                     documents=len(report.new_or_changed))  # fmt: skip
        try:
            self.on_indexed()
        except Exception as exc:
            log.exception("opening the new index failed")
            self._update(job, stage=FAILED, error=f"indexed, but not opened: {exc}")
            return
        self._update(job, stage=DONE)

    def _progress(self, job: Job, done: int, total: int) -> None:
        self._update(job, stage=WRITING if done >= total else EMBEDDING, done=done, total=total)

    def _update(self, job: Job, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)

    def _prune(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished]
        for job in finished[: max(0, len(self._jobs) - KEPT_JOBS)]:
            del self._jobs[job.id]


def _renamed(skipped: Skipped, names: dict[str, str]) -> Skipped:
    """A skipped stored file named by the name it was sent with ("x.pdf#rec-1" for a record)."""
    path, sep, rest = skipped.source.partition("#")
    return Skipped(names.get(path, path) + sep + rest, skipped.reason)
