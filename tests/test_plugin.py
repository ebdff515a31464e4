"""The pytest plugin end to end, with pytester: options, twins, fixtures, markers, serialising."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STATIC = """\
name: lab
url: http://127.0.0.1:9
topology:
  provider: static
  targets: [{id: web1}, {id: web2}]
safety: {allow_disruptive: true}
"""


@pytest.fixture
def lab(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARITY_HOME", str(tmp_path / "home"))
    profile = pytester.path / "lab.yaml"
    profile.write_text(STATIC)
    return profile


def test_options_are_in_one_group_with_environment_twins(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    text = result.stdout.str()
    assert "Parity: multi-instance session checks:" in text
    for flag, twin in (
        ("--env=NAME", "PARITY_ENV"),
        ("--env-file=PATH", "PARITY_ENV_FILE"),
        ("--allow-disruptive", "PARITY_ALLOW_DISRUPTIVE"),
        ("--allow-production=NAME", "PARITY_ALLOW_PRODUCTION"),
        ("--parity-samples=M", "PARITY_SAMPLES"),
    ):
        assert flag in text and f"[{twin}]" in text


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    text = pytester.runpytest_subprocess("--markers").stdout.str()
    for marker in ("disruptive:", "slow:", "load:"):
        assert f"@pytest.mark.{marker}" in text


def test_bad_samples_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--parity-samples", "5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--parity-samples / PARITY_SAMPLES 5: a whole number of at least 20*"]
    )


def test_bad_profile_is_a_usage_error_naming_the_field(
    pytester: pytest.Pytester, lab: Path
) -> None:
    lab.write_text(STATIC.replace("provider: static", "provider: statik"))
    pytester.makepyfile("def test_x(environment): pass")
    result = pytester.runpytest_subprocess("--env-file", str(lab))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*{lab}:4: topology.provider: got 'statik'; allowed: one of aws, static, replica*"]
    )


def test_environment_twin_selects_the_profile(
    pytester: pytest.Pytester, lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARITY_ENV_FILE", str(lab))
    pytester.makepyfile("""
        def test_env(environment, topology):
            assert environment.name == "lab"
            assert [t.id for t in topology.targets] == ["web1", "web2"]
    """)
    assert pytester.runpytest_subprocess().ret == 0


@pytest.mark.servers
def test_disruptive_tests_need_the_flag_outside_the_replica(
    pytester: pytest.Pytester, lab: Path
) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.disruptive
        def test_drain(guard):
            pass
    """)
    result = pytester.runpytest_subprocess("--env-file", str(lab), "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*disruptive: pass --allow-disruptive*"])
    allowed = pytester.runpytest_subprocess("--env-file", str(lab), "--allow-disruptive")
    allowed.assert_outcomes(passed=1)


def test_findings_fail_without_a_traceback(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile("""
        from harness.errors import DeploymentFinding
        def test_finding(environment):
            raise DeploymentFinding("[uneven] uneven distribution: web1 took 90 %")
    """)
    result = pytester.runpytest_subprocess("--env-file", str(lab))
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "[uneven] uneven distribution: web1 took 90 %" in out and "Traceback" not in out


@pytest.mark.servers
def test_with_two_workers_disruptive_tests_never_overlap_anything(
    pytester: pytest.Pytester, lab: Path
) -> None:
    log = pytester.path / "spans.jsonl"
    pytester.makepyfile(f"""
        import json, os, time, pytest

        def span(name):
            start = time.monotonic(); time.sleep(0.3)
            with open({str(log)!r}, "a") as out:
                out.write(json.dumps([name, start, time.monotonic(),
                                      os.environ.get("PYTEST_XDIST_WORKER")]) + "\\n")

        @pytest.mark.parametrize("n", range(4))
        def test_read_only(environment, n):
            span("read")

        @pytest.mark.disruptive
        @pytest.mark.parametrize("n", range(3))
        def test_drain(environment, n):
            span("drain")
    """)
    result = pytester.runpytest_subprocess("--env-file", str(lab), "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=7)
    spans = [json.loads(line) for line in log.read_text().splitlines()]
    drains = [s for s in spans if s[0] == "drain"]
    assert len({s[3] for s in drains}) == 1, "every disruptive test on one worker"
    for _, start, end, _worker in drains:
        for other in spans:
            if other[1:3] != [start, end]:
                assert other[2] <= start or other[1] >= end, f"{other} overlaps a drain"


@pytest.mark.servers
def test_user_and_pinned_client_factories_against_the_replica(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARITY_HOME", str(tmp_path / "home"))
    pytester.makepyfile("""
        def test_factories(virtual_user, pinned_client, targets):
            fresh = virtual_user()
            fresh.request("GET", "/")
            assert fresh.last_target in {t.id for t in targets}
            for target in targets:
                client = pinned_client(target.id)
                for _ in range(5):
                    client.request("GET", "/")
                    assert client.last_target == target.id
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
