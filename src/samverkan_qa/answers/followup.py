"""Follow-up questions: "Och i Haninge?" or "Hur länge gäller det?" read in the context of
the previous turn, and turned into a standalone search string shown as "Sökte på: …".

Rule-based and deterministic: named municipalities and organisations are substituted into
the previous question, pronouns are replaced by what they stand for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from samverkan_qa.answers.analysis import YEAR_RE
from samverkan_qa.metadata import MUNICIPALITIES

SEARCHED_LABEL = "Sökte på"

# Municipalities in Stockholm county: a follow-up such as "och i nacka?" must be understood,
# in any letter case, even when the index holds no document about that municipality.
STOCKHOLM_MUNICIPALITIES: tuple[str, ...] = (
    "Botkyrka", "Danderyd", "Ekerö", "Haninge", "Huddinge", "Järfälla", "Lidingö", "Nacka",
    "Norrtälje", "Nykvarn", "Nynäshamn", "Salem", "Sigtuna", "Sollentuna", "Solna",
    "Stockholm", "Sundbyberg", "Södertälje", "Tyresö", "Täby", "Upplands Väsby",
    "Upplands-Bro", "Vallentuna", "Vaxholm", "Värmdö", "Österåker",
)  # fmt: skip

_ALL_MUNICIPALITIES = tuple(sorted(MUNICIPALITIES))

# Organisations that appear as parties in the corpus; substitutable like municipalities.
KNOWN_ORGANISATIONS = (
    "Huge Bostäder",
    "Huge",
    "Huddinge Samhällsfastigheter",
    "Södertörns brandförsvarsförbund",
    "Kriminalvården",
    "Polismyndigheten",
)

# The kinds of document a follow-up pronoun ("det", "den") usually refers to: base form and
# definite form.
TOPIC_NOUNS = {
    "samverkansöverenskommelse": "samverkansöverenskommelsen",
    "samverkansavtal": "samverkansavtalet",
    "överenskommelse": "överenskommelsen",
    "avsiktsförklaring": "avsiktsförklaringen",
    "avtal": "avtalet",
    "tjänsteutlåtande": "tjänsteutlåtandet",
    "lag": "lagen",
}
_TOPIC_RE = re.compile(
    r"(?<!\w)(" + "|".join(TOPIC_NOUNS) + r")(?:en|et|n|t|ar|arna)?(?!\w)", re.IGNORECASE
)

# Words that open a follow-up and carry no content ("Och i Haninge?", "Men Huddinge?").
_LEAD_RE = re.compile(
    r"^\s*(och|men|än|samt|också|även|hur är det med|and|what about|how about)\b[\s,]*",
    re.IGNORECASE,
)
# Filler that leaves a follow-up without content of its own ("Hur är det med Haninge?").
_FILLER = frozenset({
    "och", "men", "än", "samt", "också", "även", "i", "på", "för", "med", "om", "hur", "är",
    "det", "den", "de", "vad", "då", "gäller", "där", "samma", "sak", "fråga", "frågan",
    # verb particles: "skrev under", "tog fram", "kom överens"
    "under", "fram", "upp", "ut", "in", "av", "till", "överens",
})  # fmt: skip
# Question words: not content, so "Vem skrev under?" counts as short.
_QUESTION_WORDS = frozenset(
    {"vad", "vem", "vilka", "vilken", "vilket", "var", "när", "hur", "varför", "vems"}
)
# Pronouns that stand for the previous turn's municipality or party. "de", "det", "den" are
# also articles ("de viktigaste", "det brottsförebyggande arbetet"), so those count only as
# the question's last word ("Vilka fokusområden har de?").
_POSSESSIVE_PRONOUNS = {"deras": "{genitive}", "dess": "{genitive}", "där": "i {name}"}
_FINAL_PLACE_PRONOUNS = {"de": "{name}", "dem": "{name}", "dom": "{name}"}
# Pronouns that stand for the previous turn's document ("Hur länge gäller det?").
_FINAL_THING_PRONOUNS = frozenset({"det", "den", "detta", "denna"})
_WORD_RE = re.compile(r"[^\W_]+(?:[-–][^\W_]+)*")
# Words that only frame a year in a follow-up ("Och år 2020?", "Än från 2015?").
_YEAR_FRAME = frozenset({"år", "året", "från", "av", "ifrån"})
_YEAR_LIST_RE = re.compile(r"\d{4}(?:\s*(?:,|och|samt|till|-|–)\s*\d{4})*")

# ---------------------------------------------------------------------------------------------
# Follow-up questions
# ---------------------------------------------------------------------------------------------


def genitive(name: str) -> str:
    """Swedish genitive: Haninge → Haninges, Borås → Borås."""
    return name if name[-1:].lower() in "sxz" else name + "s"


@dataclass(frozen=True)
class Mention:
    name: str  # canonical spelling
    kind: str  # "place" or "organisation"
    start: int
    end: int


@dataclass(frozen=True)
class Rewrite:
    """A question and the standalone search string made from it."""

    question: str
    searched: str
    followup: bool

    @property
    def label(self) -> str:
        return f"{SEARCHED_LABEL}: {self.searched}"


@dataclass
class Turn:
    question: str
    searched: str


@dataclass
class Conversation:
    """The turns so far and the names follow-ups may refer to."""

    places: Sequence[str] = STOCKHOLM_MUNICIPALITIES
    organisations: Sequence[str] = KNOWN_ORGANISATIONS
    turns: list[Turn] = field(default_factory=list)

    def mentions(self, text: str) -> list[Mention]:
        return find_mentions(text, self.places, self.organisations, _ALL_MUNICIPALITIES)

    def rewrite(self, question: str) -> Rewrite:
        """The standalone search string for `question` given the previous turn."""
        asked = " ".join(question.split())
        if not self.turns:
            return Rewrite(asked, asked, followup=False)
        searched = resolve_followup(asked, self.turns[-1].searched, self.mentions)
        return Rewrite(asked, searched, followup=searched != asked)

    def add(self, rewrite: Rewrite) -> None:
        self.turns.append(Turn(rewrite.question, rewrite.searched))

    def reset(self) -> None:
        self.turns.clear()


def find_mentions(
    text: str,
    places: Iterable[str],
    organisations: Iterable[str] = (),
    exact_places: Iterable[str] = (),
) -> list[Mention]:
    """Named municipalities and organisations in `text` (genitive forms included), in order.

    `places` and `organisations` match in any letter case; `exact_places` (all of Sweden's
    municipalities, some of which are also words: "Vara", "Mark") only when capitalised.
    The longest name wins where names overlap ("Huge Bostäder" over "Huge").
    """
    groups = [
        (tuple(places), "place", True),
        (tuple(organisations), "organisation", True),
        (tuple(exact_places), "place", False),
    ]
    found: list[Mention] = []
    for names, kind, fold in groups:
        if not names:
            continue
        pattern, canonical = _names_pattern(names, fold)
        for m in pattern.finditer(text):
            overlaps = any(m.start() < f.end and f.start < m.end() for f in found)
            if not overlaps:
                name = canonical[_name_key(m.group("name"), fold)]
                found.append(Mention(name, kind, m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def _name_key(name: str, fold: bool) -> str:
    return " ".join(name.split()).casefold() if fold else " ".join(name.split())


@lru_cache(maxsize=32)
def _names_pattern(names: tuple[str, ...], fold: bool) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex for all names, longest first, each optionally in the genitive (+s)."""
    ordered = sorted(set(names), key=lambda n: (-len(n), n))
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in ordered)
    flags = re.IGNORECASE if fold else 0
    pattern = re.compile(rf"(?<!\w)(?P<name>{alternatives})s?(?!\w)", flags)
    return pattern, {_name_key(n, fold): n for n in ordered}


