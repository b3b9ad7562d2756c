"""The web app's discovery actions without a browser: similar by an aspect (what the cards'
evidence and match then say), papers like a set, what's new since a day, and stars."""

from __future__ import annotations

import datetime as dt
import re

import gradio as gr
import numpy as np
import pytest

from bot import PaperBot
from bot.answer.extractive import match_of
from bot.answer.templates import Templates
from bot.errors import QueryError
from bot.library.roles import Role, role_scores
from bot.records import Hit, Paper
from bot.retrieve.aspects import role_rows
from bot.surfaces.web.app import ChatApp
from bot.surfaces.web.common import STAR, STARRED
from bot.surfaces.web.new import (
    NEWEST_FIRST,
    NO_STARS,
    default_since,
    new_summary,
    stars_list,
    when_line,
)
from bot.surfaces.web.papers import star_label, with_member
from bot.surfaces.web.similar import (
    MAX_QUOTE_CHARS,
    MAX_SET,
    MAX_SET_SENTENCES,
    WHOLE,
    Reference,
    match_badge,
    not_in_library,
    paper_sentences,
    reference_of,
    reference_of_set,
    render_similar_card,
    role_of_choice,
    set_summary,
    shared_evidence,
    shown,
)

CHOSEN = "Relational recurrent neural networks"
SYNTHETIC_RETURNS = "Synthetic Returns for Long-Term Credit Assignment"
HOSTILE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) **bold**"


def roles_of(sentences: list[str]) -> list[Role]:
    return [list(Role)[i] for i in np.argmax(role_scores(sentences), axis=1)]


# -- similar by an aspect --------------------------------------------------------------------

@pytest.mark.parametrize("aspect", ["method", "result", "background"])
def test_an_aspect_card_quotes_the_sentence_that_matched_and_the_chosen_papers_of_that_role(
        seed_bot, aspect):
    tab = ChatApp(seed_bot).similar
    chosen = seed_bot.get(SYNTHETIC_RETURNS)
    summary, cards = tab.find(chosen.id, "", 5, aspect)
    phrase = {"method": "with a method", "result": "with results",
              "background": "with a background"}[aspect]
    assert summary.startswith(f"5 papers {phrase} like **{SYNTHETIC_RETURNS}**, best first.")
    assert f"the two papers' {aspect} sentences" in summary
    hits = seed_bot.similar(chosen.id, k=5, aspect=aspect)
    assert [paper_id for paper_id, _ in cards] == [h.paper.id for h in hits]
    own = paper_sentences(seed_bot.library, chosen.id)[0]
    own_of_role = [s for s, r in zip(own, roles_of(own), strict=True) if r == Role(aspect)]
    for hit, (_, card) in zip(hits, cards, strict=True):
        assert f"*Why similar — the closest {aspect} sentences (match" in card
        theirs = re.search(r"this paper: “(.*?)”", card).group(1)
        ours = re.search(r"the chosen paper: “(.*?)”", card).group(1)
        # The card's sentence is the one the ranking matched, the chosen paper's one of its
        # role (all of them stand in when it has none).
        assert theirs == shown(hit.evidence, MAX_QUOTE_CHARS)
        assert ours in {shown(s, MAX_QUOTE_CHARS) for s in own_of_role or own}
        assert f"match {match_of(hit.relevance)}/100" in card


def test_the_aspect_match_badge_says_it_compares_sentences_of_that_role():
    whole = match_badge(0.71)
    method = match_badge(0.71, Role.METHOD)
    assert "cosine similarity of their embeddings" in whole
    assert "the two papers' method sentences" in method and "match 71/100" in method
    card = render_similar_card(Hit(paper=Paper(id="p", title="T", abstract=""), score=0.1,
                                   relevance=0.5), None, "your text", Templates(), Role.RESULT)
    assert "result sentences" in card


def test_whole_paper_is_no_aspect_and_an_unknown_one_is_refused():
    assert role_of_choice(WHOLE) is None and role_of_choice(None) is None
    assert role_of_choice("method") is Role.METHOD
    with pytest.raises(QueryError, match="no such aspect"):
        role_of_choice("novelty")


