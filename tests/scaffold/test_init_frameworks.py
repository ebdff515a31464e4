"""`parity init` for real apps (issue 24): the framework recognised from what the app answers (its
cookies, its login form) or named by `--framework`; the recipe and store key layout it writes;
and `parity profile check` run over what it writes, for every provider and framework."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.scaffold.frameworks import FRAMEWORKS, LoginPage, recognise, reference_table
from harness.scaffold.render import render_profile, write_profile
from harness.scaffold.source import Source
from harness.topology.model import HealthCheckSettings, LoadBalancer, Target, TargetGroup, Topology
from tests.helpers import parity

CREDENTIALS = {"APP_TEST_USER": "alice", "APP_TEST_PASSWORD": "s3cret", "REDIS_PASSWORD": "pw"}


def _topology(provider: str) -> Topology:
    targets = [Target(f"app-{i}", "127.0.0.1", 8000 + i, "healthy") for i in (1, 2)]
    group = TargetGroup("tg", targets=targets, health_check=HealthCheckSettings(path="/healthz"))
    return Topology(provider, "http://127.0.0.1:8000", LoadBalancer("lb"), [group])


def _source(provider: str, framework: str | None, **app: str) -> Source:
    if provider == "static":
        targets = [("app-1", "http://127.0.0.1:8001"), ("app-2", "http://127.0.0.1:8002")]
        source = Source("static", url="http://127.0.0.1:8000", targets=targets)
        source.health_note = "observed"
    else:
        source = Source("aws", "my-alb", "eu-west-1")
    source.framework = framework
    source.session_path, source.redis_url = app.get("session_path"), app.get("redis_url")
    return source


def _http(cookies: list[str] = [], pages: list[LoginPage] = []) -> dict[str, object]:  # noqa: B006
    return {"cookies": cookies, "identity": "X-Instance-Id", "version": None, "session": [],
            "login_pages": pages}  # fmt: skip


@pytest.mark.parametrize("provider", ["static", "aws"])
@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_every_profile_init_writes_passes_profile_check(
    tmp_path: Path, provider: str, framework: str
) -> None:
    redis = "redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0"
    source = _source(provider, framework, session_path="/api/session", redis_url=redis)
    text = render_profile("app", False, source, _topology(provider), _http())
    path = write_profile(tmp_path / "environments", "app", text)
    done = parity(tmp_path / "home", "profile", "check", str(path), env=CREDENTIALS)
    assert done.returncode == 0, done.stderr + text
    profile = yaml.safe_load(text)
    session, spec = profile["session"], FRAMEWORKS[framework]
    assert session["cookie"] == spec.cookie and session["write"]["path"] == "/api/session/{key}"
    assert [r["path"] for r in session["login"]][: 2 if spec.token_field else 1] == (
        [spec.login_path] * (2 if spec.token_field else 1)
    )
    assert session["credentials"] == {
        "username": "${APP_TEST_USER}",
        "password": "${APP_TEST_PASSWORD}",
    }
    assert profile["redis"]["url"] == redis and "s3cret" not in text
    assert "&id" not in text  # no YAML anchors: every step reads on its own


@pytest.mark.parametrize("provider", ["static", "aws"])
def test_with_no_framework_the_commented_skeleton_passes_profile_check(
    tmp_path: Path, provider: str
) -> None:
    found = _http(["SERVERID"], [LoginPage("/login", 404, frozenset(), frozenset())])
    text = render_profile("app", False, _source(provider, None), _topology(provider), found)
    path = write_profile(tmp_path / "environments", "app", text)
    done = parity(tmp_path / "home", "profile", "check", str(path))
    assert done.returncode == 0, done.stderr + text
    assert "\nsession:" not in text and "# framework: no framework's cookie or login form" in text


def test_without_its_variables_profile_check_names_the_one_to_set(tmp_path: Path) -> None:
    text = render_profile("app", False, _source("static", "django"), _topology("static"), _http())
    path = write_profile(tmp_path / "environments", "app", text)
    done = parity(tmp_path / "home", "profile", "check", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "environment variable APP_TEST_" in done.stderr and "Traceback" not in done.stderr
    assert "#   key: ':1:django.contrib.sessions.cache{session_id}'" in text  # no --redis-url
    assert "a guess: give --session-path" in text


def test_a_framework_is_recognised_by_its_login_form_and_cookies() -> None:
    django = LoginPage("/accounts/login/", 200, frozenset({"csrfmiddlewaretoken"}), frozenset())
    found = recognise(["csrftoken"], [django])
    assert found.framework is FRAMEWORKS["django"]
    form = "GET /accounts/login/ answered a form with the csrfmiddlewaretoken field"
    assert form in found.evidence, found.evidence
    assert "a csrftoken cookie" in found.evidence
    devise = LoginPage("/users/sign_in", 200, frozenset({"authenticity_token"}), frozenset())
    rails = recognise(["_shop_session"], [devise])
    assert rails.framework is FRAMEWORKS["rails"] and rails.cookie == "_shop_session"
    login = LoginPage("/login", 200, frozenset({"_csrf", "username"}), frozenset())
    assert recognise(["connect.sid"], [login]).framework is FRAMEWORKS["express"]
    assert recognise(["JSESSIONID"], [login]).framework is FRAMEWORKS["spring"]


def test_two_equally_likely_frameworks_are_not_guessed() -> None:
    login = LoginPage("/login", 200, frozenset({"_csrf"}), frozenset())
    found = recognise([], [login])  # Spring's and Express's forms both carry _csrf
    assert found.framework is None and "--framework" in found.evidence, found.evidence
    assert recognise([], []).framework is None


def test_a_login_page_that_is_not_there_names_no_framework() -> None:
    missing = LoginPage("/accounts/login/", 404, frozenset(), frozenset())
    assert recognise([], [missing]).framework is None
    # a cookie named "session" alone is any app's (the reference app's JSON login sets one)
    json_login = LoginPage("/login", 405, frozenset(), frozenset({"session"}))
    assert recognise(["session"], [json_login]).framework is None


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--session-path", "notes"], "--session-path 'notes': a path starting with /"),
        (["--redis-url", "http://x"], "--redis-url: give redis://"),
        (["--redis-url", "redis://:hunter2@h:6379/0"], "--redis-url: write the password as"),
        (["--framework", "cobol"], "invalid choice: 'cobol'"),
    ],
)
def test_bad_app_flags_are_one_line_errors(tmp_path: Path, flags: list[str], said: str) -> None:
    done = parity(tmp_path / "home", "init", "app", "--static", "http://127.0.0.1:9",
                  "--target", "a=http://127.0.0.1:9", *flags, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr


def test_app_flags_are_refused_with_the_replica(tmp_path: Path) -> None:
    done = parity(tmp_path / "home", "init", "r", "--from-replica", "--framework", "django",
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "not with --from-replica" in done.stderr, done.stderr


def test_the_documented_table_of_frameworks_is_what_init_writes() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs/guides/init.md").read_text()
    assert reference_table() in guide, "docs/guides/init.md: paste reference_table() again"
