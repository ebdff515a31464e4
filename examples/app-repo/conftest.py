"""The app's own conftest: Parity's checks drive this app's sessions through this driver.

Parity loads it because `parity check` (and `pytest --pyargs harness.suites`) run from this
directory. Anything here overrides Parity's fixtures of the same name.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness import Route, SessionDriver, Topology, Transport
from harness.traffic.contract import StepFailed


class ShopSession:
    """Log in, write, read and log out the way the shop's API does it."""

    cookie_name = "session"

    def __init__(self, password: str) -> None:
        self.password = password

    def _call(
        self, user: Transport, step: str, method: str, path: str, expect: int, **kw: Any
    ) -> Any:
        response = user.request(method, path, step=step, **kw)
        if response.status_code != expect:
            raise StepFailed(step, response.status_code, expect, user.last_target)
        return response

    def login(self, user: Transport, n: int, route: Route | None = None) -> None:
        body = {"username": f"shopper-{n}", "password": self.password}
        self._call(user, "login", "POST", "/login", 200, json=body, route=route)

    def write(self, user: Transport, key: str, value: str, route: Route | None = None) -> None:
        self._call(user, "write", "PUT", f"/session/{key}", 200, json={"value": value}, route=route)

    def read(self, user: Transport, key: str, route: Route | None = None) -> str | None:
        data = self._call(user, "read", "GET", "/session", 200, route=route).json()["data"]
        return None if data.get(key) is None else str(data[key])

    def logout(self, user: Transport, route: Route | None = None) -> None:
        self._call(user, "logout", "POST", "/logout", 200, route=route)


@pytest.fixture(scope="module")
def session_driver(topology: Topology) -> SessionDriver:
    """Override Parity's fixture: the password comes from the environment (CI secrets), or, on
    the local replica, from the replica itself."""
    password = os.environ.get("SHOP_TEST_PASSWORD") or topology.secrets.get("replica_password", "")
    return ShopSession(password)
