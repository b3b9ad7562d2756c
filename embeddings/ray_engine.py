"""Embedding on a Ray cluster: texts go out to worker actors through Ray Data, vectors come
back chunk by chunk as they are ready.

Each worker builds the driver's encoder from its spec, loads the model once (offline) and
runs it as the local engine does, so a text gets the same vector wherever it is embedded; a
worker whose model differs from the driver's refuses to start. The int8 ONNX encoder runs on
CPUs; the torch encoder takes one GPU a worker when the cluster has GPUs. Ray restarts a
worker that dies and retries its batch. Without an address (nor RAY_ADDRESS) a local Ray
starts with this machine's cores, a small object store and no dashboard, and stops when the
run ends. Ray is optional (`pip install 'paperchat[ray]'`) and imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from embeddings.cache import EngineError
from embeddings.encoder import Encoder, EncoderSpec
from embeddings.registry import make_encoder

OBJECT_STORE_BYTES = 256 * 1024**2  # a local Ray's shared memory; Ray spills to disk beyond it
WAVE = 100_000  # texts handed to Ray at once: bounds the object store, not the parallelism
INSTALL_HINT = "pip install 'paperchat[ray]'"


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (the extra brings Ray Data; plain `ray` lacks it)
    except ImportError:
        raise EngineError(f"the Ray engine needs Ray Data, which is not installed: "
                          f"{INSTALL_HINT}") from None
    return ray


class EncoderActor:
    """One Ray Data worker: the model loaded once, then batch after batch of texts."""

    def __init__(self, identity: str, spec: EncoderSpec):
        # A worker process is an entry point of its own: nothing in it may reach a model hub
        # (the model is read from its folder), and it serves this run only.
        os.environ["HF_HUB_OFFLINE"] = "1"
        self.embedder = make_encoder(spec)
        if self.embedder.identity != identity:
            raise EngineError(
                f"a worker's model ({self.embedder.identity[:16]}…) differs from the driver's "
                f"({identity[:16]}…): install the same paperchat on every node")
        self.embedder.warm_up()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"row": batch["row"],
                "vector": self.embedder.embed_documents([str(t) for t in batch["text"]])}


class RayEngine:
    """An `EmbeddingEngine` (see embeddings.cache) whose work runs on Ray workers."""

    label = "embedding on Ray"

    def __init__(self, embedder: Encoder, *, address: str | None = None,
                 cpus_per_worker: int = 2, workers: int | None = None,
                 actor: type = EncoderActor):
        """`address`: a running cluster ("ray://head:10001", "head:6379", "auto"); None starts
        a local Ray. `workers`: how many actors (default: as many as the cluster's CPUs or
        GPUs allow). `actor`: the worker class (a subclass may add behaviour)."""
        self.ray = import_ray()
        self.embedder = embedder
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.cpus_per_worker = max(1, cpus_per_worker)
        self.workers = workers
        self.actor = actor
        self.last_workers = 0  # how many workers the last run had, for reports

    def stream(self, texts: Sequence[str], chunk: int
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if not texts:
            return
        with self._session():
            ray = self.ray
            resources = ray.cluster_resources()
            gpus = int(resources.get("GPU", 0)) if self.embedder.kind == "torch" else 0
            cpus = max(1, int(resources.get("CPU", 1)))
            per_worker = min(self.cpus_per_worker, cpus)
            workers = self.workers or (gpus or max(1, cpus // per_worker))
            self.last_workers = workers
            settings = dict(identity=self.embedder.identity,
                            spec=self._worker_spec(per_worker, "cuda" if gpus else "cpu"))
            # Ray Data restarts a worker that dies and retries its batch (max_restarts and
            # max_task_retries default to -1 on its actor pools).
            options = dict(fn_constructor_kwargs=settings,
                           compute=ray.data.ActorPoolStrategy(size=workers),
                           num_cpus=1 if gpus else per_worker, num_gpus=1 if gpus else 0,
                           batch_size=chunk, batch_format="numpy")
            for start in range(0, len(texts), WAVE):
                yield from self._wave(texts[start : start + WAVE], start, chunk, options)

    def _worker_spec(self, threads: int, device: str) -> EncoderSpec:
        """The driver's encoder, as a worker builds it. The bundled model (no path in the
        spec) is found on each worker by its package; a cluster's nodes keep their own
        caches, where a local Ray's workers share the driver's."""
        spec = self.embedder.spec
        return replace(spec, threads=threads, device=device,
                       cache_dir=None if self.address else spec.cache_dir)

    def _wave(self, texts: Sequence[str], offset: int, chunk: int, options: dict
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import pyarrow as pa

        # One block a batch, each its own table (a slice would carry the whole wave's buffers).
        blocks = [pa.table({"row": np.arange(offset + start, offset + start + len(part),
                                             dtype=np.int64),
                            "text": pa.array(part, type=pa.string())})
                  for start in range(0, len(texts), chunk)
                  for part in [list(texts[start : start + chunk])]]
        dataset = self.ray.data.from_arrow(blocks).map_batches(self.actor, **options)
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                yield batch["row"], np.asarray(batch["vector"], dtype=np.float32)
        except Exception as exc:  # RayError, and Ray Data's own (timeouts, internal errors)
            raise EngineError(f"the Ray workers failed: {_cause(exc)}") from None

    @contextlib.contextmanager
    def _session(self) -> Iterator[None]:
        """Ray as found (a caller's session is kept), else started or joined for this run."""
        ray = self.ray
        started = not ray.is_initialized()
        if started:
            # No runtime_env: a job-level one costs fresh worker processes, slow to start;
            # the workers set HF_HUB_OFFLINE themselves before loading the model.
            common = dict(include_dashboard=False, log_to_driver=False,
                          logging_level=logging.WARNING)
            try:
                if self.address:
                    ray.init(address=self.address, **common)
                else:
                    cores = len(os.sched_getaffinity(0))
                    ray.init(address="local", num_cpus=cores,
                             object_store_memory=OBJECT_STORE_BYTES, **common)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                if not self.address:
                    raise EngineError(f"cannot start a local Ray: {_cause(exc)}") from None
                raise EngineError(
                    f"cannot reach the Ray cluster at {self.address}: {_cause(exc)} (a cluster "
                    "with token authentication needs RAY_AUTH_MODE=token here, and its "
                    "token)") from None
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the cache's bar counts what is committed
        context.print_on_execution_start = False
        # Ray Data logs its notes and a failing worker's whole traceback; the failure reaches
        # the user as an EngineError of one line, and the logs stay in Ray's session folder.
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            if started:
                ray.shutdown()


def _cause(exc: BaseException | None) -> str:
    """One line for a Ray error: Ray's messages hold the remote traceback and end with the
    remote error ("module.SomeError: message"); its wrappers may carry no message."""
    while exc is not None and not str(exc).strip():
        exc = exc.__cause__ or exc.__context__
    if exc is None:
        return "no message"
    last = [line for line in str(exc).splitlines() if line.strip()][-1]
    last = re.sub(r"\x1b\[[0-9;]*m", "", last).strip()  # Ray colours its names
    return re.sub(r"^(?:\w+\.)+(\w+: )", r"\1", last)[:300]
