"""The `onnx-int8` encoder: the model through ONNX Runtime with int8 weights, the default
(faster than torch on a CPU: README, 'How it works', and bench/throughput.py).

The ONNX file is produced here, once, from the model's weights (torch.onnx export, then
every weight MatMul rewritten to int8 with a scale per weight column and a scale per token
of its input: embeddings/int8_graph.py) and cached by the weights' digest: nothing is
downloaded. The scales keep the vectors close to the torch model's (tests/test_embeddings.py
holds the bar) and make a text's vector independent of the texts batched with it, so texts
of similar length can be batched. Pooling matches the sentence-transformers model exactly
(its 1_Pooling config, for all-MiniLM-L6-v2 the mean of the token states), then L2
normalisation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder, EncoderSpec
from embeddings.int8_graph import SESSION_OPTIMIZATION, quantize_per_token
from embeddings.model_files import hidden_size, max_tokens, pool_unit, pooling_mode

# Texts are batched by length: each batch at most this many texts, and (padding included)
# at most BATCH_TOKENS tokens, so long texts go in small batches. Chosen with
# bench/throughput.py --encoder-only (README, "How it works").
BATCH_TEXTS = 32
BATCH_TOKENS = 2048


class OnnxInt8Encoder(Encoder):
    """Texts of similar length batched together, the batches run side by side on several
    single-threaded sessions.

    Every activation is quantized with its own token's scale (embeddings/int8_graph.py), so
    a text's vector is the same alone or in any batch (tests/test_embeddings.py); sorting by
    length keeps the padding, which costs work but changes nothing, small.

    A lone text (a query) runs on its own session that spreads one run over every core, so
    a question is answered sooner when the cores are otherwise idle.
    """

    kind = "onnx-int8"
    # What changed since the vectors of an earlier version of this encoder, which the
    # embedding cache keeps under another identity and a library build does not reuse.
    revision = "per-token"
    revision_note = ("the int8 encoder now scales each token's activations on their own, "
                     "so a text's vector no longer depends on the texts embedded with it")

    def __init__(self, spec: EncoderSpec):
        super().__init__(spec)
        self.threads = spec.threads or len(os.sched_getaffinity(0))
        self._sessions: queue.SimpleQueue | None = None
        self._query_session = None
        self._query_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._tokenizer = None
        self._pooling = "mean"

    @property
    def path(self) -> Path:
        """The exported model, named by the model and its weights: another model, or other
        weights, gets a file of its own."""
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", self.name.rsplit("/", 1)[-1]).strip("-.")
        return self.cache_dir / "models" / f"{stem}-{self.weights_sha256[:16]}-int8-pt.onnx"

    @cached_property
    def dim(self) -> int:
        return hidden_size(self.model_dir)

    def _load(self) -> None:
        with self._lock:
            if self._sessions is not None:
                return
            from tokenizers import Tokenizer

            path = self.path
            if not path.is_file():
                print(f"paperchat: preparing the int8 encoder from the weights of {self.name} "
                      "(once, some seconds)", file=sys.stderr)
                export_int8(self.model_dir, path)
            self._pooling = pooling_mode(self.model_dir)
            sessions: queue.SimpleQueue = queue.SimpleQueue()
            for _ in range(self.threads):
                sessions.put(open_session(path, threads=1))
            self._query_session = open_session(path, threads=self.threads)
            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tokenizer.enable_truncation(max_tokens(self.model_dir))
            tokenizer.no_padding()
            self._tokenizer = tokenizer
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="onnx-encoder")
            self._sessions = sessions

    def _run(self, batch: list[list[int]], *, alone: bool = False) -> np.ndarray:
        """The unit vectors of a batch of token id lists, padded to the longest."""
        # Concurrent queries wait for the query session rather than all share its threads.
        session = self._query_session if alone else self._sessions.get()
        try:
            with self._query_lock if alone else contextlib.nullcontext():
                return run_batch(session, batch, self._pooling)
        finally:
            if not alone:
                self._sessions.put(session)

    def _encode(self, texts: list[str]) -> np.ndarray:
        self._load()
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]
        if len(ids) == 1:
            return self._run(ids, alone=True)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = length_batches([len(i) for i in ids])
        runs = self._pool.map(lambda rows: self._run([ids[r] for r in rows]), batches)
        for rows, vectors in zip(batches, runs, strict=True):
            out[rows] = vectors
        return out


def length_batches(lengths: list[int], *, most_texts: int = BATCH_TEXTS,
                   most_tokens: int = BATCH_TOKENS) -> list[list[int]]:
    """Positions grouped into batches of similar length, longest batches first (so the
    last to finish are short ones and every session stays busy to the end)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        batch = batches[-1] if batches else None
        # Sorted longest first, so the batch's first text sets its padded length.
        if (batch is None or len(batch) == most_texts
                or lengths[batch[0]] * (len(batch) + 1) > most_tokens):
            batches.append([i])
        else:
            batch.append(i)
    return batches


def run_batch(session, batch: list[list[int]], pooling: str) -> np.ndarray:
    """One session run over token id lists padded to the longest: their unit vectors, each
    pooled over its own tokens only."""
    longest = max(len(ids) for ids in batch)
    tokens = np.zeros((len(batch), longest), dtype=np.int64)
    mask = np.zeros_like(tokens)
    for row, ids in enumerate(batch):
        tokens[row, :len(ids)] = ids
        mask[row, :len(ids)] = 1
    states = session.run(None, {"input_ids": tokens, "attention_mask": mask,
                                "token_type_ids": np.zeros_like(tokens)})[0]
    return np.stack([pool_unit(states[row, :len(ids)], pooling)
                     for row, ids in enumerate(batch)]).astype(np.float32)


def open_session(path: Path, *, threads: int, optimization: str | None = None):
    """An ONNX Runtime session over the int8 model, at the graph optimization level that
    keeps per-token scales right (int8_graph.SESSION_OPTIMIZATION)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = getattr(
        ort.GraphOptimizationLevel, optimization or SESSION_OPTIMIZATION)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_int8(model_dir: Path, target: Path) -> None:
    """Export the transformer to ONNX and rewrite its MatMuls to int8, written atomically.
    Only the folder is read (`local_files_only`): nothing is fetched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_suffix(f".fp32.{os.getpid()}.tmp")
    int8 = target.with_suffix(f".int8.{os.getpid()}.tmp")
    with _quiet(), contextlib.ExitStack() as cleanup:
        cleanup.callback(fp32.unlink, missing_ok=True)
        cleanup.callback(int8.unlink, missing_ok=True)
        export_fp32(model_dir, fp32)
        quantize_per_token(fp32, int8)
        os.replace(int8, target)


def export_fp32(model_dir: Path, target: Path) -> None:
    """The transformer's token states as a float32 ONNX graph, batch and length dynamic."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    class HiddenStates(torch.nn.Module):  # keyword arguments: positional order varies
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True)

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    example = torch.ones((2, 16), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            HiddenStates().eval(), (example, example, torch.zeros_like(example)), str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in
                          ["input_ids", "attention_mask", "token_type_ids",
                           "last_hidden_state"]},
            opset_version=17, dynamo=False)


@contextlib.contextmanager
def _quiet():
    """The exporter and the quantizer warn about things that don't apply to this model, and
    the quantizer configures the root logger; keep the user's console and logging as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.addHandler(logging.NullHandler())  # so logging.warning() can't add a console handler
    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)
            root.handlers[:] = handlers
            root.setLevel(level)
