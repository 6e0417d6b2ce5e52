"""Rule- and dictionary-based Swedish fact extraction, with offsets for citing.

`extract_facts` reads a document's clean text (plus its title, file name and YAML front matter
as weaker hints) and returns, per field, a list of `Fact`s. A fact from the text keeps the exact
character offsets it came from (`text[fact.start:fact.end] == fact.quote`); a fact from a hint
has `start = end = None` and says where it came from in `source` ("title", "filename",
"front_matter"). Nothing is guessed: a field the text does not state stays empty, and when the
text states conflicting values (two different document dates, two periods for the same
agreement) all of them are returned.

Fields and their values:

- ``doc_type``: "pressmeddelande", "tjänsteutlåtande", "överenskommelse", "webbsida" or "lag".
- ``municipalities``: canonical municipality name, e.g. "Södertälje" (one fact per municipality).
- ``parties``: ``{"kind": ..., "name": ...}``, kind one of `PARTY_KINDS`: an organisation named
  in a sentence about the agreement or its signing (or in a bullet list under such a heading),
  its name normalised ("polisen" -> "Polismyndigheten", "Södertälje lokalpolisområde" ->
  "Lokalpolisområde Södertälje"; "Brandförsvaret" -> the one fire service the text names).
  An organisation named in a negated clause ("Räddningstjänsten ingår inte i avtalet", the
  negations in data/negationer.txt) is no party, nor listed from a looser mention elsewhere;
  only another sentence stating it signs or belongs to an agreement outweighs that.
- ``dates``: ``{"date": "YYYY-MM-DD", "role": ROLE}``, role one of `DATE_ROLES` or "". A
  document whose text and front matter state no date of its own (published, signed, decided,
  dated) takes its year from its file name, ``{"date": "YYYY", "role": "document"}`` with
  source "filename", when the name holds exactly one year (1990–2099) as a token of its own
  ("huddinge-2015-samverkansavtal.txt").
- ``validity``: ``{"from": ..., "to": ..., "noun": ...}``: ISO dates or years, None when open;
  noun is "avtal", "huvudavtal", "underavtal", "överenskommelse", "avsiktsförklaring" or None.
- ``diary_number``: e.g. "KS-2018/91.103".
- ``priority_areas``: one fact per listed fokusområde / prioriterat område.
- ``places``: kommundelar and other named areas, e.g. "Flemingsberg".
- ``people``: ``{"name": ..., "role": ...}``.

Layouts read: running text, bullet and numbered lists (with or without a description under
each item, or after a dash on the item's line), a heading line over a list, and tables turned
to text (cells split by tabs or " | ", Markdown tables included).

Names come from data files shipped in the package (samverkan_qa/data): kommuner.txt (all 290
municipalities), platser.txt (named parts of municipalities, each with its municipality) and
organisationer.txt (organisations and their short names, e.g. "Huge" -> "Huge Bostäder").
Municipal housing companies are also recognised by how they are named ("Tyresö Bostäder",
"AB Kalmarhem", "Nynäshamnsbostäder"). `FACTS_VERSION` changes when extraction does, so an
index re-extracts stored facts.

Dict values are plain dicts (so a `Fact` holding one is not hashable); JSON via
`facts_to_json` / `facts_from_json`.

`parse_filter` and `matches` filter documents on these facts (kommun=, giltig=, typ=, part=,
år=, doc=) before ranking.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

from samverkan_qa.errors import InvalidInputError

FIELDS: tuple[str, ...] = (
    "doc_type",
    "municipalities",
    "parties",
    "dates",
    "validity",
    "diary_number",
    "priority_areas",
    "places",
    "people",
)
DOC_TYPES: tuple[str, ...] = (
    "pressmeddelande",
    "tjänsteutlåtande",
    "överenskommelse",
    "webbsida",
    "lag",
)
DATE_ROLES: tuple[str, ...] = (
    "published",
    "signed",
    "decision",
    "document",
    "in_force",
    "valid_from",
    "valid_to",
)
PARTY_KINDS: tuple[str, ...] = (
    "kommun",
    "polis",
    "räddningstjänst",
    "bostadsbolag",
    "fastighetsbolag",
    "kriminalvård",
)
FILTER_KEYS: tuple[str, ...] = ("kommun", "giltig", "typ", "part", "år", "doc")
#: Bump when extraction changes what it finds: an index re-extracts the facts of unchanged
#: documents built with another version (no re-embedding).
FACTS_VERSION = 5


@dataclass(frozen=True)
class Fact:
    """One extracted value and the text it came from.

    `start`/`end` are offsets into the text given to `extract_facts`, or None for a fact taken
    from a hint (`source` is then "title", "filename" or "front_matter").
    """

    field: str
    value: str | dict[str, Any]
    quote: str
    start: int | None
    end: int | None
    source: str = "text"


@dataclass(frozen=True)
class FieldFilter:
    key: str
    value: str


# ---------------------------------------------------------------------------------------------
# Dictionaries

# Names come from the text files in samverkan_qa/data (package data), one entry a line, "#"
# starts a comment; a trailing "*" marks a name that is also a common word.


def _data_lines(name: str) -> list[str]:
    text = files("samverkan_qa").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line.strip()[0] != "#"]


def _flagged(entry: str) -> tuple[str, bool]:
    """ "Handen *" -> ("Handen", True); "Skogås" -> ("Skogås", False)."""
    entry = entry.strip()
    return (entry[:-1].strip(), True) if entry.endswith("*") else (entry, False)


_KOMMUNER = [_flagged(line) for line in _data_lines("kommuner.txt")]
#: All 290 Swedish municipalities (kommuner), canonical spelling (data/kommuner.txt).
MUNICIPALITIES: frozenset[str] = frozenset(name for name, _ in _KOMMUNER)
#: Municipality names that are also common words, first names or surnames: matched only as
#: "X kommun", "Xs kommun" or "X stad".
AMBIGUOUS_MUNICIPALITIES: frozenset[str] = frozenset(name for name, amb in _KOMMUNER if amb)


def _read_places() -> dict[str, tuple[str, bool]]:
    """data/platser.txt: place -> (its municipality, whether the name is also a word)."""
    out: dict[str, tuple[str, bool]] = {}
    for line in _data_lines("platser.txt"):
        municipality, _, names = line.partition(":")
        for entry in names.split(","):
            name, ambiguous = _flagged(entry)
            if name and name not in MUNICIPALITIES:
                out.setdefault(name, (municipality.strip(), ambiguous))
    return out


_PLACE_DATA = _read_places()
#: Named parts of municipalities (kommundelar, tätorter, stadsdelar) -> their municipality.
PLACE_MUNICIPALITY: dict[str, str] = {name: mun for name, (mun, _) in _PLACE_DATA.items()}
PLACES: frozenset[str] = frozenset(name for name, (_, amb) in _PLACE_DATA.items() if not amb)
#: Place names that are also common words: need "i/från/till/kring" before them.
_AMBIGUOUS_PLACES = frozenset(PLACE_MUNICIPALITY) - PLACES


def _read_organisations() -> dict[str, tuple[str, str]]:
    """data/organisationer.txt: every name and alias -> (party kind, canonical name)."""
    out: dict[str, tuple[str, str]] = {}
    for line in _data_lines("organisationer.txt"):
        kind, canonical, *rest = [cell.strip() for cell in line.split("|")]
        aliases = rest[0].split(",") if rest else []
        for name in [canonical, *aliases]:
            if name.strip():
                out[name.strip()] = (kind, canonical)
    return out


#: Named organisations (housing companies, fire and rescue services, ...): every name and
#: alias -> (party kind, canonical name).
ORGANISATIONS: dict[str, tuple[str, str]] = _read_organisations()

_NUMBER_WORDS = {
    "två": 2,
    "tre": 3,
    "fyra": 4,
    "fem": 5,
    "sex": 6,
    "sju": 7,
    "åtta": 8,
    "nio": 9,
    "tio": 10,
}
_MONTHS = {
    "januari": 1,
    "jan": 1,
    "februari": 2,
    "feb": 2,
    "mars": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "maj": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "augusti": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

# ---------------------------------------------------------------------------------------------
# Small text helpers

_SP = r"[^\S\n]"  # whitespace on one line
_UPPER = "A-ZÅÄÖÉÜ"
_LOWER = "a-zåäöéü"
_FOLD = str.maketrans("åäöéèüáàôø", "aaoeeuaaoo")


def _fold(value: str) -> str:
    """Case- and diacritic-insensitive key: "Södertälje" -> "sodertalje"."""
    return " ".join(value.casefold().translate(_FOLD).split())


_BOUNDARY_RE = re.compile(rf"\n{_SP}*\n|(?<=[.!?]){_SP}+(?=[{_UPPER}\-–•])|\n(?!{_SP}*[{_LOWER}])")


class _Sentences:
    """Sentence (or line, or paragraph) boundaries, for keeping cues and values together."""

    def __init__(self, text: str) -> None:
        self.n = len(text)
        marks = [(m.start(), m.end()) for m in _BOUNDARY_RE.finditer(text)]
        self.starts = [s for s, _ in marks]
        self.ends = [e for _, e in marks]

    def start(self, pos: int) -> int:
        i = bisect_right(self.ends, pos)
        return self.ends[i - 1] if i else 0

    def end(self, pos: int) -> int:
        i = bisect_right(self.starts, pos)
        return self.starts[i] if i < len(self.starts) else self.n


def _stripped_span(text: str, start: int, end: int, chars: str = " \t\n\u00a0") -> tuple[int, int]:
    while start < end and text[start] in chars:
        start += 1
    while end > start and text[end - 1] in chars:
        end -= 1
    return start, end


def _fact(field: str, value: str | dict[str, Any], text: str, start: int, end: int) -> Fact:
    return Fact(field, value, text[start:end], start, end)


# ---------------------------------------------------------------------------------------------
# Dates

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO = r"(?:19|20)\d\d-[01]\d-[0-3]\d"
_DMY = rf"\d{{1,2}}(?::[ae])?{_SP}+(?i:{_MONTH_RE})\.?{_SP}+(?:19|20)\d\d"
_YEAR = r"(?:19|20)\d\d(?!\d|-[01]\d-)"
_POINT = rf"(?:{_ISO}|{_DMY}|{_YEAR})(?!\d)"

_DATE_RE = re.compile(
    rf"(?<![\d\-/])(?:(?P<iso>{_ISO})|(?P<d>\d{{1,2}})(?::[ae])?{_SP}+"
    rf"(?P<m>(?i:{_MONTH_RE}))\.?{_SP}+(?P<y>(?:19|20)\d\d))(?![\d])"
)


def _parse_point(token: str) -> str | None:
    """ "2016-12-20" / "5 oktober 2020" / "2018" -> ISO date or year; None if not a real date."""
    token = " ".join(token.split())
    try:
        if re.fullmatch(r"\d{4}", token):
            return token
        if re.fullmatch(r"\d{4}-\d\d-\d\d", token):
            return date.fromisoformat(token).isoformat()
        m = re.fullmatch(rf"(\d{{1,2}})(?::[ae])? ({_MONTH_RE})\.? (\d{{4}})", token, re.I)
        if m:
            month = _MONTHS[m.group(2).casefold()]
            return date(int(m.group(3)), month, int(m.group(1))).isoformat()
    except ValueError:
        return None
    return None


_ROLE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(rf"(?:{pattern})[^\S\n]*(?:[:|][^\S\n]*)?(?:den[^\S\n]+)?$", re.I))
    for role, pattern in (
        ("published", r"\bpressmeddelande|\bpublicerad|\bpublicerat|\bpubliceringsdatum"),
        ("published", r"\bsenast[^\S\n]+(?:uppdaterad|ändrad)|\buppdaterad|\bpublicerad_datum"),
        ("published", r"(?:^|\n)(?:published|date)"),
        ("signed", r"\bundertecknade?s?|\bundertecknat|\bskrevs[^\S\n]+under|\bskrev[^\S\n]+under"),
        ("signed", r"\bsignerade?s?|\btecknades|\bundertecknad"),
        ("decision", r"\bbeslutade?s?|\bbeslutat|\bbeslutsdatum|\bbeslut(?:et)?[^\S\n]+fattades"),
        ("decision", r"\bantogs|\bfastställdes|\bsammanträdet?|\bbeslutad_datum"),
        ("document", r"(?:^|\n)[^\S\n]*datum[^\S\n]*:?[^\S\n]*\n?|\bdaterad|\bdaterat"),
        ("document", r"\butfärdad(?:e)?|\butfardad_datum"),
        ("in_force", r"\bträder[^\S\n]+i[^\S\n]+kraft|\bträdde[^\S\n]+i[^\S\n]+kraft"),
        ("in_force", r"\bikraftträdande(?:datum)?|\bikraft_datum|\bi[^\S\n]+kraft[^\S\n]+från"),
    )
)
_PRESS_CUE = re.compile(r"\b(?:pressmeddelande|publicerad)[^\S\n]*:?[^\S\n]*$", re.I)
_TODAY_SIGNED_RE = re.compile(
    rf"\b(?:i{_SP}?dag{_SP}+(?:undertecknar|undertecknade|skriver{_SP}+under|skrev{_SP}+under"
    rf"|tecknar|tecknade)|(?:undertecknar|undertecknade|skriver|skrev|tecknar|tecknade)"
    rf"{_SP}+(?:\w+{_SP}+){{0,3}}?i{_SP}?dag)\b",
    re.I,
)


def _date_role(text: str, start: int) -> tuple[str, bool]:
    """The role a cue right before a date gives it, and whether that cue is a press date."""
    before = text[max(0, start - 60) : start]
    for role, cue in _ROLE_CUES:
        if cue.search(before):
            return role, role == "published" and bool(_PRESS_CUE.search(before))
    return "", False


def _extract_dates(text: str, period_roles: dict[int, str]) -> list[Fact]:
    facts: list[Fact] = []
    press: list[tuple[int, int, str]] = []
    for m in _DATE_RE.finditer(text):
        value = _parse_point(m.group(0))
        if value is None:
            continue
        role, is_press = _date_role(text, m.start())
        if not role:
            role = period_roles.get(m.start(), "")
        if is_press:
            press.append((m.start(), m.end(), value))
        facts.append(_fact("dates", {"date": value, "role": role}, text, m.start(), m.end()))
    # "Idag undertecknar ..." in a press release: signed on the press release's date.
    if press:
        for cue in _TODAY_SIGNED_RE.finditer(text):
            p_start, p_end, value = min(press, key=lambda p: abs(p[0] - cue.start()))
            start, end = min(p_start, cue.start()), max(p_end, cue.end())
            facts.append(_fact("dates", {"date": value, "role": "signed"}, text, start, end))
            break
    facts.sort(key=lambda f: (f.start or 0, f.end or 0))
    return facts


# ---------------------------------------------------------------------------------------------
# Validity periods

_NOUN_RE = re.compile(
    r"(?i)\b\w*?(huvudavtal|underavtal|avtal|överenskommelse|avsiktsförklaring)"
    r"(?:en|et|ens|ets|erna|er|arna|ar|rna|ns|n|r|s|s?perioden|s?period|stiden|stid)?\b"
)
_VERB_RE = re.compile(r"(?i)\b(?:gäller|gälla|gällde|gällande|giltig\w*|löper|löpte)\b")
_LEAD_VERB = rf"(?P<verb>(?i:gäller|gälla|gällde|gällande|giltigt?|giltiga|löper|löpte){_SP}+)"
# A table row or form field turned to text: "Giltighetstid | ...", "Avtalsperiod:\t...".
_CELL_GAP = rf"{_SP}*(?:[:|\t]{_SP}*)+"
_LEAD_NOUN = (
    rf"(?P<lnoun>(?i:(?:(?:för|under){_SP}+)?(?:perioden|åren|tiden|avtalsperioden){_SP}+"
    rf"|med{_SP}+giltighet(?:stid)?{_SP}+"
    rf"|(?P<label>giltighets(?:tid|period)|avtals(?:tid|period)){_CELL_GAP}))"
)
_LEAD = rf"{_LEAD_VERB}?(?i:för{_SP}+)?{_LEAD_NOUN}?"
_FROMW = rf"(?i:från(?:{_SP}+och{_SP}+med)?|fr\.{_SP}?o\.{_SP}?m\.|fr{_SP}o{_SP}m)"
_TOW = rf"(?i:(?:fram{_SP}+)?till(?:{_SP}+och{_SP}+med)?|t\.{_SP}?o\.{_SP}?m\.|t{_SP}o{_SP}m)"
_DEN = rf"(?:(?i:den){_SP}+)?"
_EDGE_L = r"(?<![\w\-–/:.])"
_EDGE_R = r"(?![\w\-–/:])"

_PERIOD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "range",
        re.compile(
            rf"{_EDGE_L}{_LEAD}{_FROMW}{_SP}+{_DEN}(?P<a>{_POINT}){_SP}*(?:{_TOW}|[-–—])"
            rf"{_SP}*{_DEN}(?P<b>{_POINT}){_EDGE_R}"
        ),
    ),
    (
        "range",
        re.compile(
            rf"{_EDGE_L}{_LEAD}(?P<a>{_ISO}|{_DMY}|(?:19|20)\d\d){_SP}*[-–—]{_SP}*"
            rf"(?P<b>{_ISO}|{_DMY}|(?:19|20)\d\d){_EDGE_R}"
        ),
    ),
    (
        "range",
        re.compile(
            rf"{_EDGE_L}{_LEAD}(?i:mellan){_SP}+{_DEN}(?P<a>{_POINT}){_SP}+(?i:och){_SP}+"
            rf"{_DEN}(?P<b>{_POINT}){_EDGE_R}"
        ),
    ),
    ("to", re.compile(rf"{_EDGE_L}{_LEAD}{_TOW}{_SP}+{_DEN}(?P<b>{_POINT}){_EDGE_R}")),
    ("from", re.compile(rf"{_EDGE_L}{_LEAD}{_FROMW}{_SP}+{_DEN}(?P<a>{_POINT}){_EDGE_R}")),
)


def _noun_before(
    text: str, sentences: _Sentences, pos: int, max_dist: int
) -> tuple[str, int] | None:
    """The agreement noun nearest before `pos` in the same sentence, with its distance."""
    lo = max(sentences.start(pos), pos - max_dist)
    best = None
    for m in _NOUN_RE.finditer(text, lo, pos):
        best = (m.group(1).casefold(), pos - m.end())
    return best


_PRONOUN_SUBJECT_RE = re.compile(
    rf"(?:Den|Det|Denna|Detta){_SP}+(?:(?:ska|skall){_SP}+)?(?:gäller|gälla|gällde|löper)\b"
)


def _pronoun_noun(text: str, sentences: _Sentences, pos: int) -> tuple[str, int] | None:
    """ "Överenskommelsen ... . Den gäller till 2024": the noun of the sentence before."""
    s = sentences.start(pos)
    if s > pos or not _PRONOUN_SUBJECT_RE.match(text, s, sentences.end(pos)):
        return None
    best = None
    for m in _NOUN_RE.finditer(text, max(0, s - 300), s):
        best = (m.group(1).casefold(), 10_000)
    return best


def _extract_validity(text: str, sentences: _Sentences) -> tuple[list[Fact], dict[int, str]]:
    facts: list[Fact] = []
    taken: list[tuple[int, int]] = []
    roles: dict[int, str] = {}
    for kind, pattern in _PERIOD_PATTERNS:
        for m in pattern.finditer(text):
            start, end = _stripped_span(text, m.start(), m.end())
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            groups = m.groupdict()
            a = _parse_point(groups["a"]) if groups.get("a") else None
            b = _parse_point(groups["b"]) if groups.get("b") else None
            if (kind in ("range", "from") and a is None) or (kind in ("range", "to") and b is None):
                continue
            if (
                a
                and b
                and (a[:4] > b[:4] or (len(a) == len(b) and a > b) or int(b[:4]) - int(a[:4]) > 30)
            ):
                taken.append((start, end))  # backwards or too long: no period, nor parts of one
                continue
            label = bool(m.group("label"))  # "Giltighetstid: ...": a period by its name
            lead_verb = label or bool(m.group("verb"))
            lead_verb = lead_verb or "giltighet" in (m.group("lnoun") or "").lower()
            sent_lo = max(sentences.start(start), start - 60)
            verb_before = lead_verb or bool(_VERB_RE.search(text, sent_lo, start))
            own = _NOUN_RE.search(m.group("label") or "")  # "Avtalsperiod" names its noun
            noun = (
                (own.group(1).casefold(), 0)
                if own
                else _noun_before(text, sentences, start, 250)
                or _pronoun_noun(text, sentences, start)
            )
            if noun is None and not label:  # a period of something else (a strategy, a job)
                continue
            if kind == "to" and not (verb_before or noun[1] <= 15):
                continue
            if kind == "from" and not (
                lead_verb or _VERB_RE.search(text, max(sent_lo, start - 30), start)
            ):
                continue
            taken.append((start, end))
            if a:
                roles[m.start("a")] = "valid_from"
            if b:
                roles[m.start("b")] = "valid_to"
            value = {"from": a, "to": b, "noun": noun[0] if noun else None}
            facts.append(_fact("validity", value, text, start, end))
    facts.sort(key=lambda f: f.start or 0)
    return facts, roles


def _dedupe_validity(facts: list[Fact]) -> list[Fact]:
    """One fact per (from, to, noun); a noun-less period is dropped when the same period is
    also stated with its noun."""
    values = [f.value for f in facts if isinstance(f.value, dict)]
    with_noun = {(v["from"], v["to"]) for v in values if v["noun"]}
    seen: set[tuple[Any, ...]] = set()
    out = []
    for f in facts:
        v = f.value
        assert isinstance(v, dict)
        key = (v["from"], v["to"], v["noun"])
        if key in seen or (v["noun"] is None and (v["from"], v["to"]) in with_noun):
            continue
        seen.add(key)
        out.append(f)
    return out


# ---------------------------------------------------------------------------------------------
# Document type

_TYPE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pressmeddelande", re.compile(r"(?m)^\W{0,3}(?:Pressmeddelande|PRESSMEDDELANDE)\b")),
    (
        "tjänsteutlåtande",
        re.compile(
            r"(?m)^\W{0,3}(?:Tjänsteutlåtande|TJÄNSTEUTLÅTANDE)\b|\bFörslag till beslut\b"
            r"|^\W{0,3}(?:Kommunstyrelsens|Kommunfullmäktiges|Nämndens|\w+nämndens) beslut\b"
            r"|\b[Tt]jänsteutlåtande,? daterat|^Beskrivning av ärendet\b"
        ),
    ),
    (
        "överenskommelse",
        re.compile(
            r"\b(?:Denna|Detta) (?:samverkans)?(?:överenskommelse|avtal) (?:gäller|träder"
            r"|ingås|har ingåtts|reglerar|omfattar)\b"
            r"|\bParterna (?:förbinder sig|åtar sig|är överens om att)\b"
            r"|(?m:^\W{0,3}Underskrifter\b)"
        ),
    ),
    (
        "webbsida",
        re.compile(
            r"\bHoppa till (?:huvud)?innehållet\b|\bSenast (?:uppdaterad|ändrad)\b"
            r"|\bVi använder (?:kakor|cookies)\b|\bKakor på \S+\.se\b"
        ),
    ),
    (
        "lag",
        re.compile(
            r"\bLag \(\[?\d{4}:\d+|\bSFS \d{4}:\d+|(?m:^beteckning:[ \t]*\d{4}:\d+)"
            r"|(?m:^\W{0,4}1 §[ \t]*\n(?=(?:.*\n)*?\W{0,4}2 §[ \t]*\n(?:.*\n)*?\W{0,4}3 §))"
        ),
    ),
)
_FILENAME_TYPES = (
    ("pressmeddelande", "pressmeddelande"),
    ("tjansteutlatande", "tjänsteutlåtande"),
    ("webbsida", "webbsida"),
    ("webbplats", "webbsida"),
    ("sfs", "lag"),
    ("lag", "lag"),
)


def _extract_doc_type(
    text: str, title: str, filename: str, front_matter: Mapping[str, Any]
) -> list[Fact]:
    found: list[tuple[int, str, re.Match[str]]] = []
    for doc_type, cue in _TYPE_CUES:
        m = cue.search(text)
        if m:
            found.append((m.start(), doc_type, m))
    if found:
        out = []
        for _, doc_type, m in sorted(found, key=lambda t: t[0]):
            start, end = _stripped_span(text, m.start(), m.end(), " \t\n#*-•\u00a0")
            out.append(_fact("doc_type", doc_type, text, start, end))
        return out
    designation = str(front_matter.get("beteckning", ""))
    if re.fullmatch(r"\d{4}:\d+", designation.strip()):
        return [Fact("doc_type", "lag", designation, None, None, "front_matter")]
    if title:
        hits = [(doc_type, cue.search(title)) for doc_type, cue in _TYPE_CUES]
        got = sorted((m.start(), t, m.group(0)) for t, m in hits if m)
        if got:
            return [Fact("doc_type", got[0][1], got[0][2].strip(), None, None, "title")]
    tokens = re.split(r"[^a-z0-9]+", _fold(filename))
    for token, doc_type in _FILENAME_TYPES:
        if token in tokens or (len(token) > 3 and any(token in t for t in tokens)):
            return [Fact("doc_type", doc_type, token, None, None, "filename")]
    return []


# ---------------------------------------------------------------------------------------------
# Municipalities and places


def _genitive_alternatives(names: Iterable[str]) -> str:
    parts = []
    for name in sorted(names, key=len, reverse=True):
        esc = re.escape(name)
        parts.append(esc if name[-1] in "sxz" else esc + "s?")
    return "|".join(parts)


_MUN_TITLE_RE = re.compile(
    rf"(?<![\w@/.\-])(?P<name>{_genitive_alternatives(MUNICIPALITIES)})"
    rf"(?![{_LOWER}0-9_@]|-\w|\.[{_LOWER}]{{2}})"
)
_MUN_UPPER_RE = re.compile(
    rf"(?<![\w@/.\-])(?P<name>{_genitive_alternatives(m.upper() for m in MUNICIPALITIES)})"
    r"(?![\w@\-])"
)
_MUN_BY_FORM = {m: m for m in MUNICIPALITIES} | {m.upper(): m for m in MUNICIPALITIES}
_MUN_KOMMUN_AFTER = re.compile(r"(?i)^[ \t\u00a0]+(?:kommun|stad)(?:s|en)?\b")
_MUN_EXCLUDE_BEFORE = re.compile(
    r"(?i)(?:\bpolisområde\w*|\bpolisregion\w*|\bregion)\s+(?:i\s+)?(?:[^\W\d_]+/)?$"
)
_MUN_EXCLUDE_AFTER = re.compile(
    r"(?i)^(?:\s+(?:syd|nord|väst|öst|mitt|city|län|lokalpolisområde\w*|polisområde\w*)\b|/)"
)


def _municipality_mentions(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, canonical name, followed by "kommun"/"stad") for each mention."""
    out = []
    for regex in (_MUN_TITLE_RE, _MUN_UPPER_RE):
        for m in regex.finditer(text):
            surface = m.group("name")
            name = _MUN_BY_FORM.get(surface) or _MUN_BY_FORM.get(surface[:-1])
            if name is None:
                continue
            after = text[m.end() : m.end() + 40]
            before = text[max(0, m.start() - 40) : m.start()]
            has_kommun = bool(_MUN_KOMMUN_AFTER.match(after))
            if name in AMBIGUOUS_MUNICIPALITIES and not has_kommun:
                continue
            if name != "Gotland" and (
                _MUN_EXCLUDE_BEFORE.search(before) or _MUN_EXCLUDE_AFTER.match(after)
            ):
                continue
            out.append((m.start(), m.end(), name, has_kommun))
    out.sort()
    return out


