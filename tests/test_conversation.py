"""A conversation on the bundled corpus: follow-ups are answered about the earlier turns'
papers and topic; a new topic starts afresh."""

from __future__ import annotations

import pytest

from bot import Filters, PaperBot, Turn
from bot.retrieve.followup import MAX_TURNS, resolve

DEMONSTRATIONS = "Which papers train agents from human demonstrations?"


def _titles(answer) -> list[str]:
    return [c.paper.title for c in answer.citations]


def _conversation(bot: PaperBot, *questions: str):
    history, answers = [], []
    for question in questions:
        answer = bot.ask(question, history=history)
        answers.append(answer)
        history.append(Turn.of(answer))
    return answers


def test_which_of_those_is_answered_among_the_previous_answers_papers(seed_bot):
    first, follow_up = _conversation(seed_bot, DEMONSTRATIONS,
                                     "and which of those use imitation learning?")
    earlier = {c.paper.id for c in first.citations}
    later = {c.paper.id for c in follow_up.citations}
    assert later and later <= earlier
    assert "Creating Multimodal Interactive Agents with Imitation and Self-Supervised " \
           "Learning" in _titles(follow_up)
    assert not any("Imitation Game" in t for t in _titles(follow_up))  # BIG-bench: no
    assert follow_up.context == (f"a follow-up: among the {len(earlier)} papers of the "
                                 "previous answer")


def test_the_second_one_is_that_paper_alone(seed_bot):
    first, second = _conversation(seed_bot, DEMONSTRATIONS, "what about the second one?")
    assert [c.paper.id for c in second.citations] == [first.citations[1].paper.id]
    assert second.context == "a follow-up about one paper of the previous answer"


def test_a_citation_number_names_a_paper_too(seed_bot):
    first, about = _conversation(seed_bot, DEMONSTRATIONS, "What are the results of [3]?")
    assert [c.paper.id for c in about.citations] == [first.citations[2].paper.id]


def test_their_results_stays_with_the_papers_and_the_topic_across_turns(seed_bot):
    first, one, results = _conversation(seed_bot, DEMONSTRATIONS, "what about the second one?",
                                        "and its results?")
    assert [c.paper.id for c in results.citations] == [first.citations[1].paper.id]
    assert "results" in results.citations[0].quote  # its sentence about results


def test_and_in_a_year_narrows_the_previous_topic_to_that_year(seed_bot):
    first, in_2018 = _conversation(seed_bot, "Which papers study relational reasoning?",
                                   "and in 2018?")
    assert len(first.citations) > len(in_2018.citations) > 0
    assert {c.paper.year for c in in_2018.citations} == {2018}
    assert "Relational inductive biases, deep learning, and graph networks" in _titles(in_2018)
    assert in_2018.context == "a follow-up to “Which papers study relational reasoning?”"


def test_a_new_topic_is_not_dragged_back_to_the_old_one(seed_bot):
    *_, fresh = _conversation(seed_bot, DEMONSTRATIONS, "and which of those use imitation "
                              "learning?", "What properties of the training data make "
                              "in-context learning emerge in transformers?")
    assert fresh.context is None
    assert _titles(fresh)[0].startswith("Data Distributional Properties Drive Emergent")
    alone = seed_bot.ask(fresh.question)
    assert _titles(alone) == _titles(fresh)


def test_an_expletive_it_in_a_long_question_is_no_reference():
    history = [Turn(question=DEMONSTRATIONS, cited=["a", "b"])]
    resolved = resolve("Is it possible to train agents to play Atari games without rewards?",
                       history, None)
    assert resolved.among is None and resolved.context is None


def test_years_of_a_follow_up_narrow_the_filters_given():
    history = [Turn(question="Which papers study planning?", cited=["a"])]
    since = resolve("and since 2020?", history, Filters(year_to=2023))
    assert (since.filters.year_from, since.filters.year_to) == (2020, 2023)
    assert since.query == "Which papers study planning?"
    assert resolve("and before 2019?", history, None).filters.year_to == 2018
    # A new question naming a year is answered as asked: its words, not a filter.
    new = resolve("What did the 2019 Gemini report claim about benchmarks in 2019?", history,
                  None)
    assert new.filters is None


def test_only_the_last_turns_are_read_and_bad_history_is_refused(seed_bot):
    long = [Turn(question=f"question {i}", cited=[]) for i in range(10 * MAX_TURNS)]
    # Each a follow-up of the one before: the topic runs back to the first turn read.
    first_read = 10 * MAX_TURNS - MAX_TURNS
    assert resolve("and in 2018?", long, None).query.startswith(f"question {first_read} ")
    with pytest.raises(ValueError):
        Turn(question="x" * 20_000)


def test_a_conversation_needs_no_language_model(seed_bot):
    answer = seed_bot.ask("and which of those use imitation learning?",
                          history=[Turn(question=DEMONSTRATIONS, cited=[])])
    assert answer.answerer == "extractive"
