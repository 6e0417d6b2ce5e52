"""Diacritic folding shared by the lexical index and the coverage checks in ranking.

A stem with å/ä/ö/é is indexed a second time folded and marked ("områd" -> "~omrad"); the
mark keeps folded forms apart from real ASCII words, so exact spellings still match exactly.
"""

from __future__ import annotations

import unicodedata

FOLD_MARK = "~"


def fold(text: str) -> str:
    """Diacritics removed: "fokusområden" -> "fokusomraden", "idé" -> "ide"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def folded_term(stem: str) -> str | None:
    """The marked folded form of a stem with diacritics ("~omrad"), else None."""
    folded = fold(stem)
    return FOLD_MARK + folded if folded != stem else None


def lookup_forms(stem: str) -> tuple[str, ...]:
    """Index terms a query stem matches: itself, and for a stem typed without diacritics
    also the marked folded forms of words that have them ("omrad" -> "~omrad")."""
    if stem.isascii() and stem.isalpha():
        return (stem, FOLD_MARK + stem)
    return (stem,)
