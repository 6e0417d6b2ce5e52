"""Split documents into passages sized in model tokens, with exact offsets into the text."""

from __future__ import annotations

import re
from collections.abc import Callable

from samverkan_qa.documents import Chunk, Document
from samverkan_qa.errors import InvalidInputError

# Paragraphs first, then lines (list items), then sentences, then clauses, then words.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " ", ""]
_WHITESPACE_RE = re.compile(r"\s*")


class Chunker:
    """Token-sized splitting; `count_tokens` is the embedding model's own tokenizer."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        *,
        chunk_tokens: int,
        overlap: int,
        max_tokens: int | None = None,
    ) -> None:
        if max_tokens is not None and chunk_tokens > max_tokens:
            raise InvalidInputError(
                f"chunk size {chunk_tokens} tokens exceeds the model's limit of {max_tokens}"
            )
        self.count_tokens = count_tokens
        self.overlap = overlap
        # Imported here: langchain takes about a second to import, and searching an index
        # (which imports this module through index.py) never splits a document.
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self._splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            keep_separator="end",
            chunk_size=chunk_tokens,
            chunk_overlap=overlap,
            length_function=count_tokens,
            strip_whitespace=True,
        )

    def split(self, doc: Document) -> list[Chunk]:
        pieces = self._splitter.split_text(doc.text)
        return [
            Chunk(
                chunk_id=f"{doc.doc_id}#{number}",
                doc_id=doc.doc_id,
                start=start,
                end=start + len(piece),
                text=piece,
                page=doc.page_at(start),
            )
            for number, (piece, start) in enumerate(
                zip(pieces, self._place(doc.text, pieces), strict=True)
            )
        ]

    def _place(self, text: str, pieces: list[str]) -> list[int]:
        """Where the splitter took each piece from. Repeated phrases make a plain find()
        wrong ("samverkan" may sit inside the previous chunk and again after it), so the
        pieces are placed together: each right after the one before (only whitespace
        between) or overlapping its tail by at most the overlap and adding text, the last
        reaching the end. Depth-first, earliest place first, dead ends remembered."""
        if not pieces:
            return []
        dead: set[tuple[int, int]] = set()  # (piece, start of the piece before): no way on
        starts: list[int] = []
        options = [self._options(text, pieces[0], -1, 0)]
        while options:
            if not options[-1]:
                options.pop()
                if starts:
                    dead.add((len(starts), starts.pop()))
                continue
            start = options[-1].pop(0)
            end = start + len(pieces[len(starts)])
            if len(starts) + 1 == len(pieces):
                if not text[end:].strip():
                    return [*starts, start]
                continue
            if (len(starts) + 1, start) in dead:
                continue
            starts.append(start)
            options.append(self._options(text, pieces[len(starts)], start, end))
        return self._place_greedily(text, pieces)

    def _options(self, text: str, piece: str, prev_start: int, prev_end: int) -> list[int]:
        """Starts of `piece` that may follow a chunk at [prev_start, prev_end)."""
        # after only whitespace; matched in place, as slicing the rest of a long document
        # for every piece would cost its length each time
        latest = _WHITESPACE_RE.match(text, prev_end).end()
        out = []
        start = text.find(piece, prev_start + 1, latest + len(piece))
        while start >= 0:
            if start >= prev_end or (
                start + len(piece) > prev_end
                and self.count_tokens(text[start:prev_end]) <= self.overlap
            ):
                out.append(start)
            start = text.find(piece, start + 1, latest + len(piece))
        return out

    def _place_greedily(self, text: str, pieces: list[str]) -> list[int]:
        """Each piece at its first place after the previous one, overlapping it by at most
        the overlap: the splitter's text had something besides whitespace between chunks."""
        starts: list[int] = []
        prev_start, prev_end = -1, 0
        for piece in pieces:
            start = text.find(piece, prev_start + 1)
            while start >= 0 and start < prev_end:
                if self.count_tokens(text[start:prev_end]) <= self.overlap:
                    break
                start = text.find(piece, start + 1)
            if start < 0:  # the splitter only returns substrings: a bug worth stopping for
                raise RuntimeError(f"chunk {piece[:40]!r} is not in its document")
            starts.append(start)
            prev_start, prev_end = start, start + len(piece)
        return starts
