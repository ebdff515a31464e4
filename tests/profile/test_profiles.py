"""Environment profiles: validation errors name file, line and field; ${VAR}; lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ProfileError
from harness.profile.environment import parse_profile, replica_profile
from harness.profile.sections import Identity, Safety
from harness.topology import load_environment

GOOD = """\
name: staging
production: false
url: https://staging.example.com
topology:
  provider: aws
  load_balancer: staging-alb
  region: us-east-1
expect:
  targets: 2
  stickiness: {type: lb_cookie, duration_seconds: 86400}
  deregistration_delay_seconds: 30
redis: {url: "redis://:${PARITY_TEST_REDIS_PASSWORD}@cache.internal:6379/0"}
safety: {allow_disruptive: true}
"""


def test_a_good_profile_loads_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARITY_TEST_REDIS_PASSWORD", "hunter2")
    env = parse_profile(GOOD, "staging.yaml")
    assert env.name == "staging" and env.provider == "aws"
    assert env.expect.stickiness.duration_seconds == 86400
    assert env.identity == Identity(header="X-Instance-Id")
    assert env.safety == Safety(allow_disruptive=True, max_users=200, max_rps=500)
    assert env.redis.url == "redis://:hunter2@cache.internal:6379/0"
    assert "hunter2" not in repr(env)


def test_missing_variable_names_it_with_file_and_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARITY_TEST_REDIS_PASSWORD", raising=False)
    with pytest.raises(ProfileError) as err:
        parse_profile(GOOD, "staging.yaml")
    assert str(err.value) == (
        "staging.yaml:12: redis.url: environment variable PARITY_TEST_REDIS_PASSWORD is not set"
    )


def test_variable_default_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARITY_TEST_REDIS_PASSWORD", raising=False)
    env = parse_profile(
        GOOD.replace("${PARITY_TEST_REDIS_PASSWORD}", "${PARITY_TEST_REDIS_PASSWORD:-dev}"),
        "s.yaml",
    )
    assert env.redis.url == "redis://:dev@cache.internal:6379/0"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("  targets: 2", "  target: 2"),
            "s.yaml:9: expect.target: unknown key; allowed here: algorithm, assets, balancer, "
            "client_ip, cookie, deregistration_delay_seconds, error_budget, health_check, "
            "https_entry, idle_timeout_seconds, longest_request, redirect_paths, stickiness, "
            "store_failover, targets, version",
        ),
        (
            ("  targets: 2", "  targets: two"),
            "s.yaml:9: expect.targets: got 'two'; allowed: an integer of at least 1, or a "
            "mapping with keys min, max (min, max or both, each an integer of at least 1, "
            "min <= max)",
        ),
        (
            ("duration_seconds: 86400", "duration_seconds: 0"),
            "s.yaml:10: expect.stickiness.duration_seconds: got 0; allowed: an integer from 1 to "
            "604800",
        ),
        (
            ("  provider: aws", "  provider: gcp"),
            "s.yaml:5: topology.provider: got 'gcp'; allowed: one of aws, static, replica",
        ),
        (
            ("  load_balancer: staging-alb\n", ""),
            "s.yaml:4: topology.load_balancer: missing; the aws provider needs a load balancer "
            "name, ARN or DNS name",
        ),
        (
            ("name: staging\n", ""),
            "s.yaml:1: name: missing; expected letters, digits, '.', '_' and '-' (up to 64, "
            "starting with a letter or digit)",
        ),
    ],
)
def test_bad_profiles_are_one_line_naming_file_line_and_field(
    monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], message: str
) -> None:
    monkeypatch.setenv("PARITY_TEST_REDIS_PASSWORD", "x")
    with pytest.raises(ProfileError) as err:
        parse_profile(GOOD.replace(*change), "s.yaml")
    assert str(err.value) == message


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ProfileError, match=r"^s\.yaml:3: found character '\\t'"):
        parse_profile("name: x\ntopology:\n\tprovider: aws\n", "s.yaml")


def test_named_environment_is_looked_up_and_a_missing_one_lists_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARITY_ENV_DIR", str(tmp_path))
    monkeypatch.setenv("PARITY_TEST_REDIS_PASSWORD", "x")
    (tmp_path / "staging.yaml").write_text(GOOD)
    assert load_environment("staging").source == str(tmp_path / "staging.yaml")
    with pytest.raises(
        ProfileError,
        match=r"--env prod: no profile .*prod\.yaml \(profiles "
        r"there: staging; or give --env-file PATH\)",
    ):
        load_environment("prod")


def test_the_replica_is_the_default_environment() -> None:
    env = load_environment()
    assert env.provider == "replica" and env == replica_profile()
    assert env.session is not None and env.session.cookie == "session"
