"""Similar by aspect: sentence roles, similar(aspect=...), the CLI flag, and CSFCube's
measures (checked against rank_metrics' own examples, and on real pools when present)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import csfcube
from bot import PaperBot, QueryError
from bot.library.roles import Role, role_scores, roles_of
from bot.retrieve.aspects import AspectQuery
from bot.surfaces.cli import main

CSFCUBE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "csfcube"
SYNTHETIC_RETURNS = "Synthetic Returns for Long-Term Credit Assignment"


def sentences_of(bot: PaperBot, paper_id: str) -> list[str]:
    library = bot.library
    return [library.sentence_text(s) for s in library.sentence_rows(library.row_of[paper_id])]


def role_of(bot: PaperBot, title: str, opening: str) -> Role:
    sentences = sentences_of(bot, bot.get(title).id)
    (position,) = [i for i, s in enumerate(sentences) if s.startswith(opening)]
    return roles_of(sentences)[position]


# -- roles ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "opening", "role"), [
    (SYNTHETIC_RETURNS, "Since the earliest days of reinforcement learning", Role.BACKGROUND),
    (SYNTHETIC_RETURNS, "We propose state-associative (SA) learning", Role.METHOD),
    (SYNTHETIC_RETURNS, "Finally, we show that our IMPALA-based SR agent", Role.RESULT),
    ("Neural Rate Control for Video Encoding using Imitation Learning",
     "In modern video encoders, rate control is a critical component", Role.BACKGROUND),
    ("Neural Rate Control for Video Encoding using Imitation Learning",
     "We formulate the rate control problem as a Partially Observable", Role.METHOD),
    ("Neural Rate Control for Video Encoding using Imitation Learning",
     "We show that over a diverse set of real-world videos", Role.RESULT),
])
def test_seed_sentences_get_the_role_a_reader_gives_them(seed_bot, title, opening, role):
    assert role_of(seed_bot, title, opening) == role


def test_roles_of_no_sentences_and_of_one():
    assert roles_of([]) == [] and role_scores([]).shape == (0, 3)
    assert roles_of(["Our method outperforms all baselines by 12% on three benchmarks."]) == [
        Role.RESULT]


def test_strong_cue_phrases_outweigh_a_sentence_s_place():
    """A result stated first, and a method stated last, keep their roles; a sentence with
    weak cues goes by its place."""
    sentences = ["Experiments show that our approach outperforms the state of the art by 4%.",
                 "We train a transformer on the collected corpus.",
                 "We propose a new attention layer based on sparse kernels."]
    assert roles_of(sentences) == [Role.RESULT, Role.METHOD, Role.METHOD]
    assert roles_of(["Speech is hard.", "Here it is studied.", "It remains hard."]) == [
        Role.BACKGROUND, Role.METHOD, Role.RESULT]


# -- similar(aspect=...) --------------------------------------------------------------------

def test_no_aspect_is_the_whole_text_ranking_as_before(seed_bot):
    plain = seed_bot.similar(SYNTHETIC_RETURNS, k=5)
    assert seed_bot.similar(SYNTHETIC_RETURNS, k=5, aspect=None) == plain
    library = seed_bot.library
    row = library.row_of[seed_bot.get(SYNTHETIC_RETURNS).id]
    lexical, terms = library.lexical.similarity_of_paper(row)
    whole = seed_bot.retriever.rank_similar(
        library.doc_index.vectors(np.array([row]))[0], 5, lexical=lexical,
        term_cosines=terms, exclude_rows=frozenset({row}))
    assert plain == whole and all(h.evidence is None for h in plain)


@pytest.mark.parametrize("aspect", ["background", "method", "result"])
def test_an_aspect_ranks_by_sentences_of_its_role_and_quotes_the_one_that_matched(
        seed_bot, aspect):
    reference = seed_bot.get(SYNTHETIC_RETURNS)
    hits = seed_bot.similar(SYNTHETIC_RETURNS, k=8, aspect=aspect)
    assert len(hits) == 8 and reference.id not in {h.paper.id for h in hits}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    quoted_of_role = 0
    for hit in hits:
        sentences = sentences_of(seed_bot, hit.paper.id)
        assert hit.evidence in sentences
        roles = roles_of(sentences)
        if Role(aspect) in roles:  # a paper with sentences of the role is quoted by one
            assert roles[sentences.index(hit.evidence)] == Role(aspect)
            quoted_of_role += 1
    assert quoted_of_role >= 6


def test_the_method_list_differs_from_the_whole_text_list_in_what_it_weighs(seed_bot):
    """The whole-text list and the method list share papers but not their order: the
    method list is led by the papers whose method sentences come closest to the
    reference's, which the whole-text list ranks lower."""
    whole = [h.paper.id for h in seed_bot.similar(SYNTHETIC_RETURNS, k=10)]
    method = seed_bot.similar(SYNTHETIC_RETURNS, k=10, aspect="method")
    assert [h.paper.id for h in method] != whole
    assert {h.paper.id for h in method} & set(whole)
    # Relevance is the aspect similarity: the list is ranked mainly by it.
    relevance = [h.relevance for h in method]
    assert relevance[0] >= np.median(relevance)
    query = AspectQuery.of_paper(seed_bot.retriever.roles,
                                 seed_bot.library.row_of[seed_bot.get(SYNTHETIC_RETURNS).id],
                                 Role.METHOD)
    assert len(query.vectors) == 5  # its sentences 2 to 6, in the roles given above


