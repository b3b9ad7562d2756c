"""Misspelt questions find what the correct spelling finds; words are corrected only to the
library's own, and never when the model knows them as English."""

from __future__ import annotations

from bot import PaperBot
from bot.library.lexical import LexicalIndex
from bot.retrieve.spelling import Speller

GRAPH_NETWORKS = "Relational inductive biases, deep learning, and graph networks"


def test_typos_become_the_librarys_words():
    speller = Speller({"graph": 40, "networks": 30, "relational": 12, "grape": 1},
                      known_words=frozenset())
    assert speller.correct("grpah netwroks for relatonal reasoning?") == (
        "graph networks for relational reasoning?")


def test_the_word_in_more_texts_wins_a_tie():
    speller = Speller({"model": 90, "modal": 3}, known_words=frozenset())
    assert speller.correct("modl") == "model"


def test_names_and_other_forms_of_library_words_are_left_alone():
    speller = Speller({"nlr": 9, "bears": 9, "bullies": 3, "coatomer": 4}, known_words=(),
                      holds_term=lambda word: word == "bullied")
    assert speller.correct("NLRP3 and p53BERs") == "NLRP3 and p53BERs"  # joined to digits
    assert speller.correct("GAVI dLNs") == "GAVI dLNs"  # capitals: names
    assert speller.correct("students are bullied") == "students are bullied"  # a form of one
    assert speller.correct("Coatmer") == "Coatomer"  # Capitalised as typed


def test_known_words_short_words_and_other_first_letters_are_left_alone():
    speller = Speller({"coding": 50, "pairs": 20, "graph": 5}, known_words={"cooking"})
    assert speller.correct("cooking") == "cooking"  # English: not a typo of "coding"
    assert speller.correct("wih") == "wih"  # under four letters
    assert speller.correct("fraph") == "fraph"  # typos keep their first letter
    assert speller.correct("grxxh") == "grxxh"  # two edits: too far for a short word


def test_the_librarys_words_are_kept_with_its_bm25_index(tmp_path):
    index = LexicalIndex.build(["Graph networks.", "Relational graph networks!"])
    assert index.words == {"graph": 2, "networks": 2, "relational": 1}
    index.write(tmp_path)
    assert LexicalIndex.read(tmp_path).words == index.words
    (tmp_path / "words.json").unlink()  # a library written before they were kept
    assert LexicalIndex.read(tmp_path).words == {}


def test_a_misspelt_question_cites_what_the_right_spelling_does(seed_bot: PaperBot):
    right = seed_bot.ask("which papers use graph networks for relational reasoning?")
    typo = seed_bot.ask("wich paprs use grpah netwroks for relatonal reasoning?")
    assert right.citations[0].paper.title == GRAPH_NETWORKS
    assert typo.citations[0].paper.title == GRAPH_NETWORKS
    assert typo.question == "wich paprs use grpah netwroks for relatonal reasoning?"
    assert seed_bot.search("grpah netwroks", k=1)[0].paper.title == GRAPH_NETWORKS


def test_an_unanswerable_question_is_not_made_answerable(seed_bot: PaperBot):
    assert seed_bot.ask("How long should I boil an egg for cooking pasta?").abstained


def test_hyphenated_and_spaced_compounds_match(seed_bot: PaperBot):
    spaced = [h.paper.id for h in seed_bot.search("mixture of depths", k=3)]
    hyphenated = [h.paper.id for h in seed_bot.search("Mixture-of-Depths", k=3)]
    assert spaced[0] == hyphenated[0]
    assert seed_bot.get(spaced[0]).title.startswith("Mixture-of-Depths")
