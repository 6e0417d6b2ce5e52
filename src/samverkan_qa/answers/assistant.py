"""The one question→answer pipeline behind the web chat, `samverkan-qa ask` and the Python API.

    assistant = Assistant.open(Settings(index_dir="index"))
    answer = assistant.ask("Vilka fokusområden har Haninge?")
    answer = assistant.ask("Och i Huddinge?", history=["Vilka fokusområden har Haninge?"])
    answer.text, answer.abstained, answer.citations, answer.to_json()

Steps: resolve a follow-up against the earlier questions, analyse what kind of answer is asked
for, search, answer from the documents' facts when they hold the answer, else quote the
sentences that hold it, else abstain ("Jag hittar inget stöd för det i dokumenten.").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Any

from samverkan_qa.answers.analysis import Analysis, analyse
from samverkan_qa.answers.compose import (
    ABSTAIN_TEXT,
    Answer,
    Quote,
    Source,
    citation_line,
)
from samverkan_qa.answers.evidence import PERSON_RE, plain
from samverkan_qa.answers.facts import FactAnswer, year_gap
from samverkan_qa.answers.followup import Conversation, Rewrite, conversation_for
from samverkan_qa.answers.lookup import fact_answer
from samverkan_qa.answers.passages import Meaning, QuoteConfig, passage_quotes
from samverkan_qa.answers.yesno import lead, passage_lead, verdict_of, yes_no
from samverkan_qa.catalog import document_facts, municipalities
from samverkan_qa.documents import Chunk, Document
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.metadata import FieldFilter, parse_filter
from samverkan_qa.retrieval import Hit, RetrievalConfig, Retriever, check_k, check_question
from samverkan_qa.settings import Settings, check_text

DEFAULT_K = 5
MAX_HISTORY = 50
_PERSON_PRONOUN_RE = re.compile(r"\b(han|hon|hen|honom|henne|he|she|him|her)\b", re.I)
_POSSESSIVE_PERSON_RE = re.compile(r"\b(hans|hennes|his)\b", re.I)


@dataclass(frozen=True)
class AskConfig:
    k: int = DEFAULT_K
    quotes: QuoteConfig = QuoteConfig()
    # The day "Gäller avtalet fortfarande?" asks about; None: the day it is asked.
    today: date | None = None


class Assistant:
    """Answers questions from one index (read when opened; the model loads on first use)."""

    def __init__(self, retriever: Retriever, config: AskConfig | None = None) -> None:
        self.retriever = retriever
        self.config = config or AskConfig()

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        retrieval: RetrievalConfig | None = None,
        config: AskConfig | None = None,
    ) -> Assistant:
        return cls(Retriever.open(settings or Settings(), retrieval), config)

    @property
    def documents(self) -> dict[str, Document]:
        return self.retriever.index.documents

    def reopened(self) -> Assistant:
        """The same pipeline (embedder and settings) over the index's current snapshot:
        a running server takes up documents added to its index without a restart. This one
        keeps answering from its own snapshot until the caller switches to the new one."""
        from samverkan_qa.stores import reopen

        old = self.retriever
        return Assistant(Retriever(reopen(old.index), old.embedder, old.config), self.config)

    @cached_property
    def places(self) -> tuple[str, ...]:
        """Municipality spellings a question may use: the index's and Stockholm county's."""
        stored = self.retriever.index.filters.get("municipalities")
        found = (
            stored
            if isinstance(stored, list)
            else (m for doc in self.documents.values() for m in municipalities(doc))
        )
        return tuple(conversation_for(found).places)

    def conversation(self) -> Conversation:
        return Conversation(places=self.places)

    # --- the pipeline ------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        filters: Iterable[FieldFilter | str] = (),
        k: int | None = None,
    ) -> Answer:
        """Answer `question`; `history` are the earlier questions of the conversation, oldest
        first; `filters` are FieldFilters or "kommun=Haninge"-style strings."""
        check_question(question)
        history = check_history(history)
        k = self.config.k if k is None else k
        check_k(k)
        chosen = [f if isinstance(f, FieldFilter) else parse_filter(str(f)) for f in filters]
        rewrite = self.rewrite(question, history, chosen, k)
        return self._answer(rewrite, chosen, k)

    def rewrite(
        self, question: str, history: Sequence[str], filters: list[FieldFilter], k: int
    ) -> Rewrite:
        """The standalone question: names and topic from the earlier turns, "han"/"hon"
        replaced by the person the previous answer named."""
        conversation = self.conversation()
        for earlier in history:
            conversation.add(conversation.rewrite(earlier))
        rewrite = conversation.rewrite(question)
        refers = _PERSON_PRONOUN_RE.search(rewrite.searched) or _POSSESSIVE_PERSON_RE.search(
            rewrite.searched
        )
        if history and refers:
            person = self._previous_person(history, filters, k)
            if person:
                searched = _PERSON_PRONOUN_RE.sub(person, rewrite.searched, count=1)
                searched = _POSSESSIVE_PERSON_RE.sub(_genitive(person), searched, count=1)
                rewrite = Rewrite(rewrite.question, searched, followup=True)
        return rewrite

    def _previous_person(self, history: Sequence[str], filters: list[FieldFilter], k: int) -> str:
        previous = self.ask(history[-1], history[:-1], filters, k)
        if previous.abstained:
            return ""
        for quote in previous.quotes:
            doc = self.documents.get(quote.doc_id)
            people = document_facts(doc).get("people", []) if doc else []
            for fact in people:  # a stated person first, then anything name-like
                name = fact.value.get("name") if isinstance(fact.value, dict) else None
                if name and name in quote.display:
                    return str(name)
            m = PERSON_RE.search(quote.display)
            if m:
                return m.group(0)
        return ""

    def _answer(self, rewrite: Rewrite, filters: list[FieldFilter], k: int) -> Answer:
        analysis = analyse(rewrite.searched, self.places)
        result = self.retriever.search(rewrite.searched, k, filters)
        docs = self._filtered(filters)
        if analysis.municipalities and not any(
            about_named(d, analysis.municipalities) for d in docs
        ):
            return self._abstain(rewrite, analysis, result.hits)
        if analysis.years and analysis.municipalities:  # only then: documents parse on read
            named = [d for d in docs if about_named(d, analysis.municipalities)]
            gap = year_gap(analysis, named)
            if gap:
                return self._abstain(rewrite, analysis, result.hits, gap)
        ranked = [h.doc_id for h in result.hits]
        verdict = yes_no(analysis, docs, ranked, self.config.today or date.today())
        facts = verdict or fact_answer(analysis, docs, ranked)
        if facts is not None:
            answer = self._from_facts(rewrite, analysis, facts, result.hits)
            if verdict is not None:
                answer.verdict, answer.lead = verdict_of(verdict), verdict.parts[0].lead
            return answer
        # An identifier (an e-mail address, a phone or diary number) next to the words asked
        # about is evidence enough, even where passage similarity alone would abstain.
        if result.abstained and analysis.kind != "identifier":
            return self._abstain(rewrite, analysis, result.hits)
        sources = _numbered(result.hits)
        numbers = {s.hit.chunk.chunk_id: s.number for s in sources}
        analyzer = self.retriever.index.lexical.analyzer
        config = self.config.quotes
        if result.abstained:
            config = replace(config, min_support=config.identifier_support)
        idf = self.retriever.index.lexical.idf()
        meaning = self._meaning(rewrite.searched) if analysis.english else None
        quotes = passage_quotes(analysis, result.hits, analyzer, numbers, config, idf, meaning)
        if not quotes:
            return self._abstain(rewrite, analysis, result.hits)
        cited = {q.source for q in quotes}
        sources = [_source(s.hit, s.number, True, s.number in cited) for s in sources]
        text = " ".join(f"{q.display} [{q.source}]" for q in quotes)
        verdict = opening = ""
        if analysis.kind == "yesno":  # "Ja." only when a quote says all that was asked
            verdict = passage_lead(analysis, [q.text for q in quotes], analyzer)
            opening = lead(verdict, analysis.english)
            text = f"{opening} {text}"
        return Answer(
            rewrite.question,
            rewrite.searched,
            text,
            quotes,
            sources,
            abstained=False,
            kind=analysis.kind,
            followup=rewrite.followup,
            verdict=verdict,
            lead=opening,
        )

    def _meaning(self, question: str) -> Meaning:
        """Cosines of `question` with sentences, by the index's model: an English question's
        words are not the Swedish documents', its meaning is."""
        embedder = self.retriever.embedder

        def cosines(sentences: Sequence[str]) -> Sequence[float]:
            vector = embedder.embed_queries([question])[0]
            return (embedder.embed_passages(list(sentences)) @ vector).tolist()

        return cosines

    def _filtered(self, filters: list[FieldFilter]) -> Sequence[Document]:
        """The documents that pass the filters (the retriever's cached arrays); from a file
        index, a view whose documents are parsed as they are read."""
        from samverkan_qa.store import DocumentList, DocumentTable

        rows = self.retriever.allowed_documents(filters)
        if isinstance(self.documents, DocumentTable):
            return DocumentList(self.documents, None if rows is None else rows.tolist())
        docs = list(self.documents.values())
        return docs if rows is None else [docs[r] for r in rows]

    def _abstain(
        self, rewrite: Rewrite, analysis: Analysis, hits: Sequence[Hit], text: str = ""
    ) -> Answer:
        """No answer: the abstention, or `text` saying why (no document of the year asked)."""
        sources = [_source(h, i, False, False) for i, h in enumerate(hits, start=1)]
        return Answer(
            rewrite.question,
            rewrite.searched,
            text or ABSTAIN_TEXT,
            [],
            sources,
            abstained=True,
            kind=analysis.kind,
            followup=rewrite.followup,
        )

    def _from_facts(
        self, rewrite: Rewrite, analysis: Analysis, facts: FactAnswer, hits: Sequence[Hit]
    ) -> Answer:
        """Each document a fact comes from becomes a numbered source (the passage holding
        the first cited value); the retrieved passages follow, not cited."""
        sources: list[Source] = []
        number_of: dict[str, int] = {}
        quotes: list[Quote] = []
        pieces: list[str] = []
        for part in facts.parts:
            marks = []
            for one in (part, *part.extra):
                if not one.cites:
                    continue
                doc = one.doc
                if doc.doc_id not in number_of:
                    number_of[doc.doc_id] = len(sources) + 1
                    spans = [(c.start, c.end) for c in one.cites]
                    hit = self._hit_at(doc, spans[0][0], number_of[doc.doc_id], spans)
                    sources.append(_source(hit, number_of[doc.doc_id], True, True))
                number = number_of[doc.doc_id]
                marks.append(f"[{number}]")
                quotes.extend(
                    Quote(
                        plain(doc.text[c.start : c.end]),
                        number,
                        doc.doc_id,
                        c.start,
                        c.end,
                        section=one.section,
                    )
                    for c in one.cites
                )
            values = "; ".join(plain(v) for v in part.values)
            cited = "".join(dict.fromkeys(marks))
            # A label leads its values ("Parter: …"); a sentence ("Ja.") stands before them.
            sep = " " if part.lead.endswith(".") else ": "
            pieces.append(f"{part.lead}{sep}{values} {cited}" if part.lead else f"{values} {cited}")
        seen = {s.hit.chunk.chunk_id for s in sources}
        for hit in hits:
            if hit.chunk.chunk_id not in seen:
                seen.add(hit.chunk.chunk_id)
                sources.append(_source(hit, len(sources) + 1, True, False))
        joiner = "; " if analysis.kind == "aggregate" else " "
        return Answer(
            rewrite.question,
            rewrite.searched,
            joiner.join(pieces),
            quotes,
            sources,
            abstained=False,
            kind=analysis.kind,
            table=facts.table,
            followup=rewrite.followup,
            basis="facts",
        )

    def _hit_at(self, doc: Document, offset: int, number: int, spans: list[tuple[int, int]]) -> Hit:
        chunk = self._chunk_at(doc, offset)
        inside = [(s, e) for s, e in spans if chunk.start <= s and e <= chunk.end]
        return Hit(number, 0.0, None, None, chunk, doc, spans=inside or spans[:1])

    def _chunk_at(self, doc: Document, offset: int) -> Chunk:
        chunks = self.retriever.index.chunks.of_document(doc.doc_id)
        for chunk in chunks:
            if chunk.start <= offset < chunk.end:
                return chunk
        if chunks:
            return chunks[0]
        end = min(len(doc.text), offset + 400)
        return Chunk(f"{doc.doc_id}#fact", doc.doc_id, offset, end, doc.text[offset:end])


