"""Papers like a set of papers (a reading list): `similar([refs])`, `references_in(file)`,
and `paperchat similar REF REF… / --bib FILE`, on the bundled corpus with the real model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot import Filters, PaperBot, QueryError, References
from bot.retrieve.sets import MAX_SET
from bot.surfaces.cli import main
from tests.helpers.mcp_session import mcp_session

SYNTHETIC_RETURNS = "Synthetic Returns for Long-Term Credit Assignment"
MODEL_FREE_PLANNING = "An investigation of model-free planning"
RELATIONAL_RNN = "Relational recurrent neural networks"
GRAPH_NETWORKS = "Relational inductive biases, deep learning, and graph networks"
GEMINI = ("Gemini 2.5: Pushing the Frontier with Advanced Reasoning, Multimodality, Long "
          "Context, and Next Generation Agentic Capabilities")

READING_LIST_BIB = f"""
@article{{returns2021,
  title = {{{SYNTHETIC_RETURNS}}},
  author = {{Raposo, David and Ritter, Sam}},
  year = {{2021}},
}}
@inproceedings{{planning2019,
  title = {{An Investigation of Model-Free Planning}},
  author = {{Guez, Arthur}},
  year = {{2019}},
}}
@article{{elsewhere2020,
  title = {{Coral Reef Resilience under Repeated Heat Waves}},
  author = {{Reef, Ada}},
  year = {{2020}},
}}
"""


def ids(hits) -> list[str]:
    return [hit.paper.id for hit in hits]


def id_of(bot: PaperBot, title: str) -> str:
    return bot.get(title).id


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


# -- similar([refs]) ---------------------------------------------------------------------------

def test_a_set_leaves_out_every_member_and_finds_papers_like_both(seed_bot):
    members = [SYNTHETIC_RETURNS, MODEL_FREE_PLANNING]
    hits = seed_bot.similar(members, k=10)
    assert len(hits) == 10
    assert not {id_of(seed_bot, t) for t in members} & set(ids(hits))
    # Two reinforcement-learning papers: their set finds reinforcement-learning papers.
    top = " ".join(f"{h.paper.title} {h.paper.abstract}" for h in hits[:3]).lower()
    assert "reinforcement learning" in top or "agent" in top
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_the_set_ranks_by_closeness_to_all_of_its_members(seed_bot):
    """Relevance is the cosine to the members' centroid: the mean of the cosines to each
    member, up to one factor."""
    library = seed_bot.library
    rows = [library.row_of[id_of(seed_bot, t)] for t in (RELATIONAL_RNN, GEMINI)]
    vectors = library.doc_index.vectors(np.array(rows))
    centroid = unit(vectors.mean(axis=0))
    for hit in seed_bot.similar([RELATIONAL_RNN, GEMINI], k=5):
        own = library.doc_index.vectors(np.array([library.row_of[hit.paper.id]]))[0]
        assert hit.relevance == pytest.approx(float(own @ centroid), abs=1e-3)
        mean_cosine = float((vectors @ own).mean())
        assert hit.relevance == pytest.approx(
            mean_cosine / np.linalg.norm(vectors.mean(axis=0)), abs=1e-3)


def test_a_set_finds_what_each_member_alone_ranks_lower(seed_bot):
    """A set of two unlike papers is not the list of either: papers near both rise."""
    pair = [RELATIONAL_RNN, GEMINI]
    together = ids(seed_bot.similar(pair, k=5))
    alone = [ids(seed_bot.similar(ref, k=5)) for ref in pair]
    assert together != alone[0] and together != alone[1]


def test_a_set_of_one_paper_is_that_paper(seed_bot):
    single = seed_bot.similar(RELATIONAL_RNN, k=8)
    as_set = seed_bot.similar([RELATIONAL_RNN], k=8)
    assert ids(as_set) == ids(single)
    assert [h.score for h in as_set] == pytest.approx([h.score for h in single], abs=1e-4)


def test_order_repeats_and_ways_of_naming_do_not_change_a_set(seed_bot):
    first = seed_bot.similar([SYNTHETIC_RETURNS, MODEL_FREE_PLANNING], k=6)
    planning_id = id_of(seed_bot, MODEL_FREE_PLANNING)
    again = seed_bot.similar((planning_id, SYNTHETIC_RETURNS.lower(), planning_id), k=6)
    assert ids(again) == ids(first)


def test_a_set_by_aspect_quotes_the_sentence_that_matched(seed_bot):
    members = [SYNTHETIC_RETURNS, MODEL_FREE_PLANNING]
    by_method = seed_bot.similar(members, k=5, aspect="method")
    assert len(by_method) == 5 and all(h.evidence for h in by_method)
    assert all(h.evidence in h.paper.abstract for h in by_method)
    assert ids(by_method) != ids(seed_bot.similar(members, k=5))
    assert not {id_of(seed_bot, t) for t in members} & set(ids(by_method))


def test_a_set_with_filters_and_among(seed_bot):
    hits = seed_bot.similar([SYNTHETIC_RETURNS, MODEL_FREE_PLANNING], k=5,
                            filters=Filters(year_from=2020))
    assert hits and all(h.paper.year >= 2020 for h in hits)
    pool = [p.id for p in seed_bot.papers[:10]]
    among = seed_bot.similar([SYNTHETIC_RETURNS, GEMINI], k=20, among=pool)
    assert set(ids(among)) <= set(pool) and among


@pytest.mark.parametrize(("refs", "words"), [
    ([], "the set of papers is empty"),
    ([SYNTHETIC_RETURNS, "A Paper Nobody Wrote About Teapots"],
     "no paper 'A Paper Nobody Wrote About Teapots' in the library"),
    ([SYNTHETIC_RETURNS, "   "], "reference is empty"),
    ([SYNTHETIC_RETURNS, 7], "reference must be text"),
    (["x"] * (MAX_SET + 1), f"a set holds at most {MAX_SET} papers"),
])
def test_a_bad_set_is_one_line_naming_the_mistake(seed_bot, refs, words):
    with pytest.raises(QueryError) as raised:
        seed_bot.similar(refs, k=5)
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_a_pasted_abstract_names_no_member_of_a_set(seed_bot):
    abstract = seed_bot.get(SYNTHETIC_RETURNS).abstract
    with pytest.raises(QueryError, match="no paper"):
        seed_bot.similar([MODEL_FREE_PLANNING, abstract], k=5)


def test_a_close_title_names_its_paper(seed_bot):
    hits = seed_bot.similar([MODEL_FREE_PLANNING, "Synthetic Return for Long Term Credit "
                                                  "Assignment"], k=5)
    assert id_of(seed_bot, SYNTHETIC_RETURNS) not in ids(hits)


# -- references_in --------------------------------------------------------------------------

def test_references_in_a_bibtex_file(seed_bot, tmp_path):
    bib = tmp_path / "reading.bib"
    bib.write_text(READING_LIST_BIB, encoding="utf-8")
    found = seed_bot.references_in(bib)
    assert isinstance(found, References) and isinstance(found, list)
    assert found.ids == [id_of(seed_bot, SYNTHETIC_RETURNS), id_of(seed_bot, MODEL_FREE_PLANNING)]
    assert found.missing == ["Coral Reef Resilience under Repeated Heat Waves"]
    assert ids(seed_bot.similar(found, k=6)) == ids(
        seed_bot.similar([SYNTHETIC_RETURNS, MODEL_FREE_PLANNING], k=6))


def test_references_in_a_csl_json_file_by_title(seed_bot, tmp_path):
    items = [{"id": "a", "type": "article-journal", "title": RELATIONAL_RNN.upper()},
             {"id": "b", "type": "article-journal", "title": GRAPH_NETWORKS}]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    found = seed_bot.references_in(path)
    assert found.ids == [id_of(seed_bot, RELATIONAL_RNN), id_of(seed_bot, GRAPH_NETWORKS)]
    assert found.missing == []


def test_a_bibliography_naming_no_library_paper_is_a_message(seed_bot, tmp_path):
    bib = tmp_path / "other.bib"
    bib.write_text("@article{x, title = {Coral Reefs}, author = {Reef, Ada}, year = 2020}\n",
                   encoding="utf-8")
    with pytest.raises(QueryError, match="none of the 1 entries of .* is a paper of this "
                                         "library"):
        seed_bot.references_in(bib)


def test_an_unreadable_bibliography_is_an_ingest_error(seed_bot, tmp_path):
    from bot import IngestError

    with pytest.raises(IngestError):
        seed_bot.references_in(tmp_path / "nothing-here.bib")


# -- the command line -----------------------------------------------------------------------

def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_paperchat_similar_with_several_refs_is_a_set(capsys, seed_library_dir, seed_bot):
    code, out, _ = run(capsys, "similar", SYNTHETIC_RETURNS, MODEL_FREE_PLANNING, "-k", "4",
                       "--json", "--index", str(seed_library_dir))
    assert code == 0
    printed = [h["paper"]["id"] for h in json.loads(out)]
    assert printed == ids(seed_bot.similar([SYNTHETIC_RETURNS, MODEL_FREE_PLANNING], k=4))


def test_paperchat_similar_bib_with_aspect(capsys, seed_library_dir, seed_bot, tmp_path):
    bib = tmp_path / "reading.bib"
    bib.write_text(READING_LIST_BIB, encoding="utf-8")
    code, out, err = run(capsys, "similar", "--bib", str(bib), "--aspect", "method", "-k", "3",
                         "--index", str(seed_library_dir))
    assert code == 0
    expected = seed_bot.similar([SYNTHETIC_RETURNS, MODEL_FREE_PLANNING], k=3, aspect="method")
    for i, hit in enumerate(expected, start=1):
        assert f"{i:>2}. " in out and f"[{hit.paper.id}]" in out
    assert "1 entry of" in err and "Coral Reef Resilience" in err


def test_paperchat_similar_bib_and_refs_together(capsys, seed_library_dir, seed_bot, tmp_path):
    bib = tmp_path / "reading.bib"
    bib.write_text(READING_LIST_BIB, encoding="utf-8")
    code, out, _ = run(capsys, "similar", GEMINI, "--bib", str(bib), "--json",
                       "--index", str(seed_library_dir))
    assert code == 0
    assert [h["paper"]["id"] for h in json.loads(out)] == ids(
        seed_bot.similar([GEMINI, SYNTHETIC_RETURNS, MODEL_FREE_PLANNING], k=5))


def test_paperchat_similar_unknown_member_is_one_line(capsys, seed_library_dir):
    code, out, err = run(capsys, "similar", SYNTHETIC_RETURNS, "No Such Paper At All",
                         "--index", str(seed_library_dir))
    assert code == 1 and out == ""
    assert err.startswith("paperchat: error: no paper 'No Such Paper At All'")
    assert err.count("\n") == 1


def test_paperchat_similar_needs_a_ref_or_a_bib(capsys, seed_library_dir):
    with pytest.raises(SystemExit) as exited:
        main(["similar", "--index", str(seed_library_dir)])
    assert exited.value.code == 2
    assert "give REF or --bib FILE" in capsys.readouterr().err


# -- the README -----------------------------------------------------------------------------

def readme_section(title: str) -> str:
    from conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]


def test_the_readmes_reading_list_example_runs(capsys, seed_library_dir, isolated_home,
                                               tmp_path, monkeypatch):
    import re
    import shutil

    from bot.settings import get_settings

    # The default library, already built from the bundled corpus: nothing to embed again.
    shutil.copytree(seed_library_dir, get_settings().library_dir)
    monkeypatch.chdir(tmp_path)
    (example,) = re.findall(r"```python\n(.*?)```", readme_section("Papers like a reading "
                                                                   "list"), flags=re.DOTALL)
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 + 2 + 2
    assert not any(SYNTHETIC_RETURNS in line or MODEL_FREE_PLANNING in line for line in out[:5])
    assert all("|" in line for line in out[3:5])
    assert out[5] == "1 found; not in the library: ['A Paper Not in This Library']"


# -- MCP and REST ---------------------------------------------------------------------------

def test_mcp_similar_papers_takes_a_set_and_an_aspect(seed_bot):
    with mcp_session(seed_bot) as session:
        schema = session.tools()["similar_papers"].input_schema["properties"]
        assert {"ref", "k", "aspect"} <= set(schema)
        assert ["background", "method", "result"] in [
            option.get("enum") for option in schema["aspect"].get("anyOf", [schema["aspect"]])]
        members = [SYNTHETIC_RETURNS, MODEL_FREE_PLANNING]
        found = session.ok("similar_papers", ref=members, k=4, aspect="method")
        expected = seed_bot.similar(members, k=4, aspect="method")
        assert [h["paper"]["id"] for h in found["hits"]] == ids(expected)
        assert [h["evidence"] for h in found["hits"]] == [h.evidence for h in expected]
        single = session.ok("similar_papers", ref=RELATIONAL_RNN, k=3)
        assert [h["paper"]["id"] for h in single["hits"]] == ids(
            seed_bot.similar(RELATIONAL_RNN, k=3))
        assert "no paper 'Teapots'" in session.error("similar_papers",
                                                     ref=[SYNTHETIC_RETURNS, "Teapots"])
        assert "the set of papers is empty" in session.error("similar_papers", ref=[])
        assert "aspect" in session.error("similar_papers", ref=RELATIONAL_RNN,
                                         aspect="colour")


def test_rest_similar_takes_several_refs_and_an_aspect(server, seed_bot):
    import httpx

    api = server + "api/v1"
    members = [SYNTHETIC_RETURNS, MODEL_FREE_PLANNING]
    reply = httpx.get(f"{api}/similar", params=[("ref", r) for r in members] + [
        ("k", 3), ("aspect", "result")], timeout=60)
    assert reply.status_code == 200, reply.text
    assert [h["paper"]["id"] for h in reply.json()] == ids(
        seed_bot.similar(members, k=3, aspect="result"))
    single = httpx.get(f"{api}/similar", params={"ref": RELATIONAL_RNN, "k": 3}, timeout=60)
    assert [h["paper"]["id"] for h in single.json()] == ids(seed_bot.similar(RELATIONAL_RNN, k=3))
    unknown = httpx.get(f"{api}/similar", params=[("ref", SYNTHETIC_RETURNS), ("ref", "Teapots")],
                        timeout=60)
    assert unknown.status_code == 400 and "no paper 'Teapots'" in unknown.json()["detail"]
    bad = httpx.get(f"{api}/similar", params={"ref": RELATIONAL_RNN, "aspect": "colour"},
                    timeout=60)
    assert bad.status_code == 422 and "aspect" in bad.json()["detail"]


def test_a_paper_is_named_by_its_title_before_the_colon(seed_bot):
    """What a person writes: "Mixture-of-Depths", not its whole title."""
    paper = seed_bot.get("mixture-of-depths")
    assert paper is not None and paper.title.startswith("Mixture-of-Depths:")
    hits = seed_bot.similar(["Mixture-of-Depths", "2403.05530"], k=3)
    assert paper.id not in {hit.paper.id for hit in hits}
    # "Gemini 1.5: …" and "Gemini 2.5: …" are not "Gemini: A Family of …"
    assert seed_bot.get("Gemini").title.startswith("Gemini: A Family")
