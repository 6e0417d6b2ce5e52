"""Fusion, duplicate collapse, sentence spans, answer spans and abstention."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_qa.documents import Chunk
from samverkan_qa.errors import InvalidInputError
from samverkan_qa.lexical import SwedishAnalyzer
from samverkan_qa.ranking import (
    AbstainThresholds,
    abstain_features,
    best_spans,
    collapse_duplicates,
    fuse,
    normalise_bm25,
    query_coverage,
    question_kind,
    should_abstain,
    split_sentences,
)

ANALYZER = SwedishAnalyzer()

# ---- fusion -------------------------------------------------------------------------------

DENSE = {1: 0.90, 2: 0.85, 3: 0.80}
LEXICAL = {3: 20.0, 2: 10.0, 4: 5.0}


def rows(fused) -> list[int]:
    return [f.row for f in fused]


def test_convex_minmax_max_ordering_and_parts() -> None:
    fused = fuse(DENSE, LEXICAL, method="convex", weight=0.6, lexical_norm="max")
    assert rows(fused) == [3, 2, 1, 4]
    by_row = {f.row: f for f in fused}
    assert by_row[2].fused == pytest.approx(0.4 * 0.5 + 0.6 * 0.5)
    assert by_row[4].dense is None and by_row[4].dense_rank is None
    assert by_row[1].lexical is None and by_row[1].lexical_part == 0.0
    assert by_row[3].dense == 0.80 and by_row[3].lexical == 20.0
    assert (by_row[3].dense_rank, by_row[3].lexical_rank) == (3, 1)
    for f in fused:
        assert f.fused == pytest.approx(f.dense_part + f.lexical_part)


@pytest.mark.parametrize(("weight", "order"), [(0.0, [1, 2, 3, 4]), (1.0, [3, 2, 4, 1])])
def test_convex_weight_extremes(weight: float, order: list[int]) -> None:
    assert rows(fuse(DENSE, LEXICAL, method="convex", weight=weight, lexical_norm="max")) == order


def test_convex_raw_cosine_and_saturation() -> None:
    fused = fuse(
        DENSE,
        LEXICAL,
        method="convex",
        weight=0.5,
        dense_norm="none",
        lexical_norm="saturate",
        saturation=10.0,
    )
    by_row = {f.row: f for f in fused}
    assert by_row[3].fused == pytest.approx(0.5 * 0.80 + 0.5 * 20 / 30)
    assert by_row[4].dense_part == pytest.approx(0.5 * 0.80)  # missing: weakest cosine
    assert rows(fused) == [3, 2, 4, 1]


def test_rrf_ordering() -> None:
    fused = fuse(DENSE, LEXICAL, method="rrf", weight=0.5)
    assert rows(fused) == [3, 2, 1, 4]
    by_row = {f.row: f for f in fused}
    assert by_row[2].fused == pytest.approx(0.5 / 62 + 0.5 / 62)
    assert by_row[1].fused == pytest.approx(0.5 / 61)
    dense_heavy = fuse(DENSE, LEXICAL, method="rrf", weight=0.1)
    assert rows(dense_heavy) == [2, 3, 1, 4]
    assert rows(fuse(DENSE, LEXICAL, method="rrf", weight=0.0)) == [1, 2, 3, 4]


def test_fuse_ties_and_empty_inputs() -> None:
    assert fuse({}, {}) == []
    tied = fuse({5: 0.5, 2: 0.5}, {}, method="convex", weight=0.0)
    assert rows(tied) == [2, 5]
    only_lex = fuse({}, {7: 3.0}, method="convex", weight=0.3)
    assert rows(only_lex) == [7] and only_lex[0].dense is None


def test_fuse_rejects_bad_parameters() -> None:
    with pytest.raises(InvalidInputError):
        fuse(DENSE, LEXICAL, method="borda")
    with pytest.raises(InvalidInputError):
        fuse(DENSE, LEXICAL, weight=1.5)
    with pytest.raises(InvalidInputError):
        fuse(DENSE, LEXICAL, dense_norm="zscore")


def test_normalise_bm25() -> None:
    assert normalise_bm25(0.0) == 0.0
    assert normalise_bm25(8.0, scale=8.0) == pytest.approx(0.5)
    assert normalise_bm25(5.0, method="max", max_score=10.0) == pytest.approx(0.5)


# ---- collapse -----------------------------------------------------------------------------

PRESS = (
    "Idag undertecknar Södertälje kommun, Södertälje lokalpolisområde och Södertörns "
    "brandförsvarsförbund en ny samverkansöverenskommelse, en fortsättning på ett redan "
    "etablerat samarbete."
)


def chunk(cid: str, doc: str, start: int, text: str) -> Chunk:
    return Chunk(cid, doc, start, start + len(text), text)


def test_overlapping_ranges_in_same_document_collapse() -> None:
    a = chunk("a", "d1", 0, "x" * 100)
    b = chunk("b", "d1", 40, "y" * 100)  # 60 of its 100 characters overlap a
    c = chunk("c", "d1", 80, "z" * 100)  # 20 % overlap with a, b is gone
    assert [h.chunk_id for h in collapse_duplicates([a, b, c])] == ["a", "c"]


def test_republished_paragraph_collapses_across_documents() -> None:
    original = chunk("a", "kommun-2016", 0, PRESS)
    republished = chunk("b", "polisen-2016", 300, "Pressmeddelande. " + PRESS)
    other = chunk("c", "huddinge", 0, "Huddinge kommun prioriterar trygghet i centrum.")
    kept = collapse_duplicates([original, republished, other])
    assert [h.chunk_id for h in kept] == ["a", "c"]


def test_distinct_passages_stay_in_order() -> None:
    hits = [
        chunk("a", "d1", 0, PRESS),
        chunk("b", "d1", len(PRESS), "Avtalet gäller från 1 januari 2017 till 31 december 2018."),
        chunk("c", "d2", 0, "Polisen och kommunen har skrivit under ett medborgarlöfte."),
    ]
    assert collapse_duplicates(hits) == hits
    assert collapse_duplicates([]) == []


def test_collapse_threshold_is_a_parameter() -> None:
    a = chunk("a", "d1", 0, "ett två tre fyra fem sex sju åtta")
    b = chunk("b", "d2", 0, "ett två tre fyra fem sex sju nio")
    assert len(collapse_duplicates([a, b], threshold=0.8)) == 2  # Jaccard 5/7
    assert len(collapse_duplicates([a, b], threshold=0.7)) == 1


# ---- sentences ----------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_split_sentences_basic_offsets() -> None:
    text = "Kommunen ansvarar. Polisen bidrar!  Vem gör vad? Alla."
    assert sentences(text) == ["Kommunen ansvarar.", "Polisen bidrar!", "Vem gör vad?", "Alla."]


def test_abbreviations_and_identifiers_do_not_split() -> None:
    text = (
        "Mötet hålls kl. 14.00 i t.ex. stadshuset, bl.a. om s.k. trygghetsvandringar, "
        "ca. 20 personer m.fl. deltar t.o.m. nr. 5 i ärendet KS-2018/91.103 enligt 2 kap. "
        "3 § SoL. Beslutet togs 2020-10-05. K. Tidestav skrev under."
    )
    assert sentences(text) == [
        "Mötet hålls kl. 14.00 i t.ex. stadshuset, bl.a. om s.k. trygghetsvandringar, "
        "ca. 20 personer m.fl. deltar t.o.m. nr. 5 i ärendet KS-2018/91.103 enligt 2 kap. "
        "3 § SoL.",
        "Beslutet togs 2020-10-05.",
        "K. Tidestav skrev under.",
    ]


def test_final_abbreviation_before_capital_splits() -> None:
    assert sentences("Polis, kommun m.fl. Nästa mening.") == [
        "Polis, kommun m.fl.",
        "Nästa mening.",
    ]


def test_bullets_and_line_breaks() -> None:
    text = (
        "Överenskommelsen anger fyra fokusområden:\n- Barn och unga\n• Offentlig miljö\n"
        "Samverkan kring äldre. - Hemmiljö\n1. Första punkten.\nEn rad som bryts\n"
        "mitt i meningen."
    )
    assert sentences(text) == [
        "Överenskommelsen anger fyra fokusområden:",
        "Barn och unga",
        "Offentlig miljö",
        "Samverkan kring äldre.",
        "Hemmiljö",
        "1. Första punkten.",
        "En rad som bryts\nmitt i meningen.",
    ]


def test_quote_dash_paragraphs() -> None:
    text = "Pressmeddelande 2016-12-20\n\n– Vi arbetar för att minska brottsligheten, säger X."
    assert sentences(text) == [
        "Pressmeddelande 2016-12-20",
        "Vi arbetar för att minska brottsligheten, säger X.",
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab AÖ.!?:-•\n\t12§", max_size=80))
def test_split_sentences_spans_are_ordered_and_trimmed(text: str) -> None:
    last = 0
    for s, e in split_sentences(text):
        assert last <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        last = e


# ---- answer spans -------------------------------------------------------------------------

PASSAGE = (
    "Haninge kommun och polisen har skrivit under en överenskommelse om samverkan. "
    "Det gemensamma målet är att Haninge ska vara en trygg plats, säger Kristina Tidestav, "
    "kommundirektör. Överenskommelsen anger fyra fokusområden:\n- Barn och unga\n"
    "- Offentlig miljö\n- Hemmiljö\n- Samhällsnivå\n"
    "Överenskommelsen undertecknades den 11 februari 2025. "
    "Överenskommelsen gäller fram till den 31 december 2027."
)


def answer(question: str, **kw) -> list[str]:
    return [PASSAGE[s:e] for s, e, _ in best_spans(question, PASSAGE, ANALYZER, **kw)]


def test_best_span_how_long() -> None:
    got = answer("Hur länge gäller överenskommelsen?")
    assert got[0] == "Överenskommelsen gäller fram till den 31 december 2027."


def test_best_span_when_signed() -> None:
    got = answer("När undertecknades överenskommelsen?", max_sentences=1)
    assert got == ["Överenskommelsen undertecknades den 11 februari 2025."]


def test_best_span_list_question_continues_into_items() -> None:
    got = answer("Vilka fokusområden har överenskommelsen?", max_sentences=3)
    assert got == ["Överenskommelsen anger fyra fokusområden:", "Barn och unga", "Offentlig miljö"]


def test_best_span_who_question_and_no_overlap() -> None:
    got = answer("Vem är kommundirektör i Haninge?", max_sentences=1)
    assert got[0].endswith("kommundirektör.")
    assert answer("Hur fungerar kameraövervakning på skolgårdar?") == []
    assert best_spans("och att?", PASSAGE, ANALYZER) == []


def test_best_spans_idf_weighting_and_determinism() -> None:
    passage = "Polisen deltar i många möten. Trygghetsvandringar genomförs av kommunen."
    question = "Hur deltar polisen i trygghetsvandringar?"
    plain = best_spans(question, passage, ANALYZER, max_sentences=1)
    assert plain == best_spans(question, passage, ANALYZER, max_sentences=1)
    assert passage[plain[0][0] : plain[0][1]] == "Polisen deltar i många möten."
    walk = ANALYZER.word_terms("trygghetsvandringar")[0][0]
    idf = {"polis": 0.1, "deltar": 0.1, ANALYZER.stem("deltar"): 0.1, walk: 5.0}
    weighted = best_spans(question, passage, ANALYZER, max_sentences=1, idf=idf)
    assert passage[weighted[0][0] : weighted[0][1]].startswith("Trygghetsvandringar")


def test_question_kind() -> None:
    assert question_kind("Hur länge gäller avtalet?") == "time"
    assert question_kind("Vilket år började samarbetet?") == "time"
    assert question_kind("Hur många fokusområden finns?") == "count"
    assert question_kind("Vilka parter ingår?") == "list"
    assert question_kind("Vem leder arbetet?") == "other"


# ---- abstention ---------------------------------------------------------------------------


def test_query_coverage_is_compound_aware() -> None:
    assert query_coverage("Vad gäller för brandförsvaret?", PRESS, ANALYZER) == pytest.approx(0.5)
    question = "Vilka parter ingår i överenskommelsen?"  # parter, ingår: missing
    assert query_coverage(question, PRESS, ANALYZER) == pytest.approx(1 / 3)
    assert query_coverage("och att", PRESS, ANALYZER) == 0.0


@pytest.mark.parametrize(
    ("dense", "lexical", "cov", "abstain"),
    [
        (0.70, 0.05, 0.0, True),  # nothing supports an answer
        (0.80, 0.60, 0.2, True),  # weak cosine, few question words found
        (0.80, 0.60, 1.0, False),  # weak cosine but all the question's words
        (0.85, 0.10, 0.4, False),  # decent cosine with some words
        (0.845, 0.00, 0.0, True),  # decent cosine but not one question word
        (0.92, 0.00, 0.0, False),  # sure cosine (paraphrase)
        (math.nan, 0.5, 1.0, True),
    ],
)
def test_should_abstain_clear_cases(
    dense: float, lexical: float, cov: float, abstain: bool
) -> None:
    assert should_abstain(dense, lexical, cov) is abstain


# Every threshold explicit: the test is about the BM25 gate, not the shipped values.
WITH_BM25_GATE = AbstainThresholds(
    min_dense=0.86, sure_dense=0.88, min_coverage=0.4, min_lexical=0.5, min_any_coverage=0.05
)


@pytest.mark.parametrize(
    ("dense", "lexical", "cov", "abstain"),
    [
        (0.80, 0.60, 1.0, False),  # weak cosine, all words and a good BM25 score
        (0.80, 0.30, 1.0, True),  # weak cosine, all words but a poor BM25 score
        (0.80, 0.60, 0.2, True),  # a good BM25 score does not make up for missing words
        (0.87, 0.30, 1.0, False),  # decent cosine: the gate applies to weak cosines only
    ],
)
def test_bm25_score_gates_a_weak_cosine_when_min_lexical_is_set(
    dense: float, lexical: float, cov: float, abstain: bool
) -> None:
    assert should_abstain(dense, lexical, cov, thresholds=WITH_BM25_GATE) is abstain
    # With min_lexical = 0.0 the BM25 score never changes the decision.
    ignore_bm25 = AbstainThresholds(
        min_dense=0.86, sure_dense=0.88, min_coverage=0.4, min_lexical=0.0, min_any_coverage=0.05
    )
    assert should_abstain(dense, 0.0, cov, thresholds=ignore_bm25) is should_abstain(
        dense, 1.0, cov, thresholds=ignore_bm25
    )


def test_abstain_thresholds_are_parameters() -> None:
    lenient = AbstainThresholds(min_dense=0.5, min_any_coverage=0.0)
    assert should_abstain(0.70, 0.05, 0.0, thresholds=lenient) is False
    with pytest.raises(AttributeError):
        lenient.min_dense = 0.9  # type: ignore[misc]


def test_abstain_features_from_top_hit() -> None:
    on_topic = abstain_features(
        "Hur länge gäller överenskommelsen?", PASSAGE, ANALYZER, top_dense=0.86, top_lexical=12.0
    )
    assert on_topic.query_coverage == 1.0
    assert on_topic.top_lexical_norm == pytest.approx(12 / 20)
    assert not should_abstain(
        on_topic.top_dense, on_topic.top_lexical_norm, on_topic.query_coverage
    )
    off_topic = abstain_features(
        "Vad kostar ett busskort i Göteborg?", PASSAGE, ANALYZER, top_dense=0.78, top_lexical=0.0
    )
    assert off_topic.query_coverage == 0.0
    assert should_abstain(off_topic.top_dense, off_topic.top_lexical_norm, off_topic.query_coverage)


def test_question_names_are_capitalised_words_after_the_first() -> None:
    from samverkan_qa.ranking import question_names

    assert question_names("Vilka fokusområden har Haninge?", ANALYZER) == ["haning"]
    assert question_names("Vad säger Peter Nylind om uthållighet?", ANALYZER) == [
        "pet",
        "nylind",
    ]
    assert question_names("vilka fokusområden finns?", ANALYZER) == []


def test_missing_names_compare_stems_so_genitives_match() -> None:
    from samverkan_qa.ranking import missing_names

    texts = ["Haninge kommun och polisen har en överenskommelse."]
    assert missing_names("Hur länge gäller Haninges överenskommelse?", texts, ANALYZER) == []
    assert missing_names("Vilka fokusområden har Botkyrka?", texts, ANALYZER) == ["botkyrk"]
