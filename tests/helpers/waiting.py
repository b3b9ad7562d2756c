"""Waits on a condition, never on a clock."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_S = 0.05


def wait_until(predicate: Callable[[], object], timeout: float, what: str = "") -> None:
    """Return once `predicate()` is true; fail if it is still false after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate}")
        time.sleep(POLL_S)
