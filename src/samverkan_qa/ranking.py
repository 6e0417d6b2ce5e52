"""Pure functions on candidate hits: fusion, duplicate collapse, answer spans, abstention.

Nothing here touches an index or a model; inputs are scores, texts and an analyzer (anything
with `analyze` and `word_terms`, e.g. `samverkan_qa.lexical.SwedishAnalyzer`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TypeVar

from samverkan_qa.errors import InvalidInputError
from samverkan_qa.textfold import lookup_forms


def _words(text: str) -> list[str]:
    """A whitespace-separated word list (keeps long constant lists compact)."""
    return text.split()


# ---------------------------------------------------------------------------------------------
# Fusion
# ---------------------------------------------------------------------------------------------

FUSION_METHODS = ("convex", "rrf")
DENSE_NORMS = ("none", "minmax")
LEXICAL_NORMS = ("max", "saturate")


@dataclass(frozen=True)
class FusedScore:
    """One fused candidate. `dense`/`lexical` are the raw inputs (None: not a candidate
    there), `*_part` what each side contributed to `fused`, ranks are 1-based per list."""

    row: int
    fused: float
    dense: float | None
    lexical: float | None
    dense_part: float
    lexical_part: float
    dense_rank: int | None
    lexical_rank: int | None


def ranks(scores: Mapping[int, float]) -> dict[int, int]:
    """1-based ranks, best score first, ties broken by the smaller row."""
    order = sorted(scores, key=lambda r: (-scores[r], r))
    return {row: i + 1 for i, row in enumerate(order)}


def normalise_dense(scores: Mapping[int, float], method: str = "minmax") -> dict[int, float]:
    """Cosines as they are ("none") or min-max scaled over the candidate set to [0, 1]."""
    if method not in DENSE_NORMS:
        raise InvalidInputError(f"dense normalisation must be one of {DENSE_NORMS}")
    if method == "none" or not scores:
        return dict(scores)
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo < 1e-12:
        return dict.fromkeys(scores, 1.0)
    return {r: (s - lo) / (hi - lo) for r, s in scores.items()}


def normalise_bm25(
    score: float, *, method: str = "saturate", scale: float = 8.0, max_score: float | None = None
) -> float:
    """BM25 to [0, 1]: s / max_score ("max") or the saturating s / (s + scale)."""
    if method not in LEXICAL_NORMS:
        raise InvalidInputError(f"lexical normalisation must be one of {LEXICAL_NORMS}")
    if score <= 0:
        return 0.0
    if method == "max":
        return score / max_score if max_score and max_score > 0 else 0.0
    return score / (score + scale)


def fuse(
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    *,
    method: str = "convex",
    weight: float = 0.3,
    dense_norm: str = "minmax",
    lexical_norm: str = "saturate",
    saturation: float = 8.0,
    rrf_k: int = 60,
) -> list[FusedScore]:
    """Fuse dense (cosine) and lexical (BM25) candidate scores, best first.

    `weight` is the lexical side's share; the dense side gets 1 - weight.
    - "convex": (1-w)·dense_n + w·lexical_n. A row missing from the dense candidates gets
      the lowest normalised dense value (0 after min-max); missing from lexical gets 0.
    - "rrf": (1-w)/(k + dense_rank) + w/(k + lexical_rank); a missing side adds nothing.
    Ties are broken by the smaller row, so the order is deterministic.
    """
    if method not in FUSION_METHODS:
        raise InvalidInputError(f"fusion method must be one of {FUSION_METHODS}")
    if not 0.0 <= weight <= 1.0:
        raise InvalidInputError(f"fusion weight must be in [0, 1], got {weight}")
    d_rank, l_rank = ranks(dense), ranks(lexical)
    if method == "rrf":
        d_part = {r: (1 - weight) / (rrf_k + k) for r, k in d_rank.items()}
        l_part = {r: weight / (rrf_k + k) for r, k in l_rank.items()}
        d_missing = 0.0
    else:
        d_norm = normalise_dense(dense, dense_norm)
        l_max = max(lexical.values(), default=0.0)
        d_part = {r: (1 - weight) * v for r, v in d_norm.items()}
        l_part = {
            r: weight * normalise_bm25(s, method=lexical_norm, scale=saturation, max_score=l_max)
            for r, s in lexical.items()
        }
        # "none": a row without a cosine is treated like the weakest dense candidate
        d_missing = (1 - weight) * min(d_norm.values(), default=0.0)
    out = []
    for row in set(dense) | set(lexical):
        dp = d_part.get(row, d_missing)
        lp = l_part.get(row, 0.0)
        out.append(
            FusedScore(
                row,
                dp + lp,
                dense.get(row),
                lexical.get(row),
                dp,
                lp,
                d_rank.get(row),
                l_rank.get(row),
            )
        )
    out.sort(key=lambda f: (-f.fused, f.row))
    return out


# ---------------------------------------------------------------------------------------------
# Duplicate collapse
# ---------------------------------------------------------------------------------------------


class PassageLike(Protocol):
    """What `collapse_duplicates` needs; `samverkan_qa.documents.Chunk` fits."""

    @property
    def doc_id(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def text(self) -> str: ...


P = TypeVar("P", bound=PassageLike)
_WORD_RE = re.compile(r"[^\W_]+")


def shingles(text: str, n: int = 3) -> frozenset[tuple[str, ...]]:
    """Lowercase word n-grams (the words themselves for texts shorter than n words)."""
    words = _WORD_RE.findall(text.lower())
    if len(words) < n:
        return frozenset((w,) for w in words)
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not (a or b):
        return 1.0
    inter = len(a & b) if len(a) <= len(b) else len(b & a)
    return inter / (len(a) + len(b) - inter)


def range_overlap(a: PassageLike, b: PassageLike) -> float:
    """Shared characters / length of the shorter passage; 0 across documents."""
    if a.doc_id != b.doc_id:
        return 0.0
    inter = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    return inter / shorter if inter > 0 and shorter > 0 else 0.0


def collapse_duplicates(
    hits: Sequence[P], *, threshold: float = 0.8, overlap: float = 0.5, shingle: int = 3
) -> list[P]:
    """Keep hits (given best first) that do not repeat a better kept hit.

    A hit is dropped when it shares > `overlap` of its characters with a kept hit of the
    same document, or when its word-shingle Jaccard with any kept hit is >= `threshold`
    (a republished press release, a repeated paragraph). Order is preserved.
    """
    kept: list[P] = []
    kept_sh: list[frozenset] = []
    for hit in hits:
        sh = shingles(hit.text, shingle)
        if any(range_overlap(hit, k) > overlap for k in kept):
            continue
        if any(jaccard(sh, ks) >= threshold for ks in kept_sh):
            continue
        kept.append(hit)
        kept_sh.append(sh)
    return kept


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------

# Abbreviations that never end a sentence, and ones that may (then only before a capital).
_ABBR_INNER = frozenset(
    _words(
        """
        t.ex bl.a s.k t.o.m fr.o.m ca kl nr jfr dvs d.v.s resp kap st p mom prop ang inkl
        exkl tel sid s f.d t.f tf ev bet f ff ex e.d jan feb febr apr jun jul aug sep sept
        okt nov dec tr vol uppl
        """
    )
)
_ABBR_FINAL = frozenset(["m.fl", "m.m", "osv", "o.s.v", "etc", "m.a.o"])
_BULLETS = "-–—•*·▪●◦"
_END_RE = re.compile(r"[.!?…]+[\"»”’)\]]*(?=\s|$)")
_LIST_MARKER_RE = re.compile(r"^(?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})$")
_NON_BLANK_RE = re.compile(r"\S")
_LAST_WORD_RE = re.compile(r"[^\s(\[\"]*$")
_INLINE_BULLET_RE = re.compile(r"(?<=\S)[ \t]+(?:•|-\s+(?=[A-ZÅÄÖ0-9]))")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in `text`, trimmed of spaces and leading bullet marks.

    Boundaries: . ! ? (not after abbreviations such as t.ex., bl.a., kl., nr., initials or
    list numbers, and only before a capital, digit, quote, bullet or the end), blank lines,
    line breaks (unless the next line continues in lower case), and bullets ("•", " - ").
    """
    cuts = {0, len(text)}
    for m in _END_RE.finditer(text):
        if _is_sentence_end(text, m.start(), m.end()):
            cuts.add(m.end())
    for m in re.finditer(r"\n", text):
        nxt = _next_char(text, m.end())
        if not nxt.islower() or text[m.start() - 1 : m.start()] in ("", "\n"):
            cuts.add(m.start())
    for m in _INLINE_BULLET_RE.finditer(text):
        cuts.add(m.start())
    bounds = sorted(cuts)
    spans = []
    for s, e in zip(bounds, bounds[1:], strict=False):
        span = _trim(text, s, e)
        if span:
            spans.append(span)
    return spans


