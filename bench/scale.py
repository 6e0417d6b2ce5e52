"""Scale benchmark: the search and answer path over synthetic indexes of 10k-1M passages.

    python bench/scale.py [--sizes 10000,100000,1000000] [--work DIR] [--queries 40]
                          [--ann-min-chunks N]

Each index is written through the index module's own pieces (store.py's files, vectors.npy,
dense.faiss as index.dense_index makes it, lexical/, manifest): Swedish-like passages drawn
from a fixed vocabulary with a fixed seed, ten passages a document, one of 100 municipalities
per document (so `kommun=...` keeps about 1% of them), and stand-in vectors with topic
structure instead of a model (nothing is embedded; see stand_in_vectors). Every size is then
measured in a fresh process: time to open (load_index + Retriever), resident memory after
the searches (all of it, and the anonymous part: what is not a page of a mapped file), warm
p50/p95 (the files in the page cache, after 40 other questions in the same mode) of search
(hybrid, hybrid filtered, lexical only, dense only) and of ask (with and without the
filter), and the dense index's recall@10 against exact search. Query embedding is not
included: the stand-in costs nothing. Figures are benchmark numbers only.
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
DATA = 3  # bump when the synthetic data or the index format changes (cached indexes)
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


def build(folder: Path, n: int, ann_min_chunks: int) -> dict[str, Any]:
    """Write a synthetic index of `n` passages into `folder`; returns build figures."""
    import bm25s
    import faiss

    from samverkan_qa import index as ix
    from samverkan_qa.lexical import LexicalIndex, SwedishAnalyzer
    from samverkan_qa.store import write_store

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
            chunks.append(Chunk(f"{doc_id}#{j}", doc_id, start, start + len(passage), passage))

    folder.mkdir(parents=True, exist_ok=True)
    write_store(folder, documents, chunks)
    manifest = ix._manifest(_Stub(), {}, documents, chunks, {})
    del documents, chunks
    vectors = stand_in_vectors(n)
    np.save(folder / "vectors.npy", vectors, allow_pickle=False)
    t_dense = time.perf_counter()
    faiss.write_index(ix.dense_index(vectors, ann_min_chunks), str(folder / "dense.faiss"))
    dense_s = time.perf_counter() - t_dense
    del vectors
    bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    bm25.index(tokens, show_progress=False)
    lexical = LexicalIndex(analyzer, bm25, n)
    lexical.save(folder / "lexical")
    manifest["lexical"] = lexical.settings()
    (folder / ix.MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"build_s": time.perf_counter() - t0, "dense_s": dense_s, "disk_mb": disk / 2**20}


# Stand-in vectors with the structure of real embeddings (random unit vectors have none, and
# no approximate index can find their neighbours): a direction every vector shares, a point
# in a 16-dimensional "meaning" space (one per document, its passages spread around it)
# mapped into the 384 dimensions, and noise. A question lies near one passage (cosine about
# 0.86 to its nearest, 0.64 to its tenth), as a real question lies near its answer.
LATENT = 16
SPREAD, NOISE, QUESTION_NOISE = 0.35, 0.5, 0.6


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype("float32")


def stand_in_vectors(n: int) -> np.ndarray:
    rng = np.random.default_rng(SEED + 2)
    shared = _unit(rng.standard_normal(DIM))
    mapping = _unit(rng.standard_normal((LATENT, DIM)))
    docs = rng.standard_normal(((n + PASSAGES_PER_DOC - 1) // PASSAGES_PER_DOC, LATENT))
    out = np.empty((n, DIM), "float32")
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        z = docs[np.arange(lo, hi) // PASSAGES_PER_DOC]
        z = z + SPREAD * rng.standard_normal((hi - lo, LATENT))
        noise = _unit(rng.standard_normal((hi - lo, DIM), dtype=np.float32))
        out[lo:hi] = _unit(0.5 * shared + (z @ mapping) / np.sqrt(LATENT) + NOISE * noise)
    return out


class _Stub:
    """Stands in for the model. A question's vector lies near one passage's (chosen by a
    hash of the question), as a real question's lies near its answer's."""

    identity = MODEL
    max_tokens = 512

    def __init__(self, vectors: np.ndarray | None = None) -> None:
        self.vectors = vectors

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.embed_queries(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), "float32")
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            noise = _unit(rng.standard_normal(DIM))
            if self.vectors is None or not len(self.vectors):
                out[i] = noise
                continue
            near = np.asarray(self.vectors[int(rng.integers(len(self.vectors)))])
            out[i] = _unit(near + QUESTION_NOISE * noise)
        return out


def questions(count: int, salt: int = 1) -> list[str]:
    rng = np.random.default_rng(SEED + salt)
    vocab = vocabulary(np.random.default_rng(SEED))
    picks = rng.choice(len(vocab) // 2, size=(count, 4), p=zipf_weights(len(vocab) // 2))
    return [" ".join(vocab[w] for w in row) + "?" for row in picks]


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def warm_page_cache(folder: Path) -> None:
    """Read every file once, as a server's earlier questions would have: "warm" figures are
    for an index in the page cache (read, not mapped: this process's memory is unchanged)."""
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(1 << 24):
                    pass


def _timed(call: Any, qs: list[str]) -> tuple[float, float]:
    times = []
    for q in qs:
        t = time.perf_counter()
        call(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def measure(folder: Path, n_questions: int) -> dict[str, float]:
    """Run in a fresh process: open the index, then time warm searches and answers."""
    from samverkan_qa.answers import Assistant
    from samverkan_qa.index import load_index
    from samverkan_qa.retrieval import RetrievalConfig, Retriever

    warm_page_cache(folder)
    base, base_anon = rss_mb(), rss_mb("RssAnon")
    t0 = time.perf_counter()
    index = load_index(folder)
    stub = _Stub(index.vectors)
    retriever = Retriever(index, stub)
    out: dict[str, float] = {"open_s": time.perf_counter() - t0, "rss_open_mb": rss_mb() - base}
    qs, warm = questions(n_questions), questions(n_questions, salt=3)
    place = [FieldFilter("kommun", municipality_names()[7])]
    t = time.perf_counter()
    retriever.search(qs[0], k=5, filters=place)  # the filter's document array is made here
    out["filter_first_ms"] = (time.perf_counter() - t) * 1000
    assistant = Assistant(retriever)
    t = time.perf_counter()
    assistant.ask(qs[0])  # the index's municipality names are gathered here
    out["ask_first_ms"] = (time.perf_counter() - t) * 1000
    lexical = Retriever(index, stub, RetrievalConfig(mode="lexical"))
    dense = Retriever(index, stub, RetrievalConfig(mode="dense"))
    runs = {
        "hybrid": lambda q: retriever.search(q, k=5),
        "filtered": lambda q: retriever.search(q, k=5, filters=place),
        "lexical": lambda q: lexical.search(q, k=5),
        "dense": lambda q: dense.search(q, k=5),
        "ask": lambda q: assistant.ask(q),
        "ask_filtered": lambda q: assistant.ask(q, filters=place),
    }
    for name, call in runs.items():
        for q in warm:  # warm, as a server is: caches, first-use structures, mapped pages
            call(q)
        out[f"{name}_p50"], out[f"{name}_p95"] = _timed(call, qs)
    out["rss_end_mb"] = rss_mb() - base
    out["anon_end_mb"] = rss_mb("RssAnon") - base_anon
    out.update(recall(index, stub, qs))
    return out


def recall(index: Any, stub: _Stub, qs: list[str], k: int = 10) -> dict[str, float]:
    """recall@k of the dense index against exact inner product over all vectors, at the
    configured number of probed lists and a few others (1.0 for a flat index)."""
    import faiss

    from samverkan_qa.retrieval import RetrievalConfig, Retriever

    vectors = stub.embed_queries(qs)
    _, exact = faiss.knn(vectors, index.vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    out = {}
    default = RetrievalConfig().ann_probes
    for probes in sorted({16, 32, default, 128}):
        r = Retriever(index, stub, RetrievalConfig(ann_probes=probes))
        found = [set(r._dense_rows(v, k, None)) for v in vectors]
        value = float(np.mean([len(f & set(e)) / k for f, e in zip(found, exact, strict=True)]))
        out["recall" if probes == default else f"recall_{probes}"] = value
    out["lists"] = float(getattr(index.faiss, "nlist", 0))
    return out


COLUMNS = (
    ("open_s", "open (s)", "{:.2f}"),
    ("rss_end_mb", "RSS (MB)", "{:.0f}"),
    ("anon_end_mb", "anon (MB)", "{:.0f}"),
    ("hybrid_p50", "hybrid p50/p95 (ms)", None),
    ("filtered_p50", "filtered 1% p50/p95 (ms)", None),
    ("lexical_p50", "lexical p50/p95 (ms)", None),
    ("dense_p50", "dense p50/p95 (ms)", None),
    ("ask_p50", "ask p50/p95 (ms)", None),
    ("ask_filtered_p50", "ask filtered p50/p95 (ms)", None),
    ("recall", "dense recall@10", "{:.3f}"),
)


def table(rows: list[tuple[int, dict[str, float]]]) -> str:
    head = ["passages", "disk (MB)", *(label for _, label, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, r in rows:
        cells = [f"{n:,}", f"{r['disk_mb']:.0f}"]
        for key, _, fmt in COLUMNS:
            if fmt:
                cells.append(fmt.format(r[key]))
            else:
                stem = key[: -len("_p50")]
                cells.append(f"{r[stem + '_p50']:.1f} / {r[stem + '_p95']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    from samverkan_qa.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "sqa-scale")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--ann-min-chunks", type=int, default=Settings.ann_min_chunks, help="IVF from this size"
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries)))
        return 0
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        folder = args.work / f"d{DATA}-n{n}-ann{args.ann_min_chunks}"
        built = folder / "build.json"
        if not built.exists():
            figures = build(folder, n, args.ann_min_chunks)
            built.write_text(json.dumps(figures), encoding="utf-8")
            print(
                f"built {n:,} passages in {figures['build_s']:.0f} s (dense index "
                f"{figures['dense_s']:.0f} s), {figures['disk_mb']:.0f} MB on disk",
                file=sys.stderr,
            )
        cmd = [sys.executable, __file__, "--measure", str(folder), "--queries", str(args.queries)]
        result = subprocess.run(cmd, check=True, capture_output=True, text=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        figures.update(json.loads(built.read_text(encoding="utf-8")))
        rows.append((n, figures))
        print(f"measured {n:,}: {json.dumps(figures)}", file=sys.stderr)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
