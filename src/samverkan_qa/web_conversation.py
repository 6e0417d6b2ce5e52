"""A web conversation that lasts: what is kept in the browser and the whole-conversation exports.

The browser keeps (gradio's BrowserState, in localStorage) the questions asked, the rendered
replies and one record per reply: the question, the answer and each quoted range with its
source, page and offsets. After a reload the chat is shown again from it and follow-ups are
read against the same questions. Everything read back is checked: a stored value of the wrong
shape is dropped, never trusted. Gradio encrypts what it keeps with a secret; the secret is
kept in a file (`browser_secret`), so a restarted server still reads the conversations.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
from pathlib import Path
from typing import Any

from samverkan_qa.answers.compose import Answer
from samverkan_qa.catalog import safe_cell

SECRET_FILE = "browser-secret"


def browser_secret(folder: Path) -> str:
    """The secret gradio encrypts kept conversations with, made once and kept in
    `folder`/browser-secret (owner-only), so conversations outlive a server restart.
    Deleting the file makes every kept conversation unreadable: they start afresh."""
    path = Path(folder) / SECRET_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server made it first: use theirs
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(32))
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:  # empty or cut short (a crash while writing): make a new one
        path.unlink(missing_ok=True)
        raise FileNotFoundError(path)
    return text


# Columns of the conversation CSV: one row per quoted range (or one per reply without quotes).
CSV_COLUMNS = (
    "nr",
    "fråga",
    "sökte på",
    "svar",
    "citat",
    "källa",
    "titel",
    "fil",
    "sida",
    "paragraf",
    "start",
    "slut",
)


def turn_record(answer: Answer, turn: int, citations: dict[int, str]) -> dict[str, Any]:
    """What the exports need of one reply; `citations` maps a source number to its reference."""
    return {
        "turn": turn,
        "question": answer.question,
        "searched": answer.searched if answer.rewritten else "",
        "answer": answer.text,
        "quotes": [
            {
                "text": c["text"],
                "source": citations.get(c["number"], ""),
                "title": c["title"],
                "file": c["source"],
                "page": c["page"],
                "section": c["section"] or "",
                "start": c["start"],
                "end": c["end"],
            }
            for c in answer.citations
        ],
    }


def saved_state(
    history: list[str], turns: list[str], records: list[dict[str, Any]], shown_from: int
) -> dict[str, Any]:
    return {"history": history, "turns": turns, "records": records, "shown_from": shown_from}


def restore(saved: Any) -> tuple[list[str], list[str], list[dict[str, Any]], int]:
    """(history, turns, records, shown_from) from what the browser kept; empty when it is not
    what `saved_state` wrote (another version, or edited by hand)."""
    empty: tuple[list[str], list[str], list[dict[str, Any]], int] = ([], [], [], 1)
    if not isinstance(saved, dict):
        return empty
    history, turns, records = saved.get("history"), saved.get("turns"), saved.get("records")
    shown_from = saved.get("shown_from")
    if not (
        _strings(history)
        and _strings(turns)
        and isinstance(records, list)
        and all(isinstance(r, dict) for r in records)
        and isinstance(shown_from, int)
        and shown_from >= 1
    ):
        return empty
    return list(history), list(turns), [_clean_record(r) for r in records], shown_from


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _clean_record(record: dict[str, Any]) -> dict[str, Any]:
    quotes = record.get("quotes")
    return {
        "turn": record.get("turn") if isinstance(record.get("turn"), int) else 0,
        "question": str(record.get("question", "")),
        "searched": str(record.get("searched", "")),
        "answer": str(record.get("answer", "")),
        "quotes": [q for q in quotes if isinstance(q, dict)] if isinstance(quotes, list) else [],
    }


def conversation_csv(records: list[dict[str, Any]]) -> str:
    """The whole conversation, a row per quote (question, answer, quote, source, page,
    offsets); a reply without quotes (nothing found) is one row without them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        base = {
            "nr": record["turn"],
            "fråga": record["question"],
            "sökte på": record["searched"],
            "svar": record["answer"],
        }
        for quote in record["quotes"] or [{}]:
            row = base | {
                "citat": quote.get("text", ""),
                "källa": quote.get("source", ""),
                "titel": quote.get("title", ""),
                "fil": quote.get("file", ""),
                "sida": quote.get("page") or "",
                "paragraf": quote.get("section", ""),
                "start": quote.get("start", ""),
                "slut": quote.get("end", ""),
            }
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def conversation_markdown(records: list[dict[str, Any]]) -> str:
    """The whole conversation: each question, its answer and its quotes with their sources."""
    lines = ["# Samtal", ""]
    for record in records:
        lines += [f"## {record['turn']}. {_md(record['question'])}", ""]
        if record["searched"]:
            lines += [f"Sökte på: {_md(record['searched'])}", ""]
        lines += [f"**Svar:** {_md(record['answer'])}", ""]
        for quote in record["quotes"]:
            where = [str(quote.get("file", ""))]
            if quote.get("page"):
                where.append(f"s. {quote['page']}")
            if quote.get("section"):
                where.append(str(quote["section"]))
            where.append(f"tecken {quote.get('start')}–{quote.get('end')}")
            lines.append(f"> {_md(quote.get('text', ''))}")
            lines.append(f"> — {_md(quote.get('source') or quote.get('title', ''))} ")
            lines.append(f"> ({_md(', '.join(where))})")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md(text: Any) -> str:
    """Markdown-inert text: no raw HTML, links or emphasis from documents or questions."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", " ".join(str(text).split()))
