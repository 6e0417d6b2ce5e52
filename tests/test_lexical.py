"""Swedish analyzer (stemming, compound splitting) and the BM25 lexical index."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_qa.errors import IndexMismatchError, IndexNotFoundError, InvalidInputError
from samverkan_qa.lexical import (
    FORMAT_VERSION,
    META_FILE,
    SNOWBALL_SWEDISH_STOPWORDS,
    LexicalIndex,
    SwedishAnalyzer,
)

DOCS = [
    "Idag undertecknar Södertälje kommun, lokalpolisområdet och Södertörns "
    "brandförsvarsförbund en ny samverkansöverenskommelse.",
    "Kommunen arbetar med ungdomsbrottslighet och trygghetsskapande åtgärder i centrum.",
    "Polisen och kommunen har skrivit under ett medborgarlöfte för 2021-2022.",
    "Beslut i kommunstyrelsen, diarienummer KS-2018/91.103, om fritidsgårdar.",
    "Samverkansöverenskommelsen gäller fram till den 31 december 2027.",
    "Skolan ordnar idrottsdag för eleverna i kommunens simhall.",
]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(DOCS)


@pytest.fixture(scope="module")
def analyzer() -> SwedishAnalyzer:
    return SwedishAnalyzer.learn(DOCS)


def stems(analyzer: SwedishAnalyzer, text: str) -> set[str]:
    return set(analyzer.analyze(text))


# ---- analyzer -----------------------------------------------------------------------------


def test_stopword_list_is_snowball_swedish() -> None:
    assert len(SNOWBALL_SWEDISH_STOPWORDS) == 114
    assert {"och", "att", "som", "vilka", "när"} <= SNOWBALL_SWEDISH_STOPWORDS


def test_inflections_share_a_stem(analyzer: SwedishAnalyzer) -> None:
    forms = ["överenskommelser", "överenskommelsen", "överenskommelse"]
    assert len({analyzer.stem(w) for w in forms}) == 1
    assert analyzer.stem("polisen") == analyzer.stem("polis")
    assert analyzer.stem("kommunen") == analyzer.stem("kommuner") == analyzer.stem("kommun")


def test_stopwords_dropped_and_lowercased(analyzer: SwedishAnalyzer) -> None:
    assert analyzer.words("Och POLISEN är här") == ["polisen"]
    assert analyzer.analyze("och att som") == []


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("samverkansöverenskommelsen", {"samverkan", "överenskomm"}),
        ("brandförsvarsförbund", {"brand", "försv", "förbund"}),
        ("ungdomsbrottslighet", {"ungdom"}),
        ("trygghetsskapande", {"trygg", "skap"}),
    ],
)
def test_compounds_yield_whole_and_part_stems(
    analyzer: SwedishAnalyzer, word: str, parts: set[str]
) -> None:
    whole, part_stems = analyzer.word_terms(word)[0]
    assert whole == analyzer.stem(word)
    assert parts <= set(part_stems)


@pytest.mark.parametrize(
    "word", ["polisen", "kommunen", "kommunerna", "ungdomar", "verksamhet", "brottslighet"]
)
def test_ordinary_words_are_not_split(analyzer: SwedishAnalyzer, word: str) -> None:
    assert analyzer.split(word) == ()


def test_learned_parts_split_unknown_compounds() -> None:
    texts = ["cykelstöld anmäld", "cykel och stöld", "en cykel", "en stöld"]
    analyzer = SwedishAnalyzer.learn(texts)
    assert analyzer.split("cykelstöld") == ("cykel", "stöld")
    # a part seen once is not trusted (min_count=2)
    assert SwedishAnalyzer.learn(["cykel stöld cykelstöld"]).split("cykelstöld") == ()


def test_frequent_whole_word_beats_rare_parts() -> None:
    texts = ["fortsatt arbete"] * 30 + ["fort och satt", "fort och satt"]
    assert SwedishAnalyzer.learn(texts).split("fortsatt") == ()


def test_joined_forms_searchable_whole_and_in_parts(analyzer: SwedishAnalyzer) -> None:
    got = stems(analyzer, "Diarienummer KS-2018/91.103 för 2021-2022")
    assert {"ks-2018/91.103", "ks", "2018", "91", "103", "2021-2022", "2021", "2022"} <= got


def test_glued_tokens_and_abbreviations(analyzer: SwedishAnalyzer) -> None:
    words = analyzer.words("Datum 2020-10-05Diarienummer, t.ex. covid19")
    assert {"2020", "10", "05", "diarienummer", "covid", "19"} <= set(words)
    assert "ex" not in words and "t.ex" not in words


def test_analyzer_json_round_trip(analyzer: SwedishAnalyzer) -> None:
    again = SwedishAnalyzer.from_json(json.loads(json.dumps(analyzer.to_json())))
    text = " ".join(DOCS)
    assert again.analyze(text) == analyzer.analyze(text)
    assert again.settings() == analyzer.settings()


# ---- index --------------------------------------------------------------------------------


def test_part_query_finds_compound(index: LexicalIndex) -> None:
    hits = index.search("brandförsvar", 3)
    assert hits and hits[0][0] == 0
    rows = [r for r, _ in index.search("överenskommelse", 5)]
    assert set(rows) == {0, 4}


def test_inflected_query_matches(index: LexicalIndex) -> None:
    assert index.search("ungdomsbrottsligheten", 1)[0][0] == 1
    assert index.search("medborgarlöften", 1)[0][0] == 2
    assert index.search("KS-2018/91.103", 1)[0][0] == 3


# Both parts of "samverkansöverenskommelse", each twice, in a short passage, but not the compound.
PARTS_ONLY = "Samverkan är viktig. En överenskommelse om samverkan och en ny överenskommelse."


def test_exact_compound_outranks_part_only() -> None:
    index = LexicalIndex.build([*DOCS, PARTS_ONLY])
    parts_only = len(DOCS)
    hits = index.search("samverkansöverenskommelsen", 10)
    # The long row 0 states the compound once; with parts weighted as much as the whole word
    # the short, repetitive parts-only passage would beat it.
    assert [r for r, _ in hits] == [4, 0, parts_only]
    assert all(s > 0 for _, s in hits)


def test_empty_or_unknown_query_gives_no_hits(index: LexicalIndex) -> None:
    assert index.search("och att som", 5) == []
    assert index.search("", 5) == []
    assert index.search("xyzzy", 5) == []
    assert not index.scores("och").any()


def test_scores_cover_all_rows_and_match_search(index: LexicalIndex) -> None:
    scores = index.scores("kommunen")
    assert scores.shape == (len(DOCS),)
    hits = index.search("kommunen", 10)
    assert [r for r, _ in hits] == sorted(np.flatnonzero(scores > 0), key=lambda r: (-scores[r], r))
    assert hits[0][1] == pytest.approx(float(scores.max()))


def test_allowed_restricts_before_ranking(index: LexicalIndex) -> None:
    unrestricted = [r for r, _ in index.search("kommunen", 1)]
    mask = np.ones(len(DOCS), dtype=bool)
    mask[unrestricted] = False
    hits = index.search("kommunen", 10, allowed=mask)
    assert hits and unrestricted[0] not in {r for r, _ in hits}
    all_hits = index.search("kommunen", 10)
    assert len(hits) == len(all_hits) - 1
    by_rows = index.search("kommunen", 10, allowed=np.array([5, 2]))
    assert {r for r, _ in by_rows} <= {2, 5}
    assert index.search("kommunen", 10, allowed=np.array([], dtype=int)) == []


def test_allowed_mask_shape_is_checked(index: LexicalIndex) -> None:
    with pytest.raises(InvalidInputError):
        index.search("kommunen", 3, allowed=np.ones(2, dtype=bool))
    with pytest.raises(InvalidInputError):
        index.search("kommunen", 3, allowed=np.array([99]))


def test_save_load_round_trip(index: LexicalIndex, tmp_path) -> None:
    index.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    assert meta["format_version"] == FORMAT_VERSION
    assert not list(tmp_path.rglob("*.pkl"))
    loaded = LexicalIndex.load(tmp_path)
    for q in ["brandförsvar", "överenskommelse", "kommunen 2027", "KS-2018/91.103"]:
        np.testing.assert_array_equal(loaded.scores(q), index.scores(q))
        assert loaded.search(q, 3) == index.search(q, 3)
    assert loaded.settings() == index.settings()


def test_load_errors(tmp_path, index: LexicalIndex) -> None:
    with pytest.raises(IndexNotFoundError):
        LexicalIndex.load(tmp_path / "missing")
    index.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    meta["format_version"] = 999
    (tmp_path / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexMismatchError):
        LexicalIndex.load(tmp_path)


def test_index_of_only_stopwords_is_usable(tmp_path) -> None:
    empty = LexicalIndex.build(["och att", ""])
    assert empty.search("kommun", 3) == []
    empty.save(tmp_path)
    assert LexicalIndex.load(tmp_path).search("kommun", 3) == []


def test_settings_describe_analyzer(index: LexicalIndex) -> None:
    s = index.settings()
    assert s["format_version"] == FORMAT_VERSION
    assert s["analyzer"]["stemmer"].startswith("snowball-swedish")
    assert s["analyzer"]["stopwords"] >= 114
    assert s["analyzer"]["splitter"]["min_part"] == 4
    assert s["n_docs"] == len(DOCS)


def test_idf_prefers_rare_terms(index: LexicalIndex) -> None:
    idf = index.idf()
    assert idf["brand"] > idf["kommun"]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrsåäö ÅÄÖ0123456789-/.:_§–•\n", max_size=60))
def test_any_query_gives_sane_hits(index: LexicalIndex, query: str) -> None:
    hits = index.search(query, 3)
    assert len(hits) <= 3
    assert all(0 <= r < len(DOCS) and s > 0 for r, s in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
