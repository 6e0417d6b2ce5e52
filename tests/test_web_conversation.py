"""A conversation that lasts: kept in the browser, restored after a reload, exported whole.
Hand-made Swedish texts, the fake embedder, no browser."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeEmbedder, fake_engine

from samverkan_qa import web_conversation
from samverkan_qa.index import build_index
from samverkan_qa.settings import Settings

ALVBY = (
    "Samverkansöverenskommelse i Älvby\n\n"
    "Älvby kommun och polisen har skrivit under en överenskommelse om samverkan. "
    "Överenskommelsen gäller från 1 januari 2024 till 31 december 2026.\n"
)
OBY = (
    "Trygghet i Öby\n\n"
    "Öby kommun och polisen samverkar om tryggheten på torget. "
    "Överenskommelsen gäller från 1 mars 2023 till 28 februari 2025.\n"
)


@pytest.fixture(scope="module")
def handlers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import samverkan_qa.web as web

    root = tmp_path_factory.mktemp("conversation")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "alvby.txt").write_text(ALVBY, encoding="utf-8")
    (corpus / "oby.txt").write_text(OBY, encoding="utf-8")
    settings = Settings(corpus=(corpus,), index_dir=root / "index", cache_dir=root / "cache")
    build_index(settings, FakeEmbedder())
    engine = fake_engine(settings)
    return web.Handlers(engine, web.Downloads())


def test_conversation_is_kept_restored_and_followed_up(handlers: Any) -> None:
    chat, state, _, _, _, saved = handlers.respond(
        "Hur länge gäller Älvbys överenskommelse?", None, 5, "", "", ""
    )
    asked: list[Any] = []
    ask = handlers.engine.ask
    handlers.engine.ask = lambda q, history, *rest: (
        asked.append(list(history)) or ask(q, history, *rest)
    )
    try:
        # A reload: a new session state, the conversation read back from the browser.
        chat2, restored, csv_button, md_button = handlers.restore(saved)
        assert chat2 == chat and restored.history == ["Hur länge gäller Älvbys överenskommelse?"]
        assert csv_button["interactive"] is True
        *_, saved = handlers.respond("Och i Öby?", restored, 5, "", "", "")
    finally:
        handlers.engine.ask = ask
    # The follow-up is read against the earlier questions of the conversation.
    assert asked == [["Hur länge gäller Älvbys överenskommelse?"]]
    history, turns, records, shown_from = web_conversation.restore(saved)
    assert len(turns) == len(records) == 2 and shown_from == 1
    assert [r["question"] for r in records] == [
        "Hur länge gäller Älvbys överenskommelse?",
        "Och i Öby?",
    ]


def test_new_conversation_forgets_what_the_browser_kept(handlers: Any) -> None:
    *_, saved = handlers.reset()
    assert saved is None
    chat, state, *_ = handlers.restore(saved)
    assert state.turns == [] and "sv-example" in chat


@pytest.mark.parametrize(
    "saved",
    [None, "x", [], {"history": "a"}, {"history": [1], "turns": [], "records": [],
     "shown_from": 1}, {"history": [], "turns": ["<p>"], "records": [], "shown_from": 0}],
)  # fmt: skip
def test_a_stored_value_of_the_wrong_shape_is_dropped(saved: Any) -> None:
    assert web_conversation.restore(saved) == ([], [], [], 1)


RECORDS = [
    {
        "turn": 1,
        "question": "Hur länge gäller avtalet?",
        "searched": "",
        "answer": "Överenskommelsen gäller till 31 december 2026. [1]",
        "quotes": [
            {
                "text": "Överenskommelsen gäller från 1 januari 2024 till 31 december 2026.",
                "source": "”Samverkansöverenskommelse i Älvby”, Älvby kommun. alvby.txt.",
                "title": "Samverkansöverenskommelse i Älvby",
                "file": "corpus/alvby.pdf",
                "page": 2,
                "section": "",
                "start": 110,
                "end": 177,
            }
        ],
    },
    {
        "turn": 2,
        "question": '=HYPERLINK("x") <script>alert(1)</script>',
        "searched": "",
        "answer": "Jag hittar inget stöd för det i dokumenten.",
        "quotes": [],
    },
]


def test_conversation_csv_has_question_answer_quote_source_page_and_offsets() -> None:
    rows = list(csv.DictReader(io.StringIO(web_conversation.conversation_csv(RECORDS))))
    assert len(rows) == 2
    first, second = rows
    assert first["fråga"] == "Hur länge gäller avtalet?"
    assert first["citat"].startswith("Överenskommelsen gäller från 1 januari 2024")
    assert (first["sida"], first["start"], first["slut"]) == ("2", "110", "177")
    assert first["källa"].startswith("”Samverkansöverenskommelse i Älvby”")
    assert second["fråga"].startswith("'=")  # a formula would run in a spreadsheet
    assert second["citat"] == ""


def test_conversation_markdown_lists_each_turn_with_escaped_text() -> None:
    text = web_conversation.conversation_markdown(RECORDS)
    assert text.startswith("# Samtal\n\n## 1. Hur länge gäller avtalet?")
    assert "(corpus/alvby.pdf, s. 2, tecken 110–177)" in text
    assert "<script>" not in text and "\\<script\\>" in text


def test_downloads_write_the_whole_conversation(handlers: Any, tmp_path: Path) -> None:
    csv_path, md_path = handlers.downloads.write_conversation(RECORDS)
    assert Path(csv_path).read_text(encoding="utf-8").startswith("\ufeffnr,fråga,")
    assert "## 2. " in Path(md_path).read_text(encoding="utf-8")


def test_browser_secret_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    first = web_conversation.browser_secret(folder)
    path = folder / web_conversation.SECRET_FILE
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    # A restarted server reads the same secret, so the browser's kept conversation decrypts.
    assert web_conversation.browser_secret(folder) == first
    assert web_conversation.browser_secret(tmp_path / "elsewhere") != first


def test_a_cut_short_secret_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / web_conversation.SECRET_FILE).write_text("kort", encoding="ascii")
    secret = web_conversation.browser_secret(tmp_path)
    assert len(secret) >= 32
    assert web_conversation.browser_secret(tmp_path) == secret


def test_the_page_keeps_conversations_with_the_given_secret(handlers: Any) -> None:
    import gradio as gr

    import samverkan_qa.web as web

    secret = "hemlig-nyckel-som-ar-minst-trettiotva-tecken"
    demo = web.build_app(handlers.engine, web.Downloads(), secret=secret)
    kept = [b for b in demo.blocks.values() if isinstance(b, gr.BrowserState)]
    assert [b.secret for b in kept] == [secret]
    assert kept[0].storage_key == web.STORAGE_KEY
