"""Many users at once: concurrent askers and searchers against a served paperchat.

    python bench/load.py [--users 50] [--seconds 60] [--index DIR] [--out bench/results]
                         [--slow-llm-users 2 [--llm-timeout 3]]

Starts `paperchat serve` on a free 127.0.0.1 port in its own process (the seed corpus, or
the library in --index), then runs N simulated users for the given time. Each user loops:
an `ask` or a `search` (alternating, random questions from a fixed list) through Gradio's
HTTP API (`POST /gradio_api/call/<name>`, then the event stream of its result), a short
random pause, again. Every loop is bounded by the deadline and by a request cap; requests
go to 127.0.0.1 only.

Reports requests, errors, p50/p95/max latency, and the server's resident memory sampled
every second (start, peak, end, and the growth over the second half: memory is stable when
that stays near zero). Prints a table and writes load.json.

With --slow-llm-users, the server's language model is a stub on 127.0.0.1 that answers the
users at once, and besides them that many users ask questions it answers one piece a second,
without end. The run is made twice, without and with those users, and prints both: the
others' latencies should not change much, the slow users' asks end at --llm-timeout with
the quoted answer (their latency is a row of its own), and no chat worker stays held.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.latency import QUESTIONS  # noqa: E402
from bench.machine import describe  # noqa: E402

MAX_REQUESTS_PER_USER = 10_000  # a bound besides the deadline
# A question carrying this word makes the stub language model drip its answer for ever.
SLOW_WORD = "dawdling"
SLOW = "slow-llm ask"


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"ask": [], "search": [], SLOW: []})
    errors: list[str] = field(default_factory=list)


async def call(client: httpx.AsyncClient, name: str, data: list) -> object:
    """One call through Gradio's HTTP API: start it, then read its result from the stream."""
    started = await client.post(f"/gradio_api/call/{name}", json={"data": data})
    started.raise_for_status()
    event_id = started.json()["event_id"]
    event = None
    async with client.stream("GET", f"/gradio_api/call/{name}/{event_id}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = line.split(":", 1)[1].strip()
                if event == "error":
                    raise RuntimeError(f"{name}: {payload[:200]}")
                return json.loads(payload)[0]
    raise RuntimeError(f"{name}: the stream ended without a result")


async def user(base: str, number: int, deadline: float, tally: Tally, max_requests: int,
               auth: tuple[str, str] | None = None, slow: bool = False) -> None:
    """A user asking and searching in turn; a slow one only asks, questions the stub language
    model never finishes answering."""
    rng = random.Random(number)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        if auth:
            await client.post("/login", data={"username": auth[0], "password": auth[1]})
        for request in range(max_requests):
            if time.monotonic() >= deadline:
                return
            name = "ask" if slow or (number + request) % 2 == 0 else "search"
            question = rng.choice(QUESTIONS) + (f" ({SLOW_WORD})" if slow else "")
            started = time.perf_counter()
            try:
                # Gradio's HTTP API takes every input: ask's history too (none: one question).
                data = [question, 5, None] if name == "ask" else [question, 5]
                result = await call(client, name, data)
                if name == "ask":
                    assert "text" in result and "citations" in result, result
                else:
                    assert isinstance(result, list) and result, result
            except Exception as exc:  # noqa: BLE001 -- every failure is counted, none stops a user
                tally.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            else:
                tally.latencies[SLOW if slow else name].append(time.perf_counter() - started)
            await asyncio.sleep(rng.uniform(0, 0.2))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run_load(base: str, users: int, seconds: float, server_pid: int | None = None,
                   max_requests: int = MAX_REQUESTS_PER_USER,
                   auth: tuple[str, str] | None = None, slow_users: int = 0) -> dict:
    tally = Tally()
    memory: list[tuple[float, float]] = []
    started = time.monotonic()
    deadline = started + seconds

    async def sample_memory() -> None:
        while time.monotonic() < deadline:
            if server_pid:
                memory.append((round(time.monotonic() - started, 1), rss_mb(server_pid)))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_memory())
    await asyncio.gather(*(user(base, n, deadline, tally, max_requests, auth)
                           for n in range(users)),
                         *(user(base, users + n, deadline, tally, max_requests, auth, slow=True)
                           for n in range(slow_users)))
    elapsed = time.monotonic() - started
    sampler.cancel()
    return summarise(tally, users, elapsed, memory)


