"""Scale benchmark: the search path over synthetic indexes of 10k, 100k and 1M passages.

    python bench/scale.py [--sizes 10000,100000,1000000] [--work DIR] [--queries 40]

Each index is written straight through the index module's pieces (documents.jsonl,
chunks.jsonl, vectors.npy, dense.faiss, lexical/, manifest): Swedish-like passages drawn from
a fixed vocabulary with a fixed seed, ten passages a document, random unit vectors for the
dense side (no model runs, nothing is embedded) and one of 100 municipalities per document,
so `kommun=...` matches about 1% of the documents. Every size is then measured in a fresh
process: time to open (load_index + Retriever), resident memory after open and after the
searches, and warm p50/p95 of search (hybrid, hybrid filtered, lexical only, dense only).
`--legacy` measures the same process with the previous implementation of the hot path
(a Python list of allowed rows per filtered search, a full sort of the BM25 scores, the
vectors read into memory) for a before/after in one run. Figures are benchmark numbers only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa.documents import Chunk, Document
from samverkan_qa.metadata import Fact, FieldFilter, facts_to_json

SEED = 20261202
DIM = 384
PASSAGES_PER_DOC = 10
WORDS_PER_PASSAGE = (40, 80)
MUNICIPALITIES = 100
MODEL = {"name": "scale-bench-random", "sha256": hashlib.sha256(b"scale-bench").hexdigest()}

# Common words of the domain; the rest of the vocabulary is made of Swedish-like syllables.
_BASE = (
    "kommunen polisen räddningstjänsten samverkan överenskommelse trygghet brottsförebyggande "
    "arbete medborgarlöfte lägesbild ungdomar skolan socialtjänsten föreningar centrum "
    "handlingsplan uppföljning insatser områden fokusområden skadegörelse inbrott narkotika "
    "våld brand anlagda bränder trafik nattvandring belysning otrygghet kartläggning avtalet "
    "gäller från till och med parterna ska genom att för med som inom under år dialog "
    "kommunstyrelsen beslut nämnden lokalpolisområde styrgrupp samordnare rapport analys "
    "åtgärder förebygga minska öka stärka mötesplatser fritidsgårdar vårdnadshavare"
)
_SYLLABLES = (
    "sam ver kan tryg het bor gar stads del kom mun po lis rädd nings tjänst skol för "
    "e bygg an de öv er ens kom mel se lä ges bild ung dom fri tids gård väg park torg"
)
BASE_WORDS, SYLLABLES = _BASE.split(), _SYLLABLES.split()


def vocabulary(rng: np.random.Generator, size: int = 6000) -> list[str]:
    words = list(dict.fromkeys(BASE_WORDS))
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_weights(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** 1.05
    return weights / weights.sum()


def municipality_names() -> list[str]:
    from samverkan_qa.metadata import MUNICIPALITIES as ALL

    return sorted(ALL)[:MUNICIPALITIES]


def build(folder: Path, n: int) -> dict[str, Any]:
    """Write a synthetic index of `n` passages into `folder`; returns build figures."""
    import bm25s
    import faiss

    from samverkan_qa import index as ix
    from samverkan_qa.lexical import LexicalIndex, SwedishAnalyzer

    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    vocab = vocabulary(rng)
    weights = zipf_weights(len(vocab))
    lengths = rng.integers(*WORDS_PER_PASSAGE, size=n)
    word_ids = rng.choice(len(vocab), size=int(lengths.sum()), p=weights)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    places = municipality_names()

    # The analyzer learns from a sample; each vocabulary word is analysed once.
    sample = [" ".join(vocab[w] for w in word_ids[bounds[i] : bounds[i + 1]]) for i in range(2000)]
    analyzer = SwedishAnalyzer.learn(sample)
    stems = [analyzer.analyze(w) for w in vocab]

    documents: list[Document] = []
    chunks: list[Chunk] = []
    tokens: list[list[str]] = []
    for d in range(0, n, PASSAGES_PER_DOC):
        doc_id = f"doc{d // PASSAGES_PER_DOC:07d}"
        place = places[(d // PASSAGES_PER_DOC) % len(places)]
        passages, starts, offset = [], [], 0
        for i in range(d, min(d + PASSAGES_PER_DOC, n)):
            ids = word_ids[bounds[i] : bounds[i + 1]]
            text = " ".join(vocab[w] for w in ids) + "."
            passages.append(text)
            starts.append(offset)
            offset += len(text) + 2
            tokens.append([s for w in ids for s in stems[w]])
        text = "\n\n".join(passages)
        fact = Fact("municipalities", place, place, None, None, "front_matter")
        doc = Document(
            doc_id=doc_id,
            title=f"Rapport {place} {d // PASSAGES_PER_DOC}",
            source=f"synthetic/{doc_id}.txt",
            text=text,
            doc_type="txt",
            metadata={
                "title_from": "first_line",
                "facts": facts_to_json({"municipalities": [fact]}),
            },
        )
        documents.append(doc)
        for j, (start, passage) in enumerate(zip(starts, passages, strict=True)):
            chunks.append(Chunk(f"{doc_id}-{j}", doc_id, start, start + len(passage), passage))

    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    folder.mkdir(parents=True, exist_ok=True)
    ix._write_jsonl(folder / "documents.jsonl", (d.to_dict() for d in documents))
    ix._write_jsonl(folder / "chunks.jsonl", (c.to_dict() for c in chunks))
    np.save(folder / "vectors.npy", vectors, allow_pickle=False)
    dense = faiss.IndexFlatIP(DIM)
    dense.add(vectors)
    faiss.write_index(dense, str(folder / "dense.faiss"))
    del dense, vectors
    bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    bm25.index(tokens, show_progress=False)
    lexical = LexicalIndex(analyzer, bm25, n)
    lexical.save(folder / "lexical")
    manifest = ix._manifest(_Stub(), {}, documents, chunks, lexical.settings())
    (folder / ix.MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"build_s": time.perf_counter() - t0, "disk_mb": disk / 2**20}


class _Stub:
    """Stands in for the model: a random unit vector per question (seeded by its text)."""

    identity = MODEL
    max_tokens = 512

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.embed_queries(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), "float32")
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(DIM).astype("float32")
            out[i] = v / np.linalg.norm(v)
        return out


def questions(count: int) -> list[str]:
    rng = np.random.default_rng(SEED + 1)
    vocab = vocabulary(np.random.default_rng(SEED))
    picks = rng.choice(len(vocab) // 2, size=(count, 4), p=zipf_weights(len(vocab) // 2))
    return [" ".join(vocab[w] for w in row) + "?" for row in picks]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _legacy(retriever: Any) -> None:
    """The hot path as it was before bench/scale.py: per-query Python list of allowed rows,
    a full argsort of every BM25 score, the vectors read whole into memory."""
    from samverkan_qa.metadata import matches

    def allowed_rows(filters: list[FieldFilter]) -> np.ndarray | None:
        if not filters:
            return None
        keep = {d for d, f in retriever._facts.items() if matches(f, filters, doc_id=d)}
        return np.array(
            [i for i, c in enumerate(retriever.index.chunks) if c.doc_id in keep], "int64"
        )

    def top_lexical(scores: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
        if allowed is not None:
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        top = np.argsort(-scores, kind="stable")[:n]
        return [int(r) for r in top if scores[r] > 0]

    retriever.allowed_rows = allowed_rows
    retriever._top_lexical = top_lexical
    retriever.index.vectors = np.array(retriever.index.vectors)
    retriever.__dict__["_vectors"] = retriever.index.vectors  # cosines from the copy


def measure(folder: Path, n_questions: int, legacy: bool) -> dict[str, float]:
    """Run in a fresh process: open the index, then time warm searches."""
    from samverkan_qa.index import load_index
    from samverkan_qa.retrieval import RetrievalConfig, Retriever

    base = rss_mb()
    t0 = time.perf_counter()
    index = load_index(folder)
    retriever = Retriever(index, _Stub())
    if legacy:
        _legacy(retriever)
    out: dict[str, float] = {"open_s": time.perf_counter() - t0, "rss_open_mb": rss_mb() - base}
    qs = questions(n_questions)
    place = [FieldFilter("kommun", municipality_names()[7])]
    runs = {
        "hybrid": (retriever, None),
        "filtered": (retriever, place),
        "lexical": (Retriever(index, _Stub(), RetrievalConfig(mode="lexical")), None),
        "dense": (Retriever(index, _Stub(), RetrievalConfig(mode="dense")), None),
    }
    for name, (r, filters) in runs.items():
        if legacy and r is not retriever:
            r.allowed_rows, r._top_lexical = retriever.allowed_rows, retriever._top_lexical
        r.search(qs[0], k=5, filters=filters)  # warm: caches, first-use structures
        times = []
        for q in qs:
            t = time.perf_counter()
            r.search(q, k=5, filters=filters)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        out[f"{name}_p50"] = statistics.median(times)
        out[f"{name}_p95"] = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    out["rss_end_mb"] = rss_mb() - base
    return out


COLUMNS = (
    ("open_s", "open (s)", "{:.2f}"),
    ("rss_end_mb", "RSS (MB)", "{:.0f}"),
    ("hybrid_p50", "hybrid p50/p95 (ms)", None),
    ("filtered_p50", "filtered 1% p50/p95 (ms)", None),
    ("lexical_p50", "lexical p50/p95 (ms)", None),
    ("dense_p50", "dense p50/p95 (ms)", None),
)


def table(rows: list[tuple[int, str, dict[str, float]]]) -> str:
    head = ["passages", "code", *(label for _, label, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, label, r in rows:
        cells = [f"{n:,}", label]
        for key, _, fmt in COLUMNS:
            if fmt:
                cells.append(fmt.format(r[key]))
            else:
                stem = key[: -len("_p50")]
                cells.append(f"{r[stem + '_p50']:.1f} / {r[stem + '_p95']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "sqa-scale")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--no-legacy", action="store_true", help="skip the before column")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--legacy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries, args.legacy)))
        return 0
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        folder = args.work / f"n{n}"
        if not (folder / "manifest.json").exists():
            figures = build(folder, n)
            print(
                f"built {n:,} passages in {figures['build_s']:.0f} s, "
                f"{figures['disk_mb']:.0f} MB on disk",
                file=sys.stderr,
            )
        variants = [("before", True), ("after", False)] if not args.no_legacy else []
        for label, legacy in variants or [("now", False)]:
            cmd = [sys.executable, __file__, "--measure", str(folder), "--queries"]
            cmd += [str(args.queries)] + (["--legacy"] if legacy else [])
            result = subprocess.run(cmd, check=True, capture_output=True, text=True)
            rows.append((n, label, json.loads(result.stdout.strip().splitlines()[-1])))
            print(f"measured {n:,} ({label})", file=sys.stderr)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
