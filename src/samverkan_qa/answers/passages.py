"""Quotes from retrieved passages: the sentences that hold the kind of answer asked for.

A sentence is a candidate when it shares the question's content words; it is kept only if it
holds the evidence the answer kind needs (a date for "när", a count of the asked-for thing for
"hur många", an amount for "vad kostar", ...). Headings are never quoted; a list intro comes
with its items; a quote from a law carries its § number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from samverkan_qa.answers.analysis import Analysis, fold, without_frame_words
from samverkan_qa.answers.compose import Quote
from samverkan_qa.answers.evidence import (
    PRECISE_KINDS,
    after_item_number,
    announces_list,
    has_evidence,
    is_bare_item,
    is_contact_line,
    is_heading,
    is_title,
    list_items,
    needs_evidence,
    plain,
    section_label,
    without_identifier_words,
    without_places,
)
from samverkan_qa.answers.facts import about, year_match
from samverkan_qa.catalog import document_facts, document_kind, municipalities
from samverkan_qa.documents import Document
from samverkan_qa.ranking import coverage, question_words, split_sentences
from samverkan_qa.retrieval import Hit


@dataclass(frozen=True)
class QuoteConfig:
    """How far down the hits quotes may come from and how many an answer has."""

    max_hits: int = 4
    # A lower hit is read only when its score is this share of the top hit's.
    min_relative_score: float = 0.5
    # How much the hit's retrieval score (relative to the top hit) adds to a sentence's: the
    # ranker's order is trusted over a sentence's word count. Chosen on the written training
    # questions (bench/answers_training.py): 0.2 / 0.4 / 0.8 / 1.5 / 3 / 6 / 20 gave 0.419 /
    # 0.430 / 0.443 / 0.450 / 0.461 / 0.463 / 0.465; the smallest within 0.01 of the best.
    hit_prior: float = 3.0
    # A second sentence is quoted only this close to the best, and within max_chars.
    second_share: float = 0.85
    max_sentences: int = 2
    max_chars: int = 420
    list_bonus: float = 0.15
    # Bonus for a sentence holding the kind of answer asked for, when it is not required.
    evidence_bonus: float = 0.2
    # Bonus for a passage from the kind of document the question names ("enligt lagen").
    kind_bonus: float = 0.3
    # Least share of the question's words a quote must cover (0: any shared word).
    min_support: float = 0.0
    # The share an identifier's context must cover when retrieval alone would abstain.
    identifier_support: float = 0.5
    # Bonus for a passage from a document about the municipality the question names.
    place_bonus: float = 0.2
    # Bonus for a passage from a document of the year the question names (as for a place).
    year_bonus: float = 0.2
    # A sentence holding the evidence asked for but none of the question's words takes this
    # share of the support of itself with the sentence before (same paragraph).
    context_share: float = 0.8
    # ... or, in a passage of the top document, this least support (below any sentence
    # sharing a word).
    top_evidence_support: float = 0.05
    # Items found by fact extraction may follow a list intro within this many characters.
    list_reach: int = 1500
    # An English question shares no words with Swedish sentences: a sentence's support is
    # then its cosine with the question, scaled from this floor (0) to 1.
    meaning_floor: float = 0.7


@dataclass(frozen=True)
class _Candidate:
    score: float
    hit_index: int
    doc: Document
    start: int
    end: int


# Cosines of the question with each of a list of sentences (the model's, on one batch).
Meaning = Callable[[Sequence[str]], Sequence[float]]


def passage_quotes(
    analysis: Analysis,
    hits: Sequence[Hit],
    analyzer: Any,
    numbers: Mapping[str, int],
    config: QuoteConfig | None = None,
    idf: Mapping[str, float] | None = None,
    meaning: Meaning | None = None,
) -> list[Quote]:
    """The quotes that answer `analysis` from `hits` (empty: no support). `numbers` maps a
    chunk id to its source number; `idf` (stem -> weight) weights the question's words;
    `meaning` (for a question in another language than the documents') scores sentences
    by their cosine with the question where words cannot."""
    config, idf = config or QuoteConfig(), idf or {}
    senses = _meaning_support(hits, config, meaning) if meaning is not None else {}
    words = _asked_words(analysis, analyzer)
    found = _candidates(analysis, hits, words, analyzer, config, idf, senses)
    if not found:
        return []
    found.sort(key=lambda c: (-c.score, c.hit_index, c.start))
    best = found[0]
    chosen = [best]
    limit = 1 if analysis.kind in PRECISE_KINDS else config.max_sentences
    budget = config.max_chars - (best.end - best.start)
    for cand in found[1:]:
        if len(chosen) >= limit or cand.score < config.second_share * best.score:
            break
        size = cand.end - cand.start
        if cand.doc.doc_id != best.doc.doc_id:
            continue  # a short answer quotes one document; the others are listed as sources
        if size <= budget and not any(_overlaps(cand, c) for c in chosen):
            chosen.append(cand)
            budget -= size
    chosen.sort(key=lambda c: (c.hit_index, c.start))
    quotes = [_quote(c, hits[c.hit_index], numbers, config) for c in chosen]
    if analysis.kind not in ("list", "aggregate"):
        quotes = [_asked_items(q, words, analyzer, idf) for q in quotes]
    listed = [i for q in quotes for i in q.items]
    return [q for q in quotes if not any(_inside(q, i) for i in listed)]  # said once, as an item


def _inside(quote: Quote, item: Quote) -> bool:
    return quote.doc_id == item.doc_id and item.start <= quote.start and quote.end <= item.end


def _asked_words(analysis: Analysis, analyzer: Any) -> tuple[Any, Any]:
    """The question's content words (as typed, and without å/ä/ö) that a quote must share:
    not the place, the framing ("Vad innebär …") or the identifier's name."""
    question = without_frame_words(without_places(analysis.question, analysis.municipalities))
    if analysis.kind == "identifier":
        question = without_identifier_words(question)
    return question_words(question, analyzer), question_words(fold(question), analyzer)


def _asked_items(
    quote: Quote, words: tuple[Any, Any], analyzer: Any, idf: Mapping[str, float]
) -> Quote:
    """A question that asks for no list is answered by the items of a list intro that share
    its words ("Vad föreslås ersätta tulltillägget?": the one item about it), all of them if
    none does."""
    kept = tuple(i for i in quote.items if _support(*words, i.text, analyzer, idf) > 0)
    return replace(quote, items=kept) if kept else quote


def _candidates(
    analysis: Analysis,
    hits: Sequence[Hit],
    asked: tuple[Any, Any],
    analyzer: Any,
    config: QuoteConfig,
    idf: Mapping[str, float],
    senses: Mapping[tuple[int, int], float],
) -> list[_Candidate]:
    if not hits:
        return []
    words, folded_words = asked  # _asked_words, computed once per question
    whole = [(w, ()) for w, _ in words]  # whole words only: no credit for compound parts
    folded_whole = [(w, ()) for w, _ in folded_words]
    top = max(hits[0].score, 1e-9)
    required = needs_evidence(analysis)
    named_kinds = bool(analysis.document_kinds) and any(
        document_kind(h.document) in analysis.document_kinds for h in hits[: config.max_hits]
    )
    of_year = [
        bool(analysis.years) and year_match(h.document, analysis.years) == 2
        for h in hits[: config.max_hits]
    ]
    out: list[_Candidate] = []
    for i in _read_hits(hits, config):
        hit = hits[i]
        if not about(hit.document, analysis.municipalities):
            continue
        if named_kinds and document_kind(hit.document) not in analysis.document_kinds:
            continue  # "enligt lagen": quotes come from the kind of document named
        # About the municipality named, not merely about no municipality in particular.
        explicit = bool(
            {m.casefold() for m in analysis.municipalities}
            & {m.casefold() for m in municipalities(hit.document)}
        )
        if analysis.municipalities and not explicit and not _general(hit.document, analysis):
            continue  # "… i Göteborg?" is not answered by a page that never names Göteborg
        text = hit.document.text
        heading = ""
        last = -1  # start of the sentence before, in the same paragraph
        for s, e in split_sentences(hit.chunk.text):
            start, end = hit.chunk.start + s, hit.chunk.start + e
            if is_heading(text, start, end) or is_title(hit.document, start, end):
                heading, last = text[start:end], -1
                continue
            before = last if last >= 0 and "\n\n" not in text[last:start] else -1
            last = start
            if is_bare_item(text, start, end):
                continue
            sense = senses.get((i, start), 0.0)
            start = after_item_number(text, start, end)
            sentence = text[start:end]
            evidence = has_evidence(analysis, sentence)
            if required and not evidence:
                continue
            if analysis.kind != "identifier" and is_contact_line(sentence):
                continue  # contact details answer only questions asking for them
            # The heading above is the sentence's context ("Hemmiljö" / "Fokusområdet
            # handlar om …"), never its quote.
            read = f"{heading}\n{sentence}"
            score = max(_support(words, folded_words, read, analyzer, idf), sense)
            heading = ""  # only the first sentence under a heading reads it
            if (
                required
                and analysis.kind != "identifier"
                and not sense
                and not _shares_a_word(whole, folded_whole, read, analyzer)
            ):
                context = text[before:end] if before >= 0 else ""
                score = _wordless_support(
                    (words, folded_words, whole, folded_whole),
                    context,
                    hit.doc_id == hits[0].doc_id,
                    analyzer,
                    config,
                    idf,
                )
                if score is None:
                    continue  # a date or number about something else is no answer
            if analysis.kind == "identifier":
                # Contact blocks put the name on the line above the number or address.
                context = text[_previous_line_start(text, start) : end]
                score = max(score, 0.9 * _support(words, folded_words, context, analyzer, idf))
            if score <= config.min_support:
                continue
            if evidence and not required and analysis.kind in ("person", "reason"):
                score += config.evidence_bonus
            if analysis.document_kinds and document_kind(hit.document) in analysis.document_kinds:
                score += config.kind_bonus
            if analysis.municipalities and explicit:
                score += config.place_bonus
            if of_year[i]:  # "avtalet från 2015": that year's document, not a later one's
                score += config.year_bonus
            if analysis.sections and section_label(text, start) in analysis.sections:
                score += config.kind_bonus  # "enligt 5 §": the paragraph named
            score += config.hit_prior * max(hit.score, 0.0) / top
            if (
                analysis.kind in ("list", "other")
                and announces_list(sentence)
                and _items(hit.document, end, config)
            ):
                score += config.list_bonus
            out.append(_Candidate(score, i, hit.document, start, end))
    return out


def _wordless_support(
    question: tuple[Any, Any, Any, Any],
    context: str,
    top_document: bool,
    analyzer: Any,
    config: QuoteConfig,
    idf: Mapping[str, float],
) -> float | None:
    """Support of a sentence holding the date or number asked for but none of the
    question's words (None: no answer). "Regeringen ger Brå i uppdrag att … Uppdraget ska
    redovisas senast den 1 mars 2026.": the subject is in the sentence before (`context`).
    In the top document, the ranker's choice, it may be a passage's closing line
    ("Lagändringarna föreslås träda i kraft den 1 juli 2023.") or the passage before the one
    found ("Regeringen ger Ekobrottsmyndigheten, … i uppdrag" before "Myndigheterna ska …")."""
    words, folded_words, whole, folded_whole = question
    if context and _shares_a_word(whole, folded_whole, context, analyzer):
        return config.context_share * _support(words, folded_words, context, analyzer, idf)
    return config.top_evidence_support if top_document else None


def _read_hits(hits: Sequence[Hit], config: QuoteConfig) -> list[int]:
    """The hits quotes may come from: the first `max_hits` scoring near the top one or from
    its document (the passage naming who "Myndigheterna" are may score far lower)."""
    top = max(hits[0].score, 1e-9) if hits else 1.0
    return [
        i
        for i, hit in enumerate(hits[: config.max_hits])
        if not i or hit.score >= config.min_relative_score * top or hit.doc_id == hits[0].doc_id
    ]


def _meaning_support(
    hits: Sequence[Hit], config: QuoteConfig, meaning: Meaning
) -> dict[tuple[int, int], float]:
    """(hit, sentence start) -> the sentence's cosine with the question, scaled from
    `config.meaning_floor` (0) to 1: all sentences of the hits read, in one batch."""
    keys, texts = [], []
    for i in _read_hits(hits, config):
        chunk = hits[i].chunk
        for s, e in split_sentences(chunk.text):
            keys.append((i, chunk.start + s))
            texts.append(chunk.text[s:e])
    if not texts:
        return {}
    floor = config.meaning_floor
    cosines = meaning(texts)
    return {
        key: min(1.0, max(0.0, (float(c) - floor) / (1.0 - floor)))
        for key, c in zip(keys, cosines, strict=True)
    }


def _support(
    words: Any, folded_words: Any, sentence: str, analyzer: Any, idf: Mapping[str, float]
) -> float:
    """idf-weighted share of the question's content words in the sentence, with or without
    å/ä/ö: the rare word that names the thing asked about counts most."""
    plain_cov = coverage(words, _derived(analyzer.analyze(sentence)), idf)
    folded_cov = coverage(folded_words, _derived(analyzer.analyze(fold(sentence))), idf)
    return max(plain_cov, folded_cov)


def _derived(stems: Any) -> set[str]:
    """The stems with a verb's -ning noun and a -ning noun's verb: "slutredovisa" asks what
    "Slutredovisningen ska lämnas …" says (the stemmer keeps "-ning"). Training answers 0.486
    -> 0.492; adding "-ing" as well ("rapportering") changed nothing."""
    out = set(stems)
    for stem in stems:
        if stem.endswith("ning") and len(stem) >= 8:
            out.add(stem[:-4])
        elif len(stem) >= 4:
            out.add(stem + "ning")
    return out


def _shares_a_word(words: Any, folded_words: Any, text: str, analyzer: Any) -> bool:
    """At least one of the question's content words, whole, is in `text`."""
    return _support(words, folded_words, text, analyzer, {}) > 0


def _general(doc: Document, analysis: Analysis) -> bool:
    """A document about no municipality may answer a question naming one when it is a law
    (it applies to every municipality) or names that municipality itself."""
    if document_kind(doc) == "lag":
        return True
    text = _folded(doc.text)
    return any(fold(m) in text for m in analysis.municipalities)


@lru_cache(maxsize=32)
def _folded(text: str) -> str:
    # Folding is a Python loop per character; the same top documents come back question
    # after question, so fold each once rather than on every answer.
    return fold(text)


def _previous_line_start(text: str, start: int) -> int:
    line_start = text.rfind("\n", 0, start)
    if line_start <= 0:
        return 0
    return text.rfind("\n", 0, line_start) + 1


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    return a.doc.doc_id == b.doc.doc_id and a.start < b.end and b.start < a.end


def _items(doc: Document, end: int, config: QuoteConfig) -> list[tuple[int, int]]:
    """The items a list intro ending at `end` announces: the numbered or bulleted lines
    after it, else (for an intro ending in ":") the listed priority areas found after it."""
    items = list_items(doc.text, end)
    if len(items) >= 2:
        return items
    if not doc.text[:end].rstrip().endswith(":"):
        return []
    found: list[tuple[int, int]] = []
    last = end
    for fact in document_facts(doc).get("priority_areas", []):
        if fact.start is None or fact.end is None or fact.start < last:
            continue
        if fact.start - last > config.list_reach:
            break
        found.append((fact.start, fact.end))
        last = fact.end
    return found if len(found) >= 2 else []


def _quote(cand: _Candidate, hit: Hit, numbers: Mapping[str, int], config: QuoteConfig) -> Quote:
    doc, number = cand.doc, numbers[hit.chunk.chunk_id]
    text = doc.text
    items: tuple[Quote, ...] = ()
    if announces_list(text[cand.start : cand.end]):
        items = tuple(
            Quote(plain(text[s:e]), number, doc.doc_id, s, e)
            for s, e in _items(doc, cand.end, config)
        )
    section = section_label(text, cand.start) if "§" in text else ""
    return Quote(
        plain(text[cand.start : cand.end]),
        number,
        doc.doc_id,
        cand.start,
        cand.end,
        items=items,
        section=section,
    )
