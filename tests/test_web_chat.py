"""The Chat tab's text, without a browser: markers linked to their own answer's cards, the
filters in words and as chips, the answer as clean text to copy, cards as written, and the
example questions drawn from the library."""

from __future__ import annotations

import re
import time

import pytest

from bot.answer.templates import Templates
from bot.records import Answer, Citation, Filters, Paper
from bot.surfaces.cards import highlighted_abstract, render_card
from bot.surfaces.web.chat import (
    active_filters,
    answer_markdown,
    link_citations,
    plain_answer,
    reading_line,
    scope_of,
    section_heading,
    shown_answer,
    text_as_written,
)
from bot.surfaces.web.common import ANY
from bot.surfaces.web.examples import FALLBACK, TEMPLATES, example_questions, library_topics

LATEX_ABSTRACT = ("Memory matters. We use a new memory module -- a \\textit{Relational Memory "
                  "Core} (RMC) -- which lets memories interact. It is 50\\% faster at top-$k$.")
LATEX_QUOTE = ("We use a new memory module -- a \\textit{Relational Memory Core} (RMC) -- which "
               "lets memories interact.")


def paper(n: int, **fields) -> Paper:
    values = {"id": f"p{n}", "title": f"Paper {n}", "authors": ["Ada Lovelace"],
              "abstract": f"Abstract {n}. It has one sentence."} | fields
    return Paper(**values)


def latex_citation() -> Citation:
    return Citation(n=1, paper=paper(1, title="The \\emph{Relational} core",
                                     arxiv_id="1806.01822", abstract=LATEX_ABSTRACT),
                    quote=LATEX_QUOTE, score=0.9)


# -- markers, filters in words, chips -------------------------------------------------------

def test_each_marker_links_to_the_card_of_its_own_answer():
    text = "Both say so [1], [2]; a quote's own \\[3\\] is not a marker."
    linked = link_citations(text, turn=4)
    assert "[\\[1\\]](#cited-4-1)" in linked and "[\\[2\\]](#cited-4-2)" in linked
    assert "#cited-4-3" not in linked


@pytest.mark.parametrize(("filters", "words"), [
    (None, None),
    (Filters(), None),
    (Filters(year_from=2023), "among papers from 2023 on"),
    (Filters(year_to=2020), "among papers up to 2020"),
    (Filters(year_from=2021, year_to=2021), "among papers from 2021"),
    (Filters(year_from=2019, year_to=2021), "among papers from 2019 to 2021"),
    (Filters(author="Abramson"), "among papers by authors matching “Abramson”"),
    (Filters(year_from=2023, author="Abramson", category="cs.LG", has_code=True),
     "among papers from 2023 on, by authors matching “Abramson”, in cs.LG, with code"),
    (Filters(has_code=False), "among papers without code"),
])
def test_the_filters_in_words(filters, words):
    assert scope_of(filters) == words


def test_the_reading_line_joins_the_follow_up_and_the_filters():
    assert reading_line(None, None) is None
    assert reading_line("a follow-up", None) == "Read as a follow-up"
    assert reading_line(None, "among papers from 2023 on") == "Among papers from 2023 on"
    assert reading_line("a follow-up", "among papers from 2023 on") == (
        "Read as a follow-up; among papers from 2023 on")


def test_a_chip_for_each_filter_set_and_the_value_that_clears_it():
    assert active_filters(ANY, ANY, "", ANY, ANY) == []
    assert active_filters(None, None, None, None, None) == []
    chips = active_filters(2023, ANY, " Abramson ", "cs.LG", "Without code")
    assert chips == [("From 2023", 0, ANY), ("Author: Abramson", 2, ""),
                     ("Category: cs.LG", 3, ANY), ("Without code", 4, ANY)]
    assert active_filters(ANY, 2020, "  ", ANY, ANY) == [("To 2020", 1, ANY)]


