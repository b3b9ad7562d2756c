"""The `onnx-int8` encoder: the model through ONNX Runtime with int8 weights, the default
(faster than torch on a CPU: README, 'How it works', and bench/throughput.py).

The ONNX file is produced here, once, from the model's weights (torch.onnx export, then
onnxruntime's dynamic quantization of the MatMul weights to int8, per output channel) and
cached by the weights' digest: nothing is downloaded. Per-channel scales keep the vectors
close to the torch model's, where per-tensor scales do not (tests/test_embeddings.py holds
the bar). Pooling matches the sentence-transformers model exactly (its 1_Pooling config,
for all-MiniLM-L6-v2 the mean of the token states), then L2 normalisation.
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
from embeddings.model_files import hidden_size, max_tokens, pool_unit, pooling_mode


class OnnxInt8Encoder(Encoder):
    """Each text runs alone through one of several single-threaded sessions in parallel.

    Dynamic quantization scales activations per input tensor, so a text batched with others
    would get a vector that depends on its neighbours. One text per run keeps every vector a
    function of its text alone (the cache, and any machine, gets the same vector), wastes no
    padding, and on two cores runs faster than batching (bench/throughput.py).

    A lone text (a query) runs on its own session that spreads one run over every core, so
    a question is answered sooner when the cores are otherwise idle.
    """

    kind = "onnx-int8"

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
        return self.cache_dir / "models" / f"{stem}-{self.weights_sha256[:16]}-int8-pc.onnx"

    @cached_property
    def dim(self) -> int:
        return hidden_size(self.model_dir)

    def _load(self) -> None:
        with self._lock:
            if self._sessions is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            path = self.path
            if not path.is_file():
                print(f"paperchat: preparing the int8 encoder from the weights of {self.name} "
                      "(once, some seconds)", file=sys.stderr)
                export_int8(self.model_dir, path)
            self._pooling = pooling_mode(self.model_dir)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            sessions: queue.SimpleQueue = queue.SimpleQueue()
            for _ in range(self.threads):
                sessions.put(ort.InferenceSession(str(path), options,
                                                  providers=["CPUExecutionProvider"]))
            query_options = ort.SessionOptions()
            query_options.intra_op_num_threads = self.threads
            query_options.inter_op_num_threads = 1
            self._query_session = ort.InferenceSession(str(path), query_options,
                                                       providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tokenizer.enable_truncation(max_tokens(self.model_dir))
            tokenizer.no_padding()
            self._tokenizer = tokenizer
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="onnx-encoder")
            self._sessions = sessions

    def _run(self, ids: list[int], *, alone: bool = False) -> np.ndarray:
        # Concurrent queries wait for the query session rather than all share its threads.
        session = self._query_session if alone else self._sessions.get()
        try:
            with self._query_lock if alone else contextlib.nullcontext():
                tokens = np.array([ids], dtype=np.int64)
                states = session.run(None, {"input_ids": tokens,
                                            "attention_mask": np.ones_like(tokens),
                                            "token_type_ids": np.zeros_like(tokens)})[0][0]
        finally:
            if not alone:
                self._sessions.put(session)
        return pool_unit(states, self._pooling)

    def _encode(self, texts: list[str]) -> np.ndarray:
        self._load()
        encodings = self._tokenizer.encode_batch(texts)
        if len(encodings) == 1:
            return self._run(encodings[0].ids, alone=True)[None, :].astype(np.float32)
        # Longest first, so the last texts to finish are short ones and both cores stay busy.
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, vector in zip(order, self._pool.map(lambda i: self._run(encodings[i].ids), order),
                             strict=True):
            out[i] = vector
        return out


def export_int8(model_dir: Path, target: Path) -> None:
    """Export the transformer to ONNX and quantize its weights to int8, written atomically.
    Only the folder is read (`local_files_only`): nothing is fetched."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_suffix(f".fp32.{os.getpid()}.tmp")
    int8 = target.with_suffix(f".int8.{os.getpid()}.tmp")
    with _quiet(), contextlib.ExitStack() as cleanup:
        cleanup.callback(fp32.unlink, missing_ok=True)
        cleanup.callback(int8.unlink, missing_ok=True)

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
                HiddenStates().eval(), (example, example, torch.zeros_like(example)), str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in
                              ["input_ids", "attention_mask", "token_type_ids",
                               "last_hidden_state"]},
                opset_version=17, dynamo=False)
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
        os.replace(int8, target)


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
