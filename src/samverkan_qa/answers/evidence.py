"""Does a sentence hold the kind of answer a question asks for, and what structure is around it.

`has_evidence` decides, per answer kind, whether a sentence contains a date, a count of the
asked-for thing, an amount of money, a frequency, a person's name, an e-mail address, a phone
or diary number. `list_items`, `section_label` and `is_heading` read the text around a quote:
the items a list intro announces, the § a law's paragraph sits under, and headings (context,
never a quote).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from samverkan_qa.answers.analysis import Analysis, fold, lexicon

_MONTHS = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
# A year alone is no date inside a reference number ("Ju2025/00775", "SOU 2017:39").
DATE_RE = re.compile(
    rf"(?<!\d)(?:(?:19|20)\d\d-[01]\d-[0-3]\d|\d{{1,2}}\s+(?:{_MONTHS})(?:\s+(?:19|20)\d\d)?|"
    rf"(?<![\w/])(?:19|20)\d\d(?![/:]\d))(?!\d)",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    "en|ett|två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|tjugo|trettio|hundra|tusen|"
    "one|two|three|four|five|six|seven|eight|nine|ten"
)
_NUMBER = rf"(?:\d[\d\s.,]*\d|\d|{_NUMBER_WORDS})"
# Units a figure of money or of time is given in: AMOUNT_RE and DURATION_RE find them, and
# a figure followed by one counts no noun (counts).
_MONEY = r"kr\b|kronor|sek\b|mkr|mnkr|mdkr|mdr\b|tkr|miljon\w*|miljard\w*|euro"
_TIME = r"år|månad\w*|veck\w*|dag\w*|timm\w*"
AMOUNT_RE = re.compile(
    rf"{_NUMBER}\s*(?:{_MONEY}|€|\$)|"
    r"\b(?:kostnadsfri\w*|avgiftsfri\w*|utan kostnad|kostar|finansier\w*)\b",
    re.IGNORECASE,
)
_UNIT = r"(?:dag|vecka|månad|år|kvartal|termin|höst|vår|sommar|vinter|tertial|halvår)\w*"
_SCHEDULE = (
    rf"(?:varje|varannan|vartannat|var\s+\w+)\s+{_UNIT}|varje\s+gång|"
    rf"\w+\s+gång\w*\s+(?:per|om|i|varje)\s+{_UNIT}|per\s+{_UNIT}|"
    r"årlig\w*|månatlig\w*|veckovis|dagligen|kvartalsvis|"
    rf"minst\s+\w+\s+(?:gång\w*|{_UNIT})"
)
# How long: "tre månader", "6 veckor", "ett år" (an answer to "hur länge", as a date is).
DURATION_RE = re.compile(
    rf"(?<!\w){_NUMBER}\s+(?:{_TIME}|kvartal\w*|mandatperiod\w*)\b",
    re.IGNORECASE,
)
# A season as a time: "under våren", "till hösten" (a year alone is matched by DATE_RE).
SEASON_RE = re.compile(
    r"\b(?:under|till|fram till|från|inför|i början av|i slutet av)\s+"
    r"(?:våren|hösten|sommaren|vintern)\b",
    re.IGNORECASE,
)
# How often, with a unit of time ("två gånger per år", "varje vår"): also an answer to "när".
SCHEDULE_RE = re.compile(rf"\b(?:{_SCHEDULE})\b", re.IGNORECASE)
# ... or without one ("regelbundet", "kontinuerligt"): an answer to "hur ofta", never to "när".
FREQUENCY_RE = re.compile(rf"\b(?:{_SCHEDULE}|regelbundet|kontinuerligt|löpande)\b", re.IGNORECASE)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_RE = re.compile(r"(?<![\w-])(?:\+46\s?|0)\d{1,3}[-\s]?\d{2,3}(?:[\s-]?\d{2,3}){1,3}(?!\d)")
# "KS 2024/123", "KS-2024/17", and the Government Offices' "Ju2022/01209", "Fi2021/00123".
DIARY_RE = re.compile(
    r"\b(?:[A-ZÅÄÖ][A-Za-zÅÄÖåäö]{0,5}[\s-]?)?(?:19|20)\d\d/\d+(?:[.:]\d+)*\b|"
    r"\b[Dd]nr\.?\s*\S+"
)
_NAME = r"[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?"  # "Anna", "Lind-Ek"
# Two capitalised words in a row, not at a sentence start: a person's name.
PERSON_RE = re.compile(rf"(?<![.!?]\s)(?<!^)\b{_NAME}\s+{_NAME}\b")
# ... or at the start when a comma follows, as a name before its title does ("Peder
# Liljeqvist, kammarrättslagman i Stockholm, är utsedd …").
_LEADING_NAME_RE = re.compile(rf"^\s*{_NAME}\s+{_NAME},")
_COUNT_NOUN_RE = re.compile(
    r"\b(?:hur\s+manga|antal(?:et)?\s+(?:av\s+)?|how\s+many)\s+(\w+)(?:\s+(\w+))?"
)
_NUMBER_TOKEN_RE = re.compile(rf"^{_NUMBER}$", re.IGNORECASE)

# Kinds that need their evidence in the quoted text, else the answer is "no support".
EVIDENCE_KINDS = frozenset({"date", "period", "count", "amount", "frequency", "identifier"})
# Kinds whose answer is one precise thing: one sentence, not two.
PRECISE_KINDS = EVIDENCE_KINDS | {"person"}
# "Vem är/var/heter …?", "Who is …?": the answer is a person's name.
_WHO_IS_RE = re.compile(r"\b(?:vem (?:ar|var|blir|heter)|vad heter|who is|who was)\b")
# Purpose and cause: "syftet är", "för att", "målet med".
_PURPOSE_RE = re.compile(
    r"\b(?:syfte\w*|syftar|mål\w*|för att|i syfte|därför|eftersom|vill|avser)\b", re.IGNORECASE
)
_ORGANISATION_RE = re.compile(
    r"\b\w*(?:kommun|polis|myndighet|styrelse|nämnd|förbund|räddningstjänst|regering|"
    r"länsstyrelse|förvaltning|direktör|chef)\w*\b",
    re.IGNORECASE,
)


_IDENTIFIER_WORDS_RE = re.compile(
    r"\b(?:e-?post\w*|mejl\w*|e-?mail\w*|mail\w*|telefon\w*|tfn|tel|mobil\w*|"
    r"diarienum\w*|diarienr|dnr|ärendenum\w*|phone\w*)\b",
    re.IGNORECASE,
)


def without_identifier_words(question: str) -> str:
    """The question minus the word for the identifier asked for: the address or number
    itself is the evidence for "e-postadress", so only the other words must be near it."""
    return _IDENTIFIER_WORDS_RE.sub(" ", question)


def needs_evidence(analysis: Analysis) -> bool:
    """Whether a quote must hold the kind of answer asked for (else it is only preferred)."""
    if asks_organisation(analysis):
        return True
    if analysis.kind == "person":
        return asks_for_name(analysis)
    return analysis.kind in EVIDENCE_KINDS


def asks_for_name(analysis: Analysis) -> bool:
    return bool(_WHO_IS_RE.search(fold(analysis.question)))


def has_evidence(analysis: Analysis, sentence: str) -> bool:
    """True when `sentence` holds the kind of answer `analysis` asks for (always true for
    kinds that need no particular evidence: lists, yes/no, reasons, ...)."""
    kind = analysis.kind
    if asks_organisation(analysis):
        return names_organisation(analysis, sentence)
    if kind == "date":  # "när" is also answered by "minst vartannat år", "under våren"
        return any(rx.search(sentence) for rx in (DATE_RE, SCHEDULE_RE, SEASON_RE))
    if kind == "period":
        return bool(DATE_RE.search(sentence) or DURATION_RE.search(sentence))
    if kind == "amount":
        return bool(AMOUNT_RE.search(sentence))
    if kind == "frequency":
        return bool(FREQUENCY_RE.search(sentence))
    if kind == "count":
        return counts(analysis, sentence)
    if kind == "identifier":
        rx = {"email": EMAIL_RE, "phone": PHONE_RE}.get(analysis.identifier, DIARY_RE)
        return bool(rx.search(sentence))
    if kind == "person":
        if asks_for_name(analysis):
            return names_a_person(sentence)  # "Vem är X?" asks for a name
        if names_a_person(sentence) or _ORGANISATION_RE.search(sentence):
            return True  # a name, or who by role or body ("kommundirektören", "nämnden")
        return names_organisation(analysis, sentence)  # "Vem ska granska …?" "Skatteverket"
    if kind == "reason":
        return bool(_PURPOSE_RE.search(sentence))
    return True


def names_a_person(sentence: str) -> bool:
    return bool(PERSON_RE.search(sentence) or _LEADING_NAME_RE.match(sentence))


def asks_organisation(analysis: Analysis) -> bool:
    """ "Vilken myndighet leder …?", "Vilka myndigheter ska …?" (not "Hur många myndigheter")."""
    return analysis.organisation and analysis.kind in ("list", "other")


def names_organisation(analysis: Analysis, sentence: str) -> bool:
    """The sentence names an organisation the question does not ("Vilka myndigheter ska IVO
    samverka med?" is not answered by IVO)."""
    asked = fold(analysis.question)
    return any(fold(name) not in asked for name in named_organisations(sentence))


def named_organisations(text: str) -> list[str]:
    """Names of organisations in `text`, by the lexicon's endings, heads and names."""
    return [m.group(0).strip() for m in _organisation_re().finditer(text)]


@cache
def _organisation_re() -> re.Pattern[str]:
    lex = lexicon()["organisations"]

    def alternatives(words: tuple[str, ...]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    capital = r"[A-ZÅÄÖ][\w-]*?"
    return re.compile(
        rf"(?<![\w-])(?:{alternatives(lex['names'])})(?![\w-])|"
        rf"(?<![\w-])(?:{alternatives(lex['heads'])})\s+\w+|"
        rf"(?<![\w-]){capital}(?:{alternatives(lex['suffixes'])})\b|"
        rf"(?<![\w-])[A-ZÅÄÖ]\w+\s+(?:{alternatives(lex['after_words'])})\b"
    )


def is_contact_line(sentence: str) -> bool:
    """A line of contact details: an e-mail address or phone number and few other words."""
    if not (EMAIL_RE.search(sentence) or PHONE_RE.search(sentence)):
        return False
    rest = PHONE_RE.sub(" ", EMAIL_RE.sub(" ", sentence))
    return len(rest.split()) <= 12


def without_places(question: str, places: tuple[str, ...]) -> str:
    """The question minus the municipalities it names: they choose the documents, and a
    sentence answers by the question's other words, not by naming the place again."""
    folded = fold(question)
    keep = list(question)
    for place in places:
        for m in re.finditer(rf"(?<!\w){re.escape(fold(place))}s?(?!\w)", folded):
            keep[m.start() : m.end()] = " " * (m.end() - m.start())
    return "".join(keep)


def counts(analysis: Analysis, sentence: str) -> bool:
    """A number next to the counted noun ("fyra fokusområden", "antalet kameror ska uppgå
    till 2 500" for "Hur många (nya) fokusområden/kameror …?"); a number anywhere when the
    question names no noun."""
    m = _COUNT_NOUN_RE.search(fold(analysis.question))
    words = re.findall(r"[^\W_]+(?:[.,]\d+)?", sentence)
    numbers = [bool(_NUMBER_TOKEN_RE.match(w) and not DATE_RE.fullmatch(w)) for w in words]
    if not m:
        return any(numbers)
    first, second = m.groups()
    asked = {first}
    if second and first.endswith(("a", "e")):  # "hur många regionala resurscentrum"
        asked.add(second)
    nouns = {_stem(noun) for noun in asked}
    for i, word in enumerate(words):
        folded = fold(word)
        if (_stem(folded) in nouns or _same_head(folded, asked)) and (
            _counted_before(words, numbers, i) or _figure_after(words, i)
        ):
            return True
    return False


_UNIT_AFTER_RE = re.compile(rf"^(?:{_MONEY}|{_TIME}|procent|%)$", re.IGNORECASE)


def _counted_before(words: list[str], numbers: list[bool], i: int) -> bool:
    """A number up to three words before the noun; "en"/"ett" only right before it (they are
    mostly articles: "en samverkansstruktur, kallad bob")."""
    for j in range(max(0, i - 3), i):
        if numbers[j] and (j == i - 1 or words[j].lower() not in ("en", "ett")):
            return True
    return False


def _figure_after(words: list[str], i: int) -> bool:
    """A figure within four words after the noun that counts it ("antalet kameror ska uppgå
    till 2 500"), not a year or a figure of something else ("barn under 15 år")."""
    j = i + 1
    while j < min(len(words), i + 5):
        if not words[j][0].isdigit() or DATE_RE.fullmatch(words[j]):
            j += 1
            continue
        while j + 1 < len(words) and words[j + 1].isdigit() and len(words[j + 1]) == 3:
            j += 1  # "2 500": groups of three digits belong to the figure
        return j + 1 >= len(words) or not _UNIT_AFTER_RE.match(words[j + 1])
    return False


def _same_head(word: str, nouns: set[str]) -> bool:
    """A compound and its last part count the same things: "1 000 platser" for "Hur många
    förvarsplatser", "kameror" for "övervakningskameror"."""
    return len(word) >= 5 and any(
        len(noun) >= 5 and (noun.endswith(word) or word.endswith(noun)) for noun in nouns
    )


def _stem(word: str) -> str:
    """Compare nouns by their first letters: "fokusomraden" ~ "fokusomrade"."""
    return word[: max(4, min(len(word), 8))]


# ---------------------------------------------------------------------------------------------
# Structure around a quote
# ---------------------------------------------------------------------------------------------

_HEADING_RE = re.compile(r"^[ \t]*#{1,6}\s", re.MULTILINE)
_NUMBER_MARK = r"\d{1,2}[.)]"  # a numbered list or decision item: "2.", "2)"
_ITEM_RE = re.compile(
    rf"[ \t]*(?:[•\-–*·▪●◦]|\(?{_NUMBER_MARK}|\(?[a-h][.)])[ \t]+(?P<item>\S[^\n]*?)[ \t]*"
)
_SECTION_RE = re.compile(r"^[#\s]*(?P<label>\d+\s?[a-z]?\s?§)\s*$", re.MULTILINE)
MAX_ITEM_CHARS = 300


def is_heading(text: str, start: int, end: int) -> bool:
    """A Markdown heading, or a short line standing alone without a full stop (a title)."""
    line_start = text.rfind("\n", 0, start) + 1
    if _HEADING_RE.match(text, line_start):
        return True
    sentence = text[start:end].strip()
    if not sentence or sentence[-1] in '.:!?;,)»”"' or re.search(r"[\d@,]", sentence):
        return False  # a sentence, a list intro, or a line of contact details
    words = len(sentence.split())
    alone_before = start == 0 or text[line_start:start].strip() == ""
    line_end = text.find("\n", end)
    alone_after = line_end < 0 or text[end:line_end].strip() == ""
    # A title on its own line, or a short label ending its line ("… miljön. - Hemmiljö").
    title_like = alone_after and (words <= 12 if alone_before else words <= 6)
    return title_like and not list_items(text, end)  # a list intro is not a title


_BULLET_ONLY_RE = re.compile(rf"[ \t]*(?:[•\-–*·▪●◦]|\(?{_NUMBER_MARK})[ \t]*")
_ITEM_NUMBER_RE = re.compile(rf"{_NUMBER_MARK}[ \t]+(?=[A-ZÅÄÖ])")


def after_item_number(text: str, start: int, end: int) -> int:
    """Where a quote of the sentence [start, end) begins: after a list or decision item's
    number ("2. I avtalet ska …"), which belongs to the list, not to what the sentence says."""
    m = _ITEM_NUMBER_RE.match(text, start, end)
    return m.end() if m else start


def is_bare_item(text: str, start: int, end: int) -> bool:
    """A short list item on its own ("- Narkotika/ANDTS"): part of a list, not an answer."""
    line_start = text.rfind("\n", 0, start) + 1
    sentence = text[start:end].strip()
    short = len(sentence.split()) <= 6 and sentence[-1:] not in ".!?"
    return short and bool(_BULLET_ONLY_RE.fullmatch(text, line_start, start))


def is_title(doc: Any, start: int, end: int) -> bool:
    """The document's title: context, not an answer."""
    return " ".join(doc.text[start:end].split()) == " ".join(doc.title.split())


def list_items(text: str, end: int, limit: int = 12) -> list[tuple[int, int]]:
    """(start, end) of the numbered or bulleted lines right after offset `end` (the end of a
    list intro), blank lines between items allowed; empty unless the intro ends its line."""
    line_end = text.find("\n", end)
    if line_end < 0 or text[end:line_end].strip():
        return []
    items: list[tuple[int, int]] = []
    pos, blanks = line_end + 1, 0
    while pos < len(text) and len(items) < limit:
        nxt = text.find("\n", pos)
        nxt = len(text) if nxt < 0 else nxt
        m = _ITEM_RE.fullmatch(text, pos, nxt)
        if m and m.end("item") - m.start("item") <= MAX_ITEM_CHARS:
            items.append((m.start(), m.end("item")))
            blanks = 0
        elif text[pos:nxt].strip() or blanks >= 1 and items or blanks >= 2:
            break  # prose, or the list is over
        else:
            blanks += 1
        pos = nxt + 1
    return items


def announces_list(sentence: str) -> bool:
    """A list intro: ends in ":", or stops without a full stop ("Lägesbilden ska innehålla")."""
    s = sentence.rstrip()
    return s.endswith(":") or (bool(s) and s[-1].isalpha())


def section_label(text: str, start: int) -> str:
    """The law paragraph ("4 §") a passage at `start` belongs to, else ""."""
    label = ""
    for m in _SECTION_RE.finditer(text, 0, start):
        label = " ".join(m.group("label").split())
    return label


_MARKUP_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)|[*_`]{1,3}(?=\S)|(?<=\S)[*_`]{1,3}|^#+\s*")


def plain(text: str) -> str:
    """A quote as a person reads it: whitespace collapsed, Markdown links and emphasis gone."""
    text = _MARKUP_RE.sub(lambda m: m.group(1) or "", text)
    return " ".join(text.split())
