"""The question→answer pipeline on hand-made Swedish documents (tests/data/answers, not the
corpus), with the fake embedder: each answer kind, lists, §, headings, diacritics, synonyms,
English, follow-ups, answers across documents, and abstention for each kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samverkan_qa.answers.analysis import analyse, fold, named_municipalities
from samverkan_qa.answers.assistant import Assistant
from samverkan_qa.answers.compose import ABSTAIN_TEXT
from samverkan_qa.answers.evidence import (
    has_evidence,
    list_items,
    section_label,
    without_identifier_words,
)
from samverkan_qa.cli import main
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.index import build_index, load_index
from samverkan_qa.retrieval import Retriever
from samverkan_qa.settings import Settings

DATA = Path(__file__).parent / "data" / "answers"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import FakeEmbedder

    folder = tmp_path_factory.mktemp("answers") / "index"
    settings = Settings(corpus=(DATA,), index_dir=folder, chunk_tokens=80, chunk_overlap=10)
    build_index(settings, FakeEmbedder())
    return folder


@pytest.fixture(scope="module")
def assistant(index_dir: Path) -> Assistant:
    from conftest import FakeEmbedder

    return Assistant(Retriever(load_index(index_dir), FakeEmbedder()))


def ask(assistant: Assistant, question: str, history: list[str] | None = None) -> str:
    answer = assistant.ask(question, history or [])
    return answer.text


# --- analysis ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Vem undertecknade avtalet?", "person"),
        ("När började samarbetet?", "date"),
        ("Hur länge gäller överenskommelsen?", "period"),
        ("Sedan när gäller avtalet?", "date"),
        ("Hur ofta träffas styrgruppen?", "frequency"),
        ("Hur många fokusområden finns?", "count"),
        ("Vad kostar satsningen?", "amount"),
        ("Hur mycket pengar får föreningarna?", "amount"),
        ("Vilka fokusområden finns?", "list"),
        ("Vilket diarienummer har beslutet?", "identifier"),
        ("Vilket telefonnummer har kontaktpersonen?", "identifier"),
        ("Finns det en handlingsplan?", "yesno"),
        ("Får kommunen dela uppgifter med polisen?", "yesno"),
        ("Jämför avtalen i Kalix och Sandviken", "comparison"),
        ("Vilka kommuner har avtal med polisen?", "aggregate"),
        ("Vilka avtal gällde 2024?", "aggregate"),
        ("Vem var kommundirektör när avtalet skrevs under?", "person"),
        # "när" asks only at the start of a clause; "när det gäller" means "as for"
        ("Vet du när avtalet tecknades?", "date"),
        ("Vilka åtgärder finns och när ska de vara klara?", "list"),
        ("Räknas jourtid in när ersättningen beräknas?", "other"),
        ("Vad ska rådet kartlägga när det gäller stödet till skolorna?", "other"),
        # a topic word asks nothing by itself: the question word before it decides
        ("När beslutade nämnden om budgeten?", "date"),
        ("Finns det pengar i budgeten för fler fältassistenter?", "yesno"),
        ("Vem betalar kostnaderna för kamerorna?", "person"),
        ("Vad är kostnaden för satsningen?", "amount"),
        ("Hur många kronor får föreningen?", "amount"),
        ("Vad gör kommunen mot bedragare som förfalskar telefonnummer?", "other"),
        ("När ska rapporten om bedrägerier via telefon lämnas?", "date"),
        ("Vad har beslutet för diarienummer?", "identifier"),
        ("Fritidsgårdens telefonnummer?", "identifier"),
        # "hur mycket" asks for money when money, "extra" or "mer" is asked for
        ("Hur mycket extra fick fältgruppen 2025?", "amount"),
        ("Hur mycket går till fältgruppen via statsbidragen?", "amount"),
        ("Hur mycket ska skadegörelsen ha minskat till 2027?", "other"),
        ("ordningslagen ändring ikraftträdande", "date"),
        ("Hur gammalt får registerutdraget vara?", "period"),
    ],
)
def test_question_kinds(question: str, kind: str) -> None:
    assert analyse(question).kind == kind


@pytest.mark.parametrize(
    "question",
    [
        "Vilket diarienummer har beslutet?",
        "Vad är diarienumret för beslutet?",  # the definite form: "-numret", not "-nummeret"
        "Vad är beslutets diarienr?",
        "Vad är ärendenumret för beslutet?",
    ],
)
def test_diary_number_in_any_form(question: str) -> None:
    found = analyse(question)
    assert (found.kind, found.identifier, found.field) == (
        "identifier",
        "diary_number",
        "diary_number",
    ), question
    assert "diarie" not in without_identifier_words(question), question
    assert "ärende" not in without_identifier_words(question), question


def test_fields_are_found_by_synonym_and_without_diacritics() -> None:
    for question in (
        "Vilka fokusområden har Kalix?",
        "vilka fokusomraden har kalix",
        "Vilka prioriteringar har Kalix?",
        "Vilka prioriterade områden har Kalix?",
        "What are the focus areas in Kalix?",
        "Which areas does Kalix prioritise?",
        "What does Kalix prioritize?",
    ):
        found = analyse(question)
        assert (found.field, found.municipalities) == ("priority_areas", ("Kalix",)), question
    assert analyse("Vilka aktörer ingår?").field == "parties"
    assert analyse("Vilka parter ingår?").field == "parties"


def test_municipalities_without_diacritics_and_in_genitive() -> None:
    assert named_municipalities("hur jobbar sodertalje och ornskoldsviks kommun") == [
        "Södertälje",
        "Örnsköldsvik",
    ]
    assert named_municipalities("Vad ska vara med?") == []  # "Vara" only as "Vara kommun"
    assert named_municipalities("Vad gör Vara kommun?") == ["Vara"]
    assert fold("Ärendet på Öland") == "arendet pa oland"


def test_english_is_recognised() -> None:
    assert analyse("When was the agreement in Kalix signed?").english
    assert not analyse("När undertecknades avtalet i Kalix?").english


# --- evidence and structure ---------------------------------------------------------------


def test_count_evidence_needs_a_number_before_the_counted_noun() -> None:
    question = analyse("Hur många bilbränder var det i Kalix?")
    assert has_evidence(question, "Det var 14 bilbränder under året.")
    assert not has_evidence(question, "Bilbränder är ett av tre fokusområden sedan 2021.")


@pytest.mark.parametrize(
    ("question", "sentence", "counted"),
    [
        ("Hur många väktare anställs?", "Kommunen anställer sex väktare.", True),
        # after an adjective the noun is the next word; a figure may follow the noun
        ("Hur många lokala brottsråd finns?", "Det finns i dag 16 brottsråd i länet.", True),
        ("Hur många kameror ska sitta uppe?", "Antalet kameror ska uppgå till 2 500.", True),
        ("Hur många kameror ska sitta uppe?", "Kameror ska sitta uppe till 2027.", False),
        # a figure of something else, or an article, counts nothing
        ("Hur många ungdomar under 15 år deltog?", "Ungdomar under 15 år får delta.", False),
        ("Hur många väktare anställs?", "Till väktare avsätts 12 miljoner kronor.", False),
        ("Hur många nattvandrare finns?", "Det är en förening, kallad nattvandrare.", False),
        ("Hur många fokusområden finns?", "Avtalet har ett fokusområde.", True),
        # a compound and its last part count the same things
        ("Hur många fritidsgårdar öppnar?", "Kommunen öppnar två fritidsklubbar.", False),
        ("Hur många förvarsplatser ska finnas?", "Målet är 1 000 platser senast 2029.", True),
        ("Hur många platser ska finnas?", "Målet är 1 000 förvarsplatser.", True),
    ],
)
def test_count_evidence_is_a_number_counting_the_noun(
    question: str, sentence: str, counted: bool
) -> None:
    assert has_evidence(analyse(question), sentence) is counted


def test_how_long_is_answered_by_a_duration_and_when_by_a_season() -> None:
    how_long = analyse("Hur länge får en ordningsvakt vara förordnad?")
    assert has_evidence(how_long, "Förordnandet gäller högst tre år åt gången.")
    assert has_evidence(how_long, "Ett förordnande gäller i 6 månader.")
    assert not has_evidence(how_long, "Förordnandet kan förlängas.")
    when = analyse("När kommer förslaget?")
    assert has_evidence(when, "Regeringen återkommer med ett förslag under hösten.")
    assert not has_evidence(when, "Regeringen återkommer med ett förslag.")


def test_a_name_before_its_title_opens_the_sentence() -> None:
    who = analyse("Vem är särskild utredare?")
    assert has_evidence(who, "Pia Ek, lagman i Testby, är utsedd till särskild utredare.")
    assert has_evidence(who, "Till särskild utredare utses Pia Ek.")
    assert not has_evidence(who, "Regeringen utser en särskild utredare.")
    assert not has_evidence(who, "Särskild Utredare ska lämna förslag.")  # no comma: no name


def test_amount_and_identifier_evidence() -> None:
    assert has_evidence(analyse("Vad kostar satsningen?"), "Satsningen kostar 2 miljoner kronor.")
    assert not has_evidence(analyse("Vad kostar satsningen?"), "Satsningen pågår till 2026.")
    assert has_evidence(analyse("Vad kostar satsningen?"), "Satsningen kostar 7,5 mdkr.")
    email = analyse("Vilken e-postadress har Eva?")
    assert has_evidence(email, "Eva Lind, eva.lind@example.se")
    assert not has_evidence(email, "Eva Lind, 0923-651 00")
    phone = analyse("Vilket telefonnummer har Eva?")
    assert has_evidence(phone, "Eva Lind, 0923-651 00")
    diary = analyse("Vilket diarienummer har uppdraget?")
    assert has_evidence(diary, "Uppdraget (Ju2022/01209) beslutades i mars.")  # Regeringskansliet's
    assert has_evidence(diary, "Beslutet har nummer KS 2024/123.")
    assert not has_evidence(diary, "Uppdraget beslutades den 3 mars 2022.")


def test_when_is_answered_by_a_date_or_a_schedule_not_by_a_vague_adverb() -> None:
    when = analyse("När trädde lagen i kraft?")
    assert has_evidence(when, "Lagen trädde i kraft den 1 mars 2024.")
    # a year inside a reference number is no date
    assert not has_evidence(when, "Beslutet fattades (Ju2025/00775).")
    assert not has_evidence(when, "Se betänkandet (SOU 2017:39) om lagen.")
    assert has_evidence(analyse("När träffas rådet?"), "Rådet träffas två gånger per år.")
    assert not has_evidence(when, "Kommunen ska kontinuerligt rapportera till länsstyrelsen.")
    assert not has_evidence(analyse("When did the law enter into force?"), "Det sker löpande.")
    # "Hur ofta" still takes the adverb: it says how often, if not exactly.
    assert has_evidence(analyse("Hur ofta rapporterar kommunen?"), "Kommunen rapporterar löpande.")


def test_list_items_after_an_intro_allow_blank_lines() -> None:
    text = "Planen ska innehålla\n\n1. mål,\n\n2. åtgärder, och\n\n3. uppföljning.\n\nSlut."
    end = text.index("innehålla") + len("innehålla")
    items = [text[s:e] for s, e in list_items(text, end)]
    assert items == ["1. mål,", "2. åtgärder, och", "3. uppföljning."]


def test_section_label_is_the_nearest_paragraph_above() -> None:
    text = "### 1 §\n\nEtt.\n\n### 2 §\n\nTvå.\n"
    assert section_label(text, text.index("Två")) == "2 §"
    assert section_label(text, text.index("Ett")) == "1 §"


# --- answers ------------------------------------------------------------------------------


def test_list_of_focus_areas_from_the_facts(assistant: Assistant) -> None:
    answer = assistant.ask("Vilka fokusområden har Kalix?")
    assert not answer.abstained
    for item in ("Ungdomar i riskzon", "Trygghet i centrum", "Narkotika"):
        assert item in answer.text
    cited = answer.citations
    assert cited and all(c["doc_id"] == "kalix-samverkansoverenskommelse" for c in cited)
    doc = assistant.documents["kalix-samverkansoverenskommelse"]
    assert all(doc.text[c["start"] : c["end"]] == c["text"] for c in cited)


@pytest.mark.parametrize(
    "question",
    [
        "vilka fokusomraden har kalix",
        "Vilka prioriteringar har Kalix?",
        "What are the focus areas in Kalix?",
        "Which areas does Kalix prioritise?",
    ],
)
def test_diacritics_synonyms_and_english_give_the_same_list(
    assistant: Assistant, question: str
) -> None:
    assert ask(assistant, question) == ask(assistant, "Vilka fokusområden har Kalix?")


def test_list_from_passages_when_the_facts_lack_it(assistant: Assistant) -> None:
    text = ask(assistant, "Vilka fokusområden har Sandviken?")
    assert "bostadsinbrott" in text and "trafiksäkerhet" in text


def test_date_and_period(assistant: Assistant) -> None:
    assert "3 mars 2023" in ask(assistant, "När undertecknades överenskommelsen i Kalix?")
    assert "31 maj 2024" in ask(assistant, "Hur länge gäller avtalet i Sandviken?")
    assert "1 juni 2022" in ask(assistant, "Från vilket datum gäller Sandvikens avtal?")


def test_person_and_contact_details(assistant: Assistant) -> None:
    assert "Eva Lind" in ask(assistant, "Vem är kommundirektör i Kalix?")
    assert "eva.lind@kalix.example.se" in ask(assistant, "Vilken e-postadress har Eva Lind?")


def test_frequency(assistant: Assistant) -> None:
    assert "två gånger per år" in ask(assistant, "Hur ofta följs samverkan upp i Kalix?")
    assert "varje månad" in ask(assistant, "Hur ofta träffas kommunen och polisen i Sandviken?")


def test_law_quote_has_its_paragraph_and_list_items(assistant: Assistant) -> None:
    answer = assistant.ask("Vad ska trygghetsplanen innehålla?")
    assert "2 §" in answer.text
    assert "en tidsplan för åtgärderna" in answer.text
    assert answer.citations[0]["section"] == "2 §"


def test_headings_and_markup_are_never_the_quote(assistant: Assistant) -> None:
    for question in ("Vad handlar lagen om trygghetsplaner om?", "Vad gäller för planering?"):
        answer = assistant.ask(question)
        assert "#" not in answer.text
        assert not any(q.text in ("Planering", "Lag om trygghetsplaner i kommuner")
                       for q in answer.quotes)  # fmt: skip


def test_follow_up_keeps_the_topic(assistant: Assistant) -> None:
    answer = assistant.ask("Och i Sandviken?", history=["Vilka fokusområden har Kalix?"])
    assert answer.followup
    assert "bostadsinbrott" in answer.text


def test_follow_up_pronoun_is_the_person_of_the_previous_answer(assistant: Assistant) -> None:
    answer = assistant.ask(
        "Vilket telefonnummer har hon?", history=["Vem är kommundirektör i Kalix?"]
    )
    assert "Eva Lind" in answer.searched
    assert "0923-651 00" in answer.text


def test_aggregate_across_documents(assistant: Assistant) -> None:
    answer = assistant.ask("Vilka kommuner har avtal med både polis och räddningstjänst?")
    assert "Kalix" in answer.text and "Sandviken" not in answer.text
    assert answer.table and answer.table[0]["kommun"] == "Kalix"
    answer = assistant.ask("Vilka kommuner har avtal med polisen?")
    assert "Kalix" in answer.text and "Sandviken" in answer.text
    answer = assistant.ask("Vilka avtal gällde 2025?")
    assert "Kalix" in answer.text and "Sandviken" not in answer.text


def test_comparison_is_a_table_with_a_row_per_municipality(assistant: Assistant) -> None:
    answer = assistant.ask("Jämför Kalix och Sandvikens giltighet")
    assert [row["kommun"] for row in answer.table] == ["Kalix", "Sandviken"]
    assert "2025-12-31" in answer.text and "2024-05-31" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "Vad kostar avtalet i Kalix?",  # amount: no amount in the documents
        "Hur många bostadsinbrott skedde i Sandviken 2022?",  # count: no count
        "Vilka fokusområden har Nacka?",  # no document about the municipality
        "När undertecknades avtalet i Ystad?",  # date, municipality without documents
        "Vilket diarienummer har Kalix överenskommelse?",  # identifier: none stated
    ],
)
def test_abstains_when_the_kind_of_answer_is_missing(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.abstained, answer.text
    assert answer.text == ABSTAIN_TEXT
    assert not any(s.cited or s.matching for s in answer.sources)


def test_bad_input_is_a_clear_error(assistant: Assistant) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        assistant.ask("  ")
    with pytest.raises(InvalidInputError, match="history"):
        assistant.ask("Vilka fokusområden har Kalix?", history="Vilka?")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="history"):
        assistant.ask("Vilka fokusområden har Kalix?", history=[1])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="unknown key"):
        assistant.ask("Vilka fokusområden har Kalix?", filters=["färg=blå"])
    long = "Vilka fokusområden har Kalix? " + "samverkan " * 1000
    assert len(long) > 10_000
    assert not assistant.ask(long).abstained


def test_filters_restrict_the_answer(assistant: Assistant) -> None:
    answer = assistant.ask("Hur länge gäller avtalet?", filters=["kommun=Sandviken"])
    assert "31 maj 2024" in answer.text


# --- one pipeline: Python, CLI, batch and web give the same answer ------------------------


def test_every_way_in_gives_the_same_answer(
    assistant: Assistant, index_dir: Path, tmp_path: Path, use_fake_embedder, capsys
) -> None:
    question, history = "Och i Sandviken?", ["Vilka fokusområden har Kalix?"]
    expected = assistant.ask(question, history).to_json()

    args = ["ask", question, "--index", str(index_dir), "--json"]
    assert main([*args[:2], "--history", history[0], *args[2:]]) == 0
    cli = json.loads(capsys.readouterr().out)

    queries = tmp_path / "q.jsonl"
    rows = [{"id": "a", "question": question, "history": history}, {"id": "b", "question": "?"}]
    queries.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert main(["ask", "--queries", str(queries), "--index", str(index_dir), "--json"]) == 0
    batch = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    from samverkan_qa.web import Downloads, Engine, Handlers, filter_choices

    engine = Engine(assistant, filter_choices(assistant.documents.values()))
    web = Handlers(engine, Downloads()).api_search(question, 5, "", "", "", history[0])

    for other in (cli, batch[0], web):
        for key in ("searched", "answer", "abstained", "citations"):
            assert other[key] == expected[key], key
    assert batch[0]["id"] == "a" and batch[1]["id"] == "b"


def test_ask_cli_errors_are_one_line(index_dir: Path, use_fake_embedder, capsys) -> None:
    assert main(["ask", "", "--index", str(index_dir)]) == 2
    assert main(["ask", "Vad?", "--filter", "färg=blå", "--index", str(index_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("samverkan-qa: error:") for line in err)


def test_web_examples_are_not_evaluation_questions() -> None:
    from samverkan_qa.web import EXAMPLES

    shared = Path(__file__).resolve().parents[2] / "shared" / "eval"
    files = [shared / "dev.jsonl", shared / "answers_dev.jsonl"]
    if not all(f.exists() for f in files):
        pytest.skip("../shared/eval is not beside the checkout")
    asked = {
        json.loads(line)["question"].casefold()
        for f in files
        for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    assert not [e for e in EXAMPLES if e.casefold() in asked]


def test_publication_date_and_open_ended_agreements(assistant: Assistant) -> None:
    assert "2022-05-10" in ask(assistant, "När publicerades pressmeddelandet från Sandviken?")
    # Kalix states only an end date (2025); it runs from the year it was signed (2023).
    answer = assistant.ask("Vilka kommuner har avtal som gäller 2024?")
    assert "Kalix" in answer.text and "Sandviken" in answer.text


def test_a_named_kind_of_document_is_preferred(index_dir: Path) -> None:
    from conftest import FakeEmbedder

    from samverkan_qa.ranking import AbstainThresholds
    from samverkan_qa.retrieval import RetrievalConfig

    # The fake embedder's cosines are far below the real model's, so the calibrated rule
    # would want 80 % of the words; this test is about which document answers, not whether.
    lenient = RetrievalConfig(abstain=AbstainThresholds(min_coverage=0.6))
    assistant = Assistant(Retriever(load_index(index_dir), FakeEmbedder(), lenient))
    answer = assistant.ask("Vad säger lagen om beslut om planen?")
    assert answer.citations and answer.citations[0]["doc_id"] == "lag-om-trygghetsplaner"
    assert "§" in answer.text


def test_several_municipalities_get_a_row_each(assistant: Assistant) -> None:
    answer = assistant.ask("Hur länge gäller avtalen i Kalix och Sandviken?")
    assert [row["kommun"] for row in answer.table] == ["Kalix", "Sandviken"]


def test_a_named_paragraph_is_preferred(assistant: Assistant) -> None:
    answer = assistant.ask("Vad står det i 3 § om trygghetsplanen?")
    assert answer.citations[0]["section"] == "3 §"
    assert "Kommunfullmäktige" in answer.text


def test_a_national_list_of_municipalities_is_not_a_local_agreement() -> None:
    from samverkan_qa.answers.across import is_local_agreement
    from samverkan_qa.documents import Document
    from samverkan_qa.metadata import extract_facts, facts_to_json

    def doc(text: str) -> Document:
        made = Document("d", text.split("\n")[0], "d.txt", text)
        made.metadata["facts"] = facts_to_json(extract_facts(text, title=made.title))
        return made

    national = doc(
        "Regeringen fördelar medel\n\nPengarna går till Kiruna kommun, Luleå kommun, Umeå "
        "kommun, Gävle kommun och Malmö kommun. Satsningen gäller för perioden 2024–2026."
    )
    local = doc(
        "Samverkan i Ljusdal\n\nLjusdals kommun och polisen har tecknat en "
        "samverkansöverenskommelse. Överenskommelsen gäller för perioden 2024–2026."
    )
    assert not is_local_agreement(national)
    assert is_local_agreement(local)


def test_english_role_names_find_the_swedish_role(assistant: Assistant) -> None:
    assert "Eva Lind" in ask(assistant, "Who is the municipal director in Kalix?")


def test_a_second_clause_gets_its_own_fact(assistant: Assistant) -> None:
    text = ask(assistant, "Vilka fokusområden har Kalix och hur länge gäller överenskommelsen?")
    assert "Trygghet i centrum" in text and "31 december 2025" in text


def test_contact_lines_and_named_places_do_not_make_an_answer() -> None:
    from samverkan_qa.answers.evidence import is_contact_line, without_places

    assert is_contact_line("Eva Lind, kommundirektör, 0923-651 00, eva.lind@kalix.example.se")
    assert not is_contact_line("Styrgruppen följer upp samverkan två gånger per år.")
    assert without_places("Vad är målet i Kalix och Sandvikens avtal?", ("Kalix", "Sandviken")) == (
        "Vad är målet i       och            avtal?"
    )


def test_a_purpose_question_prefers_a_sentence_stating_a_purpose() -> None:
    from samverkan_qa.answers.evidence import has_evidence

    why = analyse("Varför samverkar kommunen med polisen?")
    assert why.kind == "reason"
    assert has_evidence(why, "Syftet är att minska brottsligheten.")
    assert not has_evidence(why, "Kommunen samverkar med polisen.")


def test_pronoun_follow_up_after_a_contact_line_and_english_follow_up(
    assistant: Assistant,
) -> None:
    history = ["Vilket telefonnummer har Eva Lind?"]
    answer = assistant.ask("Vilken e-postadress har hon?", history=history)
    assert "Eva Lind" in answer.searched and "eva.lind@kalix.example.se" in answer.text
    answer = assistant.ask("What about Sandviken?", history=["Hur länge gäller avtalet i Kalix?"])
    assert answer.followup and "31 maj 2024" in answer.text


def test_a_list_from_facts_is_led_by_its_intro_sentence(assistant: Assistant) -> None:
    answer = assistant.ask("Vilka fokusområden har Kalix?")
    assert answer.text.startswith("Överenskommelsen anger tre fokusområden: Ungdomar i riskzon")
    doc = assistant.documents["kalix-samverkansoverenskommelse"]
    first = answer.citations[0]
    assert doc.text[first["start"] : first["end"]] == "Överenskommelsen anger tre fokusområden:"


def test_frame_words_do_not_score_sentences() -> None:
    from samverkan_qa.answers.analysis import without_frame_words

    assert without_frame_words("Vad handlar fokusområdet trygghet om?").split() == [
        "Vad", "fokusområdet", "trygghet", "om?"
    ]  # fmt: skip
    assert without_frame_words("Vad innebär kamerabevakning?").split() == [
        "Vad", "kamerabevakning?"
    ]  # fmt: skip


def test_a_paragraph_asked_for_by_number_is_quoted_whole(assistant: Assistant) -> None:
    answer = assistant.ask("Vad säger 2 § i lagen?")
    assert answer.text.startswith("2 §: Trygghetsplanen ska innehålla")
    assert "3. en tidsplan för åtgärderna." in answer.text
    assert "Kommunfullmäktige" not in answer.text  # 3 § is another paragraph


def test_a_bare_list_item_is_not_a_quote_of_its_own() -> None:
    from samverkan_qa.answers.evidence import is_bare_item

    text = "Områden:\n- Narkotika/ANDTS\n- Trygghet i centrum.\nSlut."
    start = text.index("Narkotika")
    assert is_bare_item(text, start, start + len("Narkotika/ANDTS"))
    start = text.index("Slut")
    assert not is_bare_item(text, start, start + 5)


def test_english_detection_ignores_swedish_words_that_fold_to_english() -> None:
    assert analyse("Does the law require a coordination function?").english
    assert not analyse("Har Kalix en plan för tryggheten i byn?").english


def test_who_is_asks_for_a_name() -> None:
    from samverkan_qa.answers.evidence import has_evidence

    who = analyse("Vem är kommundirektör i Kalix?")
    assert has_evidence(who, "Kommundirektören är Eva Lind sedan 2020.")
    assert not has_evidence(who, "Kommundirektören ansvarar för samverkan.")
    actor = analyse("Vem ska ta fram trygghetsplanen?")
    assert has_evidence(actor, "Kommunstyrelsen ska ta fram planen.")


@pytest.mark.parametrize(
    "question",
    [
        "Vem är polischef i Sandviken?",  # person: no name in Sandviken's document
        "Hur länge gäller lagen om trygghetsplaner?",  # period: the law states no dates
        "Hur ofta beslutar kommunfullmäktige om trygghetsplanen?",  # frequency: none stated
    ],
)
def test_abstains_for_person_period_and_frequency(assistant: Assistant, question: str) -> None:
    assert assistant.ask(question).abstained


def test_python_api_refuses_what_the_cli_refuses(assistant: Assistant) -> None:
    with pytest.raises(InvalidInputError, match="must be text"):
        assistant.ask(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="max_question_chars"):
        assistant.ask("Vad? " * 5000)
    with pytest.raises(InvalidInputError, match="not valid UTF-8"):
        assistant.ask("Vilka fokusområden har Kalix?", history=["bad \udcff"])


def test_when_was_it_signed_as_a_follow_up(assistant: Assistant) -> None:
    answer = assistant.ask("När skrevs den under?", history=["Vilka fokusområden har Kalix?"])
    assert "3 mars 2023" in answer.text


# --- English questions: sentences chosen by meaning ---------------------------------------


def test_an_english_question_quotes_the_sentence_closest_in_meaning(assistant: Assistant) -> None:
    from samverkan_qa.answers.passages import passage_quotes

    question = "What does the steering group keep track of?"
    analysis = analyse(question)
    hits = assistant.retriever.search("Styrgruppen samverkan Kalix", 5).hits
    numbers = {h.chunk.chunk_id: n for n, h in enumerate(hits, start=1)}
    analyzer = assistant.retriever.index.lexical.analyzer
    # no Swedish word in the question: by words alone nothing supports an answer
    assert passage_quotes(analysis, hits, analyzer, numbers) == []

    def meaning(sentences):
        return [0.9 if "två gånger per år" in s else 0.72 for s in sentences]

    quotes = passage_quotes(analysis, hits, analyzer, numbers, meaning=meaning)
    assert "Styrgruppen följer upp samverkan två gånger per år." in [q.display for q in quotes]
    # below the floor a sentence has no support: still no answer
    assert passage_quotes(analysis, hits, analyzer, numbers, meaning=lambda s: [0.6] * len(s)) == []


@pytest.mark.model
def test_english_questions_are_answered_from_swedish_sentences(tmp_path: Path) -> None:
    from samverkan_qa.embedding import load_embedder

    settings = Settings(
        corpus=(DATA,), index_dir=tmp_path / "index", chunk_tokens=80, chunk_overlap=10
    )
    embedder = load_embedder(settings)
    build_index(settings, embedder)
    real = Assistant(Retriever(load_index(settings.index_dir), embedder))
    answer = real.ask("How often does the steering group meet?")
    assert not answer.abstained
    assert "två gånger per år" in answer.text
    assert real.ask("How much does a bus ticket cost in Kalix?").abstained


def test_the_top_passage_is_quoted_unless_a_lower_one_says_much_more(assistant: Assistant) -> None:
    from dataclasses import replace

    from samverkan_qa.answers.passages import passage_quotes

    analysis = analyse("Hur ofta träffas styrgruppen och polisen?")
    found = assistant.retriever.search("träffas kommunen polisen styrgruppen samverkan", 5).hits
    sandviken = next(h for h in found if "varje månad" in h.text)
    kalix = next(h for h in found if "två gånger per år" in h.text)
    numbers = {sandviken.chunk.chunk_id: 1, kalix.chunk.chunk_id: 2}
    analyzer = assistant.retriever.index.lexical.analyzer

    def quoted(first: object, second: object) -> str:
        hits = [replace(first, rank=1, score=1.0), replace(second, rank=2, score=0.6)]
        return passage_quotes(analysis, hits, analyzer, numbers)[0].display

    # Kalix's sentence shares fewer of the question's words ("styrgruppen", not "träffas"
    # and "polisen"), yet as the top passage it is the quote; below, it is not.
    assert "två gånger per år" in quoted(kalix, sandviken)
    assert "varje månad" in quoted(sandviken, kalix)


def test_a_date_without_the_questions_words_is_quoted_only_from_the_top_document(
    assistant: Assistant,
) -> None:
    from dataclasses import replace

    from samverkan_qa.answers.passages import passage_quotes

    analysis = analyse("När startade insatserna mot langning?")
    found = assistant.retriever.search("Kalix överenskommelse undertecknades", 5).hits
    kalix = next(h for h in found if "3 mars 2023" in h.text)
    other = next(h for h in found if h.doc_id != kalix.doc_id)
    numbers = {kalix.chunk.chunk_id: 1, other.chunk.chunk_id: 2}
    analyzer = assistant.retriever.index.lexical.analyzer

    def quotes(*hits: object) -> list[str]:
        ranked = [replace(h, rank=n, score=1.0 / n) for n, h in enumerate(hits, start=1)]
        return [q.display for q in passage_quotes(analysis, ranked, analyzer, numbers)]

    # the ranker's top document: its date is the answer, though it shares no word
    assert any("3 mars 2023" in q for q in quotes(kalix, other))
    # a lower passage's date about something else is no answer
    assert not any("3 mars 2023" in q for q in quotes(other, kalix))


# --- which organisation -------------------------------------------------------------------


def test_organisation_names_are_found_by_ending_head_and_list() -> None:
    from samverkan_qa.answers.evidence import named_organisations

    text = (
        "Regeringen ger Parkverket, Ljusinspektionen, Myndigheten för parkskötsel och MSB "
        "ett uppdrag. Trädgårdsförebyggande rådet och Statens parknämnd ska bistå, "
        "liksom Testby tingsrätt, Testby universitet och Forum för parkliv. "
        "Myndigheterna ska samverka med kommunerna."
    )
    assert named_organisations(text) == [
        "Parkverket",
        "Ljusinspektionen",
        "Myndigheten för parkskötsel",
        "MSB",
        "Trädgårdsförebyggande rådet",
        "Statens parknämnd",
        "Testby tingsrätt",
        "Testby universitet",
        "Forum för parkliv",
    ]


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Vilken myndighet leder arbetet med parkerna?", True),
        ("Vilka tre myndigheter ska belysa parkerna?", True),
        ("Vilken länsstyrelse samordnar arbetet?", True),
        ("Which agencies will light the parks?", True),
        ("Hur många myndigheter deltar?", False),  # a count, not names
        ("Vilka åtgärder föreslås för parkerna?", False),
    ],
)
def test_which_agency_asks_for_a_name(question: str, asks: bool) -> None:
    from samverkan_qa.answers.evidence import has_evidence, needs_evidence

    analysis = analyse(question)
    assert analysis.organisation is asks
    assert needs_evidence(analysis) is (asks or analysis.kind == "count")
    if asks:
        assert has_evidence(analysis, "Uppdraget ges till Parkverket.")
        assert not has_evidence(analysis, "Myndigheterna ska samverka med kommunerna.")


def test_the_organisation_the_question_names_is_not_its_answer() -> None:
    from samverkan_qa.answers.evidence import has_evidence

    analysis = analyse("Vilka myndigheter ska Ljusinspektionen samverka med?")
    assert not has_evidence(analysis, "Ljusinspektionen ska redovisa uppdraget i maj.")
    assert has_evidence(analysis, "Ljusinspektionen ska samverka med Parkverket.")


def test_who_the_agencies_are_is_read_from_the_top_documents_other_passage(
    tmp_path: Path,
) -> None:
    """ "Myndigheterna ska …" is the passage found; the one naming them scores far lower."""
    from dataclasses import replace

    from conftest import FakeEmbedder

    from samverkan_qa.answers.passages import passage_quotes

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "uppdrag-parker.txt").write_text(
        "Uppdrag om trygga parker\n\n"
        "Regeringen ger Parkverket och Ljusinspektionen ett gemensamt uppdrag. "
        + "Bakgrunden är att många upplever otrygghet på kvällstid. " * 6
        + "\n\nMyndigheterna ska kartlägga belysningen i parkerna och föreslå åtgärder.\n",
        encoding="utf-8",
    )
    (corpus / "vagar.txt").write_text(
        "Trafik i Testby\n\nVägverket ansvarar för vägarna i Testby.\n", encoding="utf-8"
    )
    settings = Settings(
        corpus=(corpus,), index_dir=tmp_path / "index", chunk_tokens=40, chunk_overlap=0
    )
    build_index(settings, FakeEmbedder())
    retriever = Retriever(load_index(settings.index_dir), FakeEmbedder())
    found = retriever.search("Parkverket Myndigheterna kartlägga belysningen Vägverket", 10).hits
    named = next(h for h in found if "Parkverket" in h.text)
    asked = next(h for h in found if "kartlägga belysningen" in h.text)
    other = next(h for h in found if "Vägverket" in h.text)
    assert named.chunk.chunk_id != asked.chunk.chunk_id
    hits = [replace(asked, score=1.0), replace(other, score=0.9), replace(named, score=0.2)]
    numbers = {h.chunk.chunk_id: n for n, h in enumerate(hits, start=1)}
    analysis = analyse("Vilka myndigheter ska kartlägga belysningen i parkerna?")
    analyzer = retriever.index.lexical.analyzer
    quotes = [q.display for q in passage_quotes(analysis, hits, analyzer, numbers)]
    assert quotes == ["Regeringen ger Parkverket och Ljusinspektionen ett gemensamt uppdrag."]


@pytest.mark.parametrize(
    ("question", "parties"),
    [
        ("Är polisen part i avtalet?", True),
        ("Vilken part ansvarar för uppföljningen?", True),
        ("Vilka är parterna i Kalix?", True),
        # "part" opens other words: a partner, a political party
        ("Hur många utsätts för våld av en partner?", False),
        ("Vilka partier står bakom förslaget?", False),
    ],
)
def test_the_parties_are_asked_for_by_part_not_by_partner(question: str, parties: bool) -> None:
    assert (analyse(question).field == "parties") is parties
