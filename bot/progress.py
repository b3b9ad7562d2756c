"""What a long build shows on the terminal: a bar with rate and ETA for each counted step,
and a line for each step that is not counted. Silent unless asked (the CLI asks when stderr
is a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm


@contextmanager
def reading(path: Path, *, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A bar of the bytes of a file read so far (a gzipped file counts its compressed bytes),
    so a large file shows its rate and ETA; yields the function that moves it."""
    total = path.stat().st_size
    with tqdm(total=total, desc=f"reading {path.name}", unit="B", unit_scale=True,
              unit_divisor=1024, smoothing=0.1, disable=not enabled, file=sys.stderr) as bar:
        yield lambda done: bar.update(min(done, total) - bar.n)
        bar.update(total - bar.n)


@contextmanager
def step(message: str, *, enabled: bool) -> Iterator[None]:
    """'message … 12.3 s' on stderr around an uncounted step."""
    if not enabled:
        yield
        return
    print(f"{message} …", end="", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