def content_words(text: str, mentions: Sequence[Mention] = ()) -> list[str]:
    """Words that carry meaning: not filler, question words, or the named entities."""
    for m in sorted(mentions, key=lambda m: -m.start):
        text = text[: m.start] + " " + text[m.end :]
    return [
        w for w in _WORD_RE.findall(text.lower()) if w not in _FILLER and w not in _QUESTION_WORDS
    ]


def resolve_followup(question: str, previous: str, mentions: Callable[[str], list[Mention]]) -> str:
    """Turn a short follow-up into a standalone question using the previous searched text.

    `mentions(text)` finds the named municipalities and organisations in a text.

    - names a municipality and nothing else ("Och i Södertälje?"): the previous question with
      its municipality swapped ("Hur länge gäller Södertäljes överenskommelse?");
    - names a year, with or without a municipality, and nothing else ("Och 2020?", "Och
      Haninge 2025?"): the previous question asked of that year, its year swapped or added;
    - names nothing but refers back ("Och vilka fokusområden har de?", "Hur länge gäller
      det?", "Vem skrev under?"): the pronoun replaced by, or the question completed with,
      the previous question's names and topic;
    - anything else is already standalone and is searched as asked.
    """
    body = _capitalise(_LEAD_RE.sub("", question)) or question
    led = body != _capitalise(question)
    named = mentions(body)
    years = YEAR_RE.findall(body)
    words = [w for w in content_words(body, named) if not (years and _is_year_word(w))]
    before = mentions(previous)
    if (named or years) and not words:
        swapped = _substitute(previous, before, named) if named else previous
        return _with_years(swapped, years) if years else swapped
    if named:
        return question
    if not before and not _TOPIC_RE.search(previous):
        return question
    # One content word left ("Vem skrev under?", "Vilka parter?") cannot stand alone.
    if not (led or _has_pronoun(body) or len(words) <= 1):
        return question
    return _complete(body, before, previous)


