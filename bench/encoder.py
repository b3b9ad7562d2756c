"""The int8 encoder alone: texts a second and closeness to full precision, for the ways of
running the model side by side in one run.

    python bench/encoder.py [--papers 400] [--rounds 2] [--out bench/results]

The texts are what an ingest embeds (titles and abstract sentences) of the first papers of
../shared/corpora/arxiv-cs-75k.jsonl.gz. The ways compared:

- per-tensor, one text a run: ONNX Runtime's dynamic quantization (one activation scale per
  input tensor), each text alone on a single-threaded session per core — the encoder as it
  was before per-token scales;
- per-token, one text a run: embeddings/int8_graph.py's graph, likewise;
- per-token, batched by length: the encoder as it is (`OnnxInt8Encoder`), batches of at most
  N texts and BATCH_TOKENS tokens, for several N.

Each way's vectors are compared with the torch model's (sentence-transformers, full
precision): mean and minimum cosine. The ways alternate within a round and the order reverses
every round. Writes encoder.json.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.machine import describe  # noqa: E402
from bot.library.sentences import split_sentences  # noqa: E402
from embeddings import (  # noqa: E402
    EncoderSpec,
    make_encoder,
    onnx_int8,  # noqa: E402
)

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpora/arxiv-cs-75k.jsonl.gz"
BATCH_SIZES = (1, 8, 16, 32)


def ingest_texts(path: Path, papers: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in itertools.islice(fh, papers):
            record = json.loads(line)
            abstract = " ".join(record.get("abstract", "").split())
            texts.append(" ".join(record.get("title", "").split()))
            texts.extend(abstract[s:e] for s, e in split_sentences(abstract))
    return [t for t in texts if t]


def per_tensor_way(encoder, folder: Path):
    """The encoder before per-token scales: dynamic quantization, one text a run."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, int8 = folder / "fp32.onnx", folder / "per-tensor.onnx"
    onnx_int8.export_fp32(encoder.model_dir, fp32)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    sessions = [ort.InferenceSession(str(int8), options, providers=["CPUExecutionProvider"])
                for _ in range(encoder.threads)]
    return one_text_a_run(encoder, sessions)


def per_token_one_a_run(encoder):
    sessions = [onnx_int8.open_session(encoder.path, threads=1) for _ in range(encoder.threads)]
    return one_text_a_run(encoder, sessions)


def one_text_a_run(encoder, sessions):
    import queue

    idle: queue.SimpleQueue = queue.SimpleQueue()
    for session in sessions:
        idle.put(session)

    def run(ids):
        session = idle.get()
        try:
            return onnx_int8.run_batch(session, [ids], "mean")[0]
        finally:
            idle.put(session)

    pool = ThreadPoolExecutor(len(sessions))

    def embed(texts):
        ids = [e.ids for e in encoder._tokenizer.encode_batch(texts)]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        for i, vector in zip(order, pool.map(lambda i: run(ids[i]), order), strict=True):
            out[i] = vector
        return out
    return embed


def batched_way(encoder, size: int):
    def embed(texts):
        saved = onnx_int8.BATCH_TEXTS
        onnx_int8.BATCH_TEXTS = size
        try:
            return encoder._encode(texts)
        finally:
            onnx_int8.BATCH_TEXTS = saved
    return embed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    texts = ingest_texts(args.corpus, args.papers)
    # Longest first, as the embedding cache hands texts to the encoder.
    texts.sort(key=len, reverse=True)
    encoder = make_encoder(EncoderSpec())
    encoder._load()
    exact = make_encoder(EncoderSpec(kind="torch")).embed_documents(texts)
    with tempfile.TemporaryDirectory() as folder:
        ways = {"per-tensor, one text a run": per_tensor_way(encoder, Path(folder)),
                "per-token, one text a run": per_token_one_a_run(encoder)}
        ways |= {f"per-token, batches of ≤ {n}": batched_way(encoder, n) for n in BATCH_SIZES
                 if n > 1}
        rates: dict[str, list[float]] = {name: [] for name in ways}
        cosines: dict[str, np.ndarray] = {}
        for round_ in range(args.rounds):
            names = list(ways) if round_ % 2 == 0 else list(ways)[::-1]
            for name in names:
                started = time.perf_counter()
                vectors = ways[name](texts)
                rates[name].append(len(texts) / (time.perf_counter() - started))
                cosines[name] = (vectors * exact).sum(axis=1)
                print(f"round {round_ + 1}: {name}: {rates[name][-1]:.0f} texts/s", flush=True)
    base = "per-tensor, one text a run"
    rows = []
    for name in ways:
        rows.append({"way": name, "texts_per_s": statistics.median(rates[name]),
                     "per_round": rates[name],
                     "vs_per_tensor": statistics.median(
                         a / b for a, b in zip(rates[name], rates[base], strict=True)),
                     "cosine_mean": float(cosines[name].mean()),
                     "cosine_min": float(cosines[name].min())})
    print(f"\n{len(texts):,} texts of {args.papers} papers; {describe()}\n")
    print("| way | texts/s (median) | × per-tensor | cosine to torch: mean | min |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['way']} | {row['texts_per_s']:.0f} | {row['vs_per_tensor']:.2f} | "
              f"{row['cosine_mean']:.4f} | {row['cosine_min']:.4f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "encoder.json").write_text(json.dumps(
        {"machine": describe(), "texts": len(texts), "papers": args.papers,
         "batch_tokens": onnx_int8.BATCH_TOKENS, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
