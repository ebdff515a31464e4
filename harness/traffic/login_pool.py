"""A bounded pool of logged-in sessions, one made on each target, handed out again where a
check's meaning allows: a journey that needs "a session made on X", not a new login.

A framework's login can cost 300 ms or more (Django's PBKDF2); the model check alone logged in
hundreds of times while Hypothesis shrank a finding. The pool holds one session per target;
one older than `max_age` is made again (so a short session life the lifetimes check names is
not seen by the others as a session lost), and so is one whose session cookie changed since its
login (another target answered it with a session of its own) or whose check failed (`reset`).
One logged out (`retire`) is made again when next asked for.
"""

from __future__ import annotations

import itertools
import threading
import time

from harness.traffic.client import Route, VirtualUser
from harness.traffic.contract import SessionDriver
from harness.traffic.site import Site

MAX_AGE_SECONDS = 10.0  # well under any session life the lifetimes check would let pass
_NUMBERS = itertools.count(500)  # login numbers ({n}) of pooled sessions


class LoginPool:
    """Sessions by the target they were made on."""

    def __init__(
        self,
        site: Site,
        driver: SessionDriver,
        routes: dict[str, Route],
        label: str,
        *,
        max_age: float = MAX_AGE_SECONDS,
    ) -> None:
        self.site, self.driver, self.routes, self.label = site, driver, routes, label
        self.logins, self.max_age = 0, max_age
        self._held: dict[str, tuple[VirtualUser, float, str | None]] = {}  # user, at, cookie
        self._lock = threading.Lock()

    def take(self, target: str) -> VirtualUser:
        """The pooled session made on `target`; logged in there when there is none yet, when
        it was logged out, or when it is older than `max_age` (StepFailed if that fails)."""
        with self._lock:
            held = self._held.get(target)
            if held is not None and self._still_good(*held):
                return held[0]
            self.logins += 1
        user = self.site.user(f"{self.label}-{target}")
        self.driver.login(user, next(_NUMBERS), self.routes[target])
        with self._lock:
            self._held[target] = (user, time.monotonic(), self._cookie(user))
        return user

    def _cookie(self, user: VirtualUser) -> str | None:
        name = getattr(self.driver, "cookie_name", "")
        return user.cookie(name) if name else None

    def _still_good(self, user: VirtualUser, at: float, cookie: str | None) -> bool:
        """Young enough, and still the session made at its login."""
        return time.monotonic() - at < self.max_age and self._cookie(user) == cookie

    def reset(self) -> None:
        """Forget every pooled session (a check that used them failed: its state is not for
        the next check); the next ones asked for are new logins."""
        with self._lock:
            self._held.clear()

    def retire(self, user: VirtualUser) -> None:
        """`user`'s session was logged out: it is no longer handed out."""
        with self._lock:
            self._held = {t: h for t, h in self._held.items() if h[0] is not user}
