"""Yes/no questions and questions naming a year, on hand-made Swedish documents (written here,
not the corpus) with the fake embedder: Ja/Nej from parties, validity and agreements, never a
Nej from mere absence, the document of the year asked for, and a file name's year."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from samverkan_qa.answers.analysis import analyse
from samverkan_qa.answers.assistant import AskConfig, Assistant
from samverkan_qa.answers.compose import ABSTAIN_TEXT
from samverkan_qa.answers.yesno import UNSETTLED, YES, passage_lead
from samverkan_qa.index import build_index, load_index
from samverkan_qa.metadata import extract_facts
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings

DOCS = {
    # No date in the text: its year is in its file name only.
    "kalix-2016-pressmeddelande.txt": (
        "Kalix kommun skrev idag under ett nytt samverkansavtal med polisen och "
        "räddningstjänsten. Avtalet innebär en prioritering av områdena skadegörelse, "
        "bilbränder och otrygghet i centrum.\n\n"
        "– Med avtalet tar vi ett gemensamt ansvar för tryggheten, säger Anna Berg, "
        "kommunalråd i Kalix kommun.\n\n"
        "Kommunstyrelsen ansvarar för uppföljningen av avtalet.\n"
    ),
    "kalix-2023-samverkansoverenskommelse.txt": (
        "Samverkansöverenskommelse i Kalix\n\n"
        "Samverkansöverenskommelsen mellan Kalix kommun och lokalpolisområde Kalix "
        "undertecknades den 3 mars 2023 och gäller till och med den 31 december 2025.\n\n"
        "Överenskommelsen anger tre fokusområden:\n- Ungdomar i riskzon\n- Trygghet i centrum\n"
        "- Narkotika\n\n"
        "Styrgruppen ansvarar för uppföljningen av avtalet.\n"
    ),
    "sandviken-samverkansavtal.txt": (
        "Nytt samverkansavtal i Sandviken\n\n"
        "Sandvikens kommun, Polismyndigheten och Räddningstjänsten Gästrike har skrivit under "
        "ett samverkansavtal. Avtalet gäller från 1 januari 2024 till 31 december 2027.\n\n"
        "Fokusområden är våld i nära relationer, bostadsinbrott och trafiksäkerhet.\n\n"
        "I Sandviken finns nattvandrare i centrum varje helg.\n"
    ),
    # The fire service is named beside the agreement, but as not taking part.
    "ljusdal-avtal.txt": (
        "Avtal i Ljusdal\n\n"
        "Ljusdals kommun och polisen har tecknat ett samverkansavtal som gäller till 2027. "
        "Räddningstjänsten ingår inte i avtalet men deltar i trygghetsvandringar.\n"
    ),
    # Parties named, but no sentence states who the agreement is between.
    "ovanaker-trygghet.txt": (
        "Trygghetsarbete i Ovanåker\n\n"
        "Ovanåkers kommun samverkar med polisen kring tryggheten i centrum enligt en "
        "överenskommelse. Kommunen ska inte dela uppgifter om enskilda med föreningarna.\n"
    ),
}
TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("yesno")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    folder = root / "index"
    build_index(Settings(corpus=(corpus,), index_dir=folder), FakeEmbedder())
    return folder


def assistant_on(index_dir: Path, today: date = TODAY) -> Assistant:
    from conftest import FakeEmbedder

    retriever = Retriever(load_index(index_dir), FakeEmbedder())
    return Assistant(retriever, AskConfig(today=today))


@pytest.fixture(scope="module")
def assistant(index_dir: Path) -> Assistant:
    return assistant_on(index_dir)


# --- membership ---------------------------------------------------------------------------


def test_a_party_named_in_the_agreement_is_a_yes_with_its_sentence(assistant: Assistant) -> None:
    answer = assistant.ask("Är räddningstjänsten med i Sandvikens avtal?")
    assert answer.text.startswith("Ja. Sandvikens kommun, Polismyndigheten och Räddningstjänsten")
    assert answer.verdict == "yes" and answer.to_json()["verdict"] == "yes"
    (cited,) = answer.citations
    doc = assistant.documents["sandviken-samverkansavtal"]
    assert doc.text[cited["start"] : cited["end"]] == cited["text"]


def test_a_party_missing_from_the_stated_parties_is_a_no(assistant: Assistant) -> None:
    answer = assistant.ask("Ingår räddningstjänsten i Kalix överenskommelse från 2023?")
    assert answer.text.startswith("Nej. Samverkansöverenskommelsen mellan Kalix kommun och")
    assert answer.verdict == "no"
    assert answer.citations[0]["doc_id"] == "kalix-2023-samverkansoverenskommelse"
    # The agreement of 2016 had the fire service: the year picks the document.
    answer = assistant.ask("Ingår räddningstjänsten i Kalix samverkansavtal från 2016?")
    assert answer.text.startswith("Ja. Kalix kommun skrev idag under")
    assert "räddningstjänsten" in answer.text


def test_a_party_said_not_to_take_part_is_no_yes(assistant: Assistant) -> None:
    answer = assistant.ask("Ingår räddningstjänsten i Ljusdals avtal?")
    assert not answer.text.startswith("Ja."), answer.text


def test_signing_and_english_membership(assistant: Assistant) -> None:
    answer = assistant.ask("Skrev polisen under Sandvikens avtal?")
    assert answer.text.startswith("Ja. ") and answer.verdict == "yes"
    answer = assistant.ask("Is the fire service part of the agreement in Kalix from 2023?")
    assert answer.text.startswith("No. Samverkansöverenskommelsen mellan Kalix kommun")


def test_no_nej_from_mere_absence(assistant: Assistant) -> None:
    answer = assistant.ask("Ingår räddningstjänsten i Ovanåkers överenskommelse?")
    assert not answer.text.startswith(("Nej.", "Ja."))
    assert answer.verdict in ("unsettled", "")


# --- validity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "start", "quoted"),
    [
        ("Gäller Kalix överenskommelse fortfarande?", "Nej.", "31 december 2025"),
        ("Gäller Sandvikens avtal fortfarande?", "Ja.", "31 december 2027"),
        ("Gällde Kalix överenskommelse 2024?", "Ja.", "31 december 2025"),
        ("Gäller Sandvikens avtal 2030?", "Nej.", "31 december 2027"),
        ("Gällde Sandvikens avtal redan 2020?", "Nej.", "1 januari 2024"),
    ],
)
def test_validity_against_the_year_asked_or_today(
    assistant: Assistant, question: str, start: str, quoted: str
) -> None:
    answer = assistant.ask(question)
    assert answer.text.startswith(start) and quoted in answer.text, answer.text


def test_still_valid_is_asked_on_the_day_it_is_asked(index_dir: Path) -> None:
    earlier = assistant_on(index_dir, today=date(2024, 6, 1))
    assert earlier.ask("Gäller Kalix överenskommelse fortfarande?").text.startswith("Ja.")


# --- existence and topics -----------------------------------------------------------------


def test_an_agreement_of_the_municipality_is_a_yes(assistant: Assistant) -> None:
    answer = assistant.ask("Har Sandviken ett samverkansavtal?")
    assert answer.text.startswith("Ja. Sandvikens kommun, Polismyndigheten")


def test_a_municipality_without_documents_is_no_answer_not_a_no(assistant: Assistant) -> None:
    answer = assistant.ask("Har Nacka ett samverkansavtal?")
    assert answer.abstained and answer.text == ABSTAIN_TEXT


def test_a_priority_area_asked_about_is_quoted_with_its_list_intro(assistant: Assistant) -> None:
    answer = assistant.ask("Omfattar Kalix överenskommelse narkotika?")
    assert answer.text == "Ja. Överenskommelsen anger tre fokusområden: Narkotika [1]"
    assert [c["text"] for c in answer.citations] == [
        "Överenskommelsen anger tre fokusområden:",
        "Narkotika",
    ]


# --- from passages ------------------------------------------------------------------------


def test_a_passage_says_yes_only_when_it_holds_all_that_was_asked(assistant: Assistant) -> None:
    answer = assistant.ask("Finns det nattvandrare i Sandviken?")
    assert answer.text.startswith("Ja. I Sandviken finns nattvandrare") and answer.lead == "Ja."
    answer = assistant.ask("Finns det ordningsvakter i Sandviken?")
    assert answer.abstained or answer.text.startswith("Dokumenten säger inte det uttryckligen.")


def test_a_negated_passage_is_never_a_yes(assistant: Assistant) -> None:
    analyzer = assistant.retriever.index.lexical.analyzer
    question = analyse("Får kommunen dela uppgifter om enskilda?")
    said = "Kommunen får dela uppgifter om enskilda."
    assert passage_lead(question, [said], analyzer) == YES
    denied = "Kommunen får inte dela uppgifter om enskilda."
    assert passage_lead(question, [denied], analyzer) == UNSETTLED
    assert passage_lead(question, ["Kommunen delar ut pengar."], analyzer) == UNSETTLED


def test_the_verb_that_poses_the_question_need_not_be_quoted(assistant: Assistant) -> None:
    analyzer = assistant.retriever.index.lexical.analyzer
    question = analyse("Måste kommunen ta fram en trygghetsplan?")
    assert passage_lead(question, ["Kommunen ska ta fram en trygghetsplan."], analyzer) == YES
    assert passage_lead(question, ["Kommunen ska ta fram en budget."], analyzer) == UNSETTLED


@pytest.mark.parametrize(
    "question",
    [
        "Ingår polisen i avtalet?",
        "Omfattar avtalet narkotika?",
        "Skrev polisen under avtalet?",
        "Gällde avtalet 2016?",
        "Innehåller överenskommelsen en tidsplan?",
    ],
)
def test_yes_no_questions_opening_with_a_verb(question: str) -> None:
    assert analyse(question).kind == "yesno"


def test_a_signed_agreement_is_a_yes_with_its_date(assistant: Assistant) -> None:
    answer = assistant.ask("Är Kalix överenskommelse undertecknad?")
    assert answer.text.startswith("Ja. ") and "3 mars 2023" in answer.text
    answer = assistant.ask("Undertecknades Kalix överenskommelse 2023?")
    assert answer.text.startswith("Ja. ") and "3 mars 2023" in answer.text
    answer = assistant.ask("Undertecknades Kalix överenskommelse 2021?")
    assert answer.text.startswith("Nej. ") and "3 mars 2023" in answer.text


def test_the_web_shows_the_verdict_before_the_quotes(assistant: Assistant) -> None:
    from samverkan_qa.web import answer_html

    html = answer_html(assistant.ask("Finns det nattvandrare i Sandviken?"), 1)
    assert html.index("Ja.") < html.index("nattvandrare")


# --- a year asked for ---------------------------------------------------------------------


def test_the_year_asked_for_picks_the_document_of_that_year(assistant: Assistant) -> None:
    old = assistant.ask("Vilka områden prioriteras i Kalix samverkansavtal från 2016?")
    assert "skadegörelse" in old.text and "Narkotika" not in old.text
    new = assistant.ask("Vilka områden prioriteras i Kalix samverkansavtal från 2023?")
    assert "Narkotika" in new.text and "skadegörelse" not in new.text


@pytest.mark.parametrize(("year", "quoted"), [(2016, "Kommunstyrelsen"), (2023, "Styrgruppen")])
def test_quotes_come_from_the_document_of_the_year_asked(
    assistant: Assistant, year: int, quoted: str
) -> None:
    from samverkan_qa.answers.passages import passage_quotes
    from samverkan_qa.documents import Chunk
    from samverkan_qa.retrieval import Hit

    def hit(doc_id: str, rank: int) -> Hit:
        """Equal hits on the one sentence of each document that differs only in its actor."""
        doc = assistant.documents[doc_id]
        start = doc.text.index("ansvarar för uppföljningen") - 16
        start = doc.text.rindex("\n", 0, start) + 1
        end = doc.text.index(".", start) + 1
        chunk = Chunk(f"{doc_id}#1", doc_id, start, end, doc.text[start:end])
        return Hit(rank, 1.0, 0.9, 5.0, chunk, doc, [])

    other = {2016: "kalix-2023-samverkansoverenskommelse", 2023: "kalix-2016-pressmeddelande"}
    asked = {2016: "kalix-2016-pressmeddelande", 2023: "kalix-2023-samverkansoverenskommelse"}
    hits = [hit(other[year], 1), hit(asked[year], 2)]  # the other year's ranked first
    question = analyse(f"Vad står det om uppföljningen av avtalet i Kalix från {year}?")
    analyzer = assistant.retriever.index.lexical.analyzer
    numbers = {h.chunk.chunk_id: h.rank for h in hits}
    (quote,) = passage_quotes(question, hits, analyzer, numbers)
    assert quote.doc_id == asked[year] and quote.text.startswith(quoted)


@pytest.mark.parametrize(
    ("question", "wanted", "unwanted"),
    [
        # Each worded like the other document ("överenskommelse" is the 2023 one's word).
        ("Vilka fokusområden har Kalix första överenskommelse?", "skadegörelse", "Narkotika"),
        ("Vilka fokusområden har den gamla överenskommelsen i Kalix?", "skadegörelse", "Narkotika"),
        ("Vilka områden prioriteras i Kalix senaste samverkansavtal?", "Narkotika", "skadegörelse"),
    ],
)
def test_the_first_or_latest_agreement_asked_for(
    assistant: Assistant, question: str, wanted: str, unwanted: str
) -> None:
    answer = assistant.ask(question)
    assert wanted in answer.text and unwanted not in answer.text, answer.text


def test_an_era_word_counts_only_before_an_agreement() -> None:
    assert analyse("Vilka fokusområden har det gamla avtalet?").era == "earliest"
    assert analyse("What did the new agreement in Kalix say?").era == "latest"
    assert analyse("Vilket är det första fokusområdet?").era == ""


def test_no_document_of_the_year_asked_is_said(assistant: Assistant) -> None:
    from samverkan_qa.web import answer_html

    answer = assistant.ask("Vilka fokusområden har Kalix 2010?")
    assert answer.abstained and not answer.citations
    assert answer.text == "Dokumenten om Kalix säger inget om 2010 (de är från 2016 och 2023)."
    assert answer.text in answer_html(answer, 1)


def test_a_file_names_year_dates_a_document_that_states_no_date() -> None:
    text = "Kalix kommun och polisen har tecknat ett samverkansavtal."

    def dates(name: str, body: str = text) -> list[tuple[str, str, str]]:
        facts = extract_facts(body, filename=name)["dates"]
        return [(f.value["date"], f.value["role"], f.source) for f in facts]  # type: ignore[index]

    assert dates("kalix-2016-avtal.txt") == [("2016", "document", "filename")]
    assert dates("2016_avtal.pdf") == [("2016", "document", "filename")]
    assert dates("kalix2016.txt") == []  # not a token of its own
    assert dates("avtal-2019-2022.txt") == []  # a period, not a date
    assert dates("avtal-1985.txt") == []  # before 1990
    dated = "Pressmeddelande 2020-05-10\n\nKalix kommun och polisen har tecknat ett avtal."
    assert dates("kalix-2016.txt", dated) == [("2020-05-10", "published", "text")]
