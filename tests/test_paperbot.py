"""The retrieval API on the seed corpus: relevance, citations, abstention, filters, similar."""

from __future__ import annotations

import pytest

from bot import Filters, QueryError


def _titles(hits):
    return [h.paper.display_title for h in hits]


def test_credit_assignment_question_cites_synthetic_returns(seed_bot):
    answer = seed_bot.ask("Which papers study credit assignment over long delays?")
    assert not answer.abstained
    assert answer.citations[0].paper.title == "Synthetic Returns for Long-Term Credit Assignment"
    assert "[1]" in answer.text and answer.answerer == "extractive"


@pytest.mark.parametrize(("question", "expected"), [
    ("relational reasoning in neural networks",
     "A simple neural network module for relational reasoning"),
    ("continual learning without catastrophic forgetting",
     "Optimization and Generalization of Regularization-Based Continual Learning"),
    ("a benchmark of hundreds of tasks for language models", "Beyond the Imitation Game"),
    ("dynamically allocating compute across tokens in transformers", "Mixture-of-Depths"),
    ("long-context multimodal model recalling millions of tokens", "Gemini 1.5"),
])
def test_questions_find_the_paper_that_answers_them(seed_bot, question, expected):
    hits = seed_bot.search(question, k=3)
    assert hits[0].paper.display_title.startswith(expected), _titles(hits)


def test_every_quote_is_verbatim_from_its_papers_abstract(seed_bot):
    questions = ["relational reasoning", "credit assignment over long delays",
                 "imitation learning for interactive agents", "knowledge distillation",
                 "meta-reinforcement learning and causality", "Gemini models"]
    for question in questions:
        answer = seed_bot.ask(question, k=5)
        assert answer.citations, question  # each is answered: the checks below are not vacuous
        for n, citation in enumerate(answer.citations, start=1):
            assert citation.n == n and f"[{n}]" in answer.text
            assert citation.quote and citation.quote in citation.paper.abstract
            assert citation.paper.id in seed_bot.library.row_of  # only retrieved papers


def test_citations_are_retrieved_papers_in_score_order(seed_bot):
    answer = seed_bot.ask("imitation learning for interactive agents", k=4)
    hits = seed_bot.search("imitation learning for interactive agents", k=4)
    assert [c.paper.id for c in answer.citations] == [h.paper.id for h in hits][
        : len(answer.citations)]
    scores = [c.score for c in answer.citations]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("question", [
    "What is the best recipe for chocolate cake?",
    "How do I treat type 2 diabetes in elderly patients?",
    "What is the capital of France?",
    "Which football club won the most trophies?",
])
def test_off_topic_questions_abstain_and_name_the_nearest(seed_bot, question):
    answer = seed_bot.ask(question)
    assert answer.abstained and not answer.citations
    assert "no paper that answers" in answer.text and "Closest, but not answering" in answer.text
    assert 1 <= len(answer.nearest) <= 3
    for hit in answer.nearest:
        assert hit.paper.display_title in answer.text.replace("\\", "")


def test_filters_apply_before_the_top_k_cut(seed_bot):
    filters = Filters(year_from=2015, year_to=2017)
    hits = seed_bot.search("reinforcement learning", k=8, filters=filters)
    in_range = [p for p in seed_bot.papers if p.year and 2015 <= p.year <= 2017]
    assert len(hits) == min(8, len(in_range))
    assert all(2015 <= h.paper.year <= 2017 for h in hits)


@pytest.mark.parametrize(("filters", "check"), [
    (Filters(author="nir levine"), lambda p: any("Nir Levine" in a for a in p.authors)),
    (Filters(category="stat.ML"), lambda p: "stat.ML" in p.categories),
    (Filters(category="NC"), lambda p: "q-bio.NC" in p.categories),
    (Filters(has_code=True), lambda p: p.has_code),
])
def test_each_filter_scopes_results(seed_bot, filters, check):
    hits = seed_bot.search("learning", k=50, filters=filters)
    expected = [p for p in seed_bot.papers if check(p)]
    assert hits and len(hits) == len(expected)
    assert all(check(h.paper) for h in hits)


def test_filters_reject_an_inverted_year_range():
    with pytest.raises(ValueError, match="after"):
        Filters(year_from=2020, year_to=2010)


def test_similar_to_relational_rnn_finds_relational_papers(seed_bot):
    hits = seed_bot.similar("Relational recurrent neural networks", k=5)
    titles = _titles(hits)
    assert "Relational recurrent neural networks" not in titles
    assert sum("relation" in t.lower() for t in titles) >= 2, titles


@pytest.mark.parametrize("ref", ["2403.05530", "arXiv:2403.05530v2",
                                 "gemini 1.5 unlocking multimodal understanding across "
                                 "millions of tokens of context",
                                 "Gemini 1.5: Unlocking multimodal understanding across "
                                 "millions of tokens of contexts"])
def test_similar_accepts_ids_and_titles_and_never_returns_the_paper(seed_bot, ref):
    hits = seed_bot.similar(ref, k=5)
    assert len(hits) == 5
    assert "2403.05530" not in [h.paper.id for h in hits]


