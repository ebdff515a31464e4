"""A real Django 5 app behind HAProxy (tests/stacks): sessions in Redis through Django's cache
backend, two gunicorn instances, Django's auth. Parity was not built with it (issue 23).

- With the default `redis.key`, the store checks are told which key to write (exit 2, the
  `redis:` lines), never `[local-sessions]` or `[session-not-shared]`: every cross-target read
  works.
- With Django's key, a healthy stack passes (whole-session saves accepted as lost updates).
- One instance with a shorter SESSION_COOKIE_AGE is `[short-session-life]`, naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.helpers import parity
from tests.installed import run
from tests.stacks.common import (
    assert_passed,
    check,
    comments,
    every_command,
    init_and_check_sharing,
    init_static,
)
from tests.stacks.django_stack import (
    DJANGO_KEY,
    FORMS_RECIPE,
    USERNAME,
    DjangoStack,
    django_stack,
)

pytestmark = [pytest.mark.servers, pytest.mark.slow]
SUITES = ("sharing", "sticky", "topology")
ACCEPT = (
    "accept:\n"
    '  - {fault: lost-update, reason: "Django saves the whole session", until: 2099-01-01}\n'
)


def _check(
    tmp_path: Path, stack: DjangoStack, profile: Path, *suites: str
) -> tuple[int, str, dict[str, tuple[str, str]]]:
    return check(tmp_path, profile, stack.env(), *[a for s in suites for a in ("--suite", s)])


def test_the_default_store_key_on_django_is_told_which_key_to_write(tmp_path: Path) -> None:
    with django_stack(tmp_path / "stack") as stack:
        profile = stack.profile(tmp_path / "django.yaml", extra=ACCEPT)
        code, output, checks = _check(tmp_path, stack, profile, *SUITES)
    assert code == 2, output[-2000:]
    failed = {n: m[:300] for n, (o, m) in checks.items() if o == "failed"}
    assert not failed, failed  # no [local-sessions], no [session-not-shared]: nothing is wrong
    outcome, message = checks["test_session_is_in_the_store_with_a_ttl"]
    assert outcome == "error"
    assert f"write redis: {{key: {DJANGO_KEY!r}, session_id: '^([^.]+)'}}" in message, message
    assert checks["test_session_made_on_one_target_works_on_every_other"][0] == "passed"
    assert stack.password not in output


def test_a_healthy_django_app_with_its_key_passes(tmp_path: Path) -> None:
    with django_stack(tmp_path / "stack") as stack:
        profile = stack.profile(tmp_path / "django.yaml", key=DJANGO_KEY, extra=ACCEPT)
        code, output, checks = _check(tmp_path, stack, profile, *SUITES, "model")
    assert code == 0, output[-2000:]
    for name in (
        "test_session_is_in_the_store_with_a_ttl",
        "test_session_lifetimes_are_consistent",
        "test_session_made_on_one_target_works_on_every_other",
        "test_expected_number_of_healthy_targets",
    ):
        assert checks[name][0] == "passed", (name, checks[name][1][:300])
    assert checks["test_random_session_sequences_match_the_model"][0] in ("passed", "accepted")


def test_one_django_instance_with_a_shorter_session_age_is_caught_naming_it(tmp_path: Path) -> None:
    with django_stack(tmp_path / "stack", ages={2: 300}) as stack:
        profile = stack.profile(tmp_path / "django.yaml", key=DJANGO_KEY, extra=ACCEPT)
        code, output, checks = _check(tmp_path, stack, profile, "sticky")
    assert code == 1, output[-2000:]
    outcome, message = checks["test_session_lifetimes_are_consistent"]
    assert outcome == "failed" and message.startswith("[short-session-life]"), message[:400]
    assert "app-2 leaves 300 s" in message and "app-1 leaves" not in message


def test_a_sticky_cookie_with_a_max_age_behind_a_generic_balancer_is_no_fault(
    tmp_path: Path,
) -> None:
    """A regression: `generic` (and `traefik`) assumed a session cookie, so a balancer that
    gives its sticky cookie a Max-Age (Traefik's `maxAge`, ingress-nginx, HAProxy's `attr`)
    failed the documented-attributes check. Nothing is assumed of its lifetime now."""
    with django_stack(tmp_path / "stack", cookie_attr=' attr "Max-Age=3600"') as stack:
        profile = stack.profile(
            tmp_path / "django.yaml", key=DJANGO_KEY, extra=ACCEPT, balancer="generic"
        )
        sent = requests.get(stack.url + "/", timeout=5).headers["Set-Cookie"]
        code, output, checks = _check(tmp_path, stack, profile, "sticky")
    assert "SERVERID=" in sent and "Max-Age=3600" in sent, sent  # what is judged
    assert code == 0, output[-2000:]
    assert checks["test_sticky_cookie_has_the_documented_attributes"][0] == "passed"


def test_stateless_cookie_sessions_are_not_called_unshared(tmp_path: Path) -> None:
    """A regression: with Django's signed-cookie sessions a logged-out cookie replayed on the
    other instance still worked, and read as `[session-not-shared]`; the instance that logged
    out accepts it too, so it is the cookie that carries the session. And no session is in
    Redis: the store checks say so instead of calling them local."""
    engine = "django.contrib.sessions.backends.signed_cookies"
    with django_stack(tmp_path / "stack", engine=engine) as stack:
        profile = stack.profile(tmp_path / "django.yaml", key=DJANGO_KEY, extra=ACCEPT)
        code, output, checks = _check(tmp_path, stack, profile, "sharing")
    failed = {n: m[:300] for n, (o, m) in checks.items() if o == "failed"}
    assert code == 0 and not failed, failed or output[-2000:]
    outcome, message = checks["test_logout_on_one_target_ends_the_session_on_every_other"]
    assert outcome == "skipped" and "the session is carried by the cookie" in message, message
    outcome, message = checks["test_session_is_in_the_store_with_a_ttl"]
    assert outcome == "skipped" and "no session made in this run is in the store" in message
    assert checks["test_session_made_on_one_target_works_on_every_other"][0] == "passed"


def test_init_on_django_proposes_its_store_key_layout(tmp_path: Path) -> None:
    """`parity init --static` on the Django stack: its login form and csrftoken cookie name the
    framework, and the commented redis: skeleton (no --redis-url) carries Django's key layout."""
    with django_stack(tmp_path / "stack") as stack:
        targets = [a for t, u in stack.targets.items() for a in ("--target", f"{t}={u}")]
        done = parity(
            tmp_path / "home", "init", "django-stg", "--static", stack.url, *targets,
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "environments" / "django-stg.yaml").read_text()
    assert f"#   key: {DJANGO_KEY!r}  # Django (cache or cached_db on RedisCache)\n" in text
    assert "#   session_id: '^([^.]+)'" in text
    # Django answers / with 200 here, but /healthz (204) comes first: the health check found it
    assert (
        '  health_check: {"path": "/healthz", "matcher": "200-299"}  # observed: every target '
        "answered GET /healthz with 204" in text
    ), text
    assert "  targets: 2  # observed: 2 healthy targets" in text, text