def _extract_municipalities(text: str, title: str) -> list[Fact]:
    """One fact per municipality: its first "X kommun" mention, else its first mention."""
    best: dict[str, tuple[int, int, bool]] = {}
    for start, end, name, has_kommun in _municipality_mentions(text):
        if has_kommun:
            suffix = _MUN_KOMMUN_AFTER.match(text[end : end + 40])
            assert suffix is not None
            end += suffix.end()
        if name not in best or (has_kommun and not best[name][2]):
            best[name] = (start, end, has_kommun)
    facts = [_fact("municipalities", name, text, s, e) for name, (s, e, _) in best.items()]
    if not facts and title:
        seen = []
        for start, end, name, _ in _municipality_mentions(title):
            if name not in seen:
                seen.append(name)
                facts.append(Fact("municipalities", name, title[start:end], None, None, "title"))
    facts.sort(key=lambda f: f.start or 0)
    return facts


_PLACE_NAMES = sorted(PLACES | _AMBIGUOUS_PLACES, key=len, reverse=True)
_PLACE_RE = re.compile(
    rf"(?<![\w\-])(?P<name>{'|'.join(re.escape(p) for p in _PLACE_NAMES)})"
    rf"s?(?![{_LOWER}0-9_@\-])"
)
_CAP_NAME = rf"[{_UPPER}][{_LOWER}]+(?:[ -](?:gård|centrum|backe|[{_UPPER}][{_LOWER}]+))?"
_PLACE_LIST_RE = re.compile(
    rf"\b(?i:kommundel(?:en|arna)|stadsdel(?:en|arna)|bostadsområde(?:t|na)|tätorte(?:n|rna))"
    rf"{_SP}+(?P<list>{_CAP_NAME}(?:{_SP}*,{_SP}*{_CAP_NAME})*(?:{_SP}+(?:och|samt){_SP}+"
    rf"{_CAP_NAME})?)"
)


