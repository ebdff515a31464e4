"""Observed or assumed (issue 23, items 6 and 7), through the CLI on a static profile: settings
copied from `expect` are shown as assumed and never "match the profile"; the same-build check
needs a build it can read; the static health probe honours `expect.health_check.matcher`; a
cross-target read must reach the other target."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from tests.helpers import parity, static_profile

pytestmark = [pytest.mark.servers, pytest.mark.slow]
REPLICA_PROFILE = Path(__file__).resolve().parents[2] / "harness" / "profile" / "replica.yaml"


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Replica, ReplicaHandle]]:
    with running_replica(ReplicaConfig(instances=2)) as running:
        yield running


def _checks(home: Path, profile: Path, suite: str) -> tuple[int, dict[str, Any], str]:
    reports = home / "reports"
    done = parity(
        home, "check", "--env-file", str(profile), "--suite", suite, "--report-dir", str(reports)
    )
    results = json.loads((reports / "latest" / "results.json").read_text())
    return done.returncode, {c["name"]: c for c in results["checks"]}, done.stdout + done.stderr


def test_settings_from_expect_are_shown_as_assumed_and_never_compared_with_themselves(
    tmp_path: Path, pair: tuple[Replica, ReplicaHandle]
) -> None:
    profile = static_profile(
        tmp_path / "static.yaml", pair[0], pair[1].url, "assumed",
        "  stickiness: {enabled: true, duration_seconds: 86400}\n",
    )  # fmt: skip
    shown = parity(tmp_path, "topology", "--env-file", str(profile))
    assert shown.returncode == 0, shown.stderr
    assumed = (
        "(settings assumed: the profile's expect:, not observed; target states from a probe "
        "of each target's url (expect.health_check))"
    )
    assert assumed in shown.stdout, shown.stdout
    replica = parity(tmp_path, "topology")  # the replica's own profile: observed, and whence
    observed = "(settings observed: the replica's control API; target states from the replica's"
    assert observed in replica.stdout, replica.stdout
    code, checks, output = _checks(tmp_path, profile, "topology")
    assert code == 0, output[-1500:]
    settings = checks["test_settings_match_the_profile"]
    assert settings["outcome"] == "skipped"
    assert settings["message"].startswith("not applicable: the static provider reads no")
    html = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert "assumed: the profile&#39;s expect:, not observed; target states from a probe" in html


def test_a_version_path_no_target_answers_is_a_profile_problem_not_one_build(
    tmp_path: Path, pair: tuple[Replica, ReplicaHandle]
) -> None:
    profile = static_profile(
        tmp_path / "static.yaml", pair[0], pair[1].url, "noversion",
        "  version: {path: /no-such-version, json: /build}\n",
    )  # fmt: skip
    code, checks, output = _checks(tmp_path, profile, "topology")
    assert code == 2, output[-1500:]
    build = checks["test_every_target_serves_the_same_build"]
    assert build["outcome"] == "error"
    assert "no target names a build at /no-such-version (app-1 serves HTTP 404" in build["message"]


def test_the_static_health_probe_honours_the_matcher(
    tmp_path: Path, pair: tuple[Replica, ReplicaHandle]
) -> None:
    listed = "\n".join(f'    - {{id: {t.id}, url: "{t.url}"}}' for t in pair[0].targets())
    profile = tmp_path / "matcher.yaml"
    profile.write_text(
        f"name: matcher\nurl: {pair[1].url}\ntopology:\n  provider: static\n  targets:\n"
        f"{listed}\nexpect:\n  health_check: {{path: /healthz, matcher: '204'}}\n"
    )
    shown = parity(tmp_path, "topology", "--env-file", str(profile))
    assert "Target.ResponseCodeMismatch 200 (matcher 204)" in shown.stdout, shown.stdout
    profile.write_text(profile.read_text().replace("'204'", "'200-299'"))
    shown = parity(tmp_path, "topology", "--env-file", str(profile))
    assert "ResponseCodeMismatch" not in shown.stdout and "healthy" in shown.stdout
    bad = profile.read_text().replace("'200-299'", "'ok'")
    profile.write_text(bad)
    refused = parity(tmp_path, "topology", "--env-file", str(profile))
    assert refused.returncode == 2
    assert "expect.health_check.matcher" in refused.stderr and '"200-299"' in refused.stderr


def _session_section(replica: Replica) -> str:
    """The replica's own session contract, its password written in (a test file only)."""
    text = REPLICA_PROFILE.read_text()
    start, end = text.index("session:\n"), text.index("redis:\n")
    return text[start:end].replace("{replica_password}", replica.password)


def test_a_cross_target_read_answered_by_the_same_instance_proves_nothing(
    tmp_path: Path, pair: tuple[Replica, ReplicaHandle]
) -> None:
    """A regression: two target URLs that reach one instance (a copy-paste in the profile): a
    session made on "app-1" and read on "app-2" was read on app-1 itself, and sharing passed."""
    first = pair[0].targets()[0]
    profile = tmp_path / "mislabelled.yaml"
    profile.write_text(
        f"name: mislabelled\nurl: {pair[1].url}\ntopology:\n  provider: static\n  targets:\n"
        f'    - {{id: app-1, url: "{first.url}"}}\n    - {{id: app-2, url: "{first.url}"}}\n'
        "identity: {header: X-Instance-Id}\n"
        "expect:\n  health_check: {path: /healthz}\n" + _session_section(pair[0])
    )
    code, checks, output = _checks(tmp_path, profile, "sharing")
    assert code == 2, output[-1500:]
    made = checks["test_session_made_on_one_target_works_on_every_other"]
    assert made["outcome"] == "error"
    assert f"the URL of app-2 ({first.url}) is answered by app-1" in made["message"]