def _next_char(text: str, pos: int) -> str:
    """The first non-blank character at or after `pos` ("" at the end)."""
    m = _NON_BLANK_RE.search(text, pos)
    return m.group(0) if m else ""


def _is_sentence_end(text: str, start: int, end: int) -> bool:
    nxt = _next_char(text, end)
    if nxt and not (nxt.isupper() or nxt.isdigit() or nxt in _BULLETS + "\"”»'("):
        return False
    if text[start] != ".":
        return True
    word = _LAST_WORD_RE.search(text, max(0, start - 40), start).group(0).lower()
    if word in _ABBR_INNER or (len(word) == 1 and word.isalpha()):
        return False
    if word in _ABBR_FINAL:
        return nxt.isupper()
    line_start = text.rfind("\n", 0, start) + 1
    return not _LIST_MARKER_RE.match(text[line_start:start].strip())


def _trim(text: str, s: int, e: int) -> tuple[int, int] | None:
    while s < e and (text[s].isspace() or text[s] in _BULLETS):
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if _WORD_RE.search(text, s, e) else None


# ---------------------------------------------------------------------------------------------
# Answer spans and coverage
# ---------------------------------------------------------------------------------------------


class Analyzer(Protocol):
    def analyze(self, text: str) -> list[str]: ...
    def word_terms(self, text: str) -> list[tuple[str, tuple[str, ...]]]: ...