def test_aspects_rank_differently_from_each_other(seed_bot):
    lists = {aspect: [h.paper.id for h in seed_bot.similar(SYNTHETIC_RETURNS, k=5,
                                                          aspect=aspect)]
             for aspect in ("background", "method", "result")}
    assert len({tuple(v) for v in lists.values()}) == 3


def test_pasted_text_by_aspect(seed_bot):
    text = ("Reinforcement learning agents struggle when rewards come long after the actions "
            "that earned them. We propose learning which past states predict future rewards "
            "and assigning credit to them directly. We show that agents trained this way "
            "solve tasks with long reward delays many times faster.")
    hits = seed_bot.similar(text, k=3, aspect="method")
    assert len(hits) == 3 and all(h.evidence for h in hits)
    assert seed_bot.similar(text, k=3, aspect="Method")[0].paper.id == hits[0].paper.id


def test_an_unknown_aspect_is_refused_by_name(seed_bot):
    with pytest.raises(QueryError, match="background, method, result"):
        seed_bot.similar(SYNTHETIC_RETURNS, aspect="novelty")


def test_among_re_ranks_just_those_papers(seed_bot):
    pool = [p.id for p in seed_bot.papers[:12]]
    reference = seed_bot.papers[0].id
    for aspect in (None, "result"):
        hits = seed_bot.similar(reference, k=len(pool), aspect=aspect, among=pool)
        assert sorted(h.paper.id for h in hits) == sorted(set(pool) - {reference})


def test_cli_similar_by_aspect(capsys, seed_library_dir):
    code = main(["similar", SYNTHETIC_RETURNS, "--aspect", "method", "-k", "3", "--json",
                 "--index", str(seed_library_dir)])
    hits = json.loads(capsys.readouterr().out)
    assert code == 0 and len(hits) == 3 and all(h["evidence"] for h in hits)
    with pytest.raises(SystemExit):
        main(["similar", SYNTHETIC_RETURNS, "--aspect", "novelty"])
    assert "invalid choice" in capsys.readouterr().err


# -- CSFCube's measures ---------------------------------------------------------------------

