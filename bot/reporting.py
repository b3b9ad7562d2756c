"""What a long build shows while it runs: a bar with rate and ETA for each counted step (the
bytes of a file read, the texts embedded), and a timed line for each step that is not
counted. One `Reporter` is handed down from the entry point: silent unless it asks (the CLI
asks for `Reporter.terminal()` when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm


class Reporter:
    def __init__(self, *, shown: bool):
        self.shown = shown

    @classmethod
    def silent(cls) -> Reporter:
        return cls(shown=False)

    @classmethod
    def terminal(cls) -> Reporter:
        """Bars and lines on stderr (tqdm's bars: the web app's progress tracks them too)."""
        return cls(shown=True)

    @contextmanager
    def reading(self, path: Path) -> Iterator[Callable[[int], None]]:
        """A bar of the bytes of a file read so far (a gzipped file counts its compressed
        bytes), so a large file shows its rate and ETA; yields the function that moves it
        to a byte count."""
        total = path.stat().st_size
        with tqdm(total=total, desc=f"reading {path.name}", unit="B", unit_scale=True,
                  unit_divisor=1024, smoothing=0.1, disable=not self.shown,
                  file=sys.stderr) as bar:
            yield lambda done: bar.update(min(done, total) - bar.n)
            bar.update(total - bar.n)

    @contextmanager
    def counting(self, total: int, label: str, unit: str = "text"
                 ) -> Iterator[Callable[[int], None]]:
        """A bar of `total` items; yields the function that moves it on by a number done.
        Its signature is the one `EmbeddingCache.embed` takes for its bar."""
        with tqdm(total=total, desc=label, unit=unit, smoothing=0.1,
                  disable=not self.shown) as bar:
            yield bar.update

    def say(self, message: str) -> None:
        """A line on stderr, when shown."""
        if self.shown:
            print(message, file=sys.stderr, flush=True)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        """'message … 12.3 s' on stderr around an uncounted step."""
        if not self.shown:
            yield
            return
        print(f"{message} …", end="", file=sys.stderr, flush=True)
        started = time.perf_counter()
        yield
        print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


SILENT = Reporter.silent()