_QUESTION_PHRASES = re.compile(
    r"\b(hur\s+(länge|många|mycket|ofta|stor|stort)|vilket\s+år|vilka\s+år|vilken\s+dag|"
    r"vilket\s+datum|sedan\s+när|till\s+när|från\s+när)\b",
    re.IGNORECASE,
)
_TIME_Q = re.compile(
    r"\b(när|hur\s+länge|vilket\s+år|vilka\s+år|vilken\s+dag|vilket\s+datum|"
    r"datum|årtal|period|tidsperiod)\b",
    re.IGNORECASE,
)
_COUNT_Q = re.compile(r"\b(hur\s+många|hur\s+mycket|antal|antalet)\b", re.IGNORECASE)
_LIST_Q = re.compile(r"\b(vilka|vad\s+för)\b", re.IGNORECASE)
_MONTHS = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
_DATE_RE = re.compile(
    rf"\b(1[89]\d\d|20\d\d)\b|\b\d{{1,2}}\s+({_MONTHS})\b|\b\d{{4}}-\d\d-\d\d\b", re.IGNORECASE
)
_NUMBER_RE = re.compile(r"\d|\b(en|ett|två|tre|fyra|fem|sex|sju|åtta|nio|tio)\b", re.IGNORECASE)

TIME_BONUS = 0.2
COUNT_BONUS = 0.15
LIST_INTRO_BONUS = 0.1
LIST_ITEM_SHARE = 0.9


def question_kind(question: str) -> str:
    """Classify a question as "time", "count", "list" or "other" by its question words."""
    if _TIME_Q.search(question):
        return "time"
    if _COUNT_Q.search(question):
        return "count"
    if _LIST_Q.search(question):
        return "list"
    return "other"


def question_words(question: str, analyzer: Analyzer) -> list[tuple[str, tuple[str, ...]]]:
    """Content words of a question (question phrases like "hur länge" removed), deduplicated."""
    seen: dict[str, tuple[str, ...]] = {}
    for whole, parts in analyzer.word_terms(_QUESTION_PHRASES.sub(" ", question)):
        seen.setdefault(whole, parts)
    return list(seen.items())


