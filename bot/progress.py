"""What a long build shows on the terminal: a bar with rate and ETA for each counted step,
and a line for each step that is not counted. Silent unless asked (the CLI asks when stderr
is a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def counted(items: Iterable[T], *, desc: str, unit: str, enabled: bool) -> Iterator[T]:
    yield from tqdm(items, desc=desc, unit=unit, smoothing=0.1, disable=not enabled,
                    file=sys.stderr)


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