def test_a_reference_of_a_role_keeps_its_sentences_of_that_role_else_all():
    sentences = ["Credit assignment over long delays remains a challenge.",
                 "We propose a method that learns synthetic returns.",
                 "It outperforms the baselines by 20% on Atari."]
    vectors = np.eye(3, dtype=np.float32)
    reference = Reference("the chosen paper", sentences, vectors, ("A", "B", "C"))
    method = reference.of_role(Role.METHOD)
    assert method.sentences == [sentences[1]] and method.owners == ("B",)
    assert np.array_equal(method.vectors, vectors[1:2])
    lone = Reference("your text", ["Hello there."], vectors[:1])
    chosen = role_rows(role_scores(lone.sentences), Role.RESULT)
    assert (lone.of_role(Role.RESULT) is lone) == (len(chosen) == 0)


def test_another_aspect_with_nothing_chosen_changes_nothing(seed_bot):
    tab = ChatApp(seed_bot).similar
    assert len(tab.rerank(None, "  ", 5, "method", [])) == 2
    summary, _ = tab.rerank(None, "relational memory", 2, "method", [])
    assert summary.startswith("2 papers with a method like your text")


# -- stars, what's new: their words ------------------------------------------------------------

def test_the_default_day_is_thirty_days_back():
    assert default_since(dt.date(2025, 3, 15)) == "2025-02-13"
    assert default_since() == (dt.date.today() - dt.timedelta(days=30)).isoformat()


def test_the_summary_of_whats_new_says_the_order_it_is_in():
    hits = [Hit(paper=Paper(id="p", title="T", abstract=""), score=1, relevance=0.5)]
    assert new_summary("2025-01-01", hits, 0, 0) == (
        f"**1 paper** added or dated since 2025-01-01.\n\n{NEWEST_FIRST}")
    assert new_summary("2025-01-01", hits * 3, 2, 0).endswith(
        "closest first to the 2 chosen papers.")
    assert new_summary("2025-01-01", hits, 0, 1).endswith("closest first to your 1 starred paper.")
    assert new_summary(HOSTILE, [], 0, 0).startswith("*Nothing was added or dated since \\<img")


def test_a_card_says_when_a_paper_was_added_and_its_date():
    paper = Paper(id="p", title="T", abstract="", date=dt.date(2024, 3, 8))
    assert "added 2025-06-01 · dated 2024-03-08" in when_line(paper, dt.date(2025, 6, 1))
    assert ">dated 2024-03-08<" in when_line(paper, None)


def test_the_starred_list_and_a_paper_set_are_text():
    papers = [Paper(id=f"p{i}", title=f"{HOSTILE} {i}", abstract="") for i in range(14)]
    listed = stars_list(papers)
    assert listed.startswith("**Starred: 14 papers** — ") and listed.endswith(" and 2 more")
    assert re.search(r"(?<!\\)[<\[]", listed) is None  # every bracket escaped
    assert "\\<img" in listed and "\\[click\\]" in listed
    assert NO_STARS.startswith("*No starred papers yet")
    assert star_label(True) == STARRED and star_label(False) == STAR
    assert with_member(["a"], "b") == ["a", "b"] and with_member(["a"], "a") == ["a"]
    assert with_member(None, None) == [] and len(with_member(["x"] * MAX_SET, "y")) == MAX_SET


# -- papers like a set -------------------------------------------------------------------------

def test_a_set_finds_papers_like_its_members_and_names_the_member_each_sentence_is_from(
        seed_bot):
    tab = ChatApp(seed_bot).similar
    members = [seed_bot.get(CHOSEN).id, seed_bot.get(SYNTHETIC_RETURNS).id]
    summary, cards = tab.find(None, "", 5, WHOLE, members)
    assert summary.startswith(f"5 papers like the set of 2: **{CHOSEN}**; "
                              f"**{SYNTHETIC_RETURNS}**, best first.")
    assert [paper_id for paper_id, _ in cards] == [
        h.paper.id for h in seed_bot.similar(members, k=5)]
    assert not set(members) & {paper_id for paper_id, _ in cards}
    for _, card in cards:
        assert f"“{CHOSEN}”: “" in card or f"“{SYNTHETIC_RETURNS}”: “" in card, card
    # Pasted text comes first; a set comes before the paper chosen.
    summary, _ = tab.find(members[0], "", 3, WHOLE, members)
    assert "the set of 2" in summary
    summary, _ = tab.find(None, "relational memory", 3, WHOLE, members)
    assert summary.startswith("3 papers like your text")
    # By an aspect, as one paper is.
    summary, cards = tab.find(None, "", 3, "method", members)
    assert summary.startswith("3 papers with a method like the set of 2:")
    assert all("closest method sentences" in card for _, card in cards)