def word_weights(
    words: Sequence[tuple[str, tuple[str, ...]]], idf: Mapping[str, float] | None = None
) -> list[float]:
    """idf of each word's whole stem (unseen stems get the largest idf); 1.0 without idf."""
    if not idf:
        return [1.0] * len(words)
    if all(whole in idf for whole, _ in words):
        return [idf[whole] for whole, _ in words]
    default = max(idf.values(), default=1.0)
    return [idf.get(whole, default) for whole, _ in words]


def coverage(
    words: Sequence[tuple[str, tuple[str, ...]]],
    stems: set[str] | frozenset[str],
    idf: Mapping[str, float] | None = None,
    *,
    weights: Sequence[float] | None = None,
) -> float:
    """Weighted share of `words` found in `stems`: a word counts fully when its whole stem
    is there, else by the share of its compound parts that are. Pass `weights` (from
    `word_weights`) to avoid recomputing them per sentence."""
    if not words:
        return 0.0
    weights = word_weights(words, idf) if weights is None else weights
    total = got = 0.0
    for (whole, parts), w in zip(words, weights, strict=True):
        total += w
        if _found(whole, stems):
            got += w
        elif parts:
            got += w * sum(_found(p, stems) for p in parts) / len(parts)
    return got / total if total > 0 else 0.0


def _found(stem: str, stems: set[str] | frozenset[str]) -> bool:
    """A stem is in a text as typed, or (typed without diacritics) in its folded form."""
    return any(form in stems for form in lookup_forms(stem))


Synonyms = Sequence[tuple[frozenset[str], Sequence[frozenset[str]]]]


def query_coverage(
    question: str,
    passage: str,
    analyzer: Analyzer,
    idf: Mapping[str, float] | None = None,
    synonyms: Synonyms = (),
) -> float:
    """Share of the question's content words (stems, compound-aware) found in the passage.

    `synonyms` (from `LexicalIndex.synonym_equivalents`): the question's stems that name a
    synonym group count as found when the passage holds every word of another member."""
    stems = set(analyzer.analyze(passage))
    for named, alternatives in synonyms:
        if any(alt and alt <= stems for alt in alternatives):
            stems |= named
    return coverage(question_words(question, analyzer), stems, idf)


def best_spans(
    question: str,
    passage: str,
    analyzer: Analyzer,
    *,
    max_sentences: int = 2,
    idf: Mapping[str, float] | None = None,
    second_ratio: float = 0.6,
) -> list[tuple[int, int, float]]:
    """The passage sentences that best answer `question`, best first: (start, end, score).

    Score = (idf-weighted) coverage of the question's content words by the sentence, plus a
    bonus for a date/year when the question asks when/how long, for a number when it asks
    how many, and for a list intro (ending in ":") when it asks "vilka"; the list items after
    a chosen intro follow it. Further sentences need `second_ratio` of the best score.
    Sentences without any question word score 0 and are never returned.
    """
    words = question_words(question, analyzer)
    spans = split_sentences(passage)
    if not words or not spans or max_sentences < 1:
        return []
    kind = question_kind(question)
    weights = word_weights(words, idf)
    scores = [_sentence_score(passage[s:e], words, weights, analyzer, kind) for s, e in spans]
    order = sorted(range(len(spans)), key=lambda i: (-scores[i], i))
    best = order[0]
    if scores[best] <= 0:
        return []
    chosen = [best]
    if kind == "list" and passage[spans[best][0] : spans[best][1]].endswith(":"):
        for i in range(best + 1, min(len(spans), best + max_sentences)):
            chosen.append(i)  # the list items the intro announces
            scores[i] = max(scores[i], LIST_ITEM_SHARE * scores[best])
    for i in order[1:]:
        if len(chosen) >= max_sentences:
            break
        if i not in chosen and scores[i] > 0 and scores[i] >= second_ratio * scores[best]:
            chosen.append(i)
    chosen = chosen[:max_sentences]
    return [(spans[i][0], spans[i][1], round(float(scores[i]), 6)) for i in chosen]


