"""The Similar papers tab's cards without a browser: the match scale, why a paper is similar
(the closest pair of sentences), what a card shows, and the abstention's nearest papers
sorted closest first."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bot.answer.extractive import compose_answer, match_of
from bot.answer.templates import Templates
from bot.records import Hit, Paper
from bot.settings import RetrievalSettings
from bot.surfaces.web.app import ChatApp
from bot.surfaces.web.similar import (
    ABSTRACT_SENTENCES,
    MAX_PASTED_SENTENCES,
    MAX_SHOWN_CHARS,
    Reference,
    links,
    match_badge,
    paper_sentences,
    reference_of,
    render_similar_card,
    shared_evidence,
    short_abstract,
    toggled,
)

CHOSEN = "Relational recurrent neural networks"


def paper(**fields) -> Paper:
    return Paper(**{"id": "p1", "title": "A paper", "abstract": "", **fields})


# -- the match scale -------------------------------------------------------------------------

@pytest.mark.parametrize(("relevance", "match"), [
    (0.7634, 76), (0.0, 0), (-0.05, 0), (1.0, 100), (1.26, 100), (0.114, 11), (0.996, 100)])
def test_a_cosine_reads_as_a_match_out_of_100(relevance, match):
    assert match_of(relevance) == match


def test_the_match_badge_shows_the_number_and_a_bar_and_says_what_it_means():
    badge = match_badge(0.7634)
    assert "match 76/100 ▰▰▰▰▰▰▰▰▱▱<" in badge
    title = re.search(r'title="([^"]*)"', badge).group(1)
    assert "Match 76 of 100" in title and "cosine similarity" in title
    assert "▱" * 10 in match_badge(-0.3) and "▰" * 10 in match_badge(1.2)


# -- why a paper is similar ------------------------------------------------------------------

def test_the_shared_evidence_is_the_closest_pair_of_sentences():
    axes = np.eye(3, dtype=np.float32)
    reference = Reference("your text", ["ref x", "ref y"], np.stack([axes[0], axes[1]]))
    # The paper's second sentence lies nearest the reference's second (not normalised, as
    # int8 vectors are only nearly unit length).
    theirs = np.stack([axes[2] + 0.2 * axes[0], 3 * (axes[1] + 0.1 * axes[2])])
    evidence = shared_evidence(reference, ["paper z", "paper y"], theirs)
    assert (evidence.theirs, evidence.ours) == ("paper y", "ref y")
    assert evidence.closeness == pytest.approx(1 / np.sqrt(1.01), abs=1e-5)
    assert shared_evidence(reference, [], np.zeros((0, 3))) is None
    assert shared_evidence(Reference("x", [], np.zeros((0, 3))), ["a"], axes[:1]) is None


def test_the_shared_evidence_of_two_library_papers_is_verbatim_and_the_best_pair(seed_bot):
    chosen = seed_bot.get(CHOSEN)
    reference = reference_of(seed_bot, chosen.id)
    assert reference.named == "the chosen paper"
    assert all(s in chosen.abstract for s in reference.sentences)
    for hit in seed_bot.similar(chosen.id, k=3):
        sentences, vectors = paper_sentences(seed_bot.library, hit.paper.id)
        evidence = shared_evidence(reference, sentences, vectors)
        assert evidence.theirs in hit.paper.abstract and evidence.ours in chosen.abstract
        every_pair = [float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))
                      for a in vectors for b in reference.vectors]
        assert evidence.closeness == pytest.approx(max(every_pair), abs=1e-5)


def test_pasted_text_is_compared_by_its_own_sentences_within_a_bound(seed_bot):
    sentence = "Agents learn to reason about the relations between remembered items."
    reference = reference_of(seed_bot, " ".join([sentence] * (MAX_PASTED_SENTENCES + 5)))
    assert reference.named == "your text"
    assert reference.sentences == [sentence] * MAX_PASTED_SENTENCES
    assert reference.vectors.shape == (MAX_PASTED_SENTENCES, seed_bot.embedder.dim)


# -- what a card shows ----------------------------------------------------------------------

def test_a_card_opens_the_abstract_as_written_and_escaped():
    abstract = ("We build a \\textit{Relational Memory Core}. It uses <b>attention</b> over "
                "memories. Then a third sentence follows.")
    shown = short_abstract(abstract)
    assert shown == ("We build a Relational Memory Core. It uses \\<b\\>attention\\</b\\> over "
                     "memories. …")
    assert ABSTRACT_SENTENCES == 2
    assert short_abstract("One sentence, the whole abstract.") == (
        "One sentence, the whole abstract.")
    assert short_abstract("").startswith("*No abstract")
    endless = "word " * 500
    cut = short_abstract(endless)
    assert cut.endswith(" …") and len(cut) <= MAX_SHOWN_CHARS + 2


def test_a_card_links_arxiv_and_doi_from_their_ids():
    both = links(paper(arxiv_id="2403.05530", doi="10.1000/a(b)_c"))
    assert both == (" · [arXiv:2403.05530](https://arxiv.org/abs/2403.05530)"
                    " · [DOI 10.1000/a(b)\\_c](https://doi.org/10.1000/a%28b%29_c)")
    assert links(paper()) == ""


def test_a_card_names_the_paper_says_why_and_how_close(seed_bot):
    hit = seed_bot.similar(CHOSEN, k=1)[0]
    reference = reference_of(seed_bot, CHOSEN)
    evidence = shared_evidence(reference, *paper_sentences(seed_bot.library, hit.paper.id))
    card = render_similar_card(hit, evidence, reference.named, Templates())
    first_line = card.splitlines()[0]
    assert first_line.startswith(f"**{hit.paper.title}**")
    assert hit.paper.authors[0] in card and str(hit.paper.year) in card
    assert f"match {match_of(hit.relevance)}/100" in card
    assert "*Why similar — the closest sentences (match" in card
    assert "this paper: “" in card and "the chosen paper: “" in card


def test_a_paper_without_an_abstract_gets_a_card_without_evidence():
    hit = Hit(paper=paper(title="A book"), score=0.1, relevance=0.4)
    card = render_similar_card(hit, None, "your text", Templates())
    assert "No abstract" in card and "Why similar" not in card and card == card.rstrip()


def test_the_export_toggles_a_paper_in_and_out():
    assert toggled([], "a") == ["a"]
    assert toggled(["a", "b"], "c") == ["a", "b", "c"]
    assert toggled(["a", "b"], "a") == ["b"]


def test_the_tab_finds_cards_for_a_chosen_paper_and_tells_a_mistake(seed_bot):
    tab = ChatApp(seed_bot).similar
    chosen = seed_bot.get(CHOSEN)
    summary, cards = tab.find(chosen.id, "", 4)
    assert summary.startswith(f"4 papers like **{CHOSEN}**")
    assert len(cards) == 4 and chosen.id not in [paper_id for paper_id, _ in cards]
    assert all("Why similar" in card for _, card in cards)
    summary, cards = tab.find(None, "relational reasoning with memory", 2)
    assert summary.startswith("2 papers like your text") and len(cards) == 2
    assert all("your text: “" in card for _, card in cards)
    skipped = tab.find(None, "  ", 5)  # nothing chosen: a message, the outputs left alone
    assert len(skipped) == 2


# -- the abstention's nearest papers --------------------------------------------------------

def test_the_nearest_papers_are_sorted_by_relevance_best_first(seed_bot):
    papers = seed_bot.papers[:4]
    relevances = [0.11, 0.17, 0.05, 0.14]
    hits = [Hit(paper=p, score=1 - i / 10, relevance=r)
            for i, (p, r) in enumerate(zip(papers, relevances, strict=True))]
    answer = compose_answer("What is the best recipe for chocolate cake?", hits,
                            settings=RetrievalSettings(), templates=Templates())
    assert answer.abstained
    assert [h.relevance for h in answer.nearest] == [0.17, 0.14, 0.11]
    matches = re.findall(r"match (\d+)/100", answer.text)
    assert matches == ["17", "14", "11"]
    assert "(match: how close in meaning to the question, out of 100)" in answer.text


def test_an_off_topic_question_names_its_nearest_closest_first(seed_bot):
    answer = seed_bot.ask("What is the best recipe for chocolate cake?")
    assert answer.abstained
    relevances = [h.relevance for h in answer.nearest]
    assert relevances == sorted(relevances, reverse=True)
