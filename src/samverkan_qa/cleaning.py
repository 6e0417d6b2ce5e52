"""Strip what is not content: cookie banners, skip links, repeated page furniture, front matter."""

from __future__ import annotations

import math
import re
import unicodedata

import yaml

# Lines that are site furniture, not document content. Matched on the stripped line.
_FURNITURE_LINES = [
    re.compile(r"^hoppa till (huvud)?innehållet$", re.I),
    re.compile(r"^till innehållet$", re.I),
    re.compile(r"^(kakor|cookies) på \S+$", re.I),
    re.compile(r"^vad är kakor\??$", re.I),
    re.compile(r"^(godkänn|acceptera|neka) (alla )?(kakor|cookies)$", re.I),
]
# A paragraph that is a cookie notice: mentions kakor/cookies and asks for consent.
_COOKIE_PARAGRAPH = re.compile(r"\b(kakor|cookies)\b.*\b(godkän\w*|välja|samtyck\w*)", re.I | re.S)

_INVISIBLE_RE = re.compile("[\u00ad\u200b\u2060\ufeff]")

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


class _FrontMatterLoader(yaml.SafeLoader):
    """The safe loader without aliases (a 436-byte alias bomb expands to gigabytes) and
    without timestamps: `date: 2024-13-45` stays the string it is instead of raising."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise ValueError("YAML aliases (*name) are not allowed in front matter")
        return super().compose_node(parent, index)  # type: ignore[arg-type]


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def split_front_matter(text: str, max_chars: int = 20_000) -> tuple[dict[str, object], str]:
    """YAML front matter becomes metadata; the body is the rest.

    Raises ValueError for front matter that is too long or uses aliases; invalid YAML is
    kept as text, as before."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    if len(match.group(1)) > max_chars:
        raise ValueError(
            f"front matter has {len(match.group(1)):,} characters; at most {max_chars:,} "
            "(max_front_matter_chars)"
        )
    try:
        fields = yaml.load(match.group(1), Loader=_FrontMatterLoader)  # noqa: S506 (safe)
    except yaml.YAMLError:
        return {}, text
    except RecursionError:
        raise ValueError("front matter nested too deeply") from None
    if not isinstance(fields, dict):
        return {}, text
    return {str(k): _plain(v) for k, v in fields.items()}, text[match.end() :]


def strip_front_matter(text: str) -> str:
    """The text without its front matter block (whatever the block holds)."""
    match = _FRONT_MATTER.match(text)
    return text[match.end() :] if match else text


def _plain(value: object) -> object:
    # Metadata must stay JSON-able and small: lists and mappings become their text.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and infinity are not JSON
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _is_furniture(paragraph: str) -> bool:
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    if not lines:
        return True
    if all(any(p.match(line) for p in _FURNITURE_LINES) for line in lines):
        return True
    return len(paragraph) < 400 and bool(_COOKIE_PARAGRAPH.search(paragraph))


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text)]


def drop_repeated_blocks(paragraphs: list[str]) -> list[str]:
    """Drop page furniture that a PDF repeats: the second and later copies of a block.

    Only short, multi-line blocks count, so a sentence quoted twice in running text stays.
    Later pages often repeat the first page's header without its last lines, so a block
    that begins an earlier one counts as a copy too.
    """
    seen: list[str] = []
    kept = []
    for paragraph in paragraphs:
        key = re.sub(r"\s+", " ", paragraph).strip()
        if _furniture_shaped(paragraph):
            if any(earlier.startswith(key) for earlier in seen):
                continue
            seen.append(key)
        kept.append(paragraph)
    return kept


def _furniture_shaped(paragraph: str) -> bool:
    lines = [line for line in paragraph.splitlines() if line.strip()]
    return len(lines) >= 2 and len(paragraph) < 300


_CONTACT_LINE = re.compile(
    r"^(tfn|tel|telefon|fax|vxl|postadress|besök\w*|org\.? ?nr)\b|^\S+@\S+$|^(www\.|https?://)\S+$",
    re.I,
)


def drop_letterhead(paragraphs: list[str]) -> list[str]:
    """Drop address and contact blocks (Postadress/Besök/Tfn …) printed in a PDF's footer."""
    cues = ("postadress", "besöksadress", "besök", "tfn", "telefon", "org.nr", "www.")
    kept = []
    for p in paragraphs:
        low = p.lower()
        lines = [line.strip() for line in p.splitlines() if line.strip()]
        address = sum(1 for c in cues if c in low) >= 2 and len(p) < 400
        contact = all(_CONTACT_LINE.search(line) for line in lines)
        if not (address or contact):
            kept.append(p)
    return kept


def strip_invisible(text: str) -> str:
    """`text` without soft hyphens, zero-width spaces, word joiners and BOMs."""
    return _INVISIBLE_RE.sub("", text)


def clean_text(text: str, *, pdf_like: bool = False) -> str:
    """Clean a document's text. Paragraph breaks are normalised to one blank line."""
    # NFC: PDFs and some editors give decomposed letters ("a" + U+0308) that neither the
    # tokenizer nor the keyword search treat as "ä".
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # Invisible marks inside words (soft hyphens in "brotts\u00adförebyggande" from web
    # pages, zero-width spaces, word joiners, a stray BOM) split a word for the keyword
    # search and the tokenizer while the reader sees one word.
    text = strip_invisible(text)
    paragraphs = [p for p in _paragraphs(text) if not _is_furniture(p)]
    paragraphs = drop_repeated_blocks(paragraphs)
    if pdf_like or _looks_pdf_extracted(paragraphs):
        paragraphs = _drop_all_footers(paragraphs)
    paragraphs = [p.strip("\n").rstrip() for p in paragraphs]
    return "\n\n".join(p for p in paragraphs if p.strip()).strip() + "\n"


def _looks_pdf_extracted(paragraphs: list[str]) -> bool:
    joined = "\n".join(paragraphs[:5]).lower()
    return "diarienummer" in joined or "handläggare" in joined


def _drop_all_footers(paragraphs: list[str]) -> list[str]:
    paragraphs = drop_letterhead(paragraphs)
    # An organisation name in capitals on a line of its own is the footer's first line.
    paragraphs = [p for p in paragraphs if not re.fullmatch(r"[A-ZÅÄÖ ]{6,}KOMMUN", p.strip())]
    return _rejoin_broken_sentences(paragraphs)


def _rejoin_broken_sentences(paragraphs: list[str]) -> list[str]:
    """Mend a sentence that a page break cut in two ("under 2021-" + "2022 för att ...")."""
    out: list[str] = []
    for p in paragraphs:
        prev = out[-1].rstrip() if out else ""
        head = p.lstrip()[:1]
        if prev.endswith("-") and (head.isdigit() or head.islower()):
            out[-1] = prev + p.lstrip()
        elif prev and prev[-1] not in '.:!?)»”"' and head.islower():
            out[-1] = prev + " " + p.lstrip()
        else:
            out.append(p)
    return out
