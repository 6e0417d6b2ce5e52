"""Rule-based fact extraction: pinned values for every shipped document, hand-made Swedish
cases for each format, the offsets invariant, filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_qa.errors import InvalidInputError
from samverkan_qa.metadata import (
    FACTS_VERSION,
    FIELDS,
    MUNICIPALITIES,
    ORGANISATIONS,
    PLACE_MUNICIPALITY,
    Fact,
    FieldFilter,
    extract_facts,
    facts_from_json,
    facts_to_json,
    matches,
    parse_filter,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def read(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def corpus_facts(name: str) -> dict[str, list[Fact]]:
    return extract_facts(read(name), filename=name)


def summary(facts: dict[str, list[Fact]]) -> dict[str, list[Any]]:
    """Compact comparable form of the extracted values."""

    def val(f: Fact) -> Any:
        v = f.value
        if f.field == "doc_type":
            return (v, f.source)
        if f.field == "parties":
            return (v["kind"], v["name"])
        if f.field == "dates":
            return (v["date"], v["role"])
        if f.field == "validity":
            return (v["from"], v["to"], v["noun"])
        if f.field == "people":
            return (v["name"], v["role"])
        return v

    return {name: [val(f) for f in facts[name]] for name in FIELDS}


def assert_offsets(text: str, facts: dict[str, list[Fact]]) -> None:
    assert list(facts) == list(FIELDS)
    for name, items in facts.items():
        for f in items:
            assert f.field == name
            if f.source == "text":
                assert f.start is not None and f.end is not None
                assert text[f.start : f.end] == f.quote, f
                assert f.quote and f.quote == f.quote.strip()
            else:
                assert f.start is None and f.end is None


def quotes(facts: dict[str, list[Fact]], name: str) -> list[str]:
    return [f.quote for f in facts[name]]


# ---------------------------------------------------------------------------------------------
# Every shipped document, pinned

EMPTY: dict[str, list[Any]] = {name: [] for name in FIELDS}

EXPECTED: dict[str, dict[str, list[Any]]] = {
    "haninge-2025-overenskommelse-polisen-webbsida.txt": {
        **EMPTY,
        "doc_type": [("webbsida", "text")],
        "municipalities": ["Haninge"],
        "parties": [
            ("polis", "Polismyndigheten"),
            ("kommun", "Haninge kommun"),
            ("polis", "Lokalpolisområde Haninge/Nynäshamn"),
        ],
        "dates": [
            ("2025-02-11", "signed"),
            ("2027-12-31", "valid_to"),
            ("2025-02-13", "published"),
        ],
        "validity": [(None, "2027-12-31", "överenskommelse")],
        "priority_areas": ["Barn och unga", "Offentlig miljö", "Hemmiljö", "Samhällsnivå"],
        "people": [
            ("Kristina Tidestav", "kommundirektör"),
            ("Klara Tizkiy", "tf lokalpolisområdeschef Haninge/Nynäshamn"),
        ],
    },
    "huddinge-2015-samverkansavtal-pressmeddelande.txt": {
        **EMPTY,
        "doc_type": [("pressmeddelande", "filename")],
        "municipalities": ["Huddinge"],
        "parties": [
            ("kommun", "Huddinge kommun"),
            ("polis", "Polismyndigheten"),
            ("räddningstjänst", "Södertörns brandförsvarsförbund"),
        ],
        # The text states no date of its own: the file name's year dates it.
        "dates": [("2015", "document")],
        "validity": [(None, "2018", "huvudavtal"), (None, "2016", "underavtal")],
        "priority_areas": ["trafik", "ungdomsbrottslighet", "organiserad brottslighet"],
        "people": [
            ("Christian Ottosson", "kommunalråd i Huddinge kommun"),
            ("Lars-Göran Uddholm", "brandchef Södertörns brandförsvarsförbund"),
            ("Christer Johansson", "lokalpolisområdeschef i Huddinge"),
        ],
    },
    "huddinge-2020-prioriterade-omraden-tjansteutlatande.txt": {
        **EMPTY,
        "doc_type": [("tjänsteutlåtande", "text")],
        "municipalities": ["Huddinge"],
        "parties": [
            ("kommun", "Huddinge kommun"),
            ("polis", "Polismyndigheten"),
            ("räddningstjänst", "Södertörns brandförsvarsförbund"),
            ("polis", "Lokalpolisområde Huddinge"),
            ("polis", "Polisområde Stockholm syd"),
        ],
        "dates": [("2020-10-05", "document")],
        "validity": [
            ("2021", "2022", "överenskommelse"),
            ("2019", "2022", "avsiktsförklaring"),
            ("2019", "2020", "överenskommelse"),
            ("2015", "2018", "avtal"),
            # Bilaga 1 names the avsiktsförklaring "2019-2023": a conflict, kept.
            ("2019", "2023", "avsiktsförklaring"),
        ],
        "diary_number": ["KS-2018/91.103"],
        "priority_areas": [
            "Barn och unga",
            "Narkotika och Alkohol, Narkotika, Doping, Tobak och Spel (ANDTS)",
            "Trygghet i offentlig miljö",
        ],
        "places": ["Flemingsberg", "Skogås", "Vårby"],
        "people": [
            ("Catarina Klockerud", "handläggare"),
            ("Camilla Broo", "kommundirektör"),
            ("Patrik Forshage", "biträdande kommundirektör"),
        ],
    },
    "huge-bostader-2023-tillsammans-for-trygghet-webbsida.txt": {
        **EMPTY,
        "doc_type": [("webbsida", "text")],
        "municipalities": ["Huddinge"],
        "parties": [
            ("bostadsbolag", "Huge Bostäder"),
            ("polis", "Polismyndigheten"),
            ("räddningstjänst", "Södertörns brandförsvarsförbund"),
            ("fastighetsbolag", "Huddinge Samhällsfastigheter"),
            ("kriminalvård", "Kriminalvården"),
            ("kommun", "Huddinge kommun"),
        ],
        "dates": [("2023", "document")],  # from the file name
        "validity": [("2023", "2024", "överenskommelse")],
        "priority_areas": [
            "gängkriminalitet",
            "tryggheten i det offentliga rummet",
            "våld i nära relationer",
            "arbetet mot alkohol, narkotika, dopning, tobak och spel",
        ],
        "people": [
            ("Karin Strömberg Ekström", "vd på Huge"),
            ("Jessica Nenzén", "Huges områdesutvecklare"),
        ],
    },
    "sfs-2023-196-lag-kommuners-brottsforebyggande-arbete.md": {
        **EMPTY,
        "doc_type": [("lag", "text")],
        "dates": [
            ("2023-04-20", "document"),
            ("2023-07-01", "in_force"),
            ("2025-04-03", "published"),
            ("2024-07-01", ""),
        ],
    },
    "sodertalje-2016-samverkansoverenskommelse-pressmeddelande.txt": {
        **EMPTY,
        "doc_type": [("pressmeddelande", "text")],
        "municipalities": ["Södertälje"],
        "parties": [
            ("kommun", "Södertälje kommun"),
            ("polis", "Lokalpolisområde Södertälje"),
            ("räddningstjänst", "Södertörns brandförsvarsförbund"),
        ],
        "dates": [
            ("2016-12-20", "published"),
            ("2016-12-20", "signed"),
            ("2017-01-01", "valid_from"),
            ("2018-12-31", "valid_to"),
        ],
        "validity": [("2017-01-01", "2018-12-31", "avtal")],
        "priority_areas": [
            "organiserad brottlighet",
            "kriminalitet bland ungdomar",
            "otrygghet i bostadsområden och centrumanläggningar",
            "bostadsinbrott",
            "fordonsbränder",
        ],
        "people": [
            ("Camilla Broo", "tf kommundirektör i Södertälje"),
            ("Lars-Göran Uddholm", "brandchef"),
            ("Peter Nylind", "chef för Södertälje lokalpolisområde"),
            ("Camilla Broo", "tf stadsdirektör"),
            ("Peter Nylind", "lokalpolisområdeschef Södertälje"),
        ],
    },
}


def test_every_shipped_document_is_pinned() -> None:
    shipped = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md"}
    assert shipped == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_document_facts(name: str) -> None:
    text = read(name)
    facts = extract_facts(text, filename=name)
    assert_offsets(text, facts)
    assert summary(facts) == EXPECTED[name]


def test_shipped_quotes_cite_the_text() -> None:
    haninge = corpus_facts("haninge-2025-overenskommelse-polisen-webbsida.txt")
    assert quotes(haninge, "validity") == ["gäller fram till den 31 december 2027"]
    assert quotes(haninge, "doc_type") == ["Senast uppdaterad"]
    assert quotes(haninge, "dates")[0] == "11 februari 2025"

    sodertalje = corpus_facts("sodertalje-2016-samverkansoverenskommelse-pressmeddelande.txt")
    assert quotes(sodertalje, "validity") == ["gäller från 1 januari 2017 till 31 december 2018"]
    signed = [f for f in sodertalje["dates"] if f.value["role"] == "signed"][0]
    # the signed date is the press release's date; the quote spans the date and "Idag undertecknar"
    assert signed.quote.startswith("2016-12-20") and signed.quote.endswith("Idag undertecknar")

    tjut = corpus_facts("huddinge-2020-prioriterade-omraden-tjansteutlatande.txt")
    assert quotes(tjut, "validity") == [
        "för åren 2021-2022",
        "med giltighet 2019-2022",
        "för åren 2019-2020",
        "för perioden 2015-2018",
        "2019-2023",
    ]
    assert quotes(tjut, "doc_type") == ["Förslag till beslut"]

    huge = corpus_facts("huge-bostader-2023-tillsammans-for-trygghet-webbsida.txt")
    assert quotes(huge, "validity") == ["gäller för perioden 2023–2024"]
    assert quotes(huge, "doc_type") == ["Hoppa till innehållet"]

    press = corpus_facts("huddinge-2015-samverkansavtal-pressmeddelande.txt")
    assert quotes(press, "validity") == ["till 2018", "till 2016"]


def test_huddinge_press_release_type_only_from_its_file_name() -> None:
    text = read("huddinge-2015-samverkansavtal-pressmeddelande.txt")
    assert extract_facts(text)["doc_type"] == []
    (fact,) = extract_facts(text, filename="a-pressmeddelande.txt")["doc_type"]
    assert (fact.value, fact.source, fact.start, fact.end) == (
        "pressmeddelande",
        "filename",
        None,
        None,
    )
    # "idag" without any date in the text: no signed date is guessed
    assert extract_facts(text)["dates"] == []


def test_law_with_front_matter_passed_as_metadata() -> None:
    raw = read("sfs-2023-196-lag-kommuners-brottsforebyggande-arbete.md")
    _, header, body = raw.split("---\n", 2)
    front = dict(line.split(": ", 1) for line in header.strip().splitlines())
    facts = extract_facts(body, title=front["rubrik"], front_matter=front)
    assert_offsets(body, facts)
    assert summary(facts)["doc_type"] == [("lag", "text")]  # "Lag ([2025:223]..."
    assert summary(facts)["dates"] == [
        ("2023-07-01", "in_force"),  # "träder i kraft den 1 juli 2023" in the text
        ("2024-07-01", ""),
        ("2025-04-03", "published"),
        ("2023-04-20", "document"),
    ]
    assert [f.source for f in facts["dates"]] == ["text", "text", "front_matter", "front_matter"]
    only_meta = extract_facts("Ingen ledtråd här.", front_matter={"beteckning": "2023:196"})
    assert summary(only_meta)["doc_type"] == [("lag", "front_matter")]


# ---------------------------------------------------------------------------------------------
# Hand-made cases: dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pressmeddelande 2016-12-20", [("2016-12-20", "published")]),
        ("Datum\n2020-10-05Diarienummer", [("2020-10-05", "document")]),
        ("tjänsteutlåtande daterat den 5 oktober 2020.", [("2020-10-05", "document")]),
        ("Avtalet undertecknades den 11 februari 2025.", [("2025-02-11", "signed")]),
        ("Senast uppdaterad: 13 februari 2025", [("2025-02-13", "published")]),
        ("Det nya avtalet gäller från 1 januari 2017.", [("2017-01-01", "valid_from")]),
        ("Lagen träder i kraft den 1 juli 2023.", [("2023-07-01", "in_force")]),
        ("Nämnden beslutade den 3 mars 2021.", [("2021-03-03", "decision")]),
        ("utfardad_datum: 2023-04-20", [("2023-04-20", "document")]),
        ("Mötet hölls 5 okt. 2020 och 1:a maj 2021.", [("2020-10-05", ""), ("2021-05-01", "")]),
        ("31 februari 2020, 2020-02-30 och 2020-13-01 finns inte.", []),
        ("Telefon 08-535 300 00, KS-2018/91.103, 2023:196.", []),
    ],
)
def test_date_formats_and_roles(text: str, expected: list[tuple[str, str]]) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["dates"] == expected


def test_idag_undertecknar_uses_the_press_release_date() -> None:
    text = "Pressmeddelande 2016-12-20\n\nIdag undertecknar kommunen en överenskommelse."
    assert summary(extract_facts(text))["dates"] == [
        ("2016-12-20", "published"),
        ("2016-12-20", "signed"),
    ]


def test_conflicting_dates_are_all_kept() -> None:
    text = "Datum: 2020-10-05\n\nTjänsteutlåtande daterat den 6 oktober 2020."
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["dates"] == [("2020-10-05", "document"), ("2020-10-06", "document")]


def test_same_date_and_role_twice_is_one_fact() -> None:
    text = "Datum 2020-10-05. Tjänsteutlåtande daterat den 5 oktober 2020."
    assert summary(extract_facts(text))["dates"] == [("2020-10-05", "document")]


# ---------------------------------------------------------------------------------------------
# Hand-made cases: validity


@pytest.mark.parametrize(
    ("text", "expected", "quote"),
    [
        ("Avtalet gäller t.o.m. 2024.", (None, "2024", "avtal"), "gäller t.o.m. 2024"),
        (
            "Samverkansavtalet 2023–2024 omfattar tre parter.",
            ("2023", "2024", "avtal"),
            "2023–2024",
        ),
        (
            "Överenskommelsen gäller till och med 31 december 2024.",
            (None, "2024-12-31", "överenskommelse"),
            "gäller till och med 31 december 2024",
        ),
        (
            "Det nya avtalet gäller från 1 januari 2017 till 31 december 2018.",
            ("2017-01-01", "2018-12-31", "avtal"),
            "gäller från 1 januari 2017 till 31 december 2018",
        ),
        (
            "Överenskommelsen gäller fram till den 31 december 2027.",
            (None, "2027-12-31", "överenskommelse"),
            "gäller fram till den 31 december 2027",
        ),
        (
            "Kommunen tecknade ett samverkansavtal för perioden 2015-2018.",
            ("2015", "2018", "avtal"),
            "för perioden 2015-2018",
        ),
        (
            "En samverkansöverenskommelse för åren 2021-2022 ska tas fram.",
            ("2021", "2022", "överenskommelse"),
            "för åren 2021-2022",
        ),
        (
            "En avsiktsförklaring med giltighet 2019-2022 skrevs under.",
            ("2019", "2022", "avsiktsförklaring"),
            "med giltighet 2019-2022",
        ),
        (
            "Arbetet regleras i ett underavtal till 2016.",
            (None, "2016", "underavtal"),
            "till 2016",
        ),
        (
            "Överenskommelsen gäller fr.o.m. 2017-01-01 t.o.m. 2018-12-31.",
            ("2017-01-01", "2018-12-31", "överenskommelse"),
            "gäller fr.o.m. 2017-01-01 t.o.m. 2018-12-31",
        ),
        (
            "Kommunen har tecknat en ny överenskommelse med polisen. Den gäller till och med 2026.",
            (None, "2026", "överenskommelse"),
            "gäller till och med 2026",
        ),
    ],
)
def test_validity_formats(text: str, expected: tuple[Any, ...], quote: str) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["validity"] == [expected]
    assert quotes(facts, "validity") == [quote]


@pytest.mark.parametrize(
    "text",
    [
        "Uppdraget gäller till den 31 december 2015.",
        "Brotten ökade under åren 2015-2018.",
        "Anställningen gäller från och med den 1 maj 2024.",
        "Strategin gäller för perioden 2024–2027.",
        "Avtalet löper ut 2024-12-31.",  # a date, not a period
        "Avtalet gäller 2022-2019.",  # backwards: not a period
        "Avtalet gäller från 2019 till 1 januari 2018.",  # nor its two halves
    ],
)
def test_no_validity_without_an_agreement(text: str) -> None:
    assert extract_facts(text)["validity"] == []


def test_several_periods_each_with_its_noun() -> None:
    text = (
        "Huddinge kommun tecknade ett samverkansavtal för perioden 2015-2018. "
        "2019 skrevs en avsiktsförklaring med giltighet 2019-2022 under. "
        "Därefter gällde en samverkansöverenskommelse för åren 2019-2020.\n"
        "- Bilaga 1. Avsiktsförklaring mellan Huddinge kommun och Polisen 2019-2023"
    )
    assert summary(extract_facts(text))["validity"] == [
        ("2015", "2018", "avtal"),
        ("2019", "2022", "avsiktsförklaring"),
        ("2019", "2020", "överenskommelse"),
        ("2019", "2023", "avsiktsförklaring"),  # conflicts with 2019-2022: both kept
    ]


# ---------------------------------------------------------------------------------------------
# Hand-made cases: the other fields


def test_text_without_any_fact_gives_empty_fields() -> None:
    text = "Det här är en text utan datum och utan kommun. Den handlar om väder."
    facts = extract_facts(text)
    assert list(facts) == list(FIELDS)
    assert all(items == [] for items in facts.values())
    assert extract_facts("") == {name: [] for name in FIELDS}


def test_municipality_dictionary() -> None:
    assert len(MUNICIPALITIES) == 290
    assert isinstance(MUNICIPALITIES, frozenset)
    for name in ("Huddinge", "Södertälje", "Haninge", "Upplands Väsby", "Malung-Sälen", "Åre"):
        assert name in MUNICIPALITIES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Haninges och Södertäljes arbete.", ["Haninge", "Södertälje"]),
        ("HUDDINGE KOMMUN\nPostadress", ["Huddinge"]),
        ("141 85 HuddingeBesök", ["Huddinge"]),  # glued PDF text
        ("Mejla huddinge@huddinge.se eller se www.huddinge.se", []),
        ("Vi vill vara med. Vara med! Anna Lund ringde.", []),  # ambiguous names need "kommun"
        ("Vara kommun och Lunds kommun", ["Vara", "Lund"]),
        ("polisområde Stockholm syd och lokalpolisområde Haninge/Nynäshamn", []),
        ("Borås stad och Västerås", ["Borås", "Västerås"]),
    ],
)
def test_municipalities(text: str, expected: list[str]) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["municipalities"] == expected


def test_municipality_quote_prefers_x_kommun_and_title_is_a_hint() -> None:
    text = "I Huddinge finns mycket. Huddinge kommun har ett avtal."
    assert quotes(extract_facts(text), "municipalities") == ["Huddinge kommun"]
    (fact,) = extract_facts("Ingen ort här.", title="Trygghet i Haninge")["municipalities"]
    assert (fact.value, fact.source, fact.start) == ("Haninge", "title", None)


def test_parties_in_an_agreement_context_only() -> None:
    text = (
        "Idag undertecknar Södertälje kommun, Södertälje lokalpolisområde och Södertörns "
        "brandförsvarsförbund en ny samverkansöverenskommelse.\n\nPolisen larmades till Ronna."
    )
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["parties"] == [
        ("kommun", "Södertälje kommun"),
        ("polis", "Lokalpolisområde Södertälje"),
        ("räddningstjänst", "Södertörns brandförsvarsförbund"),
    ]
    assert extract_facts("Polisen larmades till platsen.")["parties"] == []


def test_parties_from_a_bullet_list_and_generic_names() -> None:
    text = (
        "Aktörer som ingår i Samverkansöverenskommelsen\n\n  • Tyresö kommun\n"
        "  • Polismyndigheten\n  • Kriminalvården\n"
    )
    assert summary(extract_facts(text))["parties"] == [
        ("kommun", "Tyresö kommun"),
        ("polis", "Polismyndigheten"),
        ("kriminalvård", "Kriminalvården"),
    ]
    generic = "Kommunen skrev idag under ett samverkansavtal med Polisen och Brandförsvaret."
    assert summary(extract_facts(generic))["parties"] == [
        ("polis", "Polismyndigheten"),
        ("räddningstjänst", "Brandförsvaret"),
    ]


def test_diary_numbers() -> None:
    text = "Dnr: KS-2018/91.103\n2020-10-05Diarienummer\nKS-2019/7.2Handläggare"
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["diary_number"] == ["KS-2018/91.103", "KS-2019/7.2"]


def test_priority_areas_bullets_with_count() -> None:
    text = (
        "Överenskommelsen anger fyra fokusområden:\n- Barn och unga\nSamverkan kring unga. "
        "- Offentlig miljö\nTrygga miljöer. - Hemmiljö\nBrott mot äldre. - Samhällsnivå\n"
        "– Ett citat som inte hör till listan.\n"
    )
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["priority_areas"] == [
        "Barn och unga",
        "Offentlig miljö",
        "Hemmiljö",
        "Samhällsnivå",
    ]


def test_priority_areas_numbered_list_stops_at_a_blank_line() -> None:
    text = "Följande områden ska prioriteras:\n\n1. Narkotika\n2. Unga vuxna\n\nMer text."
    assert summary(extract_facts(text))["priority_areas"] == ["Narkotika", "Unga vuxna"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Avtalet innebär en prioritering av områdena trafik, ungdomsbrottslighet och "
            "organiserad brottslighet i det fortsatta arbetet.",
            ["trafik", "ungdomsbrottslighet", "organiserad brottslighet"],
        ),
        (
            "Samverkansavtalet har fyra fokusområden, gängkriminalitet, tryggheten i det "
            "offentliga rummet, våld i nära relationer samt arbetet mot alkohol, narkotika "
            "och spel.",
            [
                "gängkriminalitet",
                "tryggheten i det offentliga rummet",
                "våld i nära relationer",
                "arbetet mot alkohol, narkotika och spel",
            ],
        ),
        (
            "Följande områden föreslås att prioriteras: Barn och unga, Narkotika/ Alkohol, "
            "Narkotika, Doping, Tobak och Spel (ANDTS) och Trygghet i den offentliga miljön.",
            [
                "Barn och unga",
                "Narkotika/ Alkohol, Narkotika, Doping, Tobak och Spel (ANDTS)",
                "Trygghet i den offentliga miljön",
            ],
        ),
        (
            "Här pekas prioriterade områden ut: organiserad brottlighet, otrygghet i "
            "bostadsområden och centrumanläggningar, bostadsinbrott och fordonsbränder.",
            [
                "organiserad brottlighet",
                "otrygghet i bostadsområden och centrumanläggningar",
                "bostadsinbrott",
                "fordonsbränder",
            ],
        ),
        ("Samarbetsparterna har kommit överens om fyra fokusområden.", []),
        ("Läs mer om EU:s fokusområden och prioriteringar på webben.", []),
    ],
)
def test_priority_areas_inline(text: str, expected: list[str]) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["priority_areas"] == expected


def test_priority_area_variants_are_one_area() -> None:
    text = (
        "Följande tre områden ska vara prioriterade:\n - Barn och unga\n - Narkotika (ANDTS)\n"
        " - Trygghet i offentlig miljö\n\nFöljande områden bör prioriteras: Barn och unga "
        "(skola/fritid), Narkotika/ANDTS och Trygghet i den offentliga miljön."
    )
    assert summary(extract_facts(text))["priority_areas"] == [
        "Barn och unga",
        "Narkotika (ANDTS)",
        "Trygghet i offentlig miljö",
    ]


def test_places() -> None:
    text = (
        "Kommundelarna Flemingsberg, Skogås och Vårby är i fokus, liksom stadsdelen Abcby. "
        "Hon bor i Handen. Handen på hjärtat."
    )
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["places"] == ["Flemingsberg", "Skogås", "Vårby", "Abcby", "Handen"]
    assert [f.start for f in facts["places"]][-1] == text.index("Handen.")


def test_people() -> None:
    text = (
        "– Vi är nöjda, säger Anna Andersson, kommundirektör i Tyresö.\n"
        "– Bra, säger brandchef Lars-Göran Uddholm.\n"
        "Kontakta Per Persson, säkerhetschef, 08-123 45 67"
    )
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["people"] == [
        ("Anna Andersson", "kommundirektör i Tyresö"),
        ("Lars-Göran Uddholm", "brandchef"),
        ("Per Persson", "säkerhetschef"),
    ]


def test_a_role_before_a_no_break_space_is_quoted_without_it() -> None:
    """Found by test_property_offsets_and_json: the quote ended with the U+00A0 after the
    role, as only " ,." were trimmed from its end."""
    text = "säger Klara Tizkiy, tf lokalpolisområdeschef Haninge/Nynäshamn.0\u00a0"
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert [f.quote for f in facts["people"]] == [
        "Klara Tizkiy, tf lokalpolisområdeschef Haninge/Nynäshamn.0"
    ]


def test_doc_type_cues_and_hints() -> None:
    cases = {
        "Pressmeddelande 2016-12-20\n\nText.": "pressmeddelande",
        "Förslag till beslut\n\nKommunstyrelsens beslut": "tjänsteutlåtande",
        "Denna överenskommelse gäller från 2017.": "överenskommelse",
        "Hoppa till innehållet\n\nText.": "webbsida",
        "Text.\nSenast uppdaterad: 13 februari 2025": "webbsida",
        "Kommuner får bedriva kamerabevakning. Lag (2025:223).": "lag",
        "### 1 §\n\nText.\n\n### 2 §\n\nText.\n\n### 3 §\n\nText.": "lag",
    }
    for text, expected in cases.items():
        facts = extract_facts(text)
        assert_offsets(text, facts)
        assert summary(facts)["doc_type"] == [(expected, "text")], text
    # a web page that quotes a press release: both types, each with its cue
    both = "Pressmeddelande 2016-12-20\n\nText.\nSenast uppdaterad: 13 februari 2025"
    assert [f.value for f in extract_facts(both)["doc_type"]] == ["pressmeddelande", "webbsida"]
    title = extract_facts("Ingen ledtråd.", title="Pressmeddelande: nytt avtal")
    assert summary(title)["doc_type"] == [("pressmeddelande", "title")]
    # text cues win over the file name; the file name is the weakest hint
    assert summary(extract_facts("Hoppa till innehållet", filename="x-pressmeddelande.txt"))[
        "doc_type"
    ] == [("webbsida", "text")]
    named = extract_facts("Ingen ledtråd.", filename="haninge-2025-overenskommelse-x.txt")
    assert named["doc_type"] == []  # a topic word in a file name is not a type


# ---------------------------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_json_round_trip(name: str) -> None:
    facts = corpus_facts(name)
    data = facts_to_json(facts)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert facts_from_json(json.loads(json.dumps(data))) == facts


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"dates": {}},
        {"dates": [{"quote": "x"}]},
        {"dates": [{"value": "x", "quote": "x", "start": "a"}]},
    ],
)
def test_facts_from_json_rejects_malformed(bad: Any) -> None:
    with pytest.raises(InvalidInputError):
        facts_from_json(bad)


# ---------------------------------------------------------------------------------------------
# Filters


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("kommun=Huddinge", FieldFilter("kommun", "Huddinge")),
        ("kommun = sodertalje ", FieldFilter("kommun", "sodertalje")),
        ("giltig=2024", FieldFilter("giltig", "2024")),
        ("giltig=2024-05-01", FieldFilter("giltig", "2024-05-01")),
        ("typ=pressmeddelande", FieldFilter("typ", "pressmeddelande")),
        ("part=polis", FieldFilter("part", "polis")),
        ("år=2016", FieldFilter("år", "2016")),
        ("ar=2016", FieldFilter("år", "2016")),
        ("doc=huddinge-2015", FieldFilter("doc", "huddinge-2015")),
    ],
)
def test_parse_filter(expr: str, expected: FieldFilter) -> None:
    assert parse_filter(expr) == expected


def test_an_unknown_filter_key_is_named_as_typed() -> None:
    with pytest.raises(InvalidInputError, match="unknown key 'Färg'"):
        parse_filter("Färg=blå")


@pytest.mark.parametrize(
    "expr",
    [
        "kommun",
        "=Huddinge",
        "kommun=",
        "stad=Huddinge",
        "giltig=20x4",
        "giltig=2024-02-30",
        "giltig=24",
        "år=16",
        "år=2016-01-01",
        "typ=blogg",
        "kommun=Hudinge",
    ],
)
def test_parse_filter_errors(expr: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_filter(expr)
    message = str(info.value)
    assert "\n" not in message
    assert repr(expr) in message
    assert "kommun, giltig, typ, part, år, doc" in message


DOCS = {
    "haninge": "haninge-2025-overenskommelse-polisen-webbsida.txt",
    "press15": "huddinge-2015-samverkansavtal-pressmeddelande.txt",
    "tjut20": "huddinge-2020-prioriterade-omraden-tjansteutlatande.txt",
    "huge": "huge-bostader-2023-tillsammans-for-trygghet-webbsida.txt",
    "sfs": "sfs-2023-196-lag-kommuners-brottsforebyggande-arbete.md",
    "sodertalje": "sodertalje-2016-samverkansoverenskommelse-pressmeddelande.txt",
}


@pytest.fixture(scope="module")
def all_facts() -> dict[str, dict[str, list[Fact]]]:
    return {key: corpus_facts(name) for key, name in DOCS.items()}


@pytest.mark.parametrize(
    ("exprs", "expected"),
    [
        ([], {"haninge", "press15", "tjut20", "huge", "sfs", "sodertalje"}),
        (["kommun=sodertalje"], {"sodertalje"}),
        (["kommun=SÖDERTÄLJE kommun"], {"sodertalje"}),
        (["kommun=Huddinge"], {"press15", "tjut20", "huge"}),
        (["kommun=Nynäshamn"], set()),  # only part of a police area's name
        (["typ=pressmeddelande"], {"press15", "sodertalje"}),
        (["typ=tjansteutlatande"], {"tjut20"}),
        (["typ=webbsida"], {"haninge", "huge"}),
        (["typ=sfs"], {"sfs"}),
        (["part=polis"], {"haninge", "press15", "tjut20", "huge", "sodertalje"}),
        (["part=kriminalvarden"], {"huge"}),
        (["part=huge"], {"huge"}),
        (["part=Räddningstjänst"], {"press15", "tjut20", "huge", "sodertalje"}),
        (["part=stockholm syd"], {"tjut20"}),
        (["giltig=2024"], {"huge"}),
        (["giltig=2026"], {"haninge"}),
        (["giltig=2025-01-01"], set()),  # Haninge's agreement was signed 2025-02-11
        (["giltig=2025-03-01"], {"haninge"}),
        (["giltig=2017-06-01"], {"press15", "tjut20", "sodertalje"}),
        (["giltig=2019"], {"tjut20"}),
        (["år=2016"], {"press15", "sodertalje", "tjut20"}),  # tjut20: avtal 2015-2018
        (["år=2025"], {"haninge", "sfs"}),
        (["år=2023"], {"huge", "sfs", "tjut20"}),
        (["kommun=Huddinge", "giltig=2021"], {"tjut20"}),
        (["kommun=Huddinge", "typ=pressmeddelande", "år=2018"], {"press15"}),
        (["doc=huge"], {"huge"}),
    ],
)
def test_matches_on_the_corpus(
    all_facts: dict[str, dict[str, list[Fact]]], exprs: list[str], expected: set[str]
) -> None:
    filters = [parse_filter(e) for e in exprs]
    got = {key for key, facts in all_facts.items() if matches(facts, filters, doc_id=key)}
    assert got == expected


def test_giltig_bounds_are_inclusive_and_years_widen() -> None:
    facts = extract_facts("Det nya avtalet gäller från 1 januari 2017 till 31 december 2018.")
    ok = [parse_filter("giltig=" + v) for v in ("2017", "2018", "2017-01-01", "2018-12-31")]
    assert all(matches(facts, [f]) for f in ok)
    for v in ("2016", "2019", "2016-12-31", "2019-01-01"):
        assert not matches(facts, [parse_filter("giltig=" + v)])
    years = extract_facts("Samverkansavtalet gäller 2023–2024.")
    assert matches(years, [parse_filter("giltig=2023-01-01")])
    assert matches(years, [parse_filter("giltig=2024-12-31")])
    assert not matches(years, [parse_filter("giltig=2025-01-01")])
    assert not matches(extract_facts("Ingen period här."), [parse_filter("giltig=2024")])


def test_matches_on_facts_read_back_from_json() -> None:
    facts = facts_from_json(facts_to_json(corpus_facts(DOCS["sodertalje"])))
    assert matches(facts, [parse_filter("kommun=Södertälje"), parse_filter("giltig=2018")])


# ---------------------------------------------------------------------------------------------
# Property: offsets always cite the text

SNIPPETS = [
    "Pressmeddelande 2016-12-20",
    "Idag undertecknar Södertälje kommun en ny samverkansöverenskommelse.",
    "Det nya avtalet gäller från 1 januari 2017 till 31 december 2018.",
    "Samverkansöverenskommelsen gäller för perioden 2023–2024.",
    "Avtalet gäller t.o.m. 2024.",
    "Överenskommelsen gäller till och med 31 december 2024.",
    "gäller fram till den 31 december 2027.",
    "Datum\n2020-10-05Diarienummer\nKS-2018/91.103Handläggare\nCatarina Klockerud",
    "Senast uppdaterad: 13 februari 2025",
    "Hoppa till innehållet",
    "Kommundelarna Flemingsberg, Skogås och Vårby",
    "följande tre områden vara prioriterade:\n - Barn och unga\n - Trygghet",
    "fyra fokusområden, gängkriminalitet, våld i nära relationer samt spel.",
    "Haninges arbete med lokalpolisområde Haninge/Nynäshamn",
    "HUDDINGE KOMMUN",
    "säger Klara Tizkiy, tf lokalpolisområdeschef Haninge/Nynäshamn.",
    "Aktörer som ingår i avtalet\n  • Huge Bostäder\n  • Kriminalvården",
    "Lag (2023:196)",
    "den 1 juli 2023",
    "Narkotika, Doping, Tobak och Spel (ANDTS)",
    "– ",
    ":",
    "2019-2022",
    "Å",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(SNIPPETS),
            st.text(alphabet="abcåäöÅÄÖ ABCÖ0123456789-–.:,;()/\n\t\u00a0§•", max_size=30),
        ),
        max_size=12,
    ),
    st.lists(st.sampled_from([" ", "\n", "\n\n", ". ", ", ", "", " - "]), min_size=12, max_size=12),
)
def test_property_offsets_and_json(parts: list[str], seps: list[str]) -> None:
    text = "".join(p + s for p, s in zip(parts, seps, strict=False))
    facts = extract_facts(text, title="Titel", filename="x.txt")
    assert_offsets(text, facts)
    assert facts_from_json(facts_to_json(facts)) == facts
    for f in facts["dates"]:
        assert len(f.value["date"]) == 10 and f.value["role"] in (
            "",
            "published",
            "signed",
            "decision",
            "document",
            "in_force",
            "valid_from",
            "valid_to",
        )


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=300))
def test_property_text_without_digits_states_no_year(text: str) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert matches(facts, []) is True
    assert matches(facts, [parse_filter("giltig=2024")]) is False
    assert matches(facts, [parse_filter("år=2024")]) is False


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_property_a_stated_period_matches_whatever_surrounds_it(noise: str) -> None:
    text = f"{noise}\n\nSamverkansavtalet gäller 2023–2025.\n\n{noise}"
    facts = extract_facts(text)
    assert_offsets(text, facts)
    for expr in ("giltig=2024", "giltig=2023-01-01", "giltig=2025-12-31", "år=2024"):
        assert matches(facts, [parse_filter(expr)]) is True, expr


# ---------------------------------------------------------------------------------------------
# Hand-written layouts of agreements and decisions (not from the corpus)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # bullets, a description line under each item, blank lines between
            "Överenskommelsen har tre fokusområden:\n\n• Narkotika\nArbetet mot försäljning av "
            "narkotika i centrum ska öka.\n\n• Unga i riskzon\nSkolan, socialtjänsten och polisen "
            "samverkar kring unga.\n\n• Trygghet i offentlig miljö\nBättre belysning och fler "
            "vuxna ute på kvällarna.\n\nParterna följer upp arbetet varje år.",
            ["Narkotika", "Unga i riskzon", "Trygghet i offentlig miljö"],
        ),
        (  # numbered, indented descriptions; the next list ("Läs mer:") is not part of it
            "Parterna prioriterar följande områden:\n1. Narkotika\n   Minska försäljningen.\n"
            "2. Våld i nära relationer\n   Tidiga insatser.\n3. Bostadsinbrott\n"
            "   Grannsamverkan i villaområden.\n\nLäs mer:\n- Kommunens webbplats\n",
            ["Narkotika", "Våld i nära relationer", "Bostadsinbrott"],
        ),
        (  # a heading without colon; each item's description after a dash on its line
            "Fokusområden\n\n- Narkotika – arbetet mot försäljning i centrum\n- Unga vuxna – "
            "stöd till den som vill lämna kriminalitet\n\nÖvrigt om avtalet.",
            ["Narkotika", "Unga vuxna"],
        ),
        ("## Prioriterade områden\n\n1. Narkotika\n2. Trafik\n", ["Narkotika", "Trafik"]),
        (  # a three-word subtitle stays part of the name
            "Strategin prioriterar två områden:\n* Kunskap om brott\n* Trygghet – arbetet mot hat",
            ["Kunskap om brott", "Trygghet – arbetet mot hat"],
        ),
        (  # a numbering that starts again is another list
            "Prioriterade områden:\n1. Klotter\n2. Skadegörelse\n\nBilagor:\n1. Protokoll\n",
            ["Klotter", "Skadegörelse"],
        ),
        (  # a table turned to text with tabs: a column under its heading
            "Fokusområde\tBeskrivning\nNarkotika\tMinska försäljningen\n"
            "Unga i riskzon\tTidiga insatser\n\nMer text.",
            ["Narkotika", "Unga i riskzon"],
        ),
        (  # a Markdown table
            "| Fokusområde | Ansvarig |\n|---|---|\n| Narkotika | Polisen |\n"
            "| Trygghet i centrum | Kommunen |\n",
            ["Narkotika", "Trygghet i centrum"],
        ),
        (  # a form: the cell after the label lists them
            "Parter | Tyresö kommun, Polismyndigheten\nFokusområden | Narkotika, unga i riskzon "
            "och trygghet i centrum\n",
            ["Narkotika", "unga i riskzon", "trygghet i centrum"],
        ),
    ],
)
def test_priority_area_layouts(text: str, expected: list[str]) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["priority_areas"] == expected


@pytest.mark.parametrize(
    ("text", "expected", "quote"),
    [
        (
            "Överenskommelsen gäller under perioden 1 januari 2024 – 31 december 2026.",
            ("2024-01-01", "2026-12-31", "överenskommelse"),
            "gäller under perioden 1 januari 2024 – 31 december 2026",
        ),
        (
            "Avtalet gäller från och med den 1 mars 2024 till och med den 28 februari 2027.",
            ("2024-03-01", "2027-02-28", "avtal"),
            "gäller från och med den 1 mars 2024 till och med den 28 februari 2027",
        ),
        (
            "Samverkansavtalet gäller t.o.m. 30 juni 2026.",
            (None, "2026-06-30", "avtal"),
            "gäller t.o.m. 30 juni 2026",
        ),
        (
            "Avtalet gäller fr o m 2024 t o m 2026.",
            ("2024", "2026", "avtal"),
            "gäller fr o m 2024 t o m 2026",
        ),
        (
            "Överenskommelsen ska gälla under åren 2021–2022.",
            ("2021", "2022", "överenskommelse"),
            "gälla under åren 2021–2022",
        ),
        (
            "Överenskommelsen gäller mellan 1 april 2025 och 31 mars 2027.",
            ("2025-04-01", "2027-03-31", "överenskommelse"),
            "gäller mellan 1 april 2025 och 31 mars 2027",
        ),
        (
            "Avtalsperiod:\t2024-01-01 – 2026-12-31",
            ("2024-01-01", "2026-12-31", "avtal"),
            "Avtalsperiod:\t2024-01-01 – 2026-12-31",
        ),
        (  # a table row; nothing names the agreement, so no noun
            "Giltighetstid | 1 januari 2024 – 31 december 2026",
            ("2024-01-01", "2026-12-31", None),
            "Giltighetstid | 1 januari 2024 – 31 december 2026",
        ),
    ],
)
def test_validity_layouts(text: str, expected: tuple[Any, ...], quote: str) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["validity"] == [expected]
    assert quotes(facts, "validity") == [quote]


@pytest.mark.parametrize(
    "text",
    [
        "Brotten minskade mellan 2019 och 2022.",  # no agreement
        "Projektperiod: 2024–2026",  # not an agreement's period
    ],
)
def test_no_validity_in_other_periods(text: str) -> None:
    assert extract_facts(text)["validity"] == []


def test_dates_and_diary_number_in_table_cells() -> None:
    text = "Beslutsdatum | 2024-03-12\nDiarienummer | KS 2024/118\nUndertecknad\t2024-04-02"
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["dates"] == [("2024-03-12", "decision"), ("2024-04-02", "signed")]
    assert summary(facts)["diary_number"] == ["KS 2024/118"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a table of parties under a "Part" heading
            "Part\tKontaktperson\nTyresö kommun\tAnna Andersson\nPolismyndigheten\tPer Persson\n"
            "Storstockholms brandförsvar\tEva Ek\n",
            [
                ("kommun", "Tyresö kommun"),
                ("polis", "Polismyndigheten"),
                ("räddningstjänst", "Storstockholms brandförsvar"),
            ],
        ),
        (  # housing companies by how municipal ones are named, and by data-file alias
            "Överenskommelsen tecknas mellan Nynäshamns kommun, Nynäshamnsbostäder, "
            "Botkyrkabyggen, Telgebostäder och AB Kalmarhem.",
            [
                ("kommun", "Nynäshamns kommun"),
                ("bostadsbolag", "Nynäshamnsbostäder"),
                ("bostadsbolag", "Botkyrkabyggen"),
                ("bostadsbolag", "Telge Bostäder"),
                ("bostadsbolag", "Kalmarhem"),
            ],
        ),
        (
            "Avtalet undertecknades av Huges vd, Tyresö Bostäder AB och Stångåstaden.",
            [
                ("bostadsbolag", "Huge Bostäder"),
                ("bostadsbolag", "Tyresö Bostäder"),
                ("bostadsbolag", "Stångåstaden"),
            ],
        ),
        ("Polisen larmades till Stockholmshem i går.", []),  # not about an agreement
        (  # the "Part" heading holds for its own table only, not the next one
            "Part\tRoll\nTyresö kommun\tSamordnare\n\nÅr\tInsats\n2024\tPolisen patrullerar\n",
            [("kommun", "Tyresö kommun")],
        ),
    ],
)
def test_party_layouts_and_organisation_names(text: str, expected: list[tuple[str, str]]) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["parties"] == expected


def test_place_names_from_the_data_file_cover_the_country() -> None:
    text = "Trygghetsvandringar i Gottsunda, Vivalla och Rosengård. I Bro finns en bro."
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["places"] == ["Gottsunda", "Vivalla", "Rosengård", "Bro"]
    assert PLACE_MUNICIPALITY["Gottsunda"] == "Uppsala"


def test_data_files_are_consistent() -> None:
    municipalities = {m for m in PLACE_MUNICIPALITY.values()}
    assert municipalities <= MUNICIPALITIES
    assert not set(PLACE_MUNICIPALITY) & MUNICIPALITIES
    assert ORGANISATIONS["Huge"] == ("bostadsbolag", "Huge Bostäder")
    kinds = {kind for kind, _ in ORGANISATIONS.values()}
    assert kinds <= {"bostadsbolag", "fastighetsbolag", "räddningstjänst"}


def test_index_extracts_facts_again_when_extraction_changed(settings: Any, fake_embedder) -> None:
    """An index built by an older extraction gets fresh facts on re-index, without
    re-embedding: unchanged documents must not keep stale facts."""
    from samverkan_qa.index import build_index, load_index

    build_index(settings, fake_embedder)
    folder = settings.index_dir
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["facts_version"] == FACTS_VERSION
    # What an older version would have left: another version number and no facts.
    manifest["facts_version"] = FACTS_VERSION - 1
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    docs = folder / "documents.jsonl"
    rows = [json.loads(line) for line in docs.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["metadata"]["facts"] = {}
    docs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    report = build_index(settings, fake_embedder)
    assert report.embedded_chunks == 0
    index = load_index(folder)
    assert index.manifest["facts_version"] == FACTS_VERSION
    facts = index.documents["alvby-overenskommelse"].metadata["facts"]
    assert facts["validity"][0]["value"]["to"] == "2025-12-31"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Räddningstjänsten ingår inte i avtalet.", []),
        ("Brandförsvaret är inte part i överenskommelsen.", []),
        ("Region Gotland har inte skrivit under avtalet.", []),
        ("Avtalet undertecknades aldrig av Tyresö kommun.", []),
        ("Polisen ingår ej längre i överenskommelsen.", []),
        ("Aktörer som inte ingår i avtalet:\n- Polismyndigheten\n- Kriminalvården\n", []),
        (  # the negation holds for its own clause only
            "Vallentuna kommun och Polisen tecknar avtalet, men Räddningstjänsten ingår inte.",
            [("kommun", "Vallentuna kommun"), ("polis", "Polismyndigheten")],
        ),
        (  # those named after "mellan" are the agreement's parties, whatever its verb says
            "Avtalet mellan Vallentuna kommun och polisen gäller inte längre.",
            [("kommun", "Vallentuna kommun"), ("polis", "Polismyndigheten")],
        ),
        (
            "Polisen ingår inte i avtalet mellan Tyresö kommun och Huge.",
            [("kommun", "Tyresö kommun"), ("bostadsbolag", "Huge Bostäder")],
        ),
        (  # a negated relative clause does not negate the sentence around it
            "Polisen, som inte haft något avtal förut, undertecknade i dag avtalet "
            "med Tyresö kommun.",
            [("polis", "Polismyndigheten"), ("kommun", "Tyresö kommun")],
        ),
    ],
)
def test_no_party_named_in_a_negated_clause(text: str, expected: list[tuple[str, str]]) -> None:
    facts = extract_facts(text)
    assert_offsets(text, facts)
    assert summary(facts)["parties"] == expected


def test_a_denied_party_stays_out_unless_another_sentence_states_it_one() -> None:
    loose = (
        "Räddningstjänsten ingår inte i avtalet.\n\n"
        "Avtalet berör även Räddningstjänsten och Polisen."
    )
    assert summary(extract_facts(loose))["parties"] == [("polis", "Polismyndigheten")]
    # "Räddningstjänsten" is the one fire service the text names, so that one is denied too
    named = (
        "Avtalet gäller Sollentuna kommun och Attunda brandförsvar.\n\n"
        "Räddningstjänsten ingår inte i avtalet."
    )
    assert summary(extract_facts(named))["parties"] == [("kommun", "Sollentuna kommun")]
    # a sentence stating membership outweighs the denial (the text speaks of two agreements)
    stated = (
        "Kriminalvården ingick inte i det förra avtalet.\n\n"
        "Det nya avtalet tecknas av Tyresö kommun och Kriminalvården."
    )
    assert summary(extract_facts(stated))["parties"] == [
        ("kommun", "Tyresö kommun"),
        ("kriminalvård", "Kriminalvården"),
    ]