def test_init_with_a_health_path_only_the_app_answers(tmp_path: Path) -> None:
    """A regression: static targets were health-checked on `/` only, which many apps answer
    404 or with a redirect to their login, so the profile init wrote was refused
    (`expect.targets: got 0`). `--health-path` names the app's own path (here /app); the
    written profile checks."""
    with django_stack(tmp_path / "stack") as stack:
        targets = [a for t, u in stack.targets.items() for a in ("--target", f"{t}={u}")]
        home = tmp_path / "home"
        done = parity(home, "init", "dj", "--static", stack.url, *targets,
                      "--health-path", "/app", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        text = (tmp_path / "environments" / "dj.yaml").read_text()
        credentials = {"APP_TEST_USER": USERNAME, "APP_TEST_PASSWORD": stack.password}
        checked = parity(home, "profile", "check", "dj", cwd=tmp_path, env=credentials)
        bad = parity(home, "init", "dj2", "--static", stack.url, *targets,
                     "--health-path", "app", cwd=tmp_path)  # fmt: skip
    assert '"path": "/app"' in text and "# from --health-path" in text, text
    assert "  targets: 2  # observed: 2 healthy targets" in text, text
    assert checked.returncode == 0, checked.stderr
    assert bad.returncode == 2 and "--health-path 'app': a path starting with /" in bad.stderr


ASSETS = '  assets: {pages: [/app], pattern: \'<script src="(/static/[^"]+)"\'}\n'
ASSET_CHECK = "test_every_asset_is_served_by_every_target"


def _asset_check(tmp_path: Path, stack: DjangoStack) -> tuple[int, dict[str, object]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    reports = tmp_path / "reports"
    profile = stack.profile(tmp_path / "django.yaml", key=DJANGO_KEY, expect=ASSETS)
    done = parity(
        tmp_path / "home", "check", "--env-file", str(profile), "--suite", "compatibility",
        "-k", ASSET_CHECK, "--report-dir", str(reports), env=stack.env(),
    )  # fmt: skip
    results = json.loads((reports / "latest" / "results.json").read_text())
    (check,) = [c for c in results["checks"] if c["name"] == ASSET_CHECK]
    return done.returncode, check


def test_assets_the_balancer_serves_from_a_cdn_path_are_asked_through_it(tmp_path: Path) -> None:
    """Django's collected static files behind HAProxy's `/static/` route to a static server: the
    instances serve none (a direct GET is 404), so asking each target directly was a false
    `[missing-asset]`. Asked through the balancer, pinned to each target, they are served; and
    once the file is gone from the CDN, the finding is real."""
    with django_stack(tmp_path / "stack", cdn=True) as stack:
        code, check = _asset_check(tmp_path / "run1", stack)
        assert (code, check["outcome"]) == (0, "passed"), check["message"]
        seen = check["evidence"]["assets"]  # type: ignore[index]
        (asset,) = seen["assets"]
        assert asset.startswith("/static/parity/app.") and asset.endswith(".js"), asset
        assert set(seen["fetched"].values()) == {"through the balancer"}, seen
        direct = requests.get(stack.targets["app-1"] + asset, timeout=5)
        assert direct.status_code == 404  # the instance itself does not have it
        for hashed in (tmp_path / "stack" / "cdn").glob("static/parity/app.*.js"):
            hashed.unlink()
        code, check = _asset_check(tmp_path / "run2", stack)
    assert code == 1 and str(check["message"]).startswith("[missing-asset]"), check["message"]


def test_djangos_own_login_form_passes_with_a_recipe_and_no_python(tmp_path: Path) -> None:
    """Django's LoginView (a CSRF form: GET it, post its csrfmiddlewaretoken), writes with the
    X-CSRFToken header from the csrftoken cookie, LogoutView by POST: a recipe of multi-request
    steps is enough, where an 89-line SessionDriver was needed (issue 24)."""
    with django_stack(tmp_path / "stack") as stack:
        profile = stack.profile(
            tmp_path / "django.yaml", key=DJANGO_KEY, extra=ACCEPT, recipe=FORMS_RECIPE
        )
        code, output, checks = _check(tmp_path, stack, profile, *SUITES)
        literal = requests.get(stack.url + "/accounts/login/", timeout=5).text
    failed = {n: m[:300] for n, (o, m) in checks.items() if o in ("failed", "error")}
    assert code == 0 and not failed, failed or output[-2000:]
    for name in (
        "test_session_made_on_one_target_works_on_every_other",
        "test_logout_on_one_target_ends_the_session_on_every_other",
        "test_session_is_in_the_store_with_a_ttl",
        "test_session_lifetimes_are_consistent",
    ):
        assert checks[name][0] == "passed", (name, checks[name][1][:300])
    assert 'name="csrfmiddlewaretoken"' in literal  # what the recipe reads is Django's own form
    assert stack.password not in output


def test_init_recognises_django_and_with_credentials_its_profile_passes_every_command(
    tmp_path: Path, wheel_bin: Path
) -> None:
    """From the installed wheel, as a new user: `parity init` on a Django stack recognises
    Django by its login form and cookie and writes its login recipe and store key; with the
    test user's credentials set, `parity check` passes (once the team accepts Django's
    whole-session saves, which the check names first), and so do `parity canary` and `parity
    watch` (issue 24)."""
    project = tmp_path / "project"
    project.mkdir()
    with django_stack(tmp_path / "stack") as stack:
        text = init_static(wheel_bin, project, "django-stg", stack.url, stack.targets,
                           "--session-path", "/notes", "--redis-url", stack.redis_url)  # fmt: skip
        credentials = {"APP_TEST_USER": USERNAME, "APP_TEST_PASSWORD": stack.password}
        first = run(wheel_bin, project, "parity", "check", "--env", "django-stg", "--suite",
                    "sharing", "--report-dir", "reports", env=credentials)  # fmt: skip
        first_results = json.loads((project / "reports/latest/results.json").read_text())
        (project / "environments" / "django-stg.yaml").write_text(text + ACCEPT)
        every = every_command(wheel_bin, project, "django-stg", credentials)
    said = comments(text)
    assert "(observed: GET /accounts/login/ answered a form with the csrfmiddlewaretoken" in said
    assert "key: :1:django.contrib.sessions.cache{session_id}" in text, text
    failed = {c["name"]: c["message"] for c in first_results["checks"] if c["outcome"] == "failed"}
    assert first.returncode == 1 and list(failed) == [
        "test_concurrent_writes_on_two_targets_both_survive"
    ], failed
    assert failed["test_concurrent_writes_on_two_targets_both_survive"].startswith("[lost-update]")
    assert_passed(every, stack)
    # the model may or may not meet a lost update in its journeys (a race): accepted if it does
    model = every.checks["test_random_session_sequences_match_the_model"]
    assert model[0] in ("passed", "accepted"), model
    assert stack.password not in first.stdout + first.stderr


def test_a_secret_key_that_differs_on_one_django_instance_is_caught(
    tmp_path: Path, wheel_bin: Path
) -> None:
    """Django ties a login to SECRET_KEY (the session's auth hash): an instance with its own
    key logs every session out. The profile `parity init` wrote catches it, naming app-2."""
    with django_stack(tmp_path / "stack", odd_secret=2) as stack:
        code, failed = init_and_check_sharing(wheel_bin, tmp_path, stack, "django-stg", USERNAME)
    assert code == 1, failed
    seen = failed["test_session_made_on_one_target_works_on_every_other"]
    assert seen.startswith("[session-not-shared]") and "app-2" in seen, seen[:500]