def _extract_places(text: str) -> list[Fact]:
    found: dict[str, tuple[int, int]] = {}
    for m in _PLACE_RE.finditer(text):
        name = m.group("name")
        if name in _AMBIGUOUS_PLACES and not re.search(
            r"(?i)\b(?:i|från|till|kring)\s+$", text[max(0, m.start() - 10) : m.start()]
        ):
            continue
        found.setdefault(name, (m.start(), m.start() + len(name)))
    for m in _PLACE_LIST_RE.finditer(text):
        for item in re.finditer(_CAP_NAME, m.group("list")):
            name = item.group(0)
            if name in MUNICIPALITIES or name in ("Och", "Samt"):
                continue
            start = m.start("list") + item.start()
            found.setdefault(name, (start, start + len(name)))
    facts = [_fact("places", name, text, s, e) for name, (s, e) in found.items()]
    facts.sort(key=lambda f: f.start or 0)
    return facts


# ---------------------------------------------------------------------------------------------
# Parties

_MUN_ANY = "|".join(
    re.escape(n)
    for n in sorted(MUNICIPALITIES | {m.upper() for m in MUNICIPALITIES}, key=len)[::-1]
)
_MUN_ONE_WORD = "|".join(
    re.escape(n) for n in sorted(MUNICIPALITIES, key=len, reverse=True) if n.isalpha()
)
_DIRECTION = r"(?:\s+(?i:syd|nord|väst|öst|mitt|city)\b)?"
_AREA_NAME = rf"[{_UPPER}][{_LOWER}]+(?:/[{_UPPER}][{_LOWER}]+)*{_DIRECTION}"
_PARTY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "kommun",
        re.compile(
            rf"(?<![\w@/.\-])(?P<mun>{_MUN_ANY})s?[ \t\u00a0]+(?P<suffix>(?i:kommun|stad))(?:s)?\b"
            r"|\bRegion Gotland\b"
        ),
    ),
    ("polis", re.compile(rf"\b(?i:lokalpolisområde)t?\s+(?P<area>{_AREA_NAME})")),
    ("polis", re.compile(rf"\b(?P<area>[{_UPPER}][{_LOWER}]+)\s+(?i:lokalpolisområde)\b")),
    (
        "polis",
        re.compile(rf"\b(?P<region>(?i:polisområde|polisregion))t?\s+(?P<area>{_AREA_NAME})"),
    ),
    ("polis", re.compile(r"\b(?:Polismyndigheten|Polismyndighetens|[Pp]olisen|[Pp]olisens)\b")),
    (
        "räddningstjänst",
        re.compile(rf"\b(?P<area>[{_UPPER}][{_LOWER}]+s)\s+(?i:brandförsv[aä]rsförbund)\w*"),
    ),
    # Named organisations from data/organisationer.txt; the kind comes from the data.
    (
        "named",
        re.compile(
            rf"(?<![\w\-])(?P<org>{_genitive_alternatives(ORGANISATIONS)})(?:{_SP}+AB)?"
            r"(?![\w\-]|\.\w)"
        ),
    ),
    ("räddningstjänst", re.compile(r"\b(?P<generic>[Rr]äddningstjänsten|[Bb]randförsvaret)\b")),
    # Municipal housing companies by how they are named: "Tyresö Bostäder", "AB Kalmarhem",
    # "Nynäshamnsbostäder", "Botkyrkabyggen" (the last two only after a municipality's name).
    (
        "bostadsbolag",
        re.compile(
            rf"\b(?P<name>[{_UPPER}][{_LOWER}]+ Bostäder)(?:{_SP}+AB)?\b"
            rf"|\bAB (?P<abname>[{_UPPER}][{_LOWER}]+hem)\b"
            rf"|(?<![\w\-])(?:AB )?(?P<munname>(?:{_MUN_ONE_WORD})s?(?:hem|bostäder|byggen|hus))\b"
        ),
    ),
    (
        "fastighetsbolag",
        re.compile(
            rf"\b(?P<name>[{_UPPER}][{_LOWER}]+ (?:Samhällsfastigheter|Kommunfastigheter))\b"
        ),
    ),
    ("kriminalvård", re.compile(r"\b(?i:kriminalvården|kriminalvårdens)\b")),
)


