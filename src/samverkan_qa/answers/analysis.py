"""Question analysis: what kind of answer a question asks for, about which fact, where and when.

Rule-based and deterministic. The words that name a fact ("fokusområden", "prioriteringar",
"parter", "aktörer", ...) live in `lexicon.json` beside this file; matching is on lower-cased,
diacritic-folded text, so "vilka fokusomraden har haninge" reads like the written form.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from samverkan_qa.metadata import AMBIGUOUS_MUNICIPALITIES, MUNICIPALITIES
from samverkan_qa.ranking import is_english

# Answer kinds, most specific first: the first whose cue matches is the question's kind.
KINDS: tuple[str, ...] = (
    "comparison",
    "aggregate",
    "identifier",
    "person",
    "frequency",
    "amount",
    "count",
    "period",
    "date",
    "reason",
    "list",
    "yesno",
    "other",
)

# Folded text (no å/ä/ö), so the patterns hold for questions typed without them.
_IDENTIFIER_NOUNS = (
    r"diarienum\w*|diarienr|dnr|arendenum\w*|telefon(?:nummer\w*|numret|nr)?|tfn|tel|"
    r"e-?post(?:adress\w*)?|mejl(?:adress\w*)?|e?-?mail(?:adress\w*|s)?|phone(?: number)?|"
    r"diary number|case number|reference number"
)
# "När" asks when at the start of a question or a clause ("… och när?", "Vet du när …");
# elsewhere it joins a clause ("Räknas X in när a-kassan beräknas?"), and "när det gäller"
# means "as for".
_WHEN_ASKED = (
    r"(?:^|[,;:(]\s*|\b(?:och|eller|samt|men|du|ni|jag|vet|undrar)\s+)nar\b"
    r"(?!\s+det\s+galler)"
)
_KIND_CUES: dict[str, str] = {
    "comparison": r"\b(jamfor\w*|skillnad\w*|skiljer|compare\w*|difference\w*)\b",
    "identifier": rf"\b({_IDENTIFIER_NOUNS})\b",
    "person": r"\b(vem|vems|vilken person|vilka personer|who|whom|whose)\b",
    "frequency": r"\b(hur ofta|hur manga ganger|how often)\b",
    "amount": (
        r"\b(vad kostar|vad kostade|hur mycket (pengar|kostar|kostade)|kostnad\w*|budget\w*|"
        r"kronor|how much|cost\w*|price)\b"
    ),
    "count": r"\b(hur manga|antal|antalet|how many|number of)\b",
    "period": (
        r"\b(hur lange|giltighetstid|avtalsperiod|period|perioden|lopt?id|how long|until when|"
        r"till nar|hur gammal\w*)\b"
    ),
    "date": (
        rf"{_WHEN_ASKED}|\b(vilket ar|vilket datum|vilken dag|fran vilket datum|sedan nar|"
        r"fran nar|ikrafttradande\w*|when|what date|which date|what year|which year)\b"
    ),
    "reason": r"\b(varfor|syfte\w*|mal(et)?|why|purpose|aim)\b",
    "list": r"\b(vilka|vad for|which|what are)\b",
    "yesno": (
        r"^(far|ska|skall|finns|kan|maste|ar|har|galler|behover|does|do|is|are|can|must|"
        r"should|has|have)\b"
    ),
}


@cache
def _kind_patterns() -> dict[str, re.Pattern[str]]:
    """The cue patterns; a yes/no question may also open with a verb of the lexicon's
    yes_no "starts" ("Ingår …?", "Omfattar …?", "Skrev polisen under …?")."""
    starts = "|".join(re.escape(w) for w in lexicon()["yes_no"]["starts"])
    cues = dict(_KIND_CUES, yesno=rf"(?:{_KIND_CUES['yesno']}|^(?:{starts})\b)")
    return {kind: re.compile(cue) for kind, cue in cues.items()}


_IDENTIFIER_TYPES = (
    ("email", re.compile(r"\b(e-?post\w*|mejl\w*|mail\w*|email\w*)\b")),
    ("phone", re.compile(r"\b(telefon\w*|tfn|tel|phone\w*)\b")),
    (
        "diary_number",
        re.compile(r"\b(diarienum\w*|diarienr|dnr|arendenum\w*|diary|case|reference)\b"),
    ),
)

# Fields a fact can answer, with the answer kinds for which a fact is the answer.
FIELD_KINDS: dict[str, frozenset[str]] = {
    "places": frozenset({"list", "other", "aggregate", "comparison"}),
    "priority_areas": frozenset({"list", "other", "count", "aggregate", "comparison"}),
    "parties": frozenset({"list", "other", "person", "count", "aggregate", "comparison"}),
    "signed": frozenset({"date"}),
    "published": frozenset({"date"}),
    "validity": frozenset({"date", "period", "aggregate", "comparison"}),
    "diary_number": frozenset({"identifier", "other"}),
}

_SECTION_RE = re.compile(r"(?<!\d)(\d{1,3}(?:\s?[a-z])?)\s?§")
YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")  # also read by follow-ups
_WORD_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def without_frame_words(question: str) -> str:
    """The question minus the words that only frame it ("Vad handlar X om?", "Vad innebär
    X?", "Vad säger lagen om Y?", English function words): a sentence answers by X and Y,
    not by repeating them."""
    cues = set(lexicon()["frame_words"]) | set(lexicon()["english"])
    words = re.split(r"(\W+)", question)
    return "".join(" " if fold(w) in cues else w for w in words)


def fold(text: str) -> str:
    """Lower-case without diacritics: "Södertälje" -> "sodertalje". Same length as `text`
    for Swedish letters, so offsets found in the folded text hold in the original."""
    out = []
    for ch in text.lower():
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base if base.isalpha() else ch)
    return "".join(out)


@cache
def lexicon() -> dict[str, Any]:
    """The cue words of `lexicon.json`, folded."""
    raw = json.loads(resources.files(__package__).joinpath("lexicon.json").read_text("utf-8"))
    if raw.get("version") != 1:
        raise ValueError(f"answers/lexicon.json: unsupported version {raw.get('version')!r}")

    def folded(words: list[str]) -> tuple[str, ...]:
        return tuple(fold(w) for w in words)

    return {
        "fields": {k: folded(v) for k, v in raw["fields"].items()},
        "party_kinds": {k: folded(v) for k, v in raw["party_kinds"].items()},
        "aggregate_subjects": {k: folded(v) for k, v in raw["aggregate_subjects"].items()},
        "english": frozenset(fold(w) for w in raw["english"]),
        "distinctive_nouns": folded(raw.get("distinctive_nouns", [])),
        "document_kinds": {k: folded(v) for k, v in raw.get("document_kinds", {}).items()},
        "roles": {fold(k): folded(v) for k, v in raw.get("roles", {}).items()},
        "frame_words": folded(raw.get("frame_words", [])),
        "yes_no": {k: folded(v) for k, v in raw["yes_no"].items() if k != "about"},
        "eras": {k: folded(v) for k, v in raw["eras"].items() if k != "about"},
        # Names are matched as written (capitals tell a name); only the asking nouns fold.
        "organisations": {
            k: folded(v) if k == "asked" else tuple(v)
            for k, v in raw["organisations"].items()
            if k != "about"
        },
    }


def _has_whole(folded: str, cues: tuple[str, ...]) -> bool:
    """A cue matches as a whole word ("lagen", not "lägesbilden" or "lagerlokal")."""
    return any(re.search(rf"(?<!\w){re.escape(c)}(?!\w)", folded) for c in cues)


def _has_cue(folded: str, cues: tuple[str, ...]) -> bool:
    """A cue matches at a word start (so "parter" finds "parterna", not "motparter")."""
    return any(re.search(rf"(?<!\w){re.escape(c)}", folded) for c in cues)


@dataclass(frozen=True)
class Analysis:
    """What a question asks for.

    kind: one of KINDS; identifier: "email", "phone" or "diary_number" for that kind;
    field: the fact field that can answer it (FIELD_KINDS), if any; municipalities: those
    named (canonical spelling); years: those named; party_kinds: organisations the question
    names by kind ("polis", "räddningstjänst"); subject: for an aggregate, "municipalities"
    or "documents"; english: the question reads as English.
    """

    question: str
    kind: str
    identifier: str = ""
    field: str = ""
    municipalities: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    party_kinds: tuple[str, ...] = ()
    subject: str = ""
    english: bool = False
    document_kinds: tuple[str, ...] = ()  # kinds of document named ("lagen" -> "lag")
    sections: tuple[str, ...] = ()  # law paragraphs named ("5 §")
    also: tuple[str, ...] = ()  # further fields a second clause asks for ("… och hur länge?")
    roles: tuple[str, ...] = ()  # Swedish role words an English or other wording stands for
    words: tuple[str, ...] = ()
    era: str = ""  # "earliest" or "latest": "det gamla avtalet", "det senaste avtalet"
    organisation: bool = False  # asks which organisation: "Vilken myndighet …?"

    @property
    def fact_answerable(self) -> bool:
        return bool(self.field) and self.kind in FIELD_KINDS.get(self.field, frozenset())


def analyse(question: str, places: tuple[str, ...] = ()) -> Analysis:
    """Analyse `question`. `places` are extra municipality spellings to recognise (the index's)."""
    folded = fold(" ".join(question.split()))
    kind = question_kind(folded)
    lex = lexicon()
    cued = [f for f, cues in lex["fields"].items() if _has_cue(folded, cues)]
    # The first cued field that can answer this kind of question, else the first cued.
    fitting = [f for f in cued if kind in FIELD_KINDS.get(f, frozenset())]
    field_name = (fitting or cued or [""])[0]
    kinds_anywhere = {k for k, rx in _kind_patterns().items() if rx.search(folded)}
    also = tuple(
        f for f in cued if f != field_name and kinds_anywhere & FIELD_KINDS.get(f, frozenset())
    )
    subject = ""
    if kind in ("aggregate", "list"):
        subject = _aggregate_subject(folded, lex["aggregate_subjects"])
        if subject and kind == "list":
            kind = "aggregate"
    if kind == "aggregate" and not subject:
        kind = "list"
    if field_name == "parties" and kind == "person" and re.search(r"\bvem\b.*\bchef", folded):
        field_name = ""  # "Vem är chef …" asks for a person, not the parties
    identifier = ""
    if kind == "identifier":
        identifier = next((name for name, rx in _IDENTIFIER_TYPES if rx.search(folded)), "")
        if identifier == "diary_number":
            field_name = "diary_number"
    words = tuple(_WORD_RE.findall(folded))
    return Analysis(
        question=question,
        kind=kind,
        identifier=identifier,
        field=field_name,
        municipalities=tuple(named_municipalities(question, places)),
        years=tuple(sorted({int(y) for y in YEAR_RE.findall(question)})),
        party_kinds=tuple(k for k, cues in lex["party_kinds"].items() if _has_cue(folded, cues)),
        subject=subject,
        english=is_english(question),
        also=also[:1] if field_name else (),
        roles=tuple(r for r, cues in lex["roles"].items() if _has_cue(folded, cues)),
        sections=tuple(" ".join(m.split()) + " §" for m in _SECTION_RE.findall(question)),
        document_kinds=tuple(
            k for k, cues in lex["document_kinds"].items() if _has_whole(folded, cues)
        ),
        words=words,
        era=_era(folded, lex["eras"], lex["yes_no"]["agreement_nouns"]),
        organisation=_asks_organisation(folded, lex["organisations"]["asked"]),
    )


def _asks_organisation(folded: str, nouns: tuple[str, ...]) -> bool:
    """ "Vilken myndighet …", "Vilka tre myndigheter …", "Which agency …": the answer names
    an organisation."""
    alternatives = "|".join(re.escape(n) for n in nouns)
    return bool(
        re.search(
            rf"\b(?:vilken|vilket|vilka|which|what)\s+(?:\w+\s+){{0,2}}?(?:{alternatives})", folded
        )
    )


def _era(folded: str, eras: dict[str, tuple[str, ...]], nouns: tuple[str, ...]) -> str:
    """ "det gamla avtalet", "Huddinges första samverkansavtal": the era word right before
    an agreement's name ("första fokusområdet" names no agreement)."""
    named = "|".join(re.escape(n) for n in nouns)
    for era, cues in eras.items():
        words = "|".join(re.escape(c) for c in cues)
        if re.search(rf"(?<!\w)(?:{words})\s+\w*(?:{named})", folded):
            return era
    return ""


# Kinds asked for anywhere in the question ("… och vad kostar det?"). A topic word alone
# ("budgeten", "via telefon") asks nothing: it counts only as the earliest cue.
_ANYWHERE: dict[str, re.Pattern[str]] = {
    "comparison": re.compile(_KIND_CUES["comparison"]),
    # the identifier itself is asked for: "Vilket telefonnummer …", "Vad är diarienumret",
    # "Vad har beslutet för diarienummer?", or the question opens with it
    "identifier": re.compile(
        rf"(?:^|\b(?:vilket|vilken|vilka|vad|what|whats|which)\b(?:\W+\w+){{0,2}}?\W+"
        rf"|\bvad\b.*\bfor\s+)(?:\w+\W+)?({_IDENTIFIER_NOUNS})\b"
    ),
    # "hur mycket" asks for money when money is named or "extra" or "mer" is asked for
    # ("Hur mycket extra fick …", "Hur mycket går via statsbidragen …"), not in "Hur mycket
    # ska dödligheten ha minskat?"
    "amount": re.compile(
        r"\b(vad kostar|vad kostade|hur mycket (pengar|kostar|kostade|extra|mer)|"
        r"hur manga kronor|how much)\b|"
        r"\bhur mycket\b.*\b(pengar|kronor|bidrag\w*|statsbidrag\w*|medel|anslag\w*|kosta\w*|"
        r"tillskott\w*|stod|budget\w*)\b"
    ),
    "frequency": re.compile(_KIND_CUES["frequency"]),
}
_ASKED_ONLY = ("comparison", "identifier", "frequency")  # never the kind by position alone


def question_kind(folded: str) -> str:
    """The kind of answer asked for, from folded question text: a comparison, identifier,
    amount or frequency asked for anywhere, else the earliest cue ("Vem … när …?" asks for
    a person, "När beslutades budgeten?" for a date)."""
    for kind, rx in _ANYWHERE.items():
        if rx.search(folded):
            return kind
    found = []
    for order, kind in enumerate(KINDS):
        rx = _kind_patterns().get(kind)
        m = rx.search(folded) if rx is not None and kind not in _ASKED_ONLY else None
        if m:
            found.append((m.start(), order, kind))
    return min(found)[2] if found else "other"


def _aggregate_subject(folded: str, subjects: dict[str, tuple[str, ...]]) -> str:
    """ "Vilka kommuner …", "Vilka avtal gällde 2024?": a question across documents."""
    for subject, cues in subjects.items():
        alternatives = "|".join(re.escape(c) for c in cues)
        if re.search(rf"\b(vilka|which|what|hur manga|how many)\s+({alternatives})\b", folded):
            return subject
    return ""


@cache
def _municipality_pattern(extra: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    names = {fold(m): m for m in MUNICIPALITIES if m not in AMBIGUOUS_MUNICIPALITIES}
    names.update({fold(m): m for m in extra})
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(rf"(?<!\w)({alternatives})s?(?!\w)"), names


def named_municipalities(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Municipalities named in `text`, in any case and with or without å/ä/ö, genitive too.
    Names that are also ordinary words ("Mark", "Vara") count only as "X kommun"."""
    pattern, names = _municipality_pattern(tuple(sorted(extra)))
    folded = fold(text)
    found = [names[m.group(1)] for m in pattern.finditer(folded)]
    for name in AMBIGUOUS_MUNICIPALITIES:
        if re.search(rf"\b{re.escape(fold(name))}s? (kommun|stad)\b", folded):
            found.append(name)
    return list(dict.fromkeys(found))
