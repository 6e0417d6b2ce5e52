"""The learned ranker: features on hand-made Swedish texts, the weights file, the fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import retriever_over

from samverkan_qa.learned import (
    FEATURES,
    RANKER_VERSION,
    Candidate,
    LearnedRanker,
    Query,
    RankerWeightsError,
    feature_matrix,
    fit_logistic,
    question_years,
)
from samverkan_qa.lexical import SwedishAnalyzer
from samverkan_qa.ranking import question_names, question_words
from samverkan_qa.retrieval import RetrievalConfig, Retriever

TEXTS = {
    "title": "Överenskommelse om samverkan i Älvby",
    "intro": "Älvby kommun och polisen samverkar sedan 2021.",
    "answer": "Fokusområden är nattvandring och belysning. Överenskommelsen gäller 2024.",
    "other": "Kommunen bjuder in till möte om snöröjning.",
}
ANALYZER = SwedishAnalyzer.learn(TEXTS.values())


def stems(text: str) -> frozenset[str]:
    return frozenset(ANALYZER.analyze(text))


def candidate(text: str, *, dense: float, bm25: float, ordinal: int, doc: str = "") -> Candidate:
    sentences = [stems(s) for s in text.split(". ")]
    doc_text = doc or text
    return Candidate(
        dense, bm25, stems(text), sentences, stems(TEXTS["title"]), stems(doc_text), ordinal, 3
    )


def query(question: str) -> Query:
    words = question_words(question, ANALYZER)
    return Query(
        words, [1.0] * len(words), question_names(question, ANALYZER), question_years(question)
    )


def col(name: str) -> int:
    return FEATURES.index(name)


def test_features_on_hand_made_texts() -> None:
    q = query("Vilka fokusområden har Älvby 2024?")
    whole_doc = " ".join(TEXTS.values())
    cands = [
        candidate(TEXTS["intro"], dense=0.80, bm25=2.0, ordinal=0, doc=whole_doc),
        candidate(TEXTS["answer"], dense=0.85, bm25=6.0, ordinal=1, doc=whole_doc),
        candidate(TEXTS["other"], dense=0.70, bm25=0.0, ordinal=0),
    ]
    x = feature_matrix(q, cands)
    assert x.shape == (3, len(FEATURES))
    assert x[1, col("dense_gap")] == 0.0 and x[0, col("dense_gap")] == pytest.approx(-0.05)
    assert x[1, col("dense_rrank")] == 1.0 and x[2, col("dense_rrank")] == pytest.approx(1 / 3)
    assert x[1, col("bm25_rel")] == 1.0 and x[2, col("bm25_rrank")] == 0.0
    # the answering chunk covers "fokusområden" and "2024"; the intro neither
    assert x[1, col("coverage")] > x[0, col("coverage")]
    assert x[1, col("sentence_coverage")] > 0
    # Älvby and 2024 are named: both in the agreement's document, neither in the other one
    assert x[1, col("names_found")] == 1.0 and x[2, col("names_found")] == 0.0
    assert x[1, col("years_found")] == 1.0 and x[2, col("years_found")] == 0.0
    assert list(x[:, col("first_chunk")]) == [1.0, 0.0, 1.0]
    assert x[1, col("position")] == 0.5


def test_question_without_names_or_years_counts_them_as_found() -> None:
    x = feature_matrix(
        query("Vad gäller?"), [candidate(TEXTS["other"], dense=0.5, bm25=1.0, ordinal=0)]
    )
    assert x[0, col("names_found")] == 1.0 and x[0, col("years_found")] == 1.0


def test_fit_is_deterministic_and_learns_the_signal() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    y = (x[:, 0] + 0.5 * x[:, 6] > 0).astype(float)
    a = fit_logistic(x, y, l2=1.0)
    b = fit_logistic(x, y, l2=1.0)
    assert all(np.array_equal(p, q) for p, q in zip(a[:3], b[:3], strict=True))
    coef = a[2]
    assert coef[0] > coef[6] > 0 and abs(coef[3]) < coef[6]


def ranker_json(**changes: object) -> dict:
    n = len(FEATURES)
    data = {
        "version": RANKER_VERSION,
        "features": list(FEATURES),
        "mean": [0.0] * n,
        "scale": [1.0] * n,
        "coef": [1.0] + [0.0] * (n - 1),
        "intercept": 0.0,
    }
    return {**data, **changes}


def test_weights_round_trip(tmp_path: Path) -> None:
    ranker = LearnedRanker.from_json(ranker_json())
    path = tmp_path / "r.json"
    path.write_text(json.dumps(ranker.to_json()), encoding="utf-8")
    again = LearnedRanker.load(path)
    x = np.eye(len(FEATURES))
    assert np.allclose(again.score(x), ranker.score(x))
    assert again.score(x)[0] > again.score(x)[1]


def test_wrong_version_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(ranker_json(version=RANKER_VERSION + 1)), encoding="utf-8")
    with pytest.raises(RankerWeightsError, match="version .*retrain"):
        LearnedRanker.load(path)


def test_other_features_or_damaged_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RankerWeightsError, match="features"):
        LearnedRanker.from_json(ranker_json(features=["dense"]))
    with pytest.raises(RankerWeightsError, match="damaged"):
        LearnedRanker.from_json(ranker_json(coef=[1.0]))
    with pytest.raises(RankerWeightsError, match="cannot read"):
        LearnedRanker.load(tmp_path / "missing.json")


def test_shipped_weights_load() -> None:
    ranker = LearnedRanker.load()
    assert ranker.meta.get("script") == "bench/train_ranker.py"
    assert "training" in ranker.meta.get("trained_on", "")


DOCS = {
    "alvby.txt": "Överenskommelse om samverkan i Älvby\n\nÄlvby kommun och polisen samverkar. "
    "Fokusområdena är nattvandring och belysning på torget.",
    "oby.txt": "Öby kommun bjuder in till möte om snöröjning och parkering i centrum.",
}


def test_retriever_ranks_with_the_learned_model(tmp_path: Path) -> None:
    learned = retriever_over(tmp_path, DOCS, RetrievalConfig(fusion="learned"))
    result = learned.search("Vilka fokusområden har Älvby?", 2)
    assert result.hits[0].doc_id == "alvby"
    assert 0.0 < result.hits[0].score < 1.0  # a probability, comparable across hits
    assert result.hits[0].spans  # answer sentences are still marked
    assert result.hits[0].score >= result.hits[-1].score


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("What are the focus areas in Älvby?", True),  # a Swedish place name in English
        ("Vilka är parterna i avtalet om det är så?", False),
        ("What are the focus areas of the agreement?", True),
        ("How long is the agreement valid?", True),
        ("Vilka fokusområden har Haninge?", False),
        ("Hur länge gäller avtalet?", False),
        ("Vad är syftet med avsiktsförklaringen?", False),
        # content-heavy English: a quarter of its words are English function words
        ("Which Europol task force against violent organised crime is led by Sweden?", True),
        ("Vilka åtgärder mot våld i nära relationer finns i Kalix?", False),
        ("Hur många poliser finns det i Sandviken och i Gävle?", False),
        # one English function word, and nothing Swedish but a name
        ("Is Älvby's agreement still valid?", True),
        ("Is Alvby's agreement still valid?", True),
        ("Gäller Alvbys avtal fortfarande?", False),
        ("Alvby avtal polis", False),
        ("Alvby agreement", False),  # too little to tell
    ],
)
def test_english_questions_are_recognised(question: str, english: bool) -> None:
    from samverkan_qa.ranking import is_english

    assert is_english(question) is english


def test_english_question_is_not_abstained_for_its_words(tmp_path: Path) -> None:
    retriever = retriever_over(tmp_path, DOCS)
    # no Swedish word of the question is in the documents, and the fake cosine is low:
    # a Swedish question like that abstains, the English one is answered by meaning
    assert retriever.search("Vilken färg har bussarna?", 2).abstained
    english = retriever.search("What does the agreement say about the square?", 2)
    assert english.hits and not english.abstained
    assert english.evidence is not None


def test_document_features_pool_the_candidates_of_one_document() -> None:
    q = query("Vilka fokusområden har Älvby?")
    cands = [
        Candidate(0.80, 2.0, stems(TEXTS["intro"]), [], frozenset(), frozenset(), 0, 2, "a"),
        Candidate(0.85, 8.0, stems(TEXTS["answer"]), [], frozenset(), frozenset(), 1, 2, "a"),
        Candidate(0.84, 4.0, stems(TEXTS["other"]), [], frozenset(), frozenset(), 0, 1, "b"),
    ]
    x = feature_matrix(q, cands)
    # both passages of document "a" share its best cosine (the leader: gap 0) and BM25
    assert x[0, col("doc_dense_gap")] == x[1, col("doc_dense_gap")] == 0.0
    assert x[0, col("doc_bm25_rel")] == x[1, col("doc_bm25_rel")] == 1.0
    assert x[2, col("doc_dense_gap")] == pytest.approx(-0.01)
    assert x[2, col("doc_bm25_rel")] == pytest.approx(0.5)
    assert x[0, col("doc_candidates")] == pytest.approx(np.log1p(2))
    assert x[2, col("doc_candidates")] == pytest.approx(np.log1p(1))


def test_english_features_are_zero_for_a_swedish_question() -> None:
    cands = [
        candidate(TEXTS["intro"], dense=0.80, bm25=2.0, ordinal=0),
        candidate(TEXTS["answer"], dense=0.85, bm25=4.0, ordinal=1),
    ]
    swedish = feature_matrix(query("Vilka fokusområden har Älvby?"), cands)
    assert not swedish[:, col("english_dense_gap")].any()
    assert not swedish[:, col("english_bm25_rel")].any()
    q = query("What are the focus areas in Älvby?")
    english = feature_matrix(Query(q.words, q.weights, q.names, q.years, english=True), cands)
    assert english[0, col("english_dense_gap")] == pytest.approx(-0.05)
    assert english[0, col("english_bm25_rel")] == pytest.approx(0.5)


def test_the_analysed_text_cache_is_bounded(tmp_path: Path, monkeypatch) -> None:
    from samverkan_qa import retrieval

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    unbounded = retriever_over(tmp_path / "a", DOCS)
    expected = unbounded.search("Vilka fokusområden har Älvby?", 3)
    monkeypatch.setattr(retrieval, "STEM_CACHE_ENTRIES", 3)
    bounded = retriever_over(tmp_path / "b", DOCS)
    for _ in range(2):
        got = bounded.search("Vilka fokusområden har Älvby?", 3)
        assert len(bounded._stem_cache) == 3
        assert [(h.doc_id, h.score) for h in got.hits] == [
            (h.doc_id, h.score) for h in expected.hits
        ]


def test_the_learned_ranker_scores_only_the_hybrids_shortlist(tmp_path: Path) -> None:
    from samverkan_qa.errors import InvalidInputError

    question = "Vilka fokusområden har Älvby?"
    hybrid = retriever_over(tmp_path, DOCS, RetrievalConfig(fusion="convex"))
    one = Retriever(hybrid.index, hybrid.embedder, RetrievalConfig(fusion="learned", rerank=1))
    order = [h.chunk.chunk_id for h in hybrid.search(question, 3).hits]
    hits = one.search(question, 3).hits
    # the hybrid's best is the only row scored; the others follow in hybrid order, at 0
    assert [h.chunk.chunk_id for h in hits] == order
    assert hits[0].score > 0 and all(h.score == 0.0 for h in hits[1:])
    with pytest.raises(InvalidInputError, match="rerank"):
        RetrievalConfig(rerank=0)