def about_named(doc: Document, named: Sequence[str]) -> bool:
    """The document is about (or names in its title) one of the named municipalities."""
    places = {m.casefold() for m in municipalities(doc)}
    wanted = {n.casefold() for n in named}
    return bool(places & wanted) or any(n in doc.title.casefold() for n in wanted)


def check_history(history: Any) -> list[str]:
    """The earlier questions, oldest first: a list of usable question texts."""
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise InvalidInputError("history must be a list of earlier questions (strings)")
    if not all(isinstance(h, str) for h in history):
        raise InvalidInputError("history must be a list of earlier questions (strings)")
    if len(history) > MAX_HISTORY:
        raise InvalidInputError(f"history has {len(history)} questions; at most {MAX_HISTORY}")
    limit = Settings.max_question_chars
    return [h for h in history if check_text(h, "a history question", limit).strip()]


def _numbered(hits: Sequence[Hit]) -> list[Source]:
    return [_source(h, i, True, False) for i, h in enumerate(hits, start=1)]


def _source(hit: Hit, number: int, matching: bool, cited: bool) -> Source:
    return Source(number, hit, citation_line(hit), matching=matching, cited=cited)


def _genitive(name: str) -> str:
    return name if name[-1:].lower() in "sxz" else name + "s"


__all__ = ["Assistant", "AskConfig", "about_named", "check_history"]
