"""The server's login check, with a brake on guessing.

Each failed login of a user name counts against it for `WINDOW_S`; after `MAX_FAILURES`
of them every login of that name is refused until the oldest counted failure ages out, the
right password too (an attacker cannot tell a lock-out from a wrong guess). Failures of all
names together are capped as well (`MAX_FAILURES_ALL`), so guessing across many names is
braked too. Passwords are compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence

MAX_FAILURES = 5  # of one user name within WINDOW_S
MAX_FAILURES_ALL = 30  # of every name together within WINDOW_S
WINDOW_S = 300.0
log = logging.getLogger(__name__)


class LoginGuard:
    """`guard(username, password) -> bool`, the callable Gradio's `auth` takes."""

    def __init__(self, logins: Sequence[tuple[str, str]],
                 clock: Callable[[], float] = time.monotonic):
        self._passwords = {user: password.encode() for user, password in logins}
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._all_failures: deque[float] = deque()
        self._lock = threading.Lock()

    def __call__(self, username: str, password: str) -> bool:
        with self._lock:
            now = self._clock()
            mine = self._failures[username]
            for times in (mine, self._all_failures):
                while times and now - times[0] > WINDOW_S:
                    times.popleft()
            if len(mine) >= MAX_FAILURES or len(self._all_failures) >= MAX_FAILURES_ALL:
                log.warning("login refused: too many failed logins recently")
                return False
            if self._matches(username, password):
                mine.clear()
                return True
            mine.append(now)
            self._all_failures.append(now)
            if len(self._failures) > 10 * MAX_FAILURES_ALL:
                self._forget_quiet_names(now)
            return False

    def _matches(self, username: str, password: str) -> bool:
        expected = self._passwords.get(username)
        given = password.encode()
        if expected is None:  # the same work as for a known name: no timing tells names
            hmac.compare_digest(given, given)
            return False
        return hmac.compare_digest(given, expected)

    def _forget_quiet_names(self, now: float) -> None:
        """Names guessed once and never again would otherwise be kept for ever."""
        for name in [n for n, times in self._failures.items()
                     if not times or now - times[-1] > WINDOW_S]:
            del self._failures[name]