def test_the_set_comes_from_elsewhere_with_its_results(seed_bot):
    tab = ChatApp(seed_bot).similar
    members = [p.id for p in seed_bot.papers[:3]]
    tabs, paper, text, chosen, aspect, summary, cards = tab.show_set(members)
    assert (paper, text, chosen, aspect) == (None, "", members, WHOLE)
    assert summary.startswith("5 papers like the set of 3:") and len(cards) == 5
    assert len(tab.show_set([])) == 2 + 5  # nothing chosen: a message, the rest as it was


def test_a_sets_sentences_are_bounded_and_its_summary_names_a_few(seed_bot):
    members = [p.id for p in seed_bot.papers]
    reference = reference_of_set(seed_bot, members)
    assert len(reference.sentences) == MAX_SET_SENTENCES == len(reference.owners)
    assert reference.vectors.shape == (MAX_SET_SENTENCES, seed_bot.embedder.dim)
    assert reference.owners[0] == seed_bot.papers[0].display_title
    assert set_summary(seed_bot, members[:7]).endswith(" and 2 more")
    assert set_summary(seed_bot, members[:1]) == f"**{seed_bot.papers[0].display_title}**"
    evidence = shared_evidence(reference, *paper_sentences(seed_bot.library, members[-1]))
    assert evidence.from_paper in {p.display_title for p in seed_bot.papers}
    single = reference_of(seed_bot, members[0])
    assert single.owners == () and shared_evidence(
        single, *paper_sentences(seed_bot.library, members[1])).from_paper is None


# -- stars and what's new through the app ------------------------------------------------------

def test_a_star_toggles_and_ranks_whats_new(library_copy):
    app = ChatApp(PaperBot.open(library_copy))
    chosen = app.bot.get(CHOSEN)
    summary, cards = app.new.find(default_since(), 5, [])
    assert NEWEST_FIRST in summary and len(cards) == 5
    assert all("added " in card and "Why similar" not in card for _, card in cards)
    assert app.toggle_star(chosen.id) == [chosen.id] == app.starred_ids()
    summary, cards = app.new.find(default_since(), 5, [])
    assert summary.endswith("closest first to your 1 starred paper.")
    assert chosen.id not in {paper_id for paper_id, _ in cards}
    # Each says why: its sentence beside the starred paper's closest, named by its title.
    assert all("Why similar" in card and f"“{CHOSEN}”: “" in card for _, card in cards)
    assert all("added " in card and "match " in card for _, card in cards)
    assert app.toggle_star(chosen.id) == [] == app.starred_ids()
    # Kept in the library folder: another app over it sees the star.
    app.toggle_star(chosen.id)
    assert ChatApp(PaperBot.open(library_copy)).starred_ids() == [chosen.id]


def test_a_bad_day_or_paper_is_a_message(library_copy):
    app = ChatApp(PaperBot.open(library_copy))
    assert len(app.new.find("last tuesday", 5, [])) == 2  # the outputs left as they were
    summary, cards = app.new.find("2999-01-01", 5, [])
    assert summary == "*Nothing was added or dated since 2999-01-01.*" and cards == []
    skipped = app.toggle_star("no such paper")  # a message; the stars left as they were
    assert skipped == gr.skip() and app.starred_ids() == []


def test_a_bibliographys_missing_entries_are_named_as_text():
    told = not_in_library([HOSTILE] + [f"Entry {i}" for i in range(6)])
    assert told.startswith("7 of the file's entries are not in the library: &lt;img")
    assert "<" not in told and told.endswith(" and 2 more")


def test_a_bibliography_that_names_no_paper_is_told_by_its_name_not_its_path(seed_bot,
                                                                            tmp_path):
    bib = tmp_path / "unknown.bib"
    bib.write_text("@article{x1,\n  title = {Nothing Here},\n  year = {2020}\n}\n")
    tab = ChatApp(seed_bot).similar
    with pytest.warns(UserWarning) as told:  # gr.Warning, outside a page
        assert len(tab.members_of_file(str(bib), 5, WHOLE)) == 6
    message = str(told[0].message)
    assert "unknown.bib" in message and str(tmp_path) not in message, message
