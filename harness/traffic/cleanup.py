"""The sessions a run made, ended when it ends: each one still open is logged out, and its store
key deleted when the key is known and this run made the session; counted for the report.

A gate that leaves its test user's sessions behind (hundreds after a few runs, each with the
app's 14-day TTL) fills the store of the environment it guards.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import asdict, dataclass
from typing import Any

from harness.profile.sections import Redis
from harness.store.keys import configured_key
from harness.traffic.client import Route
from harness.traffic.contract import SessionDriver, Transport


@dataclass
class Ledger:
    """What the run did with the sessions it made."""

    made: int = 0  # logins that worked
    logged_out: int = 0  # by a check, or at the end
    keys_deleted: int = 0  # store keys of this run's sessions still there at the end
    left: int = 0  # neither logged out nor deleted (the logout failed, the key unknown)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


LEDGER = Ledger()  # one pytest process runs one gate's checks


class CleaningDriver:
    """A session driver that remembers every login until its logout, and ends what is left."""

    def __init__(self, driver: SessionDriver, ledger: Ledger = LEDGER) -> None:
        self._driver, self._ledger = driver, ledger
        self._open: dict[int, tuple[Transport, str | None]] = {}  # user -> session cookie
        self._lock = threading.Lock()
        self.cookie_name = getattr(driver, "cookie_name", "")
        has_step = getattr(driver, "has_step", None)  # a recipe without a logout step only
        self._logs_out = not callable(has_step) or bool(has_step("logout"))  # forgets the cookie

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._driver, attr)

    def login(self, user: Transport, n: int, route: Route | None = None) -> None:
        self._driver.login(user, n, route)
        cookie = user.cookie(self.cookie_name) if self.cookie_name else None
        with self._lock:
            if id(user) not in self._open:
                self._ledger.made += 1
            self._open[id(user)] = (user, cookie)

    def write(self, user: Transport, key: str, value: str, route: Route | None = None) -> None:
        self._driver.write(user, key, value, route)

    def read(self, user: Transport, key: str, route: Route | None = None) -> str | None:
        return self._driver.read(user, key, route)

    def logout(self, user: Transport, route: Route | None = None) -> None:
        self._driver.logout(user, route)
        if not self._logs_out:  # the session lives on in the app: ended at the end, by its key
            return
        with self._lock:
            if self._open.pop(id(user), None) is not None:
                self._ledger.logged_out += 1

    def finish(self, store: Any, redis_section: Redis) -> None:
        """Log out every session still open; delete its store key where known and still there."""
        with self._lock:
            left, self._open = list(self._open.values()), {}
        for user, cookie in left:
            logged_out = False
            if self._logs_out:
                with contextlib.suppress(Exception):  # best effort: it may be gone already
                    self._driver.logout(user, None)
                    logged_out = True
            deleted = cookie is not None and _delete_key(store, redis_section, cookie)
            self._ledger.logged_out += logged_out
            self._ledger.keys_deleted += deleted
            self._ledger.left += not (logged_out or deleted)


def _delete_key(store: Any, redis_section: Redis, cookie: str) -> bool:
    """Delete the session's key (from the profile's layout) if it is still in the store."""
    if store is None or not redis_section.key:
        return False
    try:
        return bool(store.delete(configured_key(redis_section, cookie)))
    except Exception:  # the store is the check's business, not the clean-up's
        return False