def _party_name(kind: str, m: re.Match[str]) -> tuple[str, str] | None:
    """(canonical name, dedupe key) of a party mention, None to skip it."""
    groups = m.groupdict()
    if kind == "kommun":
        if not groups.get("mun"):
            return "Region Gotland", "Gotland"
        mun = _MUN_BY_FORM[groups["mun"]]
        genitive = m.group(0)[len(groups["mun"]) : m.start("suffix") - m.start()].strip().lower()
        return f"{mun}{genitive} {groups['suffix'].lower()}", mun
    if kind == "polis":
        area = groups.get("area")
        if area is None:
            return "Polismyndigheten", "Polismyndigheten"
        area = re.sub(r"\s+", " ", area)
        parts = area.split(" ")
        area = " ".join([parts[0]] + [p.lower() for p in parts[1:]])
        if groups.get("region"):
            prefix = "Polisregion" if groups["region"].lower() == "polisregion" else "Polisområde"
            return f"{prefix} {area}", f"{prefix} {area}"
        if area.split("/")[0] not in MUNICIPALITIES:
            return None
        return f"Lokalpolisområde {area}", f"Lokalpolisområde {area}"
    if kind == "räddningstjänst":
        if groups.get("generic"):
            generic = groups["generic"].capitalize()
            return generic, "generic:" + generic
        if groups.get("area"):
            name = f"{groups['area']} brandförsvarsförbund"
            return name, name
        return m.group(0), m.group(0)
    if kind == "bostadsbolag":
        name = groups.get("name") or groups.get("abname") or groups["munname"]
        name = ORGANISATIONS.get(name, (kind, name))[1]  # "Telgebostäder" -> "Telge Bostäder"
        return name, name
    if kind == "fastighetsbolag":
        return groups["name"], groups["name"]
    return "Kriminalvården", "Kriminalvården"


_PARTY_CUE = re.compile(
    r"(?i)avtal|överenskommelse|avsiktsförklaring|underteckn|\bparter"
    r"|\bskr(?:ev|ivit|evs|iver)\s+(?:\w+\s+)?under\b|\bteckna(?:de|t|r)?\b|\bing(?:ick|ått|år)\b"
)
_BULLET_LINE = re.compile(rf"{_SP}*[-•*▪·]{_SP}+")


_PARTY_HEADER = re.compile(r"(?i)\b(?:avtals)?part(?:er|erna|na)?\b|\bundertecknare\b")


def _table_header(
    text: str, line_start: int, tops: dict[int, str | None] | None = None
) -> str | None:
    """The first row of the table (cells split by tabs or " | ") holding the line at
    `line_start`; None when that line is not a table row. `tops` carries what earlier calls
    learnt about the lines above, so a table of n rows costs O(n), not O(n²)."""
    tops = {} if tops is None else tops
    while True:
        line = _line_at(text, line_start)
        if not _CELL_SEP.search(line.strip(" |")):
            return None
        own = None if _RULE_ROW.match(line) else line
        if line_start == 0:
            return own
        above = text.rfind("\n", 0, line_start - 1) + 1
        if own is not None:
            top = _block_top(text, above, tops)
            return own if top is None else top
        line_start = above  # a rule row before any header: keep walking up


def _line_at(text: str, line_start: int) -> str:
    nl = text.find("\n", line_start)
    return text[line_start : len(text) if nl < 0 else nl]


def _block_top(text: str, line_start: int, tops: dict[int, str | None]) -> str | None:
    """The topmost non-rule row of the run of table and rule rows that goes up from
    `line_start`; None when there is none. Remembered per line in `tops`."""
    path: list[tuple[int, str | None]] = []
    top: str | None = None
    while line_start not in tops:
        line = _line_at(text, line_start)
        if not _CELL_SEP.search(line.strip(" |")) and not _RULE_ROW.match(line):
            tops[line_start] = None  # the run ends above this line
            break
        path.append((line_start, None if _RULE_ROW.match(line) else line))
        if line_start == 0:
            break
        line_start = text.rfind("\n", 0, line_start - 1) + 1
    else:
        top = tops[line_start]
    for start, own in reversed(path):  # from the top of the run down to where we began
        top = top if top is not None else own
        tops[start] = top
    return top