def test_ndcg_and_average_precision_match_rank_metrics_examples():
    """The examples in CSFCube's eval_scripts/rank_metrics.py docstrings (method 0)."""
    assert csfcube.dcg_at_k([3, 2, 3, 0, 0, 1, 2, 2, 3, 0], 1) == 3.0
    assert csfcube.dcg_at_k([3, 2, 3, 0, 0, 1, 2, 2, 3, 0], 2) == 5.0
    assert csfcube.dcg_at_k([3, 2, 3, 0, 0, 1, 2, 2, 3, 0], 10) == pytest.approx(
        9.6051177391888114)
    assert csfcube.ndcg_at_k([2, 1, 2, 0], 4) == pytest.approx(0.9203032077642922)
    assert csfcube.ndcg_at_k([0], 1) == 0.0 and csfcube.ndcg_at_k([1], 2) == 1.0
    assert csfcube.average_precision([1, 1, 0, 1, 0, 1, 0, 0, 0, 1]) == pytest.approx(
        0.7833333333333333)


def test_a_ranking_scores_on_the_top_fifth_of_its_pool():
    pool = csfcube.Pool("method", "q", tuple("abcdefghij"), (0, 3, 0, 0, 0, 0, 0, 0, 2, 0))
    best = csfcube.evaluate(lambda p: ["b", "i", *"acdefghj"], [pool])
    worst = csfcube.evaluate(lambda p: [*"acdefghj", "i", "b"], [pool])
    assert best["method"]["ndcg%20"] == pytest.approx(100.0)
    assert worst["method"]["ndcg%20"] == 0.0 and best["mean"]["map"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="not the pool"):
        csfcube.evaluate(lambda p: ["b", "i"], [pool])


@pytest.mark.skipif(not CSFCUBE.is_dir(), reason="no ../shared/eval/csfcube")
def test_csfcube_pools_re_ranked_by_aspect(tmp_path, embedder):
    """Two dev pools, in a library of their papers only: the query never ranked, every
    candidate ranked once, and the aspect ranking of the result pool at least as good as
    the whole-text one (on the whole corpus: 77.5 against 63.6 NDCG%20)."""
    pools = [p for p in csfcube.read_pools(CSFCUBE / "pools-dev.json")
             if (p.facet, p.query) in {("result", "5052952"), ("result", "8781666")}]
    wanted = csfcube.pool_papers(pools)
    corpus = tmp_path / "corpus.jsonl"
    with (CSFCUBE / "corpus.jsonl").open(encoding="utf-8") as lines, corpus.open("w") as out:
        out.writelines(line for line in lines if json.loads(line)["_id"] in wanted)
    raw = json.loads((CSFCUBE / "pools-dev.json").read_text())["result"]["8781666"]
    assert "8781666" in {c for c, _ in raw}  # this pool holds its own query …
    assert all(p.query not in p.candidates for p in pools)  # … which is left out
    bot = PaperBot.from_corpus([corpus], tmp_path / "library", embedder=embedder)

    def ranker(aspect: bool) -> csfcube.Ranker:
        return lambda pool: [h.paper.id for h in bot.similar(
            pool.query, k=len(pool.candidates), among=pool.candidates,
            aspect=pool.facet if aspect else None)]

    whole, by_aspect = csfcube.evaluate(ranker(False), pools), csfcube.evaluate(ranker(True),
                                                                                pools)
    for result in (whole, by_aspect):
        assert 0 <= result["result"]["ndcg%20"] <= 100 and result["result"]["queries"] == 2
    assert by_aspect["result"]["ndcg%20"] >= whole["result"]["ndcg%20"]


def test_a_reference_without_sentences_ranks_by_its_whole_text(seed_bot):
    """A paper kept without an abstract has no sentence of any role: every candidate then
    scores alike on the aspect, and the whole text decides."""
    library = seed_bot.library
    row = library.row_of[seed_bot.get(SYNTHETIC_RETURNS).id]
    lexical, terms = library.lexical.similarity_of_paper(row)
    vector = library.doc_index.vectors(np.array([row]))[0]
    whole, without_sentences = (seed_bot.retriever.rank_similar(
        vector, 5, lexical=lexical, term_cosines=terms, exclude_rows=frozenset({row}),
        aspect=aspect) for aspect in (None, AspectQuery(Role.METHOD, np.zeros((0, 384)))))
    assert [h.paper.id for h in without_sentences] == [h.paper.id for h in whole]
    assert all(h.evidence is None for h in without_sentences)
