"""Extractive answers, citations, exports and follow-ups on hand-made Swedish hits (no model)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from samverkan_qa.answers.compose import (
    ABSTAIN_TEXT,
    Answer,
    Quote,
    Source,
    citation_line,
    quotable_citation,
    sfs_number,
    sources_csv,
    sources_markdown,
)
from samverkan_qa.answers.followup import (
    Conversation,
    Rewrite,
    conversation_for,
    find_mentions,
    genitive,
    places_named,
)
from samverkan_qa.catalog import document_title, municipalities, organisation, rows
from samverkan_qa.documents import Chunk, Document, PageSpan
from samverkan_qa.metadata import extract_facts, facts_to_json
from samverkan_qa.retrieval import Hit, SearchResult

HANINGE = (
    "Överenskommelse mellan kommunen och polisen för ett tryggare Haninge\n"
    "Haninge kommun och polisen har skrivit under en överenskommelse om samverkan för det "
    "brottsförebyggande och trygghetsskapande arbetet i kommunen.\n\n"
    "Överenskommelsen anger fyra fokusområden inom vilka kommun och polis ska ta fram "
    "åtgärder under de kommande åren:\n"
    "- Barn och unga\n"
    "Samverkan kring barn och unga som är kriminella eller riskerar att utveckla en kriminell "
    "livsstil. - Offentlig miljö\n"
    "Samverkan kring trygghetsskapande åtgärder i den offentliga miljön. - Hemmiljö\n"
    "Fokusområdet handlar om samverkan för att motverka brott mot äldre. - Samhällsnivå\n"
    "Inom detta område fokuseras på ett lokalt brottsförebyggande arbete.\n"
    "Samverkansöverenskommelsen mellan Haninge kommun och lokalpolisområde Haninge/Nynäshamn "
    "undertecknades den 11 februari 2025 och gäller fram till den 31 december 2027.\n"
    "Senast uppdaterad: 13 februari 2025"
)
SODERTALJE = (
    "Pressmeddelande 2016-12-20\n\n"
    "Södertälje kommun, polis och brandförsvar överens om fortsatt samverkan\n\n"
    "Idag undertecknar Södertälje kommun, Södertälje lokalpolisområde och Södertörns "
    "brandförsvarsförbund en ny samverkansöverenskommelse. "
    "Samarbetet mellan de olika parterna har reglerats sedan 2014. "
    "Det nya avtalet gäller från 1 januari 2017 till 31 december 2018."
)
HOSTILE = (
    "Testdokument om samverkan <script>window.__pwned=1</script> i Haninge.\n"
    'Avtalet gäller till =HYPERLINK("http://x") och <img src=x onerror="window.__pwned=2">.'
)


def make_doc(doc_id: str, text: str, title: str, source: str, **kw: object) -> Document:
    doc = Document(doc_id, title, source, text, **kw)  # type: ignore[arg-type]
    facts = extract_facts(text, title=title, filename=source.rsplit("/", 1)[-1])
    doc.metadata["facts"] = facts_to_json(facts)
    return doc


@pytest.fixture(scope="module")
def haninge() -> Document:
    return make_doc(
        "haninge",
        HANINGE,
        "Överenskommelse mellan kommunen och polisen för ett tryggare Haninge",
        "corpus/haninge-2025-overenskommelse-polisen-webbsida.txt",
        doc_type="txt",
    )


@pytest.fixture(scope="module")
def sodertalje() -> Document:
    return make_doc(
        "sodertalje",
        SODERTALJE,
        "Pressmeddelande 2016-12-20",
        "corpus/sodertalje-2016-samverkansoverenskommelse-pressmeddelande.txt",
        doc_type="txt",
    )


def span_of(doc: Document, sentence: str) -> tuple[int, int]:
    start = doc.text.index(sentence)
    return start, start + len(sentence)


def make_hit(
    doc: Document,
    rank: int,
    sentences: list[str],
    *,
    score: float = 1.0,
    window: tuple[int, int] | None = None,
    page: int | None = None,
) -> Hit:
    """A hit whose chunk is `window` of the document (default: all of it)."""
    start, end = window or (0, len(doc.text))
    chunk = Chunk(f"{doc.doc_id}#{start}", doc.doc_id, start, end, doc.text[start:end], page)
    spans = [span_of(doc, s) for s in sentences]
    return Hit(rank, score, 0.9, 5.0, chunk, doc, spans)


VALID_TO = (
    "Samverkansöverenskommelsen mellan Haninge kommun och lokalpolisområde Haninge/Nynäshamn "
    "undertecknades den 11 februari 2025 och gäller fram till den 31 december 2027."
)
SIGNED = "Haninge kommun och polisen har skrivit under en överenskommelse om samverkan"
SDT_VALID = "Det nya avtalet gäller från 1 januari 2017 till 31 december 2018."


def flat(text: str) -> str:
    return " ".join(text.split())


def answer_sentences(answer: Answer) -> list[tuple[str, int]]:
    """(sentence, marker) pairs parsed back out of the answer text."""
    return [(flat(s), int(n)) for s, n in re.findall(r"(.+?)\s*\[(\d+)\]\s*", answer.text)]


# --- answers ---------------------------------------------------------------------------------


def build_answer(result: SearchResult, question: str | None = None) -> Answer:
    """An answer as the Assistant shapes it: each hit's first span quoted and cited by rank;
    an abstained result quotes nothing and marks its passages as not matching."""
    quotes = []
    if not result.abstained:
        for hit in result.hits:
            for start, end in hit.spans[:1]:
                text = " ".join(hit.document.text[start:end].split())
                quotes.append(Quote(text, hit.rank, hit.doc_id, start, end))
    abstained = result.abstained or not quotes
    cited = {q.source for q in quotes}
    sources = [
        Source(h.rank, h, citation_line(h), matching=not abstained, cited=h.rank in cited)
        for h in result.hits
    ]
    text = ABSTAIN_TEXT if abstained else " ".join(f"{q.text} [{q.source}]" for q in quotes)
    return Answer(question or result.query, result.query, text, quotes, sources, abstained)


def test_answer_json_has_the_api_shape(haninge: Document) -> None:
    answer = build_answer(
        SearchResult("Hur länge gäller det?", [make_hit(haninge, 1, [VALID_TO])]),
        question="Hur länge gäller det?",
    )
    data = answer.to_json()
    assert set(data) == {
        "question", "searched", "followup", "kind", "basis", "verdict", "answer", "abstained",
        "citations", "table", "quotes", "sources", "hits",
    }  # fmt: skip
    assert data["hits"][0]["answer_spans"][0]["text"] == VALID_TO
    assert data["sources"][0]["citation"].startswith("”Överenskommelse")


INTRO = (
    "Överenskommelsen anger fyra fokusområden inom vilka kommun och polis ska ta fram "
    "åtgärder under de kommande åren:"
)
HUGE = (
    "Tillsammans för trygghet\n\n"
    "Redan tidigare har det funnits ett samverkansavtal mellan polisen och kommunen.\n\n"
    "Aktörer som ingår i Samverkansöverenskommelsen\n\n"
    "  • Huddinge kommun\n  • Huge Bostäder \n  • Kriminalvården\n\n"
    "Samverkansöverenskommelsen gäller för perioden 2023–2024.\n"
)


# --- citations and exports -------------------------------------------------------------------


def test_citation_line_has_title_organisation_date_and_file(haninge: Document) -> None:
    line = citation_line(make_hit(haninge, 1, [VALID_TO]))
    assert line == (
        "”Överenskommelse mellan kommunen och polisen för ett tryggare Haninge”, "
        "Haninge kommun, 2025-02-13. haninge-2025-overenskommelse-polisen-webbsida.txt."
    )


def test_citation_line_gives_the_page_of_a_pdf() -> None:
    text = "Kommunstyrelsen i Huddinge beslutar.\nBeslutet gäller för åren 2021–2022."
    doc = make_doc(
        "beslut",
        text,
        "Beslut",
        "corpus/beslut.pdf",
        doc_type="pdf",
        pages=[PageSpan(1, 0, 37), PageSpan(2, 37, len(text))],
    )
    hit = make_hit(doc, 1, ["Beslutet gäller för åren 2021–2022."], window=(37, len(text)), page=2)
    assert citation_line(hit).endswith("beslut.pdf, s. 2.")


def test_citation_line_uses_front_matter_issuer_without_municipality() -> None:
    doc = make_doc(
        "sfs",
        "Kommuner ska ta fram en lägesbild.",
        "Lag om kommuners ansvar",
        "corpus/sfs.md",
        doc_type="md",
    )
    doc.metadata["departement"] = "Justitiedepartementet"
    line = citation_line(make_hit(doc, 1, []))
    assert line == "”Lag om kommuners ansvar”, Justitiedepartementet. sfs.md."


HOUSING_PAGE = (
    "Tillsammans för trygghet\n\n"
    "För att öka tryggheten i Huddinge har kommunen tagit fram ett samverkansavtal där Huge "
    "Bostäder är en av aktörerna tillsammans med Huddinge kommun och polisen.\n\n"
    "– Det känns bra att vi på Polisen är med, säger lokalpolisområdeschefen.\n\n"
    "Har du frågor om avtalet mejla våra områdesutvecklare: trygghet@huge.se\n"
)
UNTITLED_RELEASE = (
    " Huddinge kommun skrev idag under ett nytt samverkansavtal med Polisen och "
    "Brandförsvaret. Avtalet innebär en prioritering av trafik och ungdomsbrottslighet.\n\n"
    "– Vi vill leda de här frågorna, säger kommunalrådet.\n"
)
LAW = (
    "Lag om kommuners ansvar för brottsförebyggande arbete\n\n### 4 §\n\n"
    "Kommuner ska ta fram en lägesbild över brottsligheten i kommunen.\n"
)


def test_web_page_is_credited_to_the_party_it_speaks_as() -> None:
    page = make_doc(
        "huge", HOUSING_PAGE, "Tillsammans för trygghet", "corpus/huge.txt", doc_type="txt"
    )
    # "vi på Polisen" is said in a quotation: the page itself speaks as Huge.
    assert organisation(page) == "Huge Bostäder"
    line = citation_line(make_hit(page, 1, []))
    assert line == "”Tillsammans för trygghet”, Huge Bostäder. huge.txt."


def test_press_release_without_heading_gets_a_supplied_title() -> None:
    first = UNTITLED_RELEASE.split(". ")[0].strip() + "."
    release = make_doc(
        "pm", UNTITLED_RELEASE, first, "corpus/pm-pressmeddelande.txt", doc_type="txt"
    )
    release.metadata["title_from"] = "first_line"
    assert document_title(release) == "[Pressmeddelande från Huddinge kommun]"
    assert rows([release], ())[0]["titel"] == "[Pressmeddelande från Huddinge kommun]"
    assert citation_line(make_hit(release, 1, [])).startswith(
        "[Pressmeddelande från Huddinge kommun], Huddinge kommun. "
    )
    # A real heading, or a title the file states, is kept.
    release.metadata.pop("title_from")
    assert document_title(release) == first


def test_quotable_citation_has_quote_title_issuer_date_file_and_range(haninge: Document) -> None:
    hit = make_hit(haninge, 1, [VALID_TO])
    start, end = span_of(haninge, VALID_TO)
    answer = build_answer(SearchResult("Hur länge gäller det?", [hit]))
    assert quotable_citation(answer, answer.sources[0]) == (
        f"«{VALID_TO}» ”Överenskommelse mellan kommunen och polisen för ett tryggare Haninge”, "
        f"Haninge kommun, 2025-02-13. haninge-2025-overenskommelse-polisen-webbsida.txt, "
        f"tecken {start}–{end}."
    )


def test_quotable_citation_of_a_law_has_sfs_number_and_section() -> None:
    law = make_doc(
        "sfs", LAW, "Lag om kommuners ansvar för brottsförebyggande arbete", "corpus/sfs.md",
        doc_type="md",
    )  # fmt: skip
    law.metadata.update({"beteckning": "2023:196", "departement": "Justitiedepartementet"})
    sentence = "Kommuner ska ta fram en lägesbild över brottsligheten i kommunen."
    start, end = span_of(law, sentence)
    hit = make_hit(law, 1, [sentence])
    source = Source(1, hit, citation_line(hit), matching=True, cited=True)
    quote = Quote(sentence, 1, "sfs", start, end, section="4 §")
    answer = Answer("q", "q", f"4 §: {sentence} [1]", [quote], [source], abstained=False)
    assert quotable_citation(answer, source) == (
        f"«{sentence}» ”Lag om kommuners ansvar för brottsförebyggande arbete”, SFS 2023:196, "
        f"Justitiedepartementet, 4 §. sfs.md, tecken {start}–{end}."
    )
    assert sfs_number(law) == "SFS 2023:196"
    law.metadata["beteckning"] = "<script>"  # not an SFS number: left out
    assert sfs_number(law) == ""


def test_quotable_citation_gives_the_page_of_a_pdf_quote() -> None:
    text = "Kommunstyrelsen i Huddinge beslutar.\nBeslutet gäller för åren 2021–2022."
    doc = make_doc(
        "beslut", text, "Beslut", "corpus/beslut.pdf", doc_type="pdf",
        pages=[PageSpan(1, 0, 37), PageSpan(2, 37, len(text))],
    )  # fmt: skip
    hit = make_hit(doc, 1, ["Beslutet gäller för åren 2021–2022."], window=(37, len(text)), page=2)
    answer = build_answer(SearchResult("q", [hit]))
    assert quotable_citation(answer, answer.sources[0]).endswith(
        f"beslut.pdf, s. 2, tecken 37–{len(text)}."
    )


def test_sources_csv_has_a_row_per_source_and_safe_cells(haninge: Document) -> None:
    hostile = make_doc("evil", HOSTILE, "=cmd|' /C calc'!A0", "corpus/evil.txt")
    hits = [make_hit(haninge, 1, [VALID_TO]), make_hit(hostile, 2, [], score=0.1)]
    answer = build_answer(SearchResult("q", hits))
    rows = list(csv.DictReader(io.StringIO(sources_csv(answer))))
    assert [r["nr"] for r in rows] == ["1", "2"]
    assert rows[0]["citerad"] == "ja" and rows[1]["citerad"] == "nej"
    assert rows[0]["svarsmeningar"] == VALID_TO
    assert rows[0]["fil"] == "haninge-2025-overenskommelse-polisen-webbsida.txt"
    assert rows[1]["titel"].startswith("'=")  # a formula would run in a spreadsheet
    assert "<script>" in rows[1]["stycke"]  # text stays text in CSV


def test_sources_markdown_lists_numbered_citations_and_passages(haninge: Document) -> None:
    hostile = make_doc("evil", HOSTILE, "Test <b>fet</b>", "corpus/evil.txt")
    result = SearchResult(
        "Hur länge gäller Haninges överenskommelse?",
        [make_hit(haninge, 1, [VALID_TO]), make_hit(hostile, 2, [])],
    )
    answer = build_answer(result, question="Hur länge gäller det?")
    text = sources_markdown(answer)
    assert text.startswith("# Källor: Hur länge gäller det?")
    assert "Sökte på: Hur länge gäller Haninges överenskommelse?" in text
    assert "\n1. ”Överenskommelse" in text and "\n2. " in text
    assert "<script>" not in text and "\\<script\\>" in text
    assert "31 december 2027" in text


def test_abstained_exports_say_the_passages_do_not_match(haninge: Document) -> None:
    answer = build_answer(SearchResult("q", [make_hit(haninge, 1, [SIGNED])], abstained=True))
    assert "matchar inte" in sources_markdown(answer)
    assert list(csv.DictReader(io.StringIO(sources_csv(answer))))[0]["matchar"] == "nej"


# --- follow-ups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # a municipality alone: swapped into the previous question, genitive kept
        (
            ["Hur länge gäller Haninges överenskommelse?", "Och i Södertälje?"],
            "Hur länge gäller Södertäljes överenskommelse?",
        ),
        (
            ["Vilka aktörer ingår i Huddinges samverkansöverenskommelse?", "och i haninge?"],
            "Vilka aktörer ingår i Haninges samverkansöverenskommelse?",
        ),
        (
            ["Vilka fokusområden har Haninge?", "Hur är det med Huddinge?"],
            "Vilka fokusområden har Huddinge?",
        ),
        (
            ["Vad säger lagen om lägesbild?", "Och i Nacka?"],
            "Vad säger lagen om lägesbild i Nacka?",
        ),
        # a pronoun: replaced by the previous turn's municipality or document
        (
            ["Vilka fokusområden har Haninge?", "Och vilka aktörer har de?"],
            "Vilka aktörer har Haninge?",
        ),
        (
            ["Hur länge gäller Haninges överenskommelse?", "Hur länge gäller det?"],
            "Hur länge gäller Haninges överenskommelse?",
        ),
        (
            ["Vilka aktörer ingår i Huddinges samverkansavtal?", "Vilka är deras fokusområden?"],
            "Vilka är Huddinges fokusområden?",
        ),
        (
            ["Vilka fokusområden har Haninge?", "Vem är polischef där?"],
            "Vem är polischef i Haninge?",
        ),
        # nothing to replace: the previous turn's names and topic are added
        (
            ["Hur länge gäller Haninges överenskommelse?", "Vem skrev under?"],
            "Vem skrev under? (Haninge, överenskommelse)",
        ),
        (
            ["Vilka fokusområden har Haninge?", "Hur länge gäller det?"],
            "Hur länge gäller det? (Haninge)",
        ),
        # a year: the previous question asked of it, its year swapped or added
        (
            ["Vilka fokusområden har Haninge?", "Och 2020?"],
            "Vilka fokusområden har Haninge år 2020?",
        ),
        (
            ["Vilka områden prioriterades i Älvbys avtal från 2015?", "Och år 2020?"],
            "Vilka områden prioriterades i Älvbys avtal från 2020?",
        ),
        (
            ["Hur länge gäller Haninges överenskommelse från 2021?", "Och Huddinge 2023?"],
            "Hur länge gäller Huddinges överenskommelse från 2023?",
        ),
        (
            ["Vilka fokusområden hade Haninge 2019 och 2021?", "Än 2024?"],
            "Vilka fokusområden hade Haninge 2024?",
        ),
        (
            ["Gällde avtalet 2019 i Haninge, och var det förnyat 2021?", "Och 2024?"],
            "Gällde avtalet 2019 i Haninge, och var det förnyat 2021 år 2024?",
        ),
        # chains use what was searched last
        (
            ["Hur länge gäller Haninges överenskommelse?", "Och i Södertälje?", "Vem skrev under?"],
            "Vem skrev under? (Södertälje, överenskommelse)",
        ),
    ],
)
def test_followups_become_standalone_searches(turns: list[str], expected: str) -> None:
    conversation = Conversation()
    for question in turns[:-1]:
        conversation.add(conversation.rewrite(question))
    rewrite = conversation.rewrite(turns[-1])
    assert rewrite.searched == expected
    assert rewrite.followup
    assert rewrite.label == f"Sökte på: {expected}"


@pytest.mark.parametrize(
    ("previous", "question"),
    [
        ("Hur länge gäller Haninges överenskommelse?", "Vilka fokusområden har Huddinge?"),
        (
            "Hur länge gäller Haninges överenskommelse?",
            "Vad säger lagen om det brottsförebyggande arbetet?",
        ),  # "det" as an article
        ("Vilka fokusområden har Haninge?", "Vilka är de viktigaste åtgärderna mot gängbrott?"),
        ("Vad blir vädret i morgon?", "Vem skrev under?"),  # nothing to carry over
        ("Vad blir vädret i Stockholm i morgon?", "Vad är kodordet för säkerhetstestet?"),
        # a year with words of its own is a question of its own
        ("Vilka fokusområden har Haninge?", "Hur många bilbränder var det 2020?"),
    ],
)
def test_standalone_questions_are_searched_as_asked(previous: str, question: str) -> None:
    conversation = Conversation()
    conversation.add(conversation.rewrite(previous))
    rewrite = conversation.rewrite(question)
    assert rewrite.searched == question and not rewrite.followup


def test_first_question_is_never_rewritten() -> None:
    rewrite = Conversation().rewrite("  Hur länge gäller det?  ")
    assert rewrite == Rewrite("Hur länge gäller det?", "Hur länge gäller det?", followup=False)


def test_reset_forgets_the_previous_turn() -> None:
    conversation = Conversation()
    conversation.add(conversation.rewrite("Vilka fokusområden har Haninge?"))
    conversation.reset()
    assert conversation.rewrite("Och i Huddinge?").searched == "Och i Huddinge?"


def test_mentions_find_genitives_lowercase_and_longest_names() -> None:
    found = find_mentions(
        "Huge Bostäder och haninges kommun", ["Haninge"], ["Huge", "Huge Bostäder"]
    )
    assert [(m.name, m.kind) for m in found] == [
        ("Huge Bostäder", "organisation"),
        ("Haninge", "place"),
    ]


def test_municipalities_that_are_words_need_a_capital() -> None:
    conversation = Conversation()
    assert places_named("Vad ska vara prioriterat i Vara?", conversation) == ["Vara"]
    assert places_named("Vad ska vara prioriterat?", conversation) == []


def test_conversation_for_knows_indexed_municipalities(haninge: Document) -> None:
    conversation = conversation_for(municipalities(haninge))
    assert "Haninge" in conversation.places


def test_genitive() -> None:
    assert [genitive(n) for n in ("Haninge", "Borås", "Luleå")] == ["Haninges", "Borås", "Luleås"]


# --- HTML rendering (web.py; no server, no browser) ------------------------------------------


def test_rendered_reply_escapes_documents_and_questions(haninge: Document) -> None:
    from samverkan_qa.web import turn_html

    hostile = make_doc("evil", HOSTILE, "Titel <b>fet</b>", "corpus/evil.txt")
    sentence = "Testdokument om samverkan <script>window.__pwned=1</script> i Haninge."
    hits = [make_hit(hostile, 1, [sentence]), make_hit(haninge, 2, [VALID_TO], score=0.9)]
    answer = build_answer(SearchResult('Vad? <img src=x onerror="alert(1)">', hits))
    page = turn_html(answer, 1)
    for raw in ("<script", "<img", "<b>", 'onerror="'):
        assert raw not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "Titel &lt;b&gt;fet&lt;/b&gt;" in page
    assert '<mark class="sv-answer">Testdokument om samverkan &lt;script&gt;' in page
    assert 'data-target="sv-src-1-1"' in page and 'id="sv-src-1-1"' in page


def test_viewer_shows_the_whole_document_with_passage_and_answer_marked() -> None:
    from samverkan_qa.web import viewer_html

    doc = make_doc("evil", HOSTILE, "T", "corpus/evil.txt")
    start = HOSTILE.index("<script>")
    end = HOSTILE.index("</script>") + len("</script>")
    page = viewer_html(doc, 0, len(HOSTILE), [(start, end)])
    assert "<script" not in page and "<img" not in page
    assert '<mark class="sv-passage sv-answer">&lt;script&gt;' in page
    assert page.count("<mark") == 3  # before, inside and after the answer span


def test_viewer_ignores_offsets_outside_the_document(haninge: Document) -> None:
    from samverkan_qa.web import parse_spans, viewer_html

    spans = parse_spans("5-10,junk,-3-4,99999999-100000000,12-11")
    assert spans == [(5, 10), (99999999, 100000000), (12, 11)]
    page = viewer_html(haninge, -50, 10**9, spans)
    assert page.count('class="sv-passage sv-answer"') == 1
    assert 'class="sv-passage"' in page


def test_filters_from_dropdown_values(haninge: Document, sodertalje: Document) -> None:
    from samverkan_qa.errors import InvalidInputError
    from samverkan_qa.metadata import FieldFilter
    from samverkan_qa.web import filter_choices, filters_label, make_filters

    filters = make_filters("Haninge", "2025", "haninge")
    assert filters == [FieldFilter("kommun", "Haninge"), FieldFilter("år", "2025"),
                       FieldFilter("doc", "haninge")]  # fmt: skip
    assert make_filters("", "", "") == []
    with pytest.raises(InvalidInputError):
        make_filters("Atlantis")
    label = filters_label(filters, {"haninge": haninge})
    assert label.startswith("kommun Haninge, år 2025, dokument Överenskommelse")
    choices = filter_choices([haninge, sodertalje])
    assert choices.municipalities == [("Alla kommuner", ""), ("Haninge", "Haninge"),
                                      ("Södertälje", "Södertälje")]  # fmt: skip
    years = [value for _, value in choices.years]
    assert years[0] == "" and {"2016", "2017", "2018", "2025", "2027"} <= set(years)
    assert ("Alla dokument", "") in choices.documents


def test_fact_answer_renders_its_table_escaped(haninge: Document) -> None:
    from samverkan_qa.web import answer_html

    hit = make_hit(haninge, 1, [VALID_TO])
    answer = Answer(
        "Jämför?",
        "Jämför?",
        "Haninge: <b>fet</b> [1]",
        [Quote("Barn och unga", 1, "haninge", 0, 5)],
        [Source(1, hit, citation_line(hit), matching=True, cited=True)],
        abstained=False,
        table=[{"kommun": "Haninge", "fokusområden": "<script>x</script>"}],
        basis="facts",
    )
    page = answer_html(answer, 3)
    assert "<table" in page and "<th" in page and "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert 'data-target="sv-src-3-1"' in page


@pytest.mark.parametrize(
    ("item", "quoted"),
    [
        ("2. I avtalet ska följande två områden vara prioriterade", "I avtalet ska"),
        ("2) I avtalet ska följande två områden vara prioriterade", "I avtalet ska"),
        ("I avtalet ska följande två områden vara prioriterade", "I avtalet ska"),
    ],
)
def test_a_quote_leaves_out_the_items_number(item: str, quoted: str) -> None:
    from samverkan_qa.answers.analysis import analyse
    from samverkan_qa.answers.passages import passage_quotes
    from samverkan_qa.lexical import SwedishAnalyzer

    text = (
        "Beslut om samverkan i Älvby\n\n"
        "1. Kommundirektören får i uppdrag att skriva en överenskommelse med polisen.\n"
        f"{item}:\n - Skolornas trygghet\n - Bilbränder\n"
    )
    doc = make_doc("alvby", text, "Beslut om samverkan i Älvby", "corpus/alvby-2024.txt")
    hit = make_hit(doc, 1, [])
    question = analyse("Vilka områden ska vara prioriterade i Älvby?", ("Älvby",))
    (quote,) = passage_quotes(question, [hit], SwedishAnalyzer(), {hit.chunk.chunk_id: 1})
    assert quote.text.startswith(quoted)
    assert doc.text[quote.start : quote.end].startswith(quoted)  # offsets still exact


def test_a_facts_sentence_leaves_out_the_items_number() -> None:
    from samverkan_qa.answers.facts import sentence_around

    text = "Beslut\n\n1. Nämnden godkänner avtalet.\n2. Avtalet gäller till 2027.\n"
    start = text.index("2027")
    s, e = sentence_around(text, start, start + 4)
    assert text[s:e] == "Avtalet gäller till 2027."


def test_a_verb_and_its_ning_noun_are_one_word_to_a_quote() -> None:
    """ "När ska Parkverket slutredovisa?" is answered by "Slutredovisningen ska lämnas …",
    not by another date that only names the agency."""
    from samverkan_qa.answers.analysis import analyse
    from samverkan_qa.answers.passages import passage_quotes
    from samverkan_qa.lexical import SwedishAnalyzer

    text = (
        "Trygga parker i Testby\n\n"
        "Parkverket får 3 miljoner kronor under 2026. "
        "Slutredovisningen av uppdraget ska lämnas senast den 1 mars 2027.\n"
    )
    doc = make_doc("park", text, "Trygga parker i Testby", "corpus/park-2026.txt")
    hit = make_hit(doc, 1, [])
    question = analyse("När ska Parkverket slutredovisa uppdraget?")
    (quote,) = passage_quotes(question, [hit], SwedishAnalyzer(), {hit.chunk.chunk_id: 1})
    assert "1 mars 2027" in quote.text


def test_a_question_for_one_thing_gets_the_list_item_about_it() -> None:
    from samverkan_qa.answers.analysis import analyse
    from samverkan_qa.answers.passages import passage_quotes
    from samverkan_qa.lexical import SwedishAnalyzer

    text = (
        "Utredning om trygga parker\n\n"
        "Utredningen föreslår bland annat:\n"
        "- att parkvakterna ska ersättas av ett kommunalt parkteam,\n"
        "- att belysningen ska förbättras i alla parker,\n"
        "- att parkerna ska stängas klockan 23.\n"
    )
    doc = make_doc("parker", text, "Utredning om trygga parker", "corpus/parker-2026.txt")
    hit = make_hit(doc, 1, [])
    analyzer, numbers = SwedishAnalyzer(), {hit.chunk.chunk_id: 1}
    # the item is quoted once, under its intro, without the items about other things
    (one,) = passage_quotes(analyse("Vad föreslås ersätta parkvakterna?"), [hit], analyzer, numbers)
    assert [i.text for i in one.items] == [
        "- att parkvakterna ska ersättas av ett kommunalt parkteam,"
    ]
    (every,) = passage_quotes(analyse("Vilka förslag har utredningen?"), [hit], analyzer, numbers)
    assert len(every.items) == 3


def test_a_fact_answers_a_question_naming_no_place_only_from_a_document_found() -> None:
    """ "Vilket diarienummer har beslutet om parkerna?" is not answered by the number of a
    document the search did not find."""
    from samverkan_qa.answers.analysis import analyse
    from samverkan_qa.answers.facts import candidates

    parks = make_doc(
        "parker",
        "Beslut om parker\n\nDnr KS 2026/17\n\nNämnden beslutar om parkerna.\n",
        "Beslut om parker",
        "corpus/parker-2026.txt",
    )
    roads = make_doc(
        "vagar",
        "Beslut om vägar\n\nDnr KS 2026/99\n\nNämnden beslutar om vägarna.\n",
        "Beslut om vägar",
        "corpus/vagar-2026.txt",
    )
    question = analyse("Vilket diarienummer har beslutet om parkerna?")
    assert question.field == "diary_number"
    found = candidates(question, [parks, roads], ["parker"], "diary_number")
    assert [d.doc_id for d in found] == ["parker"]
    assert candidates(question, [parks, roads], [], "diary_number") == []
