"""Lexical recall aids: diacritic folding, compound parts both ways, domain synonyms."""

from __future__ import annotations

import json

import pytest

from samverkan_qa.errors import IndexMismatchError
from samverkan_qa.lexical import LexicalIndex, SwedishAnalyzer, load_synonyms
from samverkan_qa.ranking import query_coverage
from samverkan_qa.textfold import fold, folded_term

DOCS = [
    "Överenskommelsen har fyra fokusområden: barn och unga, offentlig miljö och hemmiljö.",
    "Antalet fordonsbränder i Södertälje minskade under året.",
    "Bostadsinbrotten ökade i villaområdena under sommaren.",
    "Räddningstjänsten övar med skolan varje höst.",
    "Kommunen bjuder in till möte om parkering och snöröjning.",
    "Bränder i fordon anmäls till polisen direkt.",
]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(DOCS)


def top(index: LexicalIndex, query: str) -> int | None:
    hits = index.search(query, 1)
    return hits[0][0] if hits else None


def test_fold_strips_swedish_diacritics() -> None:
    assert fold("fokusområden") == "fokusomraden"
    assert fold("Överenskommelse idé") == "Overenskommelse ide"
    assert folded_term("områd") == "~omrad"
    assert folded_term("polis") is None  # nothing to fold: no second term


def test_query_without_diacritics_finds_the_word_with_them(index: LexicalIndex) -> None:
    assert top(index, "fokusomraden") == 0
    assert top(index, "raddningstjansten") == 3
    assert top(index, "overenskommelsen") == 0


def test_exact_spelling_still_matches_exactly(index: LexicalIndex) -> None:
    analyzer = index.analyzer
    assert analyzer.stem("fokusområden") in analyzer.analyze(DOCS[0])
    assert "~fokusomrad" in analyzer.analyze(DOCS[0])
    # a word typed with diacritics is looked up as typed, never folded
    assert "~fokusomrad" not in index.query_terms("fokusområden")
    assert "~fokusomrad" in index.query_terms("fokusomraden")


def test_compound_query_finds_its_parts_and_parts_find_compounds() -> None:
    docs = [
        "Arbetet mot inbrott i bostad leds av polisen.",
        "Bostadsinbrott är ett prioriterat område.",
        "Idrottshallen öppnar i maj.",
        "En bostad och ett inbrott till, i en annan text om bostad och inbrott.",
    ]
    index = LexicalIndex.build(docs, synonyms=())
    # the parts of a query compound find the loose words ...
    assert {r for r, _ in index.search("bostadsinbrott", 4)} >= {0, 1}
    # ... and a loose query word finds the compound that contains it
    assert 1 in {r for r, _ in index.search("inbrott", 4)}
    # the exact compound scores above passages with only its parts
    assert index.search("bostadsinbrott", 1)[0][0] == 1


def test_synonym_finds_the_other_member(index: LexicalIndex) -> None:
    assert top(index, "bilbränder") in (1, 5)
    assert {r for r, _ in index.search("bilbränder", 3)} >= {1, 5}
    assert top(index, "inbrott i bostäder") == 2
    assert 3 in {r for r, _ in index.search("brandförsvaret", 3)}
    assert 3 not in {
        r for r, _ in LexicalIndex.build(DOCS, synonyms=()).search("brandförsvaret", 3)
    }


def test_synonyms_weigh_less_than_the_asked_word() -> None:
    docs = ["Fordonsbränder ökar i länet.", "Bilbränder ökar i länet."]
    index = LexicalIndex.build(docs, synonyms=[("bilbränder", "fordonsbränder")])
    hits = index.search("bilbränder", 2)
    assert [r for r, _ in hits] == [1, 0]
    assert hits[0][1] > hits[1][1] > 0


def test_without_synonyms_no_expansion() -> None:
    index = LexicalIndex.build(DOCS, synonyms=())
    assert index.search("bilbränder", 3) == []


def test_shipped_synonyms_are_data_with_the_named_groups() -> None:
    groups = load_synonyms()
    flat = {m for g in groups for m in g}
    assert {"fokusområden", "prioriteringar", "fordonsbränder", "bostadsinbrott"} <= flat
    assert any({"räddningstjänst", "brandförsvarsförbund"} <= set(g) for g in groups)


def test_synonym_file_version_is_checked(monkeypatch, tmp_path) -> None:
    from samverkan_qa import lexical

    class Fake:
        def __truediv__(self, _: str) -> Fake:
            return self

        def read_text(self, encoding: str) -> str:
            return json.dumps({"version": 99, "groups": []})

    lexical.load_synonyms.cache_clear()
    monkeypatch.setattr(lexical.resources, "files", lambda _: Fake())
    with pytest.raises(IndexMismatchError, match="version 99"):
        lexical.load_synonyms()
    lexical.load_synonyms.cache_clear()


