"""Split documents into passages sized in model tokens, with exact offsets into the text."""

from __future__ import annotations

from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

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
        cursor = 0
        for number, piece in enumerate(self._splitter.split_text(doc.text)):
            start = doc.text.find(piece, cursor)
            if start < 0:  # cannot happen while the splitter returns substrings; be loud if it does
                raise RuntimeError(f"chunk {number} of {doc.doc_id} is not in its document")
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
            cursor = start + 1
        return chunks
