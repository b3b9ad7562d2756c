"""Process-wide settings that only a run of its own (the CLI, `evaluate`, a bench script)
may change: library code runs in servers and notebooks whose process is not its own."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, then freeze what survived it.

    Loading or ingesting a large library allocates millions of objects (papers, their lists
    and strings) that form no cycles; each allocation burst set the collector off again,
    every pass walking all that was made so far (README, "At 75k papers"; `bench/scale.py`).
    Freezing the survivors afterwards keeps later collections, during queries, from walking
    them too. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
