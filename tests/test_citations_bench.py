"""bench/citations.py: its scoring on hand-made cases, and its seed-set run end to end (the
first three questions, one of each kind)."""

from __future__ import annotations

import json

import pytest

from bench import citations
from bench.citations import Scores, score_citations, summarise


def test_precision_recall_and_f1_of_one_question():
    scores = score_citations(cited=["a", "b", "c", "d"], relevant=["a", "b", "e"])
    assert scores.precision == pytest.approx(2 / 4)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))


def test_citing_a_paper_twice_counts_it_once():
    assert score_citations(["a", "a"], ["a"]) == Scores(1.0, 1.0, 1.0)


def test_an_answerable_question_with_no_right_citation_scores_nothing():
    assert score_citations([], ["a"]) == Scores(0.0, 0.0, 0.0)  # abstained
    assert score_citations(["b", "c"], ["a"]) == Scores(0.0, 0.0, 0.0)


def test_an_unanswerable_question_is_right_only_when_nothing_is_cited():
    assert score_citations([], []) == Scores(1.0, 1.0, 1.0)
    assert score_citations(["a"], []) == Scores(0.0, 0.0, 0.0)


def test_the_summary_averages_questions_not_citations():
    rows = [{"precision": 1.0, "recall": 0.2, "f1": 1 / 3, "citations": 1, "abstained": 0.0},
            {"precision": 0.0, "recall": 0.0, "f1": 0.0, "citations": 0, "abstained": 1.0}]
    summary = summarise(rows)
    assert summary == {"questions": 2, "precision": 0.5, "recall": 0.1, "f1": 0.1667,
                       "citations_per_question": 0.5, "abstention_rate": 0.5}


def test_the_seed_questions_are_labelled_with_papers_of_the_seed_corpus(seed_bot):
    questions = citations.read_seed_questions(citations.SEED_QUESTIONS)
    kinds = [q.kind for q in questions]
    assert len(questions) >= 36 and min(kinds.count(k) for k in citations.KINDS) >= 12
    assert len({q.id for q in questions}) == len(questions)
    assert all(seed_bot.get(p) is not None for q in questions for p in q.relevant)


def test_the_seed_set_runs_end_to_end(tmp_path, capsys):
    assert citations.main(["--sets", "seed", "--limit", "3", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "citations.json").read_text())
    seed = result["sets"]["seed"]
    assert [q["kind"] for q in seed["questions"]] == ["which", "factual", "unanswerable"]
    assert set(seed["summary"]) == {"all", "which", "factual", "unanswerable"}
    for question in seed["questions"]:
        assert len(question["cited"]) <= 5
        assert question["f1"] == score_citations(question["cited"], question["relevant"]).f1
    assert "seed corpus, hand-labelled questions" in capsys.readouterr().out
    assert (tmp_path / "citations.md").is_file()