def summarise(tally: Tally, users: int, elapsed: float, memory) -> dict:
    def stats(values: list[float]) -> dict:
        if not values:
            return {"count": 0}
        ms = np.array(values) * 1000
        return {"count": len(values), "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p95_ms": round(float(np.percentile(ms, 95)), 1),
                "max_ms": round(float(ms.max()), 1)}

    every = tally.latencies["ask"] + tally.latencies["search"]  # the slow users' are apart
    result = {"users": users, "seconds": round(elapsed, 1),
              "requests": len(every) + len(tally.errors), "errors": len(tally.errors),
              "error_samples": tally.errors[:5], "requests_per_s": round(len(every) / elapsed, 1),
              "all": stats(every), "ask": stats(tally.latencies["ask"]),
              "search": stats(tally.latencies["search"]), SLOW: stats(tally.latencies[SLOW])}
    if memory:
        values = [mb for _, mb in memory]
        half = [mb for t, mb in memory if t >= memory[-1][0] / 2]
        result["memory_mb"] = {"start": round(values[0]), "peak": round(max(values)),
                               "end": round(values[-1]),
                               "growth_second_half": round(half[-1] - half[0], 1),
                               "samples": memory}
    return result


class StubLanguageModel:
    """An OpenAI-style chat server on 127.0.0.1: a short cited answer at once, or, for a
    question with SLOW_WORD, one piece a second until the client gives up."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                slow = SLOW_WORD.encode() in body
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    while slow:
                        self._piece("slowly ")
                        time.sleep(1)
                    self._piece("The first paper answers it [1].")
                    self.wfile.write(b"data: [DONE]\n\n")
                except OSError:  # the client gave up, as it should
                    pass

            def _piece(self, text: str) -> None:
                chunk = {"choices": [{"index": 0, "delta": {"content": text}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(index: Path, port: int, llm: dict[str, str] | None = None) -> subprocess.Popen:
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    env |= {f"PAPERCHAT_LLM__{name.upper()}": value for name, value in (llm or {}).items()}
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--index", str(index),
                             "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_up(base: str, process: subprocess.Popen, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/config", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--index", type=Path, help="a built library (default: the seed one)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--slow-llm-users", type=int, default=0,
                        help="users whose questions a stub language model never finishes")
    parser.add_argument("--llm-timeout", type=float, default=3,
                        help="the server's --llm-timeout with --slow-llm-users (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paperchat-load-") as folder:
        index = args.index or build_seed_library(Path(folder) / "library")
        if not args.slow_llm_users:
            results = {"load": measure(index, args.users, args.seconds)}  # as before
        else:
            stub = StubLanguageModel()
            llm = {"url": stub.url, "timeout": str(args.llm_timeout)}
            try:
                results = {"without slow-llm users": measure(index, args.users, args.seconds,
                                                             llm=llm),
                           f"with {args.slow_llm_users} slow-llm users": measure(
                               index, args.users, args.seconds, llm=llm,
                               slow_users=args.slow_llm_users)}
            finally:
                stub.close()
    machine = describe()
    for title, result in results.items():
        report(title, result, machine)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.slow_llm_users:
        written = {"machine": machine, "llm_timeout_s": args.llm_timeout, **results}
        (args.out / "load-slow-llm.json").write_text(json.dumps(written, indent=2))
    else:
        (args.out / "load.json").write_text(json.dumps({**results["load"], "machine": machine},
                                                       indent=2))
    return 1 if any(r["errors"] for r in results.values()) else 0


def build_seed_library(index: Path) -> Path:
    """The bundled corpus's library: serving never builds one in a folder it is given."""
    from bot.paperbot import SEED_DIR

    subprocess.run([sys.executable, "-m", "bot", "ingest", str(SEED_DIR), "--index", str(index)],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return index


def measure(index: Path, users: int, seconds: float, llm: dict[str, str] | None = None,
            slow_users: int = 0) -> dict:
    """One run against a server of its own."""
    from bot.surfaces.web import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(index, port, llm)
    try:
        wait_until_up(base, server)
        return asyncio.run(run_load(base, users, seconds, server.pid, slow_users=slow_users))
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(title: str, result: dict, machine: dict) -> None:
    memory = result.get("memory_mb", {})
    print(f"\n{title}: {result['users']} users for {result['seconds']:.0f} s against 127.0.0.1 "
          f"({machine['cpu']}, {machine['cores']} cores)")
    print("| | requests | errors | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
    for name in ("ask", "search", "all", SLOW):
        s = result[name]
        if name == SLOW and not s["count"]:
            continue
        errors = result["errors"] if name == "all" else ""
        print(f"| {name} | {s['count']:,} | {errors} | {s.get('p50_ms', '')} | "
              f"{s.get('p95_ms', '')} | {s.get('max_ms', '')} |")
    print(f"{result['requests_per_s']} requests/s; server memory {memory.get('start')} MB at "
          f"start, peak {memory.get('peak')} MB, end {memory.get('end')} MB "
          f"({memory.get('growth_second_half')} MB over the second half)")
    for sample in result["error_samples"]:
        print("error:", sample)


if __name__ == "__main__":
    raise SystemExit(main())
