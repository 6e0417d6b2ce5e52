"""Swedish lexical search: an analyzer with compound splitting and a BM25 index (bm25s).

The analyzer lowercases, tokenises on word characters (joined forms such as "2021-2022" or
"KS-2018/91.103" are kept whole *and* as their pieces), drops Swedish stop words, splits
compounds with a lexicon learned from the indexed texts plus built-in domain parts, and stems
with the Snowball Swedish stemmer. A compound yields its whole stem and its parts' stems, so
"överenskommelse" finds "samverkansöverenskommelsen". Queries go through the same analyzer.

Recall aids beside the exact stems:
- a stem with å/ä/ö/é is also indexed diacritic-folded with a "~" mark ("områd" -> "~omrad"),
  and a query stem typed without diacritics also looks the marked form up, so "fokusomraden"
  finds "fokusområden" while exact spellings still score highest;
- domain synonyms (data/synonyms.json): a question naming one member of a group also
  searches the other members at `synonym_weight` ("bilbränder" finds "fordonsbränder").
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from samverkan_qa.errors import IndexMismatchError, IndexNotFoundError, InvalidInputError
from samverkan_qa.textfold import FOLD_MARK, fold, folded_term, lookup_forms


def _words(text: str) -> list[str]:
    """A whitespace-separated word list (keeps long constant lists compact)."""
    return text.split()


log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import and logs every build; keep it quiet.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# 2: diacritic-folded "~" stems are indexed beside the exact ones.
FORMAT_VERSION = 2
SYNONYMS_VERSION = 1
META_FILE = "lexical.json"
BM25_DIR = "bm25"

# Snowball Swedish stop list (snowballstem.org/algorithms/swedish/stop.txt), 114 words.
SNOWBALL_SWEDISH_STOPWORDS = frozenset(
    _words(
        """
        och det att i en jag hon som han på den med var sig för så till är men ett om hade
        de av icke mig du henne då sin nu har inte hans honom skulle hennes där min man ej
        vid kunde något från ut när efter upp vi dem vara vad över än dig kan sina här ha
        mot alla under någon eller allt mycket sedan ju denna själv detta åt utan varit hur
        ingen mitt ni bli blev oss din dessa några deras blir mina samma vilken er sådan vår
        blivit dess inom mellan sådant varför varje vilka ditt vem vilket sitta sådana vart
        dina vars vårt våra ert era vilkas
        """
    )
)
# A few more function words and abbreviations common in Swedish public-sector text.
EXTRA_STOPWORDS = frozenset(
    _words(
        """
        ska skall samt även också hos kring dock genom enligt bland annat andra vilken bl.a
        t.ex m.fl m.m s.k t.o.m dvs osv etc fr.o.m resp
        """
    )
)
STOPWORDS = SNOWBALL_SWEDISH_STOPWORDS | EXTRA_STOPWORDS

# Common word parts in texts on local crime prevention. Surface forms; a few are truncated
# stems that occur before a linking morpheme ("arbet" in "arbetsgrupp", "skol" in "skolgård").
BUILTIN_PARTS = frozenset(
    _words(
        """
        samverkan samverka samarbete överenskommelse överenskommelser avtal brand försvar
        förbund räddning tjänst polis område områden trygghet trygg otrygghet brott
        brottslighet ungdom ungdomar barn kommun region stad styrelse nämnd förvaltning
        direktör chef plan arbete arbet skol skola förebyggande förebygga lokal medborgare
        medborgar löfte löften läge lägesbild bild handling åtgärd åtgärder insats insatser
        grupp social fritid gård fält assistent ordning vakt kamera bevakning övervakning
        narkotika våld inbrott bostad bostäder fordon bränder skadegörelse klotter nätverk
        effekt uppföljning mål miljö centrum stöd skydd säkerhet beredskap kris risk analys
        rapport möte råd lag utbildning utsatt utsatta kriminalitet kriminell gäng alkohol
        drog droger vård hälsa boende idrott förening näringsliv företag fastighet ägare
        handel trafik ekonomi ledning ledare samordnare samordning ansvar roll roller
        förmåga utveckling strategi operativ verksamhet tillsyn kontroll myndighet stat
        nationell regering kommunal fullmäktige person personal skapande lösning problem
        bild information kommunikation dialog samråd resurs resurser projekt program medel
        uppdrag
        """
    )
)
# Never accept these as the last part of a compound: they are inflection or derivation endings
# that happen to be words too ("kommun|erna", "trygg|are").
BLOCKED_HEADS = frozenset(
    _words(
        """
        ande ende are arna erna orna aren het heten heter heterna ning ningen ningar nings
        else elsen ade ens ets ena era aste iga igt isk iska iskt lig liga ligt lighet
        ligheten ring ringar ringen eras rade ment mentet skap skapen samhet lande tion ningarna
        tioner tionen ella nala nerna sera seras serad serade tering teras ling lingen vare
        """
    )
)

_SNOWBALL = Stemmer.Stemmer("swedish")
BUILTIN_STEMS = frozenset(_SNOWBALL.stemWords(sorted(BUILTIN_PARTS)))
INFLECTIONS = _words("ernas arnas ornas erna arna orna ens ets en et er ar or na n t s a e")
# built-in parts and their inflections ("försvaret") -> the built-in base ("försvar")
BUILTIN_BASE = {b + suffix: b for b in sorted(BUILTIN_PARTS) for suffix in ("", *INFLECTIONS)}
BUILTIN_BASE.update({b: b for b in BUILTIN_PARTS})

CACHE_LIMIT = 500_000
TOKEN_RE = re.compile(r"\w+(?:[-/.:+]\w+)*")
PIECE_RE = re.compile(r"\d+|[^\W\d_]+")  # digit runs and letter runs


@lru_cache(maxsize=1)
def load_synonyms() -> tuple[tuple[str, ...], ...]:
    """The shipped synonym groups (package data), checked for the expected version."""
    path = resources.files("samverkan_qa") / "data" / "synonyms.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != SYNONYMS_VERSION:
        raise IndexMismatchError(
            f"synonyms.json has version {data.get('version')}, expected {SYNONYMS_VERSION}"
        )
    return tuple(tuple(str(m).lower() for m in group) for group in data["groups"])


class SwedishAnalyzer:
    """Lowercase, tokenise, drop stop words, split compounds, stem (Snowball Swedish).

    `lexicon` maps lowercase surface words to their corpus frequency; it is what compound
    parts are checked against (words seen fewer than `min_count` times are ignored). A part is
    "known" when it is a built-in domain part, an inflection of one ("försvaret") or has the
    stem of one; known parts may be 3 letters long and count as if seen
    `builtin_weight` more times. A split with an unknown part is only accepted when its parts'
    geometric-mean frequency is at least `split_ratio` times the whole word's frequency
    (Koehn & Knight 2003), which stops "verksamhet" -> "verk|samhet" but not new compounds.
    """

    def __init__(
        self,
        lexicon: Mapping[str, int] | None = None,
        *,
        min_part: int = 4,
        min_builtin_part: int = 3,
        min_count: int = 2,
        linkers: str = "saeu",
        split_ratio: float = 0.5,
        builtin_weight: int = 20,
        max_parts: int = 4,
    ) -> None:
        self.lexicon: dict[str, int] = dict(lexicon or {})
        self.min_part = min_part
        self.min_builtin_part = min_builtin_part
        self.min_count = min_count
        self.linkers = linkers
        self.split_ratio = split_ratio
        self.builtin_weight = builtin_weight
        self.max_parts = max_parts
        self._stemmer = Stemmer.Stemmer("swedish")
        # corpus words whose stem is a built-in part's stem ("myndigheten")
        self._known_words = frozenset(
            w for w in self.lexicon if w.isalpha() and self.stem(w) in BUILTIN_STEMS
        )
        self._terms: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {}
        self._splits: dict[str, tuple[str, ...]] = {}
        self._folds: dict[str, tuple[str, ...]] = {}

    # ---- construction -------------------------------------------------------------------

    @staticmethod
    def count_words(texts: Iterable[str]) -> Counter[str]:
        """Corpus frequencies of lowercase alphabetic words usable as compound parts."""
        counts: Counter[str] = Counter()
        for text in texts:
            for piece in PIECE_RE.findall(text.lower()):
                if len(piece) >= 3 and piece.isalpha() and piece not in STOPWORDS:
                    counts[piece] += 1
        return counts

    @classmethod
    def learn(cls, texts: Iterable[str], **params: Any) -> SwedishAnalyzer:
        return cls(cls.count_words(texts), **params)

    def settings(self) -> dict[str, Any]:
        return {
            "tokenizer": TOKEN_RE.pattern,
            "stemmer": f"snowball-swedish (PyStemmer {Stemmer.version()})",
            "stopwords": len(STOPWORDS),
            "folding": f"NFKD without combining marks, marked {FOLD_MARK!r}",
            "splitter": {
                "min_part": self.min_part,
                "min_builtin_part": self.min_builtin_part,
                "min_count": self.min_count,
                "linkers": self.linkers,
                "split_ratio": self.split_ratio,
                "builtin_weight": self.builtin_weight,
                "max_parts": self.max_parts,
                "builtin_parts": len(BUILTIN_PARTS),
                "lexicon_size": len(self.lexicon),
            },
        }

    def to_json(self) -> dict[str, Any]:
        params = {k: v for k, v in self.settings()["splitter"].items() if k in _PARAMS}
        return {"params": params, "lexicon": self.lexicon}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SwedishAnalyzer:
        return cls(data["lexicon"], **data["params"])

    # ---- analysis -----------------------------------------------------------------------

    def words(self, text: str) -> list[str]:
        """Lowercase content tokens in order: joined forms are followed by their pieces."""
        out: list[str] = []
        for token in TOKEN_RE.findall(text.lower()):
            if token in STOPWORDS:
                continue  # also drops the pieces of "t.ex", "bl.a", ...
            pieces = PIECE_RE.findall(token)
            if len(pieces) > 1:
                out.append(token)
            out.extend(p for p in pieces if _keep(p))
        return out

    def word_terms(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """(whole stem, part stems) per content token; part stems exclude the whole.

        A part that is an inflected built-in part ("försvaret") is given the stem of the
        built-in base ("försvar" -> "försv"), so parts match across inflections even where
        Snowball stems them differently.
        """
        return [self._term(w)[:2] for w in self.words(text)]

    def analyze(self, text: str) -> list[str]:
        """All stems of a text, compound parts included (what the index stores); parts also
        add their own stem when it differs from the base's."""
        out: list[str] = []
        for w in self.words(text):
            whole, parts, extra = self._term(w)
            out.append(whole)
            out.extend(parts)
            out.extend(extra)
            out.extend(self._folded(w))
        return out

    def _folded(self, word: str) -> tuple[str, ...]:
        """Marked folded forms of a word's stems that carry diacritics (cached per word)."""
        cached = self._folds.get(word)
        if cached is None:
            whole, parts, extra = self._term(word)
            found = (folded_term(t) for t in (whole, *parts, *extra))
            cached = tuple(dict.fromkeys(f for f in found if f))
            self._folds[word] = cached
        return cached

    def stem(self, word: str) -> str:
        return self._stemmer.stemWord(word) if word.isalpha() else word

    def split(self, word: str) -> tuple[str, ...]:
        """Compound parts of a surface word, recursively, outermost split first; () if none."""
        cached = self._splits.get(word)
        if cached is None:
            cached = self._split_uncached(word)
            self._splits[word] = cached
        return cached

    def _term(self, word: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        cached = self._terms.get(word)
        if cached is None:
            if len(self._terms) >= CACHE_LIMIT:  # a long-running server sees many new words
                self._terms.clear()
                self._splits.clear()
                self._folds.clear()
            whole = self.stem(word)
            parts: list[str] = []
            extra: list[str] = []
            for part in self.split(word):  # joined forms: () -- their pieces follow as words
                base = BUILTIN_BASE.get(part)
                primary, own = self.stem(base or part), self.stem(part)
                if primary != whole and primary not in parts:
                    parts.append(primary)
                if own not in (whole, primary) and own not in extra:
                    extra.append(own)
            cached = (whole, tuple(parts), tuple(p for p in extra if p not in parts))
            self._terms[word] = cached
        return cached

    # ---- compound splitting -------------------------------------------------------------

    def _known(self, part: str) -> bool:
        return part in BUILTIN_BASE or part in self._known_words

    def _freq(self, part: str) -> int:
        return self.lexicon.get(part, 0) + (self.builtin_weight if self._known(part) else 0)

    def _valid_part(self, part: str, *, final: bool) -> bool:
        if part in STOPWORDS or (final and part in BLOCKED_HEADS):
            return False
        if self._known(part):
            return len(part) >= self.min_builtin_part
        return len(part) >= self.min_part and self.lexicon.get(part, 0) >= self.min_count

    def _segment(self, word: str) -> tuple[str, ...]:
        """Fewest parts covering `word` (linkers allowed between parts), then most frequent."""
        n = len(word)
        best: list[tuple[int, float, tuple[str, ...]] | None] = [None] * (n + 1)
        best[n] = (0, 0.0, ())
        for i in range(n - self.min_builtin_part, -1, -1):
            for j in range(i + self.min_builtin_part, n + 1):
                if i == 0 and j == n:
                    continue
                part = word[i:j]
                if not self._valid_part(part, final=j == n):
                    continue
                score = math.log(self._freq(part) + 1.0)
                nexts = [j] if j == n else [j] + ([j + 1] if word[j] in self.linkers else [])
                for k in nexts:
                    rest = best[k]
                    if rest is None or (k < n and rest[0] == 0) or (k == n and j < n):
                        continue
                    cand = (rest[0] + 1, rest[1] + score, (part, *rest[2]))
                    cur = best[i]
                    if cur is None or (cand[0], -cand[1]) < (cur[0], -cur[1]):
                        best[i] = cand
        found = best[0]
        if found is None or not 2 <= found[0] <= self.max_parts:
            return ()
        if all(self._known(p) for p in found[2]):
            return found[2]
        mean_freq = math.exp(found[1] / found[0]) - 1.0
        if mean_freq < self.split_ratio * self.lexicon.get(word, 0):
            return ()  # the whole word is far more common than its parts: not a compound
        return found[2]

    def _split_uncached(self, word: str) -> tuple[str, ...]:
        if not word.isalpha() or len(word) < 2 * self.min_builtin_part:
            return ()
        top = self._segment(word)
        out: list[str] = list(top)
        for part in top:
            out.extend(p for p in self.split(part) if p not in out)
        return tuple(out)


_PARAMS = {
    "min_part",
    "min_builtin_part",
    "min_count",
    "linkers",
    "split_ratio",
    "builtin_weight",
    "max_parts",
}


def _run_starts(seq: list[str], run: tuple[str, ...]) -> list[int]:
    n = len(run)
    return [i for i in range(len(seq) - n + 1) if tuple(seq[i : i + n]) == run]


def _keep(piece: str) -> bool:
    return piece not in STOPWORDS and (len(piece) > 1 or piece.isdigit()) and piece != "_"


class LexicalIndex:
    """BM25 over analyzer stems. Rows are positions in the list of texts given to `build`.

    Query terms are weighted: a word's whole stem counts 1.0, its compound parts `part_weight`,
    so a passage with the exact compound outranks one with only a part.
    """

    def __init__(
        self,
        analyzer: SwedishAnalyzer,
        bm25: bm25s.BM25 | None,
        n_docs: int,
        *,
        part_weight: float = 0.5,
        synonym_weight: float = 0.5,
        synonyms: Iterable[Iterable[str]] | None = None,
    ) -> None:
        self.analyzer = analyzer
        self._bm25 = bm25
        self.n_docs = n_docs
        self.part_weight = part_weight
        # A synonym is a weaker match than the word asked for, like a compound part.
        self.synonym_weight = synonym_weight
        groups = load_synonyms() if synonyms is None else synonyms
        self.synonyms = tuple(tuple(g) for g in groups)
        self._synonym_stems: list[list[tuple[str, ...]]] | None = None
        self._idf: dict[str, float] | None = None

    @classmethod
    def build(
        cls,
        texts: list[str],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        method: str = "lucene",
        part_weight: float = 0.5,
        analyzer: SwedishAnalyzer | None = None,
        synonyms: Iterable[Iterable[str]] | None = None,
    ) -> LexicalIndex:
        t0 = time.perf_counter()
        analyzer = analyzer or SwedishAnalyzer.learn(texts)
        tokens = [analyzer.analyze(t) for t in texts]
        bm25 = None
        if any(tokens):
            bm25 = bm25s.BM25(k1=k1, b=b, method=method)
            bm25.index(tokens, show_progress=False)
        log.info("lexical index: %d texts in %.2f s", len(texts), time.perf_counter() - t0)
        return cls(analyzer, bm25, len(texts), part_weight=part_weight, synonyms=synonyms)

    def __len__(self) -> int:
        return self.n_docs

    def settings(self) -> dict[str, Any]:
        bm25 = self._bm25
        return {
            "format_version": FORMAT_VERSION,
            "analyzer": self.analyzer.settings(),
            "bm25": {
                "library": f"bm25s {bm25s.__version__}",
                "k1": bm25.k1 if bm25 else None,
                "b": bm25.b if bm25 else None,
                "method": bm25.method if bm25 else None,
                "part_weight": self.part_weight,
                "synonym_weight": self.synonym_weight,
                "synonym_groups": len(self.synonyms),
            },
            "n_docs": self.n_docs,
        }

    # ---- querying -----------------------------------------------------------------------

    def query_terms(self, query: str) -> dict[str, float]:
        """Index term -> weight for a query (max weight when a term occurs in several roles):
        whole stems 1.0, compound parts `part_weight`, synonyms of a phrase the query names
        `synonym_weight`; every stem typed without diacritics also finds folded forms."""
        word_terms = self.analyzer.word_terms(query)
        terms: dict[str, float] = {}
        self._add_terms(terms, word_terms, 1.0)
        for phrase_terms in self._synonyms_of([whole for whole, _ in word_terms]):
            self._add_terms(terms, phrase_terms, self.synonym_weight)
        out: dict[str, float] = {}
        for term, weight in terms.items():
            for form in lookup_forms(term):
                out[form] = max(out.get(form, 0.0), weight)
        return out

    def _add_terms(
        self, terms: dict[str, float], word_terms: list[tuple[str, tuple[str, ...]]], w: float
    ) -> None:
        for whole, parts in word_terms:
            terms[whole] = max(terms.get(whole, 0.0), w)
            for p in parts:
                terms[p] = max(terms.get(p, 0.0), w * self.part_weight)

    def _synonyms_of(self, stems: list[str]) -> list[list[tuple[str, tuple[str, ...]]]]:
        """Word terms of the other members of every synonym group one of whose members
        occurs in `stems` as a run of whole stems (compared diacritic-folded)."""
        return [terms for _, others in self._synonym_matches(stems) for terms in others]

    def _synonym_matches(
        self, stems: list[str]
    ) -> list[tuple[set[str], list[list[tuple[str, tuple[str, ...]]]]]]:
        """Per synonym group named in `stems`: the stems that named it, and the word terms
        of the group's other members."""
        if self._synonym_stems is None:
            self._synonym_stems = [
                [tuple(self._key(w) for w, _ in self.analyzer.word_terms(m)) for m in group]
                for group in self.synonyms
            ]
        folded = [self._key(s) for s in stems]
        out = []
        for group, members in zip(self.synonyms, self._synonym_stems, strict=True):
            named: set[str] = set()
            hit = set()
            for i, m in enumerate(members):
                for start in _run_starts(folded, m) if m else ():
                    named.update(stems[start : start + len(m)])
                    hit.add(i)
            if hit:
                others = [self.analyzer.word_terms(group[i]) for i in range(len(group))]
                out.append((named, [t for i, t in enumerate(others) if i not in hit]))
        return out

    def _key(self, stem: str) -> str:
        """Stem compared for synonyms: stemmed again (Snowball leaves "brandförsvar" from
        "brandförsvaret" but "brandförsv" from "brandförsvar") and folded."""
        return fold(self.analyzer.stem(stem))

    def synonym_equivalents(
        self, query: str
    ) -> list[tuple[frozenset[str], tuple[frozenset[str], ...]]]:
        """For coverage checks: (the query's stems that name a synonym group, the whole
        stems of each other member). A passage holding every word of another member covers
        the named words ("fordonsbränder" covers "bilbränder")."""
        stems = [whole for whole, _ in self.analyzer.word_terms(query)]
        return [
            (frozenset(named), tuple(frozenset(w for w, _ in terms) for terms in others))
            for named, others in self._synonym_matches(stems)
        ]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row (float32, zeros when nothing matches)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        bm25 = self._bm25
        if bm25 is None:
            return out
        data, indices, indptr = (bm25.scores[k] for k in ("data", "indices", "indptr"))
        n_terms = len(indptr) - 1
        for term, weight in self.query_terms(query).items():
            tid = bm25.vocab_dict.get(term)
            if tid is None or tid >= n_terms:
                continue
            lo, hi = indptr[tid], indptr[tid + 1]
            out[indices[lo:hi]] += np.float32(weight) * data[lo:hi]
            if bm25.nonoccurrence_array is not None:
                out += np.float32(weight) * bm25.nonoccurrence_array[tid]
        return out

    def search(
        self, query: str, k: int, *, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (row, score) with score > 0, best first; `allowed` filters before ranking.

        `allowed` is a boolean mask over rows or an array of row indices.
        """
        if k <= 0:
            return []
        scores = self.scores(query)
        rows = self._allowed_rows(allowed)
        if rows is not None:
            sub = scores[rows]
        else:
            rows, sub = np.arange(self.n_docs), scores
        positive = np.flatnonzero(sub > 0)
        if positive.size == 0:
            return []
        if positive.size > k:
            part = np.argpartition(-sub[positive], k - 1)[:k]
            positive = positive[part]
        order = np.lexsort((rows[positive], -sub[positive]))
        best = positive[order]
        return [(int(rows[i]), float(sub[i])) for i in best]

    def _allowed_rows(self, allowed: np.ndarray | None) -> np.ndarray | None:
        if allowed is None:
            return None
        arr = np.asarray(allowed)
        if arr.dtype == bool:
            if arr.shape != (self.n_docs,):
                raise InvalidInputError(
                    f"allowed mask has shape {arr.shape}, index has {self.n_docs} rows"
                )
            return np.flatnonzero(arr)
        rows = np.unique(arr.astype(np.int64))
        if rows.size and (rows[0] < 0 or rows[-1] >= self.n_docs):
            raise InvalidInputError("allowed row out of range")
        return rows

    def idf(self) -> dict[str, float]:
        """Stem -> BM25-style idf, ln(1 + (N - df + 0.5) / (df + 0.5)), for span scoring.

        Computed once and cached; treat the returned dict as read-only.
        """
        if self._idf is not None:
            return self._idf
        bm25 = self._bm25
        if bm25 is None:
            return {}
        indptr = np.asarray(bm25.scores["indptr"])
        df = np.diff(indptr)
        n = self.n_docs
        out: dict[str, float] = {}
        for term, tid in bm25.vocab_dict.items():
            if term and tid < df.size:
                out[term] = math.log(1.0 + (n - df[tid] + 0.5) / (df[tid] + 0.5))
        self._idf = out
        return out

    # ---- persistence --------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(folder / BM25_DIR), show_progress=False)
        meta = {
            **self.settings(),
            "part_weight": self.part_weight,
            "empty": self._bm25 is None,
            "analyzer_state": self.analyzer.to_json(),
        }
        (folder / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        path = Path(folder) / META_FILE
        if not path.is_file():
            raise IndexNotFoundError(f"no lexical index at {folder}")
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"lexical index format {meta.get('format_version')}, this program reads "
                f"{FORMAT_VERSION}: rebuild it with `samverkan-qa index`"
            )
        analyzer = SwedishAnalyzer.from_json(meta["analyzer_state"])
        bm25 = None
        if not meta["empty"]:
            # Memory-mapped: a query reads only its terms' postings.
            bm25 = bm25s.BM25.load(str(Path(folder) / BM25_DIR), mmap=True, show_progress=False)
        return cls(analyzer, bm25, int(meta["n_docs"]), part_weight=float(meta["part_weight"]))
