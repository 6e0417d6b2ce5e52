"""Split documents into passages sized in model tokens, with exact offsets into the text."""

from __future__ import annotations

from collections.abc import Callable

from samverkan_qa.documents import Chunk, Document
from samverkan_qa.errors import InvalidInputError

# Paragraphs first, then lines (list items), then sentences, then clauses, then words.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " ", ""]


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
        chunks = []
        prev_start, prev_end = -1, 0
        for number, piece in enumerate(self._splitter.split_text(doc.text)):
            start = self._locate(doc.text, piece, prev_start, prev_end)
            end = start + len(piece)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{number}",
                    doc_id=doc.doc_id,
                    start=start,
                    end=end,
                    text=piece,
                    page=doc.page_at(start),
                )
            )
            prev_start, prev_end = start, end
        return chunks

    def _locate(self, text: str, piece: str, prev_start: int, prev_end: int) -> int:
        """Where the splitter took `piece` from: right after the previous chunk (only
        whitespace between), or overlapping its tail by no more than the overlap and
        running past its end; each chunk adds text. Repeated phrases make a plain find()
        wrong: "samverkan" may sit inside the previous chunk and again after it."""
        fallback = -1
        start = text.find(piece, prev_start + 1)
        while start >= 0:
            if start >= prev_end or self.count_tokens(text[start:prev_end]) <= self.overlap:
                adds = start + len(piece) > prev_end
                if adds and not text[prev_end:start].strip():
                    return start
                fallback = start if fallback < 0 else fallback
            start = text.find(piece, start + 1)
        if fallback >= 0:
            return fallback
        # The splitter only returns substrings; reaching here is a bug worth stopping for.
        raise RuntimeError(f"chunk {piece[:40]!r} is not in its document after {prev_start}")