def _sentence_score(
    sentence: str,
    words: Sequence[tuple[str, tuple[str, ...]]],
    weights: Sequence[float],
    analyzer: Analyzer,
    kind: str,
) -> float:
    base = coverage(words, set(analyzer.analyze(sentence)), weights=weights)
    if base <= 0:
        return 0.0
    if kind == "time" and _DATE_RE.search(sentence):
        base += TIME_BONUS
    elif kind == "count" and _NUMBER_RE.search(sentence):
        base += COUNT_BONUS
    elif kind == "list" and sentence.rstrip().endswith(":"):
        base += LIST_INTRO_BONUS
    return base


# ---------------------------------------------------------------------------------------------
# Abstention
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbstainThresholds:
    """Answer when the dense cosine is sure, else when it is decent and the words are there.

    Abstain if top_dense < min_dense and (coverage < min_coverage or lexical < min_lexical),
    or if coverage < min_any_coverage and top_dense < sure_dense.
    """

    # Calibrated by bench/calibrate_abstention.py on training data only (answerable:
    # SweQUAD-MC training over its passages and the written training questions over the
    # regeringen.se pages; unanswerable: SweQUAD-MC training asked of the samverkan corpus
    # and the written unanswerable questions); the script exits 1 if these differ from its
    # choice. On that data: 0.5 % and 1.9 % of answerable questions abstained, 96.6 % and
    # 21 % of unanswerable ones (in-domain questions whose words are all there are hard).
    min_dense: float = 0.84
    sure_dense: float = 0.87
    min_coverage: float = 0.7
    min_lexical: float = 0.0
    min_any_coverage: float = 0.2


@dataclass(frozen=True)
class AbstainFeatures:
    top_dense: float
    top_lexical_norm: float
    query_coverage: float


def abstain_features(
    question: str,
    top_passage: str,
    analyzer: Analyzer,
    *,
    top_dense: float,
    top_lexical: float,
    lexical_scale: float = 8.0,
    idf: Mapping[str, float] | None = None,
    synonyms: Synonyms = (),
) -> AbstainFeatures:
    """Features for `should_abstain` from the top hit: raw BM25 saturated to [0, 1]."""
    return AbstainFeatures(
        top_dense=float(top_dense),
        top_lexical_norm=normalise_bm25(top_lexical, method="saturate", scale=lexical_scale),
        query_coverage=query_coverage(question, top_passage, analyzer, idf, synonyms),
    )


def should_abstain(
    top_dense: float,
    top_lexical_norm: float,
    query_coverage: float,
    *,
    thresholds: AbstainThresholds = AbstainThresholds(),  # noqa: B008 (frozen, immutable)
) -> bool:
    """True when nothing retrieved supports an answer (see `AbstainThresholds`)."""
    t = thresholds
    if not all(map(math.isfinite, (top_dense, top_lexical_norm, query_coverage))):
        return True
    if query_coverage < t.min_any_coverage and top_dense < t.sure_dense:
        return True
    weak_words = query_coverage < t.min_coverage or top_lexical_norm < t.min_lexical
    return top_dense < t.min_dense and weak_words


def search_abstains(
    question: str,
    evidence: AbstainFeatures | None,
    thresholds: AbstainThresholds = AbstainThresholds(),  # noqa: B008 (frozen, immutable)
) -> bool:
    """A search's abstention: no evidence (nothing retrieved, or a name no top document
    mentions), or weak evidence (`should_abstain`). An English question is searched by
    meaning alone (the dense side carries it), so missing Swedish words never make it
    abstain."""
    if evidence is None:
        return True
    if is_english(question):
        return False
    return should_abstain(
        evidence.top_dense,
        evidence.top_lexical_norm,
        evidence.query_coverage,
        thresholds=thresholds,
    )


_ENGLISH_WORDS = frozenset(
    _words(
        """
        the a an is are was were what which who whom whose when where why how does do did
        of in on for with to from by about and or not can could should would will shall
        this that these those there their they it its has have had be been being any
        after before between during into than more most many much such each every some
        other new also only our your his her him she he we you my me us against according
        within without get got
        """
    )
)
_LATIN_WORD_RE = re.compile(r"[^\W\d_]+")


