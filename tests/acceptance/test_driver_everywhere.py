"""A `SessionDriver` written once, against the documented `Answer` only, works in every command
(issue 24): `parity check`, `parity load` (Locust's FastHttpUser), `parity canary` and `parity
watch`, each run from the CLI against a replica started with `parity up`, the driver imported
from the project directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import parity
from tests.test_hardening import REPLICA_PROFILE

pytestmark = [pytest.mark.servers, pytest.mark.slow]

# Only what the reference page documents: status_code, set_cookies, cookies, json(), text,
# elapsed, headers; a response of any other shape fails these asserts (a DriverError, exit 2).
DRIVER = """
from datetime import timedelta


class ShopSession:
    cookie_name = "session"

    def __init__(self, recipe, secrets):
        self.password = secrets["replica_password"]

    def _ok(self, answer, step):
        assert isinstance(answer.elapsed, timedelta), type(answer.elapsed)
        assert answer.headers.get("x-instance-id"), step  # case-insensitive
        assert answer.status_code == 200, (step, answer.status_code, answer.text[:80])
        return answer

    def login(self, user, n, route=None):
        answer = self._ok(user.request(
            "POST", "/login", route=route, step="login",
            json={"username": f"shop-{n}", "password": self.password},
        ), "login")
        assert any(h.startswith("session=") for h in answer.set_cookies), answer.set_cookies
        assert answer.cookies["session"], answer.cookies

    def write(self, user, key, value, route=None):
        self._ok(user.request("PUT", f"/session/{key}", route=route, step="write",
                              json={"value": value}), "write")

    def read(self, user, key, route=None):
        answer = user.request("GET", "/session", route=route, step="read")
        if answer.status_code != 200:
            return None
        return answer.json().get("data", {}).get(key)

    def logout(self, user, route=None):
        self._ok(user.request("POST", "/logout", route=route, step="logout"), "logout")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project folder with the driver and a profile naming it; the replica up."""
    home = tmp_path_factory.mktemp("driver-everywhere")
    (home / "shop_session.py").write_text(DRIVER)
    text = REPLICA_PROFILE.read_text().replace("name: replica", "name: shop")
    session, rest = text.index("session:"), text.split("\nredis:", 1)[1]
    (home / "environments").mkdir()
    (home / "environments" / "shop.yaml").write_text(
        text[:session]
        + 'session:\n  driver: "shop_session:ShopSession"\n  cookie: session\nredis:'
        + rest
    )
    up = parity(home, "up")
    assert up.returncode == 0, up.stderr
    try:
        yield home
    finally:
        parity(home, "down")


def _run(home: Path, *argv: str, timeout: float = 300) -> str:
    done = parity(home, *argv, cwd=home, timeout=timeout)
    assert done.returncode == 0, (argv, done.stdout[-3000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr
    return str(done.stdout)


def test_the_driver_passes_the_session_checks(project: Path) -> None:
    _run(project, "check", "--env", "shop", "--suite", "sharing",
         "--report-dir", str(project / "reports-check"))  # fmt: skip
    results = json.loads(next((project / "reports-check").rglob("results.json")).read_text())
    passed = [c for c in results["checks"] if c["outcome"] == "passed"]
    assert len(passed) >= 4, [(c["name"], c["outcome"]) for c in results["checks"]]


def test_the_driver_drives_locust_users(project: Path) -> None:
    _run(project, "load", "--env", "shop", "--profile", "sticky_users", "--users", "2",
         "--run-time", "6s", "--report-dir", str(project / "reports-load"))  # fmt: skip
    evidence = json.loads(next((project / "reports-load").glob("load-*.json")).read_text())
    assert evidence["evidence"]["totals"]["requests"] > 6  # past the two logins: the loop ran
    assert sum(t["sessions"] for t in evidence["evidence"]["targets"].values()) == 2
    assert not evidence["evidence"].get("events"), evidence["evidence"].get("events")


def test_the_driver_drives_the_canary(project: Path) -> None:
    out = _run(project, "canary", "--env", "shop", "--json")
    steps = {s["step"]: s["ok"] for s in map(json.loads, out.strip().splitlines()[:-1])}
    assert steps["login"] and steps["session_on_every_target"] and steps["write_seen_elsewhere"]


def test_the_driver_drives_the_watch(project: Path) -> None:
    _run(project, "watch", "--env", "shop", "--settle", "1",
         "--report-dir", str(project / "reports-watch"), "--", "sleep", "3")  # fmt: skip
    (folder,) = (project / "reports-watch").glob("watch-*")
    doc = json.loads((folder / "watch.json").read_text())
    assert doc["load"]["requests"] > 0 and doc["load"]["session_losses"] == 0, doc["load"]