def test_similar_to_a_pasted_abstract_excludes_its_paper(seed_bot):
    paper = next(p for p in seed_bot.papers if p.title and p.title.startswith("Rotting Bandits"))
    hits = seed_bot.similar(paper.abstract, k=5)
    assert paper.id not in [h.paper.id for h in hits] and len(hits) == 5
    by_id = seed_bot.similar(paper.id, k=5)
    assert [h.paper.id for h in by_id] == [h.paper.id for h in hits]


def test_similar_to_free_text(seed_bot):
    hits = seed_bot.similar("agents that learn to talk with humans in a 3D playroom", k=3)
    assert any("Interactive" in t for t in _titles(hits))


@pytest.mark.parametrize(("call", "message"), [
    (lambda b: b.ask(""), "empty"),
    (lambda b: b.ask("   \n\t "), "empty"),
    (lambda b: b.search("\x00\x01\x02"), "empty"),
    (lambda b: b.ask("word " * 3000), "limit is 2,000"),
    (lambda b: b.search("relational", k=0), "k must be"),
    (lambda b: b.similar(""), "reference is empty"),
])
def test_bad_queries_get_a_message(seed_bot, call, message):
    with pytest.raises(QueryError, match=message):
        call(seed_bot)


def test_unicode_and_control_characters_are_fine(seed_bot):
    hits = seed_bot.search("réseaux de neurones relationnels 🤖\x07", k=2)
    assert len(hits) == 2


def test_get_by_any_reference(seed_bot):
    assert seed_bot.get("arXiv:2403.05530").id == "2403.05530"
    assert seed_bot.get("ROTTING BANDITS").title == "Rotting Bandits"
    assert seed_bot.get("no such paper") is None


def test_exact_terms_lift_the_ranking(seed_bot):
    """BM25 fusion: a rare exact term finds its paper even in an otherwise vague query."""
    hits = seed_bot.search("D4PG", k=3)
    mentions = [p for p in seed_bot.papers if "D4PG" in f"{p.title} {p.abstract}"]
    assert len(mentions) == 2
    assert {h.paper.id for h in hits[:2]} == {p.id for p in mentions}


def test_relevance_is_a_cosine_and_score_adds_lexical_evidence(seed_bot):
    for hit in seed_bot.search("relational reasoning", k=5):
        assert -1.0 <= hit.relevance <= 1.0
        assert hit.score >= hit.relevance - 1e-4  # BM25 only ever adds to the ranking score


def test_hubness_is_each_papers_mean_cosine_to_its_neighbours(seed_bot):
    import numpy as np

    library = seed_bot.library
    vectors = library.doc_index.vectors(np.arange(len(library.papers)))
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.sort(sims, axis=1)[:, -10:].mean(axis=1)
    np.testing.assert_allclose(library.hubness, expected, atol=1e-4)


def test_term_cosines_compare_bm25_weight_vectors(seed_bot):
    """A paper's term-weight cosine is 1 to itself, symmetric, and the same whether the
    paper is named by its row or its text is pasted."""
    import numpy as np

    lexical = seed_bot.library.lexical
    papers = seed_bot.papers
    first, second = 0, 1
    bm25, own = lexical.similarity_of_paper(first)
    np.testing.assert_allclose(bm25, lexical.scores_of_paper(first))
    assert own.shape == (len(papers),)
    assert own[first] == pytest.approx(1.0, abs=1e-4)
    assert np.all((own >= 0) & (own <= 1 + 1e-5))
    assert own[second] == pytest.approx(lexical.similarity_of_paper(second)[1][first], abs=1e-4)
    pasted = lexical.similarity(f"{papers[first].title}. {papers[first].abstract}")[1]
    np.testing.assert_allclose(pasted, own, atol=1e-4)
    assert not lexical.similarity("zzqx unknownword")[1].any()


def test_a_titled_papers_vector_is_its_title_plus_its_mean_sentence(seed_bot):
    import numpy as np

    from bot.library.contents import document_text

    library, embedder = seed_bot.library, seed_bot.embedder
    vectors = library.doc_index.vectors(np.arange(len(library.papers)))
    titled = next(i for i, p in enumerate(library.papers) if p.title)
    untitled = next(i for i, p in enumerate(library.papers) if not p.title)
    rows = library.sentence_rows(titled)
    sentences = embedder.embed_documents([library.sentence_text(r) for r in rows])
    expected = embedder.embed_documents([library.papers[titled].title])[0] + sentences.mean(axis=0)
    np.testing.assert_allclose(vectors[titled], expected / np.linalg.norm(expected), atol=1e-5)
    # The sentence vectors themselves are kept as int8: within a code step of each value.
    np.testing.assert_allclose(library.sentence_vectors[rows.start : rows.stop], sentences,
                               atol=np.abs(sentences).max() / 127)
    whole = embedder.embed_documents([document_text(library.papers[untitled])])[0]
    np.testing.assert_allclose(vectors[untitled], whole, atol=1e-5)


def test_a_card_marks_the_quote_inside_the_escaped_abstract():
    from bot.surfaces.cards import highlighted_abstract

    abstract = "We use *stars*. The key result holds [1]. More text."
    marked = highlighted_abstract(abstract, "The key result holds [1].")
    assert marked.count("<mark>") == 1 and marked.count("</mark>") == 1
    assert "\\*stars\\*" in marked  # the rest of the abstract is escaped Markdown too
    assert highlighted_abstract(abstract, "not in it") == highlighted_abstract(abstract, "")