def is_english(question: str) -> bool:
    """An English question: at least two English function words and a quarter of its words
    (Swedish shares "i", "on", "by" ... but rarely that many). Words with å/ä/ö are left
    out of the count, so a Swedish place name does not make "Who is … in Södertälje?"
    Swedish, and a Swedish question has few words left to count as English.

    One English function word is enough in a question without a Swedish function word and
    with three words or more besides those with å/ä/ö ("Is Haninge's agreement still
    valid?"): on the training questions this caught 103 of 103 English ones (102 before)
    and flagged none of 1,950 Swedish ones."""
    from samverkan_qa.lexical import SNOWBALL_SWEDISH_STOPWORDS  # loaded by any search

    words = _LATIN_WORD_RE.findall(question.lower())
    if not words:
        return False
    english = sum(w in _ENGLISH_WORDS for w in words)
    swedish = sum(any(c in w for c in "åäö") for w in words)
    if english >= 2 and english >= (len(words) - swedish) / 4 and english > swedish:
        return True
    return (
        english >= 1
        and len(words) - swedish >= 3
        and not any(w in SNOWBALL_SWEDISH_STOPWORDS for w in words)
    )


# A capitalised word that does not open the question: a name (Haninge, Huges, Nylind, ...).
_NAME_RE = re.compile(r"(?<=[\s(\"'«”])([A-ZÅÄÖ][\wåäöÅÄÖéü]+(?:-[\wåäöÅÄÖ]+)*)")


def question_names(question: str, analyzer: Analyzer) -> list[str]:
    """Stems of the names a question mentions; a question about a named thing needs it."""
    stems: list[str] = []
    for match in _NAME_RE.finditer(question):
        for stem in analyzer.analyze(match.group(1))[:1]:
            if stem not in stems:
                stems.append(stem)
    return stems


def missing_names(
    question: str,
    texts: Sequence[str],
    analyzer: Analyzer,
    synonyms: Sequence[tuple[frozenset[str], tuple[frozenset[str], ...]]] = (),
) -> list[str]:
    """The question's names that none of `texts` mentions (compound parts count).

    A name is also found in its bare form before a genitive s ("Brås" for "Brå", "Sveriges"
    for "Sverige"), by the part before a hyphen ("EU-medborgare", "DNA-baserad"), or by
    another member of its synonym group (`LexicalIndex.synonym_equivalents`: "Säpo" for
    "Säkerhetspolisen"). In an English question only Swedish place names count: its other
    capitalised words ("Swedish", "October", "Tax Agency") are English, not the documents'
    names."""
    forms = _name_forms(question, analyzer)
    if forms and is_english(question):
        places = _place_stems(analyzer)
        forms = {n: alts for n, alts in forms.items() if n in places}
    if not forms:
        return []
    found: set[str] = set()
    for text in texts:
        found.update(analyzer.analyze(text))
    return [
        n
        for n, alts in forms.items()
        if not (
            alts & found
            or any(n in named and any(m <= found for m in others) for named, others in synonyms)
        )
    ]


def _name_forms(question: str, analyzer: Analyzer) -> dict[str, set[str]]:
    """Each name's stem (as question_names gives it) with the stems that also count as it."""
    out: dict[str, set[str]] = {}
    for match in _NAME_RE.finditer(question):
        word = match.group(1)
        stems = analyzer.analyze(word)[:1]
        if not stems:
            continue
        alts = out.setdefault(stems[0], {stems[0]})
        for variant in (word[:-1] if word.endswith("s") else "", word.split("-", 1)[0]):
            if variant and variant != word:
                alts.update(analyzer.analyze(variant)[:1])
    return out


# Per analyzer (an index's; a few kept, so a server that reopens its index drops the old one):
# analysing the 565 names took ~2 ms on every English question that has a capitalised word.
@lru_cache(maxsize=4)
def _place_stems(analyzer: Analyzer) -> frozenset[str]:
    """The stems of every municipality and place name (data/kommuner.txt, platser.txt)."""
    from samverkan_qa.metadata import MUNICIPALITIES, PLACE_MUNICIPALITY

    names = set(MUNICIPALITIES) | set(PLACE_MUNICIPALITY)
    return frozenset(s for name in names for s in analyzer.analyze(name)[:1])
