"""Short extractive Swedish answers with numbered citations, source exports and follow-ups.

Everything here is rule-based and deterministic. An answer is made only of sentences quoted
verbatim (whitespace collapsed) from the retrieved documents, each followed by the number of
the source it comes from; when retrieval abstains the answer is a fixed sentence and the
passages found are returned as "not matching", never as an answer.

- `build_answer`: picks at most three well-supported answer sentences (the hits' spans,
  rated on one scale by an optional scorer) and, for a "Vilka …?" question, a list intro
  with its items; `citation_line`, `sources_csv`, `sources_markdown` describe the sources.
Follow-up questions are `conversation.py`'s.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any

from samverkan_qa.answers.followup import SEARCHED_LABEL
from samverkan_qa.catalog import (
    document_date,
    document_facts,
    document_kind,
    municipalities,
    organisation,
)
from samverkan_qa.documents import Document
from samverkan_qa.retrieval import Hit, SearchResult

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "Jag hittar inget stöd för det i dokumenten."

_CSV_FORMULA = re.compile(r"^(?:[=+@\t\r]|-(?!\s))")


# ---------------------------------------------------------------------------------------------
# Facts: read defensively, since the facts format belongs to metadata.py
# ---------------------------------------------------------------------------------------------


def source_name(doc: Document) -> str:
    """The file name (or the address) the document was read from."""
    if "://" in doc.source:
        return doc.source
    return PurePath(doc.source).name or doc.source


def citation_line(hit: Hit) -> str:
    """A copyable reference: ”Title”, organisation, date. file, p. N."""
    doc = hit.document
    head = ", ".join(
        p for p in (f"”{_flat(doc.title)}”", organisation(doc), document_date(doc)) if p
    )
    tail = source_name(doc)
    if hit.chunk.page:
        tail += f", s. {hit.chunk.page}"
    return f"{head}. {tail}."


def _flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerConfig:
    """How many sentences an answer quotes and from how far down the hit list."""

    max_sentences: int = 3
    per_hit: int = 2
    max_hits: int = 3
    # A lower hit may add a sentence only when it scores this share of the top hit.
    min_relative_score: float = 0.5
    # A sentence must be this well supported relative to the best one (with a scorer).
    min_support: float = 0.75
    # A list intro answers a "vilka" question if it has this share of the best support.
    min_list_support: float = 0.5
    # List items (extracted priority areas) may follow a list intro by this many characters.
    list_reach: int = 1500


# (question, sentence) -> how well the sentence answers the question; higher is better.
Scorer = Callable[[str, str], float]


@dataclass(frozen=True)
class Quote:
    """One answer sentence: document.text[start:end], cited as source `source`.

    `items` are the list entries a list intro ("… fyra fokusområden …:") announces, each
    also verbatim from the same document.
    """

    text: str
    source: int
    doc_id: str
    start: int
    end: int
    items: tuple[Quote, ...] = ()
    section: str = ""  # the law paragraph ("4 §") the quote belongs to

    @property
    def display(self) -> str:
        text = f"{self.section}: {self.text}" if self.section else self.text
        if not self.items:
            return text
        return f"{text} {'; '.join(i.text for i in self.items)}"


@dataclass(frozen=True)
class Source:
    """A numbered entry of an answer's source list; `matching` is False when abstained."""

    number: int
    hit: Hit
    citation: str
    matching: bool
    cited: bool


@dataclass
class Answer:
    """A cited answer. `kind` is the kind of answer the question asked for (analysis.KINDS);
    `table` holds the rows of an answer across documents (a comparison or a list)."""

    question: str
    searched: str
    text: str
    quotes: list[Quote]
    sources: list[Source]
    abstained: bool
    kind: str = ""
    table: list[dict[str, str]] = field(default_factory=list)
    followup: bool = False
    basis: str = "passages"  # or "facts": the text is composed from extracted facts

    @property
    def rewritten(self) -> bool:
        return _flat(self.searched) != _flat(self.question)

    @property
    def citations(self) -> list[dict[str, Any]]:
        """Each quoted range (list items too) with its source number, document and page."""
        by_number = {s.number: s for s in self.sources}
        out = []
        for quote in self.quotes:
            for q in (quote, *quote.items):
                source = by_number.get(q.source)
                if source is None:
                    continue
                doc = source.hit.document
                out.append(
                    {
                        "number": q.source,
                        "doc_id": q.doc_id,
                        "title": _flat(doc.title),
                        "source": doc.source,
                        "page": doc.page_at(q.start) if doc.pages else None,
                        "section": q.section or None,
                        "start": q.start,
                        "end": q.end,
                        "text": q.text,
                    }
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "searched": self.searched,
            "followup": self.followup,
            "kind": self.kind,
            "basis": self.basis,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": self.citations,
            "table": self.table,
            "quotes": [_quote_json(q) for q in self.quotes],
            "sources": [
                {
                    "number": s.number,
                    "citation": s.citation,
                    "matching": s.matching,
                    "cited": s.cited,
                    "doc_id": s.hit.doc_id,
                }
                for s in self.sources
            ],
            "hits": [s.hit.to_json() for s in self.sources],
        }