# A negation holds for its own clause: "Kommunen och polisen tecknar avtalet, men
# räddningstjänsten ingår inte." names two parties and denies one.
_NEGATION = re.compile(
    r"(?i)(?<!\w)(?:" + "|".join(re.escape(w) for w in _data_lines("negationer.txt")) + r")(?!\w)"
)
_CLAUSE_BREAK = re.compile(r"(?i);|,?\s+(?:men|medan|utan)\b")
# A subordinate clause ("Polisen, som inte haft något avtal förut, undertecknade …") neither
# negates the clause around it nor takes its negation from it.
_SUBCLAUSE = re.compile(r"(?i),\s*(?:som|där|vilket|vilken|eftersom|när|då|om)\b[^,;]*(?:,|$)")
# Whoever is named after "mellan" is a party of the agreement the sentence is about, whatever
# its verb says ("Avtalet mellan kommunen och polisen gäller inte längre").
_BETWEEN = re.compile(r"(?i)\bmellan\b")
# Words that state membership or signing, not just mention an agreement: a party so stated
# stays one even when another sentence says it is not (the text then speaks of two agreements).
_MEMBERSHIP_CUE = re.compile(
    r"(?i)underteckn|\bpart(?:er|erna|na)?\b|\bskr(?:ev|ivit|evs|iver)\s+(?:\w+\s+)?under\b"
    r"|\bteckna(?:de|t|r|s)?\b|\bing(?:ick|ått|år)\b|\bmellan\b"
)

#: What a sentence, table or list says of an organisation it names (`_party_context`).
STATED, MENTIONED, DENIED = "stated", "mentioned", "denied"


def _denies(clause: str, rel: int) -> bool:
    between = _BETWEEN.search(clause)
    if between is not None and between.end() <= rel:
        return False
    return bool(_NEGATION.search(clause))


def _negated_at(
    text: str, start: int, end: int, pos: int, seen: dict[tuple[Any, ...], Any]
) -> bool:
    """Is the clause holding `pos` (within the sentence start..end) negated?"""
    key = ("breaks", start, end)
    if key not in seen:  # once per sentence, so a long paragraph is not searched per mention
        seen[key] = [(m.start(), m.end()) for m in _CLAUSE_BREAK.finditer(text, start, end)]
    breaks = seen[key]
    i = bisect_right([b for b, _ in breaks], pos)
    cs = breaks[i - 1][1] if i else start
    ce = breaks[i][0] if i < len(breaks) else end
    ckey = ("clause", cs, ce)
    if ckey not in seen:
        clause = text[cs:ce]
        subs = [(m.start(), m.end()) for m in _SUBCLAUSE.finditer(clause)]
        masked = _SUBCLAUSE.sub(lambda m: " " * len(m.group()), clause)
        seen[ckey] = (clause, subs, masked)
    clause, subs, masked = seen[ckey]
    rel = pos - cs
    j = bisect_right([a for a, _ in subs], rel)
    if j and rel < subs[j - 1][1]:
        a, b = subs[j - 1]
        return _denies(clause[a:b], rel - a)
    return _denies(masked, rel)


def _party_context(
    text: str, sentences: _Sentences, pos: int, seen: dict[tuple[Any, ...], Any] | None = None
) -> str | None:
    """What is said of an organisation named at `pos`: STATED a party (a sentence about signing
    or membership, a table under a "Part" heading, a list under such a sentence), MENTIONED in
    a sentence about an agreement, DENIED (the clause is negated: "Räddningstjänsten ingår inte
    i avtalet"), or None when nothing ties it to an agreement.

    `seen` remembers each sentence's and line's answer: a 200,000-character paragraph with
    thousands of mentions would otherwise be searched once per mention (quadratic time)."""
    seen = {} if seen is None else seen
    span = (sentences.start(pos), sentences.end(pos))
    key = ("cue", *span)
    if key not in seen:
        cue = _PARTY_CUE.search(text, *span)
        seen[key] = cue and (STATED if _MEMBERSHIP_CUE.search(text, *span) else MENTIONED)
    if seen[key]:
        return DENIED if _negated_at(text, *span, pos, seen) else seen[key]
    line_start = text.rfind("\n", 0, pos) + 1
    if ("header", line_start) not in seen:  # one search of a long line, not one per mention
        tops = seen.setdefault(("tops",), {})
        seen[("header", line_start)] = _table_header(text, line_start, tops)
    header = seen[("header", line_start)]
    if header is not None and _PARTY_HEADER.search(header):
        return STATED
    if not _BULLET_LINE.match(text, line_start):
        return None
    for _ in range(40):
        if line_start == 0:
            return None
        prev_start = text.rfind("\n", 0, line_start - 1) + 1
        line = text[prev_start : line_start - 1]
        if line.strip() and not _BULLET_LINE.match(line):
            return _heading_context(line)
        line_start = prev_start
    return None


def _heading_context(line: str) -> str | None:
    """What a list's heading line says of the organisations listed under it."""
    if not _PARTY_CUE.search(line):
        return None
    if _NEGATION.search(line):  # "Aktörer som inte ingår i avtalet:"
        return DENIED
    return STATED if _MEMBERSHIP_CUE.search(line) else MENTIONED


def _extract_parties(text: str, sentences: _Sentences) -> list[Fact]:
    found: dict[tuple[str, str], Fact] = {}
    named_rescue: list[str] = []  # named fire and rescue services mentioned anywhere
    stated: set[tuple[str, str]] = set()
    denied: set[tuple[str, str]] = set()
    seen: dict[tuple[Any, ...], Any] = {}
    for pattern_kind, pattern in _PARTY_PATTERNS:
        for m in pattern.finditer(text):
            kind = pattern_kind
            if kind == "named":  # "Huges" -> ("bostadsbolag", "Huge Bostäder")
                org = m.group("org")
                kind, name = ORGANISATIONS.get(org) or ORGANISATIONS[org[:-1]]
                key = name
            else:
                named = _party_name(kind, m)
                if named is None:
                    continue
                name, key = named
            is_named_rescue = kind == "räddningstjänst" and not key.startswith("generic:")
            if is_named_rescue and name not in named_rescue:
                named_rescue.append(name)
            context = _party_context(text, sentences, m.start(), seen)
            if context is None:
                continue
            if context == DENIED:
                denied.add((kind, key))
                continue
            if context == STATED:
                stated.add((kind, key))
            fact = _fact("parties", {"kind": kind, "name": name}, text, m.start(), m.end())
            if (kind, key) not in found or m.start() < (found[(kind, key)].start or 0):
                found[(kind, key)] = fact
    return _resolve_parties(found, named_rescue, denied, stated)


def _resolve_parties(
    found: dict[tuple[str, str], Fact],
    named_rescue: list[str],
    denied: set[tuple[str, str]],
    stated: set[tuple[str, str]],
) -> list[Fact]:
    """The parties in text order: "Brandförsvaret" read as the one fire service the text names,
    and none the text says is not a party (unless another sentence states that it is one)."""
    generic_denied = any(k == "räddningstjänst" and key.startswith("generic:") for k, key in denied)
    if generic_denied and len(named_rescue) == 1:  # "Räddningstjänsten ingår inte" = the one
        denied = denied | {("räddningstjänst", named_rescue[0])}
    denied = denied - stated
    found = {k: f for k, f in found.items() if k not in denied}
    named_party = any(k == "räddningstjänst" and not key.startswith("generic:") for k, key in found)
    facts = []
    for (kind, key), f in found.items():
        if kind == "räddningstjänst" and key.startswith("generic:"):
            if named_party:
                continue
            if len(named_rescue) == 1:  # "Brandförsvaret" = the one named in the document
                if (kind, named_rescue[0]) in denied:
                    continue
                f = Fact(f.field, {"kind": kind, "name": named_rescue[0]}, f.quote, f.start, f.end)
        facts.append(f)
    facts.sort(key=lambda f: f.start or 0)
    return facts


# ---------------------------------------------------------------------------------------------
# Diary number

_DIARY_RE = re.compile(
    rf"(?<![^\W\d_])(?i:diarienummer|diarienr|dnr|ärendenummer|ärendenr)\.?{_SP}*[:|]?\s*"
    rf"(?P<no>(?:[{_UPPER}]{{1,10}}[ -]?)?\d{{2,4}}[/:.\-]\d+(?:[./:\-]\d+)*"
    rf"(?:/[{_UPPER}]{{1,6}}(?![\w]))?)"
)


def _extract_diary(text: str) -> list[Fact]:
    found: dict[str, Fact] = {}
    for m in _DIARY_RE.finditer(text):
        value = m.group("no")
        found.setdefault(value, _fact("diary_number", value, text, m.start("no"), m.end("no")))
    return list(found.values())


# ---------------------------------------------------------------------------------------------
# Priority areas

_PRIORITY_CUE = re.compile(
    r"(?i)prioriter|fokusområd|fokusera|insatsområd|prioriteringsområd|utvecklingsområd"
)
_COUNT_RE = re.compile(
    rf"(?i)\b(?P<n>{'|'.join(_NUMBER_WORDS)}|\d{{1,2}}){_SP}+(?:\w+{_SP}+)?"
    r"(?:fokusområden|områden|prioriteringar|insatsområden|prioriteringsområden)\b"
)
_COUNT_COMMA_RE = re.compile(
    rf"(?i)\b(?P<n>{'|'.join(_NUMBER_WORDS)}|\d{{1,2}}){_SP}+(?:\w+{_SP}+)?"
    rf"(?:fokusområden|prioriterade{_SP}+områden|prioriteringsområden|insatsområden)"
    rf"{_SP}*,{_SP}*"
)
_PRIORITY_OF_RE = re.compile(
    rf"(?i)\bprioriter\w*{_SP}+(?:av|på){_SP}+(?:områdena|följande{_SP}+områden){_SP}+"
)
_BULLET_START = re.compile(rf"^{_SP}*(?:[-•*▪·]|\d{{1,2}}[.)]){_SP}+")
_BULLET_MID = re.compile(rf"(?<=[.!?]){_SP}+-{_SP}+")
_TAIL_CUT = re.compile(
    rf"{_SP}+(?:i|inom|under|för|med|på|genom|tillsammans|som){_SP}*(?:\w|$)", re.I
)
_AREA_STOP = frozenset(
    ["i", "och", "den", "det", "de", "av", "på", "för", "mot", "med", "samt", "en", "ett", "till"]
)


