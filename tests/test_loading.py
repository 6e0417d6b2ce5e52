from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_pdf

from samverkan_qa.cleaning import clean_text
from samverkan_qa.errors import CorpusNotFoundError
from samverkan_qa.loading import load_documents


def _by_type(corpus: Path) -> dict[str, list]:
    result = load_documents([corpus])
    out: dict[str, list] = {}
    for doc in result.documents:
        out.setdefault(doc.doc_type, []).append(doc)
    return out


def test_every_format_loads_with_swedish_letters(small_corpus: Path) -> None:
    docs = _by_type(small_corpus)
    assert set(docs) == {"txt", "md", "html", "pdf", "docx", "jsonl"}
    assert "överenskommelse" in docs["txt"][0].text
    assert "brandförsvarsförbund" in docs["md"][0].text
    assert "Öby kommun" in docs["html"][0].text
    assert "Kommunstyrelsen i Älvby" in docs["pdf"][0].text
    assert "Kriminalvården" in docs["docx"][0].text
    assert {d.doc_id for d in docs["jsonl"]} == {"rec-1", "rec-2"}


def test_ids_titles_sources_and_hashes_are_stable(small_corpus: Path) -> None:
    first = {d.doc_id: d for d in load_documents([small_corpus]).documents}
    second = {d.doc_id: d for d in load_documents([small_corpus]).documents}
    assert first.keys() == second.keys()
    assert "alvby-overenskommelse" in first
    for doc_id, doc in first.items():
        assert doc.hash == second[doc_id].hash and len(doc.hash) == 64
        assert doc.title and Path(doc.source).exists()
    assert first["avtal"].title == "Samverkansavtal Kriminalvården"
    assert first["oby-trygghet"].title == "Trygghet i Öby"


def test_markdown_front_matter_becomes_metadata(small_corpus: Path) -> None:
    doc = next(d for d in load_documents([small_corpus]).documents if d.doc_type == "md")
    assert doc.metadata["title"] == "Räddningstjänstens roll"
    assert doc.metadata["datum"] == "2024-03-01"
    assert "---" not in doc.text and "datum:" not in doc.text


def test_html_drops_scripts_navigation_and_cookie_banner(small_corpus: Path) -> None:
    doc = _by_type(small_corpus)["html"][0]
    assert "alert" not in doc.text and "Meny" not in doc.text and "kakor" not in doc.text
    assert "• Nattvandring på helger" in doc.text


def test_pdf_keeps_pages_and_drops_running_header_and_footer(small_corpus: Path) -> None:
    doc = _by_type(small_corpus)["pdf"][0]
    assert [p.page for p in doc.pages] == [1, 2]
    assert "Tjänsteutlåtande" not in doc.text and "Sida" not in doc.text
    page_two = doc.text.index("Kommundelen Åsa")
    assert doc.page_at(page_two) == 2 and doc.page_at(0) == 1


def test_jsonl_extra_fields_are_metadata(small_corpus: Path) -> None:
    rec = next(d for d in load_documents([small_corpus]).documents if d.doc_id == "rec-1")
    assert rec.title == "Lägesbild Älvby" and rec.metadata["kommun"] == "Älvby"


def test_cookie_banner_and_skip_link_are_stripped() -> None:
    raw = (
        "Hoppa till innehållet\n\nKakor på Huge.se\n\nVi använder kakor (cookies) för att ge "
        "dig bästa möjliga funktion. Du kan välja vilka kakor vi får använda. Vad är kakor?\n\n"
        "Tillsammans för trygghet\n\nHuge är med i samverkan."
    )
    assert clean_text(raw) == "Tillsammans för trygghet\n\nHuge är med i samverkan.\n"


def test_repeated_pdf_letterhead_is_stripped_once_kept_once() -> None:
    header = "Datum\n2020-10-05Diarienummer\nKS-2018/91.103Handläggare\nAnna Svensson"
    raw = (
        f"{header}\n\nFörsta sidans text om samverkan under 2021-\n\nHUDDINGE KOMMUN\n\n"
        "Postadress\nHuddinge kommun\n141 85 Huddinge Besök\nKommunalvägen 28\n\n"
        "Tfn vxl 08-535 300 00\n\nhuddinge@huddinge.se\nwww.huddinge.se\n\n"
        "2022 för att öka tryggheten.\n\nDatum\n2020-10-05Diarienummer\nKS-2018/91.103\n\n"
        "Andra sidans text."
    )
    text = clean_text(raw)
    assert text.count("Diarienummer") == 1
    assert "Postadress" not in text and "Tfn" not in text and "www." not in text
    assert "under 2021-2022 för att öka tryggheten." in text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("tom.txt", b"", "empty"),
        ("blank.md", b"   \n\n  ", "empty"),
        ("binar.txt", b"\x00\x01\x02binary\x00", "binary"),
        ("latin1.txt", "Smörgås".encode("latin-1"), "UTF-8"),
        ("trasig.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("trasig.docx", b"PK\x03\x04 broken zip", "DOCX"),
        ("bild.png", b"\x89PNG\r\n", "unsupported"),
        ("fel.jsonl", b'{"id": 1}\nnot json\n', "records"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / "ok.txt").write_text("Polisen och kommunen samverkar i Åby.", encoding="utf-8")
    (tmp_path / name).write_bytes(content)
    result = load_documents([tmp_path])
    assert [d.doc_id for d in result.documents] == ["ok"]
    assert len(result.skipped) == 1
    assert result.skipped[0].source.endswith(name)
    assert reason.lower() in result.skipped[0].reason.lower()


def test_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root, so the read itself is made to fail.
    (tmp_path / "hemlig.txt").write_text("text", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("Polisen i Åby.", encoding="utf-8")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "hemlig.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = load_documents([tmp_path])
    assert [d.doc_id for d in result.documents] == ["ok"]
    assert "unreadable" in result.skipped[0].reason


def test_missing_corpus_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFoundError, match="saknas"):
        load_documents([tmp_path / "saknas"])


def test_single_file_source(tmp_path: Path) -> None:
    path = tmp_path / "ett.pdf"
    write_pdf(path, ["Överenskommelsen gäller till och med 2026."])
    docs = load_documents([path]).documents
    assert len(docs) == 1 and docs[0].pages[0].page == 1


def test_invisible_marks_inside_words_are_removed() -> None:
    text = "Det brotts\u00adföre\u00adbyggande arbetet i Kalix\u200b fortsätter.\u2060\n"
    assert clean_text("\ufeff" + text) == "Det brottsförebyggande arbetet i Kalix fortsätter.\n"