def _quote_json(q: Quote) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": q.text,
        "source": q.source,
        "doc_id": q.doc_id,
        "start": q.start,
        "end": q.end,
    }
    if q.items:
        data["items"] = [_quote_json(i) for i in q.items]
    return data


def build_answer(
    result: SearchResult,
    *,
    question: str | None = None,
    config: AnswerConfig | None = None,
    named: Sequence[str] = (),
    scorer: Scorer | None = None,
) -> Answer:
    """The extractive answer to `result` (searched for `result.query`, asked as `question`).

    `named` are the municipalities the question names: a hit whose document is about other
    municipalities only is listed but never quoted (so a question about Haninge never gets
    Södertälje's dates as its answer). `scorer` rates candidate sentences against the
    searched question (see `sentence_scorer`); without one, retrieval order decides.
    """
    config = config or AnswerConfig()
    asked = question if question is not None else result.query
    quotes = []
    if not result.abstained:
        quotes = select_quotes(result.hits, config, named, scorer, result.query)
    abstained = result.abstained or not quotes
    cited = {q.source for q in quotes}
    sources = [
        Source(h.rank, h, citation_line(h), matching=not abstained, cited=h.rank in cited)
        for h in result.hits
    ]
    text = ABSTAIN_TEXT if abstained else compose(quotes)
    return Answer(asked, result.query, text, quotes, sources, abstained)


def sentence_scorer(analyzer: Any, idf: Mapping[str, float] | None = None) -> Scorer:
    """Rate a sentence as ranking.best_spans does (idf-weighted question-word coverage plus a
    bonus for a date, number or list intro when the question asks for one), with the index's
    analyzer, so sentences from different hits compare on one scale."""
    from samverkan_qa.ranking import best_spans

    def score(question: str, sentence: str) -> float:
        spans = best_spans(question, sentence, analyzer, max_sentences=1, idf=idf)
        return float(spans[0][2]) if spans else 0.0

    return score


def compose(quotes: Sequence[Quote]) -> str:
    """Sentences each followed by its citation marker: "… 2027. [1] …"."""
    return " ".join(f"{q.display} [{q.source}]" for q in quotes)


@dataclass(frozen=True)
class _Candidate:
    support: float
    hit_index: int
    span_index: int
    quote: Quote


def select_quotes(
    hits: Sequence[Hit],
    config: AnswerConfig,
    named: Sequence[str] = (),
    scorer: Scorer | None = None,
    question: str = "",
) -> list[Quote]:
    """At most `max_sentences` distinct, well-supported answer sentences from the top hits;
    shown by hit rank, in reading order within a hit. A question asking "vilka" is answered
    by a list intro and its items alone when the top hits have one."""
    candidates = _candidates(hits, config, named, scorer, question)
    if not candidates:
        return []
    best = max(c.support for c in candidates)
    hit_of = {h.rank: h for h in hits}
    if _asks_for_list(question):
        listed = _best_list(candidates, hit_of, config, config.min_list_support * best)
        if listed is not None:
            return [listed]
    ranked = sorted(
        (c for c in candidates if c.support >= config.min_support * best),
        key=lambda c: (-c.support, c.hit_index, c.span_index),
    )
    chosen: list[_Candidate] = []
    for cand in ranked:
        if not any(_same(cand.quote, c.quote) for c in chosen):
            chosen.append(cand)
        if len(chosen) >= config.max_sentences:
            break
    chosen.sort(key=lambda c: (c.hit_index, c.quote.start))
    return [c.quote for c in chosen]


def _asks_for_list(question: str) -> bool:
    from samverkan_qa.ranking import question_kind

    return question_kind(question) == "list"


def _best_list(
    candidates: Sequence[_Candidate],
    hit_of: Mapping[int, Hit],
    config: AnswerConfig,
    floor: float,
) -> Quote | None:
    """The best-supported candidate that introduces a list, with its items."""
    for cand in sorted(candidates, key=lambda c: (-c.support, c.hit_index, c.span_index)):
        if cand.support < floor:
            break
        quote = _with_items(cand.quote, hit_of[cand.quote.source], config)
        if quote.items:
            return quote
    return None


def _candidates(
    hits: Sequence[Hit],
    config: AnswerConfig,
    named: Sequence[str],
    scorer: Scorer | None,
    question: str,
) -> list[_Candidate]:
    if not hits:
        return []
    top = max(hits[0].score, 1e-9)
    out: list[_Candidate] = []
    for i, hit in enumerate(hits[: config.max_hits]):
        if i and hit.score < config.min_relative_score * top:
            break  # hits are ranked: the rest are weaker still
        if not _about(hit.document, named):
            continue
        for j, quote in enumerate(_hit_quotes(hit, config.per_hit)):
            support = scorer(question, quote.text) if scorer else 1.0
            if support > 0:
                out.append(_Candidate(support, i, j, quote))
    return out


def _hit_quotes(hit: Hit, limit: int) -> list[Quote]:
    out: list[Quote] = []
    text = hit.document.text
    for start, end in hit.spans[:limit]:
        if not 0 <= start < end <= len(text):
            continue  # never quote what is not in the document
        quote = Quote(_flat(text[start:end]), hit.rank, hit.doc_id, start, end)
        if quote.text:
            out.append(quote)
    return out