def test_coverage_counts_folded_words() -> None:
    analyzer = SwedishAnalyzer.learn(DOCS)
    assert query_coverage("fokusomraden", DOCS[0], analyzer) == 1.0
    assert query_coverage("fokusområden", DOCS[0], analyzer) == 1.0
    assert query_coverage("snöröjning", DOCS[0], analyzer) == 0.0


def test_old_lexical_format_is_refused_with_a_clear_message(tmp_path, index) -> None:
    index.save(tmp_path)
    meta_path = tmp_path / "lexical.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["format_version"] = 1
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="rebuild"):
        LexicalIndex.load(tmp_path)


def test_index_with_an_old_keyword_format_is_rebuilt_without_re_embedding(tmp_path) -> None:
    from conftest import FakeEmbedder

    from samverkan_qa.index import build_index, load_index
    from samverkan_qa.settings import Settings

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(DOCS[0], encoding="utf-8")
    settings = Settings(corpus=(corpus,), index_dir=tmp_path / "ix")
    embedder = FakeEmbedder()
    build_index(settings, embedder)
    manifest_path = settings.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["lexical"]["format_version"] = 1  # as an older program wrote it
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    report = build_index(settings, embedder)
    assert report.embedded_chunks == 0  # vectors reused
    again = load_index(settings.index_dir)
    assert (
        again.manifest["lexical"]["format_version"]
        == LexicalIndex.load(settings.index_dir / "lexical").settings()["format_version"]
    )
    assert again.lexical.search("fokusomraden", 1)


def test_synonyms_count_as_the_asked_words_in_coverage(index: LexicalIndex) -> None:
    analyzer = index.analyzer
    question = "Hur många bilbränder var det i Södertälje?"
    synonyms = index.synonym_equivalents(question)
    assert synonyms  # "bilbränder" names the group of "fordonsbränder"
    plain = query_coverage(question, DOCS[1], analyzer)
    assert plain < 1.0
    assert query_coverage(question, DOCS[1], analyzer, synonyms=synonyms) == 1.0
    # a multi-word member must be there whole: "bränder" alone is not "bränder i fordon"
    forest = "Bränder i skogen i Södertälje."
    assert query_coverage(question, forest, analyzer, synonyms=synonyms) < 1.0
    question = "Hur har inbrott i bostäder utvecklats?"
    covered = query_coverage(
        question, DOCS[2], analyzer, synonyms=index.synonym_equivalents(question)
    )
    assert covered > query_coverage(question, DOCS[2], analyzer)


def test_a_name_is_found_by_its_genitive_hyphen_or_abbreviation() -> None:
    from samverkan_qa.ranking import missing_names

    texts = [
        "Säkerhetspolisen och Brå lämnar en rapport om EU:s regler i Sverige.",
        "Skolan i Ovanåker får nya rutiner.",
    ]
    index = LexicalIndex.build(texts)
    analyzer = index.analyzer

    def missing(question: str) -> list[str]:
        return missing_names(question, texts, analyzer, index.synonym_equivalents(question))

    assert missing("När kommer Brås rapport?") == []  # genitive of "Brå"
    assert missing("Vad gäller för EU-medborgare?") == []  # the part before the hyphen
    assert missing("Vad säger Säpo om rapporten?") == []  # data/synonyms.json: Säpo
    assert missing("Vad säger Försvarsmakten om rapporten?") == ["försvarsmak"]
    # the abbreviation needs its full name in the text, not just any agency
    assert missing_names("Vad säger Säpo?", ["Polisen lämnar en rapport."], analyzer) == ["säpo"]


def test_english_questions_need_only_their_swedish_place_names() -> None:
    from samverkan_qa.ranking import missing_names

    texts = ["Kommunen och polisen i Ovanåker har en överenskommelse om trygghet."]
    analyzer = LexicalIndex.build(texts).analyzer
    # "Swedish", "October" and "Tax Agency" are English words, not names the text lacks
    question = "When did the Swedish Tax Agency join the agreement in October?"
    assert missing_names(question, texts, analyzer) == []
    # a municipality the documents do not mention still counts in English
    assert missing_names("What does the agreement in Ljusdal say?", texts, analyzer) == ["ljusdal"]
    assert missing_names("What does the agreement in Ovanåker say?", texts, analyzer) == []
