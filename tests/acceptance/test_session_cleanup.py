"""A run cleans up after itself (issue 24): every session it made and did not log out is
logged out at the end, its store key deleted when known and made by this run; the console, the
report and results.json say how many. Measured on the replica's real redis-server: no session
key the run made is left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from tests.helpers import parity

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def _session_keys(url: str) -> set[str]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return set(client.scan_iter("session:*", count=1000))
    finally:
        client.close()


def test_a_check_leaves_no_session_it_made_in_the_store(tmp_path: Path) -> None:
    home, reports = tmp_path / "home", tmp_path / "reports"
    assert parity(home, "up").returncode == 0
    try:
        url = json.loads((home / "replica.json").read_text())["redis_url"]
        before = _session_keys(url)
        done = parity(home, "check", "--suite", "sharing", "--suite", "sticky",
                      "--report-dir", str(reports))  # fmt: skip
        after = _session_keys(url)
    finally:
        parity(home, "down")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    results = json.loads((reports / "latest" / "results.json").read_text())
    made = results["sessions"]
    # at least the sharing pool's session per target and the logout check's (2 targets)
    assert made["made"] >= 4 and made["left"] == 0, made
    assert made["logged_out"] == made["made"], made  # the replica's recipe has a logout step
    assert after - before == set(), f"{len(after - before)} session keys left by the run"
    line = f"test sessions: {made['made']} made by this run: {made['logged_out']} logged out"
    assert line in done.stdout
    assert 'id="sessions">Test sessions: ' in (reports / "latest" / "index.html").read_text()
