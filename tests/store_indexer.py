"""One PostgreSQL index run in its own process, for the kill -9 and concurrency tests.

    python tests/store_indexer.py URL CORPUS GATE NAME [--pause-at embed|write]

Indexes CORPUS into URL with the fake embedder. With --pause-at, it creates GATE/NAME.paused
at that point of the run (after the first batch is embedded, or after the documents and
chunks are written but before the BM25 files and the commit) and waits there until
GATE/NAME.go exists. Prints the run's report as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from conftest import FakeEmbedder  # noqa: E402

from samverkan_qa.settings import Settings  # noqa: E402
from samverkan_qa.stores import build, postgres  # noqa: E402


def pause(gate: Path, name: str) -> None:
    (gate / f"{name}.paused").touch()
    while not (gate / f"{name}.go").exists():
        time.sleep(0.05)


class PausingEmbedder(FakeEmbedder):
    def __init__(self, gate: Path, name: str) -> None:
        super().__init__()
        self.gate, self.pause_name = gate, name

    def embed_passages(self, texts: list[str]) -> Any:
        vectors = super().embed_passages(texts)
        if len(self.calls) == 1:
            pause(self.gate, self.pause_name)
        return vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("url", "corpus", "gate", "name"):
        parser.add_argument(name)
    parser.add_argument("--pause-at", choices=["embed", "write"])
    args = parser.parse_args()
    gate = Path(args.gate)
    embedder = FakeEmbedder()
    if args.pause_at == "embed":
        embedder = PausingEmbedder(gate, args.name)
    elif args.pause_at == "write":
        write_lexical = postgres._write_lexical

        def paused_write(conn: Any, plan: Any) -> Any:
            pause(gate, args.name)
            return write_lexical(conn, plan)

        postgres._write_lexical = paused_write
    settings = Settings(
        corpus=(Path(args.corpus),), store=args.url, chunk_tokens=40, chunk_overlap=8
    )
    report = build(settings, embedder)
    print(json.dumps({"new_or_changed": report.new_or_changed, "removed": report.removed,
                      "reused": report.reused_documents, "embedded": report.embedded_chunks,
                      "documents": report.documents}))  # fmt: skip


if __name__ == "__main__":
    main()