def _substitute(previous: str, before: Sequence[Mention], named: Sequence[Mention]) -> str:
    """Swap the previous question's names of the same kind for the new ones."""
    new = {m.kind: m.name for m in named}
    same_kind = [m for m in before if m.kind in new]
    if not same_kind:
        return f"{_strip_q(previous)} i {' och '.join(m.name for m in named)}?"
    out = previous
    for m in sorted(same_kind, key=lambda m: -m.start):
        replacement = new[m.kind]
        original = previous[m.start : m.end]
        if original.lower() != m.name.lower():  # the genitive form was used
            replacement = genitive(replacement)
        out = out[: m.start] + replacement + out[m.end :]
    return out


def _is_year_word(word: str) -> bool:
    return bool(YEAR_RE.fullmatch(word)) or word in _YEAR_FRAME


def _with_years(previous: str, years: Sequence[str]) -> str:
    """The previous question asked of `years`: its years ("2015", "2019 och 2021",
    "2019–2021") swapped for them, else (none, or years apart) the years added."""
    new = " och ".join(_unique(years))
    old = list(YEAR_RE.finditer(previous))
    start, end = (old[0].start(), old[-1].end()) if old else (0, 0)
    apart = len({m.group(0) for m in old}) > 1 and not _YEAR_LIST_RE.fullmatch(previous[start:end])
    if not old or apart:
        return f"{_strip_q(previous)} år {new}?"
    return previous[:start] + new + previous[end:]


def _complete(body: str, before: Sequence[Mention], previous: str) -> str:
    names = _unique([m.name for m in before])
    topic = _topic(previous)
    replaced = _replace_pronoun(body, " och ".join(names), topic)
    if replaced != body:
        return replaced
    extra = ", ".join([*names, *([topic] if topic else [])])
    return f"{body} ({extra})" if extra else body


def _replace_pronoun(body: str, name: str, topic: str) -> str:
    """Put the previous turn's name (or named document) in place of one pronoun."""
    tokens = list(re.finditer(r"[^\W_]+", body))
    for tok in tokens:
        template = _POSSESSIVE_PRONOUNS.get(tok.group(0).lower())
        if template and name:
            return _splice(body, tok, template.format(name=name, genitive=genitive(name)))
    if not tokens:
        return body
    last = tokens[-1]
    word = last.group(0).lower()
    if name and word in _FINAL_PLACE_PRONOUNS:
        return _splice(body, last, _FINAL_PLACE_PRONOUNS[word].format(name=name))
    if topic and word in _FINAL_THING_PRONOUNS:
        owner = f"{genitive(name)} {topic}" if name else TOPIC_NOUNS[topic]
        return _splice(body, last, owner)
    return body


def _splice(text: str, match: re.Match[str], replacement: str) -> str:
    return text[: match.start()] + replacement + text[match.end() :]


def _has_pronoun(body: str) -> bool:
    words = [w.lower() for w in re.findall(r"[^\W_]+", body)]
    if set(words) & set(_POSSESSIVE_PRONOUNS):
        return True
    return bool(words) and words[-1] in {*_FINAL_PLACE_PRONOUNS, *_FINAL_THING_PRONOUNS}


def _topic(text: str) -> str:
    m = _TOPIC_RE.search(text)
    return m.group(1).lower() if m else ""


def _strip_q(text: str) -> str:
    return text.rstrip().rstrip("?").rstrip()


def _capitalise(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def conversation_for(places: Iterable[str]) -> Conversation:
    """A conversation that also knows `places` (the municipalities the documents name)."""
    return Conversation(places=tuple(_unique([*STOCKHOLM_MUNICIPALITIES, *places])))


def places_named(text: str, conversation: Conversation) -> list[str]:
    """The municipalities `text` names (for `build_answer(named=...)`)."""
    return _unique([m.name for m in conversation.mentions(text) if m.kind == "place"])
