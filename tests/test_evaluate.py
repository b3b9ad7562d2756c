"""`paperchat eval`: metrics as BEIR computes them, on a small real slice of SciFact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.surfaces.cli import main
from bot.surfaces.evaluate import EvalError, evaluate, score_run

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "scifact"


def test_metrics_of_known_rankings():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
    perfect = {"q1": {"a": 3.0, "x": 2.0}, "q2": {"b": 3.0, "c": 2.0, "x": 1.0}}
    assert score_run(qrels, perfect, ["ndcg_cut_10", "recall_10", "mrr_10"]) == {
        "ndcg_cut_10": 1.0, "recall_10": 1.0, "mrr_10": 1.0}
    second = {"q1": {"x": 2.0, "a": 1.0}, "q2": {}}
    scores = score_run(qrels, second, ["recall_10", "mrr_10"])
    assert scores == {"recall_10": 0.5, "mrr_10": 0.25}  # q2 found nothing, counted as 0


@pytest.fixture(scope="module")
def mini_scifact(tmp_path_factory):
    """15 real SciFact claims, their relevant abstracts and 60 others, in the BEIR layout."""
    if not SCIFACT.exists():
        pytest.skip("../shared is not beside this checkout")
    folder = tmp_path_factory.mktemp("mini-scifact")
    (folder / "qrels").mkdir()
    lines = (SCIFACT / "qrels" / "train.tsv").read_text().splitlines()
    pairs = [line.split("\t") for line in lines[1:]]
    queries = list(dict.fromkeys(q for q, _, _ in pairs))[:15]
    judged = [p for p in pairs if p[0] in queries]
    (folder / "qrels" / "train.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "\n".join("\t".join(p) for p in judged) + "\n")
    relevant = {d for _, d, _ in judged}
    kept = []
    with (SCIFACT / "corpus.jsonl").open() as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["_id"] in relevant or len(kept) < 60 + len(relevant):
                kept.append(line.strip())
    (folder / "corpus.jsonl").write_text("\n".join(kept) + "\n")
    with (SCIFACT / "queries.jsonl").open() as fh:
        wanted = [line.strip() for line in fh if json.loads(line)["_id"] in queries]
    (folder / "queries.jsonl").write_text("\n".join(wanted) + "\n")
    return folder


def test_search_task_through_the_product_path(mini_scifact, tmp_path, embedder):
    result = evaluate(mini_scifact, split="train", index_dir=tmp_path / "lib")
    assert result.queries == 15 and result.task == "search"
    assert set(result.metrics) == {"ndcg_cut_10", "recall_10", "recall_100", "mrr_10"}
    assert result.metrics["ndcg_cut_10"] > 0.6  # a small corpus: the right abstract ranks high
    assert result.metrics["recall_100"] == 1.0  # every paper is within the top 100


def test_second_run_only_queries(mini_scifact, tmp_path, monkeypatch, embedder):
    evaluate(mini_scifact, index_dir=tmp_path / "lib")

    def no_embedding(*_, **__):
        raise AssertionError("the cached library was re-embedded")

    monkeypatch.setattr(embedder, "embed_documents", no_embedding)
    result = evaluate(mini_scifact, index_dir=tmp_path / "lib")
    assert result.queries == 15


def test_similar_task_and_cli_json(mini_scifact, tmp_path, capsys):
    lines = (mini_scifact / "qrels" / "train.tsv").read_text().splitlines()
    corpus_ids = [json.loads(x)["_id"] for x in (mini_scifact / "corpus.jsonl").open()]
    (mini_scifact / "qrels" / "dev.tsv").write_text(
        lines[0] + "\n" + "\n".join(f"{a}\t{b}\t1" for a, b in
                                    zip(corpus_ids[:5], corpus_ids[5:10], strict=True)))
    code = main(["eval", str(mini_scifact), "--split", "dev", "--task", "similar", "--json",
                 "--index", str(tmp_path / "lib")])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["task"] == "similar" and result["queries"] == 5
    assert set(result["metrics"]) == {"recall_10", "ndcg_cut_10"}


def test_missing_pieces_are_clear_errors(tmp_path, capsys):
    with pytest.raises(EvalError, match="no corpus.jsonl"):
        evaluate(tmp_path)
    (tmp_path / "corpus.jsonl").write_text('{"_id": "1", "text": "x"}\n')
    with pytest.raises(EvalError, match="qrels"):
        evaluate(tmp_path, split="test")
    assert main(["eval", str(tmp_path / "nowhere")]) == 1
    assert "no corpus.jsonl" in capsys.readouterr().err