def test_an_answer_under_filters_says_so_and_an_abstention_says_they_may_be_why(seed_bot):
    filters = Filters(year_from=2023)
    question = "Which papers study credit assignment over long delays?"
    abstained = seed_bot.ask(question, filters=filters)
    assert abstained.abstained
    shown = shown_answer(abstained, 1, scope_of(filters))
    markdown = answer_markdown(abstained, shown)
    assert markdown.startswith("*Among papers from 2023 on.*")
    assert markdown.endswith("*The filters may be why: the library was searched only among "
                             "papers from 2023 on. Remove a filter (the chips by the question "
                             "box) to search all of it.*")
    assert shown.downloads == [] and section_heading(shown).endswith("— no citation")
    answered = seed_bot.ask("Which papers train agents from human demonstrations?",
                            filters=Filters(author="Abramson"))
    shown = shown_answer(answered, 2, scope_of(Filters(author="Abramson")))
    markdown = answer_markdown(answered, shown)
    assert markdown.startswith("*Among papers by authors matching “Abramson”.*")
    assert "filters may be why" not in markdown and "(#cited-2-1)" in markdown
    assert len(shown.downloads) == 3  # BibTeX, CSL-JSON, CSV of this answer's papers


# -- the answer to copy ---------------------------------------------------------------------

def test_the_copied_answer_is_clean_text_with_its_references(seed_bot):
    answer = seed_bot.ask("Which papers study credit assignment over long delays?")
    copied = plain_answer(answer)
    assert "[1]" in copied and "\\" not in copied and "**" not in copied and "](#" not in copied
    body, references = copied.split("\n\nReferences\n")
    lines = references.splitlines()
    assert lines[0].startswith("[1] Synthetic Returns for Long-Term Credit Assignment. "
                               "David Raposo, Sam Ritter, Adam Santoro et al. 2021.")
    assert len(lines) == len(answer.citations)  # its quotes are in the body already
    assert answer.citations[0].quote in body


def test_a_written_answer_copies_its_quotes_in_the_references():
    citation = latex_citation()
    answer = Answer(question="What is the RMC?", text="It lets memories interact [1].",
                    citations=[citation], answerer="llm", context="a follow-up")
    copied = plain_answer(answer, "among papers from 2018 on")
    assert copied.startswith("Read as a follow-up; among papers from 2018 on.\n\n"
                             "It lets memories interact [1].")
    assert ("[1] The Relational core. Ada Lovelace. n.d. https://arxiv.org/abs/1806.01822\n"
            "    “We use a new memory module – a Relational Memory Core (RMC) – which lets "
            "memories interact.”") in copied


def test_an_answers_titles_and_quotes_show_as_written():
    citation = latex_citation()
    answer = Answer(question="q", citations=[citation],
                    text=Templates().render("answer", citations=(
                        "- **The \\\\emph{Relational} core** (n.d.) — “We use a new memory "
                        "module -- a \\\\textit{Relational Memory Core} (RMC) -- which lets "
                        "memories interact.” [1]")))
    shown = text_as_written(answer)
    assert "textit" not in shown and "emph" not in shown
    assert "**The Relational core**" in shown and "a Relational Memory Core (RMC)" in shown


def test_an_address_in_an_answers_quote_is_code_not_a_link(seed_bot):
    answer = seed_bot.ask("Which papers train agents from human demonstrations?",
                          filters=Filters(author="Abramson"))
    assert "https://youtu.be/v\\_Z9F2\\_eKk4" in answer.text  # escaped, but a bare address
    shown = text_as_written(answer)
    assert "`https://youtu.be/v_Z9F2_eKk4`." in shown
    assert "https://youtu.be/v_Z9F2_eKk4." in plain_answer(answer)


# -- cards ------------------------------------------------------------------------------------

def test_a_card_shows_latex_as_written_and_an_address_as_code():
    card = render_card(latex_citation(), Templates())
    assert "\\textit" not in card and "\\emph" not in card
    assert "**[1] The Relational core**" in card
    assert "<mark>We use a new memory module – a Relational Memory Core (RMC) – which lets " \
           "memories interact.</mark>" in card
    assert "Memory matters. <mark>" in card and "50% faster at top-$k$." in card
    marked = highlighted_abstract("Videos at https://youtu.be/v_Z9F2_eKk4. We *win*.",
                                  "We *win*.")
    assert marked == "Videos at `https://youtu.be/v_Z9F2_eKk4`. <mark>We \\*win\\*.</mark>"


