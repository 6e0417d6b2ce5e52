"""Print the abstention features of answerable and unanswerable questions (for calibration).

Unanswerable: dev.jsonl's empty any_of, plus SweQUAD-MC and SweFAQ questions asked of the
samverkan corpus (they are about visas and vaccines, so the corpus cannot answer them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from run import ROOT

from samverkan_qa.embedding import load_embedder
from samverkan_qa.evaluate import first_relevant_rank, read_questions
from samverkan_qa.index import load_index
from samverkan_qa.ranking import abstain_features
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings


def main() -> int:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/samverkan-bench")
    ev = ROOT.parent / "shared" / "eval"
    index = load_index(work / (sys.argv[2] if len(sys.argv) > 2 else "main-corpus"))
    retriever = Retriever(index, load_embedder(Settings()))
    dev = read_questions(ev / "dev.jsonl")
    off = read_questions(ev / "external/swefaq/questions.jsonl")[:40]
    off += read_questions(ev / "external/swequad_mc/questions.jsonl")[:40]
    for group, questions in (("dev", dev), ("off", off)):
        results = retriever.search_many([q.question for q in questions], 5)
        for q, r in zip(questions, results, strict=True):
            top = r.hits[0]
            f = abstain_features(
                q.question,
                top.text,
                index.lexical.analyzer,
                top_dense=max(h.dense or 0 for h in r.hits),
                top_lexical=max(h.lexical or 0 for h in r.hits),
                idf=index.lexical.idf(),
            )
            label = "ANS" if q.answerable and group == "dev" else "UNANS"
            rank = first_relevant_rank(q, r.hits) if label == "ANS" else None
            print(
                f"{label:5} dense={f.top_dense:.3f} lex={f.top_lexical_norm:.3f} "
                f"cov={f.query_coverage:.2f} abst={int(r.abstained)} rank={rank} "
                f"{q.question[:60]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