def _same(a: Quote, b: Quote) -> bool:
    """Duplicates: the same words, or overlapping ranges of one document (chunk overlap)."""
    if a.text.casefold() == b.text.casefold():
        return True
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


def _with_items(quote: Quote, hit: Hit, config: AnswerConfig) -> Quote:
    """A list intro gets the items it announces, so "Vilka fokusområden …?" lists them all:
    the bullet lines right after it, else (for an intro ending in ":") the priority areas
    metadata.py found after it. Items are verbatim document ranges too."""
    text = hit.document.text
    items = bullet_items(text, quote.end)
    if len(items) < 2 and quote.text.endswith(":"):
        items = _fact_items(hit.document, quote.end, config.list_reach)
    if len(items) < 2:
        return quote
    found = tuple(Quote(_flat(text[s:e]), quote.source, quote.doc_id, s, e) for s, e in items)
    return replace(quote, items=found)


_BULLET_LINE = re.compile(r"[ \t]*(?:[•\-–*·▪●◦]|\d{1,2}[.)])[ \t]+(?P<item>\S[^\n]*?)[ \t]*")


MAX_ITEM_CHARS = 160  # longer bullet lines are numbered paragraphs, not list items


def bullet_items(text: str, end: int, limit: int = 12) -> list[tuple[int, int]]:
    """(start, end) of the bullet lines that directly follow offset `end` (the end of a
    list intro); empty unless the intro ends its line."""
    line_end = text.find("\n", end)
    if line_end < 0 or text[end:line_end].strip():
        return []
    items: list[tuple[int, int]] = []
    pos, blank = line_end + 1, False
    while pos < len(text) and len(items) < limit:
        nxt = text.find("\n", pos)
        nxt = len(text) if nxt < 0 else nxt
        m = _BULLET_LINE.fullmatch(text, pos, nxt)
        if m and m.end("item") - m.start("item") <= MAX_ITEM_CHARS:
            items.append((m.start("item"), m.end("item")))
            blank = False
        elif text[pos:nxt].strip() or blank or items:
            break  # prose, a second blank line, or a blank line after the list
        else:
            blank = True
        pos = nxt + 1
    return items


def _fact_items(doc: Document, end: int, reach: int) -> list[tuple[int, int]]:
    items: list[tuple[int, int]] = []
    last = end
    for fact in document_facts(doc).get("priority_areas", []):
        if fact.start is None or fact.end is None or fact.start < last:
            continue
        if fact.start - last > reach:
            break
        items.append((fact.start, fact.end))
        last = fact.end
    return items


def _about(doc: Document, named: Sequence[str]) -> bool:
    """False only when the question names municipalities and the document is about others."""
    places = {m.casefold() for m in municipalities(doc)}
    if not named or not places:
        return True
    return bool(places & {n.casefold() for n in named})


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "nr",
    "källhänvisning",
    "titel",
    "organisation",
    "datum",
    "typ",
    "fil",
    "sida",
    "start",
    "slut",
    "citerad",
    "matchar",
    "svarsmeningar",
    "stycke",
)


def _safe_cell(value: Any) -> str:
    """Text for a spreadsheet cell; a leading = + @ would run as a formula in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if _CSV_FORMULA.match(text) else text


def source_row(source: Source) -> dict[str, str]:
    hit, doc = source.hit, source.hit.document
    sentences = " | ".join(_flat(doc.text[s:e]) for s, e in hit.spans)
    row = {
        "nr": source.number,
        "källhänvisning": source.citation,
        "titel": _flat(doc.title),
        "organisation": organisation(doc),
        "datum": document_date(doc),
        "typ": document_kind(doc),
        "fil": source_name(doc),
        "sida": hit.chunk.page or "",
        "start": hit.chunk.start,
        "slut": hit.chunk.end,
        "citerad": "ja" if source.cited else "nej",
        "matchar": "ja" if source.matching else "nej",
        "svarsmeningar": sentences,
        "stycke": _flat(hit.chunk.text),
    }
    return {k: _safe_cell(v) for k, v in row.items()}


def sources_csv(answer: Answer) -> str:
    """The answer's sources, one row each (UTF-8 text; Excel-safe cells)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for source in answer.sources:
        writer.writerow(source_row(source))
    return out.getvalue()


def sources_markdown(answer: Answer) -> str:
    """The question, what was searched, the answer and its numbered sources with passages."""
    lines = [f"# Källor: {_md(answer.question)}", ""]
    if answer.rewritten:
        lines += [f"{SEARCHED_LABEL}: {_md(answer.searched)}", ""]
    lines += [f"**Svar:** {_md(answer.text)}", ""]
    if answer.abstained and answer.sources:
        lines += ["Närmaste passager (matchar inte frågan):", ""]
    for source in answer.sources:
        lines.append(f"{source.number}. {_md(source.citation)}")
        lines.append(f"   > {_md(_flat(source.hit.chunk.text))}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    """Markdown-inert text: no raw HTML, links or emphasis from document contents."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", _flat(text))