def test_the_seed_cards_show_no_latex_markup(seed_bot):
    answer = seed_bot.ask("Which papers study relational memory cores?")
    cards = [render_card(c, seed_bot.templates) for c in answer.citations]
    rmc = [card for card in cards if "Relational recurrent neural networks" in card]
    assert rmc and "Relational Memory Core (RMC)" in rmc[0]
    assert not any("\\textit" in card for card in cards)


# -- example questions ------------------------------------------------------------------------

def test_example_questions_are_natural_and_drawn_from_the_librarys_topics(seed_bot):
    questions = example_questions(seed_bot.papers)
    assert len(questions) == 4 and len(set(questions)) == 4
    forms = [re.compile("^" + re.escape(t).replace(re.escape("{topic}"), "(.+)") + "$")
             for t in TEMPLATES]
    topics = [t.phrase for t in library_topics(seed_bot.papers)]
    for question, topic in zip(questions, topics, strict=True):
        assert any(f.match(question) for f in forms), question
        assert topic in question and 2 <= len(topic.split()) <= 3
        assert not re.search(r"\b(an?|the|of)\s*\?$", question)  # not a cut-off title
    assert "reinforcement learning" in topics
    # Two topics never say the same thing ("neural networks", "deep neural networks").
    for one in topics:
        assert not any(set(one.split()) <= set(other.split()) for other in topics
                       if other != one)


def test_example_questions_are_deterministic(seed_bot):
    papers = list(seed_bot.papers)
    assert example_questions(papers) == example_questions(list(papers))


def test_every_example_question_is_answered_on_the_seed_corpus(seed_bot):
    for question in example_questions(seed_bot.papers):
        answer = seed_bot.ask(question)
        assert not answer.abstained and answer.citations, question


def test_a_library_without_topics_offers_the_fallback_question():
    assert example_questions([]) == [FALLBACK]
    assert example_questions([paper(1)]) == [FALLBACK]


def test_example_questions_for_a_large_library_are_quick():
    papers = [paper(n, title=f"Graph kernels for molecule design {n % 7}",
                    abstract=f"We study graph kernels and molecule design, case {n}. "
                             "Protein folding by sequence models is related.")
              for n in range(20_000)]
    started = time.perf_counter()
    questions = example_questions(papers)
    assert time.perf_counter() - started < 5
    assert any("graph kernels" in q or "molecule design" in q for q in questions)


# -- the handler ------------------------------------------------------------------------------

def test_respond_numbers_each_answer_and_keeps_the_latest_answers_cards(seed_bot):
    from bot.surfaces.web import build_app
    from bot.surfaces.web.chat import KEPT_ANSWERS, ShownAnswer

    app = build_app(seed_bot)
    respond = next(f.fn for f in app.fns.values() if f.name == "respond")
    earlier = [ShownAnswer(turn=n, question=f"q{n}") for n in range(1, KEPT_ANSWERS + 1)]
    form = ("Any", "Any", "", "Any", "Any")
    *_, (chat, box, answers, turns) = respond(
        "Which papers study credit assignment over long delays?", [], [], *form, earlier)
    assert len(answers) == KEPT_ANSWERS and answers[0].turn == 2
    latest = answers[-1]
    assert latest.turn == KEPT_ANSWERS + 1 and latest.citations and box == ""
    assert f"(#cited-{latest.turn}-1)" in chat[-1]["content"]
    # A follow-up's years narrow the filters, and its answer says so.
    *_, (chat, _, answers, _) = respond("and from 2021 on?", chat, turns, *form, answers)
    assert chat[-1]["content"].startswith(
        "*Read as a follow-up to “Which papers study credit assignment over long delays?”; "
        "among papers from 2021 on.*")
    assert answers[-1].scope == "among papers from 2021 on"