def _count(intro: str) -> int | None:
    m = _COUNT_RE.search(intro)
    if not m:
        return None
    n = m.group("n").casefold()
    return _NUMBER_WORDS.get(n) or int(n)


def _top_level_splits(s: str, sep: str) -> list[int]:
    """Offsets in `s` where `sep` occurs outside parentheses."""
    out, depth, i = [], 0, 0
    while i < len(s):
        ch = s[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and s.startswith(sep, i):
            out.append(i)
            i += len(sep)
            continue
        i += 1
    return out


def _split_inline(s: str, count: int | None) -> list[tuple[int, int]]:
    """Items of an inline Swedish list "A, B, C och D" / "A, B samt C, D" / "A; B; C samt D"."""
    spans: list[tuple[int, int]] = []
    semi = _top_level_splits(s, ";")
    samt = [] if semi else _top_level_splits(s, " samt ")
    head_end = samt[-1] if samt else len(s)
    pos = 0
    for cut in [*(semi or _top_level_splits(s[:head_end], ",")), head_end]:
        spans.append((pos, cut))
        pos = cut + 1
    if samt:
        spans.append((head_end + len(" samt "), len(s)))
    elif count is None or len(spans) < count:
        last_s, last_e = spans[-1]
        last = s[last_s:last_e]
        sep = " samt " if semi and _top_level_splits(last, " samt ") else " och "
        cuts = _top_level_splits(last, sep)
        if cuts:
            cut = last_s + cuts[-1]
            spans[-1:] = [(last_s, cut), (cut + len(sep), last_e)]
    spans = [_stripped_span(s, a, b, " \t\n\u00a0,;.") for a, b in spans]
    return _merge_acronyms(s, [sp for sp in spans if sp[0] < sp[1]])


def _merge_acronyms(s: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join "Alkohol, Narkotika, Doping, Tobak och Spel (ANDTS)" back into one item."""
    out = list(spans)
    i = 0
    while i < len(out):
        a, b = out[i]
        item = s[a:b]
        acr = re.search(r"\(([A-ZÅÄÖ]{3,})\)\s*$", item)
        if acr:
            caps = [w[0] for w in re.findall(r"\b[A-ZÅÄÖ][a-zåäö]+", item[: acr.start()])]
            letters = acr.group(1)
            own = "".join(caps)
            if own and letters.endswith(own) and len(own) < len(letters):
                need = letters[: -len(own)]
                j = i
                while need and j > 0:
                    prev = s[out[j - 1][0] : out[j - 1][1]]
                    words = re.findall(r"\b[A-ZÅÄÖ][a-zåäö]+", prev)
                    if not words or words[-1][0] != need[-1]:
                        break
                    need = need[:-1]
                    j -= 1
                if not need and j < i:
                    out[j : i + 1] = [(out[j][0], b)]
                    i = j
        i += 1
    return out


# An item's own description on its line: "Narkotika – arbetet mot försäljning i centrum".
_ITEM_DESCRIPTION = re.compile(rf"{_SP}+[–—-]{_SP}+|:{_SP}+")
#: Description lines allowed under one item of a list whose items have descriptions.
MAX_DESCRIPTION_LINES = 4


def _item_span(line: str, a: int, b: int) -> tuple[int, int]:
    """The item's name: a short head before " – " or ": " when a description of four words or
    more follows ("Trygghet – arbetet mot brott" keeps its subtitle: three words)."""
    cut = _ITEM_DESCRIPTION.search(line, a, b)
    if cut and 0 < len(line[a : cut.start()].split()) <= 6 and len(line[cut.end() : b].split()) > 3:
        b = cut.start()
    return _stripped_span(line, a, b, " \t\u00a0,;.*")


def _marker_style(marker: str) -> str:
    """ "1." and "2)" -> "1." / "1)"; "-", "•" -> themselves: one list keeps one style."""
    marker = marker.strip()
    return re.sub(r"\d+", "1", marker)


def _bullet_items(text: str, pos: int, count: int | None) -> list[tuple[int, int]]:
    """Items of a bullet or numbered list starting at or after `pos` (after its intro).

    A list whose first item is followed by plain lines has descriptions under its items: those
    lines are skipped (up to MAX_DESCRIPTION_LINES per item). Any list ends at a marker of
    another style, a numbering that does not continue, an intro ending in ":" or a longer
    stretch of text; a list without descriptions ends at its first plain line.
    """
    items: list[tuple[int, int]] = []
    style: str | None = None
    number: int | None = None
    described: bool | None = None  # decided by what follows the first item
    plain = 0  # plain lines since the last item
    while pos < len(text):
        nl = text.find("\n", pos)
        line_end = len(text) if nl < 0 else nl
        line = text[pos:line_end]
        found: list[tuple[int, int]] = []
        marks = []
        m = _BULLET_START.match(line)
        if m:
            marker = line[: m.end()].strip()
            if style is not None and _marker_style(marker) != style:
                break
            style = _marker_style(marker)
            digits = re.match(r"\d+", marker)
            if digits:
                if number is not None and int(digits.group(0)) != number + 1:
                    break
                number = int(digits.group(0))
            marks.append(m.end())
        marks += [mm.end() for mm in _BULLET_MID.finditer(line)]
        for k, mark in enumerate(marks):
            stop = len(line)
            if k + 1 < len(marks):
                nxt = _BULLET_MID.search(line, mark)
                stop = nxt.start() if nxt else len(line)
            a, b = _item_span(line, mark, stop)
            if a < b and b - a <= 200:
                found.append((pos + a, pos + b))
        if found:
            if items and described is None:
                described = plain > 0
            plain = 0
        elif line.strip():
            if not items or described is False:  # text before the list, or after a plain one
                break
            plain += 1
            if plain > MAX_DESCRIPTION_LINES or line.rstrip().endswith(":"):
                break
        # blank lines (paragraph spacing from HTML or Word) neither end nor describe a list
        items.extend(found)
        if count is not None and len(items) >= count:
            return items[:count]
        pos = line_end + 1
    return items


# A short line without closing punctuation, followed by blank lines (skipped) and a list.
_HEADING_RE = re.compile(
    rf"(?m)^{_SP}*(?:#{{1,6}}{_SP}+)?(?P<h>[^\n]{{3,80}}?(?<![.:;,!?])){_SP}*$\n*"
)
_CELL_SEP = re.compile(rf"{_SP}*\|{_SP}*|{_SP}*\t[\t ]*")
_RULE_ROW = re.compile(r"^[^\S\n]*[|+]?[^\S\n]*:?-{3,}[\s:|+\-]*$")  # Markdown |---|---|


def _table_rows(text: str) -> list[list[list[tuple[int, int]]]]:
    """Tables turned to text (cells separated by tabs or " | "): blocks of consecutive rows,
    each row its non-empty cells as offsets into `text`."""
    tables: list[list[list[tuple[int, int]]]] = []
    block: list[list[tuple[int, int]]] = []
    pos = 0
    for line in text.split("\n"):
        cells: list[tuple[int, int]] = []
        if _CELL_SEP.search(line) and not _RULE_ROW.match(line):
            cut = 0
            for sep in [*_CELL_SEP.finditer(line), None]:
                end = sep.start() if sep else len(line)
                a, b = _stripped_span(line, cut, end, " \t\u00a0*")
                if a < b:
                    cells.append((pos + a, pos + b))
                cut = sep.end() if sep else len(line)
        if len(cells) >= 2:
            block.append(cells)
        elif not _RULE_ROW.match(line):
            if block:
                tables.append(block)
            block = []
        pos += len(line) + 1
    if block:
        tables.append(block)
    return tables


def _table_priorities(text: str) -> list[tuple[int, int]]:
    """ "Fokusområde | Beskrivning" heading a column of areas, or a row
    "Fokusområden | A, B och C" listing them in its next cell."""
    spans: list[tuple[int, int]] = []
    for rows in _table_rows(text):
        head_a, head_b = rows[0][0]
        if len(rows) > 1 and _PRIORITY_CUE.search(text, head_a, head_b):
            spans += [row[0] for row in rows[1:] if row[0][1] - row[0][0] <= 200]
            continue
        for row in rows:
            (a, b), (va, vb) = row[0], row[1]
            if _PRIORITY_CUE.search(text, a, b):
                spans += [(va + x, va + y) for x, y in _split_inline(text[va:vb], None)]
    return spans


def _area_key(item: str) -> str:
    acr = re.search(r"\b[A-ZÅÄÖ]{3,}\b", item)
    if acr:
        return "acr:" + acr.group(0)
    words = re.findall(r"\w+", re.sub(r"\([^)]*\)", " ", _fold(item)))
    return " ".join(w[:5] for w in words if w not in _AREA_STOP)


def _extract_priorities(text: str, sentences: _Sentences) -> list[Fact]:
    spans: list[tuple[int, int]] = []
    # 1. "... följande tre områden vara prioriterade:" + bullets, or an inline list.
    for m in re.finditer(r":(?=\s|$)", text):
        intro_start = sentences.start(m.start())
        if m.start() - intro_start > 400:  # measured before slicing: linear in long sentences
            continue
        intro = text[intro_start : m.start()]
        if not _PRIORITY_CUE.search(intro):
            continue
        count = _count(intro)
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end
        if not text[m.end() : line_end].strip():
            spans += _bullet_items(text, line_end + 1, count)
            continue
        end = sentences.end(m.end())
        seg_start, seg_end = _stripped_span(text, m.end(), end, " \t\n\u00a0.")
        seg = text[seg_start:seg_end]
        spans += [(seg_start + a, seg_start + b) for a, b in _split_inline(seg, count)]
    # 1b. A heading names the list: "Prioriterade områden" or "## Fokusområden", then items.
    for m in _HEADING_RE.finditer(text):
        heading, nl = m.group("h"), text.find("\n", m.end())
        first = text[m.end() : len(text) if nl < 0 else nl]
        if _PRIORITY_CUE.search(heading) and _BULLET_START.match(first):
            spans += _bullet_items(text, m.end(), _count(heading))
    spans += _table_priorities(text)
    # 2. "Samverkansavtalet har fyra fokusområden, A, B, C samt D."
    for m in _COUNT_COMMA_RE.finditer(text):
        n = m.group("n").casefold()
        count = _NUMBER_WORDS.get(n) or int(n)
        seg_start, seg_end = _stripped_span(text, m.end(), sentences.end(m.end()), " \t\n.")
        seg = text[seg_start:seg_end]
        spans += [(seg_start + a, seg_start + b) for a, b in _split_inline(seg, count)]
    # 3. "en prioritering av områdena trafik, ungdomsbrottslighet och organiserad brottslighet i"
    for m in _PRIORITY_OF_RE.finditer(text):
        seg_start, seg_end = _stripped_span(text, m.end(), sentences.end(m.end()), " \t\n.")
        seg = text[seg_start:seg_end]
        items = _split_inline(seg, None)
        if items:
            a, b = items[-1]
            cut = _TAIL_CUT.search(seg, a, b)
            if cut and cut.start() > a:
                items[-1] = (a, cut.start())
        spans += [(seg_start + a, seg_start + b) for a, b in items]
    facts: list[Fact] = []
    seen: set[str] = set()
    for start, end in sorted(set(spans)):
        quote = text[start:end]
        key = _area_key(quote)
        if not key or key in seen or len(quote) > 200:
            continue
        seen.add(key)
        facts.append(_fact("priority_areas", " ".join(quote.split()), text, start, end))
    return facts


# ---------------------------------------------------------------------------------------------
# People

_NAME = (
    rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
    rf"(?: [{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?){{1,2}}"
)
_ROLE_WORD = (
    r"(?i:(?:tf\.?\s+|t\.f\.\s+|tillförordnad\s+|biträdande\s+)?(?:kommunalråd|oppositionsråd"
    r"|kommundirektör|stadsdirektör|lokalpolisområdeschef|polisområdeschef|polischef|brandchef"
    r"|räddningschef|räddningsdirektör|förbundsdirektör|vd|områdesutvecklare"
    r"|trygghetssamordnare|säkerhetschef|samordnare|handläggare|kommunpolis|ordförande"
    r"|förvaltningschef|stabschef|presschef|kommunikatör|utredare|chef))(?![a-zåäöéü])"
)
_PEOPLE_PATTERNS = (
    # "Christer Johansson, lokalpolisområdeschef i Huddinge, 010-..."
    re.compile(
        rf"(?<![\w\-])(?P<name>{_NAME})(?: \([{_UPPER}]{{1,3}}\))?,{_SP}+"
        rf"(?P<role>{_ROLE_WORD}[^,\n]*?)(?=,|\.(?:\s|$)|\n|$)"
    ),
    # "säger brandchef Lars-Göran Uddholm"
    re.compile(
        rf"\b(?i:säger|enligt|uppger){_SP}+(?P<role>(?:[{_UPPER}][{_LOWER}]+s{_SP}+)?{_ROLE_WORD})"
        rf"{_SP}+(?P<name>{_NAME})"
    ),
    # "Handläggare\nCatarina Klockerud"
    re.compile(rf"(?P<role>(?i:handläggare)){_SP}*:?{_SP}*\n{_SP}*(?P<name>{_NAME}){_SP}*$", re.M),
    # signature: "Camilla Broo\nKommundirektör"
    re.compile(
        rf"(?:^|(?<=[{_LOWER}]))(?P<name>{_NAME}){_SP}*\n{_SP}*"
        rf"(?P<role>{_ROLE_WORD}[^\n]*?)(?=[{_UPPER}][{_LOWER}]|{_SP}*$)",
        re.M,
    ),
)
_NOT_FIRST_NAMES = frozenset(
    [
        "Kontakta",
        "Enligt",
        "Säger",
        "Med",
        "Från",
        "Och",
        "För",
        "Av",
        "Mer",
        "Hej",
        "Tack",
        "Läs",
        "Se",
        "Ring",
        "Mejla",
        "Till",
    ]
)


# Trimmed from the end of a role's quote: commas, full stops and every kind of space (a
# U+00A0 after the role was kept, so the quote ended in a space).
_ROLE_TAIL = ",." + "".join(c for c in map(chr, range(0x3000 + 1)) if c.isspace())


def _extract_people(text: str) -> list[Fact]:
    candidates: list[Fact] = []
    for pattern in _PEOPLE_PATTERNS:
        for m in pattern.finditer(text):
            name = m.group("name")
            first, _, rest = name.partition(" ")
            if first in _NOT_FIRST_NAMES:
                if " " not in rest:
                    continue
                name = rest
            role = " ".join(m.group("role").split()).rstrip(" ,.")
            if re.match(_ROLE_WORD, role):
                role = role[0].lower() + role[1:]
            start = min(m.start("name") + (len(m.group("name")) - len(name)), m.start("role"))
            end = max(m.end("name"), m.start("role") + len(m.group("role").rstrip(_ROLE_TAIL)))
            candidates.append(_fact("people", {"name": name, "role": role}, text, start, end))
    found: dict[tuple[str, str], Fact] = {}
    for f in sorted(candidates, key=lambda f: (f.start or 0, f.end or 0)):
        assert isinstance(f.value, dict)
        found.setdefault((f.value["name"], f.value["role"].casefold()), f)
    return list(found.values())


# ---------------------------------------------------------------------------------------------
# Front matter passed in as metadata

_FRONT_DATE_ROLES = {
    "publicerad_datum": "published",
    "publicerad": "published",
    "published": "published",
    "date": "published",
    "utfardad_datum": "document",
    "utfärdad_datum": "document",
    "datum": "document",
    "ikraft_datum": "in_force",
    "beslutad_datum": "decision",
    "beslutsdatum": "decision",
    "undertecknad_datum": "signed",
}


def _front_matter_dates(front_matter: Mapping[str, Any]) -> list[Fact]:
    out = []
    for key, role in _FRONT_DATE_ROLES.items():
        raw = front_matter.get(key)
        if raw is None:
            continue
        value = raw.isoformat() if isinstance(raw, date) else _parse_point(str(raw))
        if value and len(value) == 10:
            out.append(
                Fact("dates", {"date": value, "role": role}, str(raw), None, None, "front_matter")
            )
    return out


# Roles that date the document itself (not a period or an event it mentions).
OWN_DATE_ROLES = frozenset({"published", "signed", "decision", "document"})
_NAME_YEAR_RE = re.compile(r"(?<![0-9a-z])(19[89]\d|20\d\d)(?![0-9a-z])")


def _filename_year(filename: str, dates: list[Fact]) -> list[Fact]:
    """The year a file name carries ("huddinge-2015-….txt"), as the document's date when
    nothing else dates it. Two different years in a name are a period, not a date: none."""
    if any(isinstance(f.value, dict) and f.value.get("role") in OWN_DATE_ROLES for f in dates):
        return []
    years = {int(y) for y in _NAME_YEAR_RE.findall(_fold(filename))}
    years = {y for y in years if 1990 <= y <= 2099}
    if len(years) != 1:
        return []
    year = str(years.pop())
    return [Fact("dates", {"date": year, "role": "document"}, year, None, None, "filename")]


def _dedupe_dates(facts: list[Fact]) -> list[Fact]:
    """One fact per (date, role); a date without a role is dropped when a cue gives it one
    elsewhere. Different dates for the same role are all kept."""
    with_role = {f.value["date"] for f in facts if isinstance(f.value, dict) and f.value["role"]}
    seen: set[tuple[str, str]] = set()
    out = []
    for f in facts:
        value = f.value
        assert isinstance(value, dict)
        key = (value["date"], value["role"])
        if key in seen or (not value["role"] and value["date"] in with_role):
            continue
        seen.add(key)
        out.append(f)
    return out


# ---------------------------------------------------------------------------------------------
# Public API


def extract_facts(
    text: str,
    *,
    title: str = "",
    filename: str = "",
    front_matter: Mapping[str, Any] | None = None,
) -> dict[str, list[Fact]]:
    """Every field of `FIELDS`, each a list of facts in text order (hint facts last)."""
    front = dict(front_matter or {})
    sentences = _Sentences(text)
    validity, period_roles = _extract_validity(text, sentences)
    dates = _extract_dates(text, period_roles) + _front_matter_dates(front)
    dates += _filename_year(filename, dates)
    return {
        "doc_type": _extract_doc_type(text, title, filename, front),
        "municipalities": _extract_municipalities(text, title),
        "parties": _extract_parties(text, sentences),
        "dates": _dedupe_dates(dates),
        "validity": _dedupe_validity(validity),
        "diary_number": _extract_diary(text),
        "priority_areas": _extract_priorities(text, sentences),
        "places": _extract_places(text),
        "people": _extract_people(text),
    }


def facts_to_json(facts: Mapping[str, list[Fact]]) -> dict[str, list[dict[str, Any]]]:
    """Plain JSON-able form: {field: [{value, quote, start, end, source}, ...]}."""
    return {
        name: [
            {
                "value": dict(f.value) if isinstance(f.value, dict) else f.value,
                "quote": f.quote,
                "start": f.start,
                "end": f.end,
                "source": f.source,
            }
            for f in facts.get(name, [])
        ]
        for name in sorted(set(FIELDS) | set(facts), key=_field_order)
    }


def facts_from_json(data: Mapping[str, Any]) -> dict[str, list[Fact]]:
    """Inverse of `facts_to_json`; raises InvalidInputError on a malformed record."""
    if not isinstance(data, Mapping):
        raise InvalidInputError("facts must be a JSON object of field -> list")
    out: dict[str, list[Fact]] = {name: [] for name in FIELDS}
    for name, items in data.items():
        if not isinstance(items, list):
            raise InvalidInputError(f"facts field {name!r} must be a list")
        try:
            out[name] = [
                Fact(
                    name,
                    dict(item["value"]) if isinstance(item["value"], dict) else str(item["value"]),
                    str(item["quote"]),
                    None if item.get("start") is None else int(item["start"]),
                    None if item.get("end") is None else int(item["end"]),
                    str(item.get("source", "text")),
                )
                for item in items
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"malformed fact in field {name!r}: {exc}") from None
    return out


def _field_order(name: str) -> tuple[int, str]:
    return (FIELDS.index(name) if name in FIELDS else len(FIELDS), name)


# ---------------------------------------------------------------------------------------------
# Filters

_KEY_ALIASES = {"ar": "år", "type": "typ", "kommun": "kommun", "parti": "part", "part": "part"}
_TYPE_ALIASES = {_fold(t): t for t in DOC_TYPES} | {
    "press": "pressmeddelande",
    "beslut": "tjänsteutlåtande",
    "tjansteutlatande": "tjänsteutlåtande",
    "avtal": "överenskommelse",
    "overenskommelse": "överenskommelse",
    "webb": "webbsida",
    "sfs": "lag",
}
_KIND_ALIASES = {_fold(k): k for k in PARTY_KINDS} | {
    "polisen": "polis",
    "raddningstjanst": "räddningstjänst",
    "raddningstjansten": "räddningstjänst",
    "brandforsvar": "räddningstjänst",
    "brandforsvaret": "räddningstjänst",
    "bostadsbolaget": "bostadsbolag",
    "kriminalvarden": "kriminalvård",
    "kommunen": "kommun",
}
_MUN_BY_FOLD = {_fold(m): m for m in MUNICIPALITIES}


def _bad(expr: str, reason: str) -> InvalidInputError:
    keys = ", ".join(FILTER_KEYS)
    return InvalidInputError(f"invalid filter {expr!r}: {reason} (allowed keys: {keys})")


def parse_filter(expr: str) -> FieldFilter:
    """ "kommun=Huddinge", "giltig=2024", "giltig=2024-05-01", "typ=pressmeddelande",
    "part=polis", "år=2016", "doc=<doc_id>"."""
    from samverkan_qa.settings import check_text

    # A filter from JSON or the API may be anything; refuse it by name, never by traceback.
    check_text(expr, "a filter", 1000)
    typed, sep, value = expr.partition("=")
    key, value = _fold(typed), value.strip()
    if not sep or not key:
        raise _bad(expr, "expected KEY=VALUE")
    key = _KEY_ALIASES.get(key, key)
    if key not in FILTER_KEYS:
        raise _bad(expr, f"unknown key {typed.strip()!r}")  # as typed, not folded
    if not value:
        raise _bad(expr, "empty value")
    if key == "giltig" and _parse_point(value) is None:
        raise _bad(expr, "expected a year (2024) or a date (2024-05-01)")
    if key == "giltig" and not re.fullmatch(r"\d{4}(?:-\d\d-\d\d)?", value):
        raise _bad(expr, "expected a year (2024) or a date (2024-05-01)")
    if key == "år" and not re.fullmatch(r"\d{4}", value):
        raise _bad(expr, "expected a year such as 2016")
    if key in ("giltig", "år") and int(value[:4]) < 1:
        # Year 0 does not exist; date(0, 1, 1) would fail at search time.
        raise _bad(expr, "the year must be between 0001 and 9999")
    if key == "typ" and _fold(value) not in _TYPE_ALIASES:
        raise _bad(expr, f"unknown type; use one of {', '.join(DOC_TYPES)}")
    if key == "kommun" and _municipality_key(value) not in _MUN_BY_FOLD:
        raise _bad(expr, "not a Swedish municipality")
    return FieldFilter(key, value)


def _municipality_key(value: str) -> str:
    folded = _fold(value)
    folded = re.sub(r"\s+(?:kommun|stad)s?$", "", folded)
    if folded not in _MUN_BY_FOLD and folded.endswith("s") and folded[:-1] in _MUN_BY_FOLD:
        folded = folded[:-1]
    return folded


def _bounds(point: str | None, upper: bool) -> date | None:
    if not point:
        return None
    if len(point) == 4:
        return date(int(point), 12, 31) if upper else date(int(point), 1, 1)
    return date.fromisoformat(point)


def _valid_within(facts: Mapping[str, list[Fact]], lo: date, hi: date) -> bool:
    signed = sorted(
        date.fromisoformat(iso)
        for f in facts.get("dates", [])
        if isinstance(f.value, dict) and f.value.get("role") == "signed"
        for iso in [_parse_point(str(f.value.get("date", "")))]
        if iso and len(iso) == 10
    )
    for f in facts.get("validity", []):
        if not isinstance(f.value, dict):
            continue
        v_lo = _bounds(f.value.get("from"), upper=False) or (signed[0] if signed else date.min)
        v_hi = _bounds(f.value.get("to"), upper=True) or date.max
        if v_lo <= hi and v_hi >= lo:
            return True
    return False


def stated_years(facts: Mapping[str, list[Fact]]) -> set[int]:
    """Every year a document states: its dates' years and each year of its periods."""
    years: set[int] = set()
    for f in facts.get("dates", []):
        if isinstance(f.value, dict) and re.match(r"\d{4}(?:-|$)", str(f.value.get("date", ""))):
            years.add(int(str(f.value["date"])[:4]))
    for f in facts.get("validity", []):
        if not isinstance(f.value, dict):
            continue
        a, b = f.value.get("from"), f.value.get("to")
        if a or b:
            years.update(range(int(str(a or b)[:4]), int(str(b or a)[:4]) + 1))
    return years


def _stated_in_year(facts: Mapping[str, list[Fact]], year: int) -> bool:
    return year in stated_years(facts)


def _one_matches(facts: Mapping[str, list[Fact]], flt: FieldFilter, doc_id: str) -> bool:
    value = flt.value
    if flt.key == "doc":
        return value == doc_id or _fold(value) == _fold(doc_id)
    if flt.key == "kommun":
        want = _municipality_key(value)
        return any(
            isinstance(f.value, str) and _fold(f.value) == want
            for f in facts.get("municipalities", [])
        )
    if flt.key == "typ":
        want = _TYPE_ALIASES.get(_fold(value), value)
        return any(f.value == want for f in facts.get("doc_type", []))
    if flt.key == "part":
        want = _fold(value)
        kind = _KIND_ALIASES.get(want)
        for f in facts.get("parties", []):
            if not isinstance(f.value, dict):
                continue
            if kind is not None and f.value.get("kind") == kind:
                return True
            if want in _fold(str(f.value.get("name", ""))):
                return True
        return False
    if flt.key == "giltig":
        lo, hi = _bounds(value, upper=False), _bounds(value, upper=True)
        assert lo is not None and hi is not None
        return _valid_within(facts, lo, hi)
    if flt.key == "år":
        return _stated_in_year(facts, int(value))
    raise _bad(f"{flt.key}={flt.value}", f"unknown key {flt.key!r}")


def matches(
    facts: Mapping[str, list[Fact]], filters: Iterable[FieldFilter], *, doc_id: str = ""
) -> bool:
    """True when every filter holds for a document's facts (no filters: True)."""
    return all(_one_matches(facts, flt, doc_id) for flt in filters)


# Filters on a value a document states or not (its id, municipality, type) are looked up in
# an inverted index, term -> documents, made from the stored facts records in one pass; the
# others (part, giltig, år) compare values and are matched document by document.
INDEXED_FILTER_KEYS = frozenset({"doc", "kommun", "typ"})
_TERM_FIELDS = {"kommun": "municipalities", "typ": "doc_type"}


def filter_term(flt: FieldFilter) -> str:
    """The term an indexed filter looks up: what `document_terms` gives a matching document."""
    if flt.key == "doc":
        return _fold(flt.value)
    if flt.key == "kommun":
        return _municipality_key(flt.value)
    if flt.key == "typ":
        return _fold(_TYPE_ALIASES.get(_fold(flt.value), flt.value))
    raise _bad(f"{flt.key}={flt.value}", f"{flt.key!r} is not an indexed filter")


def document_terms(key: str, facts_record: Any, doc_id: str) -> set[str]:
    """A document's terms for an indexed filter key, read from its facts record as stored
    (facts_to_json's form) without parsing every fact: the same matches as `matches`."""
    if key == "doc":
        return {_fold(doc_id)}
    items = facts_record.get(_TERM_FIELDS[key]) if isinstance(facts_record, Mapping) else None
    if not isinstance(items, list):
        return set()
    values = (item.get("value") for item in items if isinstance(item, Mapping))
    return {_fold(v) for v in values if isinstance(v, str)}
