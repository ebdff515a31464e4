"""What `parity init` knows of each web framework: its session cookie, its login form and the
CSRF token it carries, its logout, and the store key layout of its Redis sessions; how it is
recognised from what the app answers; the session recipe written for it.

No framework has an endpoint that writes and reads a value in the session, which the session
checks need; the recipe asks the app's own (`--session-path`; docs/guides/init.md, "A session
endpoint"):
`PUT PATH/{key}` with `{"value": ...}` stores it, `GET PATH` answers `{"data": {key: value}}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.store.keys import LAYOUTS

SESSION_PATH = "/parity/session"  # the default session endpoint, when --session-path is not given


@dataclass(frozen=True)
class Framework:
    """One framework's login flow as its own auth views implement it."""

    name: str
    title: str
    cookie: str  # the session cookie's default name
    login_path: str
    token_field: str | None  # the login form's hidden CSRF field
    user_field: str
    logout: tuple[str, str]  # method, path
    token_header: str | None  # the header a write and the logout carry the token in
    token_from_cookie: str | None = None  # the token is this cookie's value (Django's csrftoken)
    token_again: str | None = None  # the framework rotates the token at login: read it here
    layout: str | None = None  # the LAYOUTS entry of its Redis sessions
    signs: tuple[str, ...] = ()  # cookies that name it (none as common as "session")
    cookie_pattern: str | None = None  # a session cookie named per app (Rails: _app_session)


FRAMEWORKS: dict[str, Framework] = {
    f.name: f
    for f in (
        Framework("django", "Django (django.contrib.auth LoginView)", "sessionid",
                  "/accounts/login/", "csrfmiddlewaretoken", "username",
                  ("POST", "/accounts/logout/"), "X-CSRFToken", token_from_cookie="csrftoken",
                  layout="sessionid", signs=("csrftoken", "sessionid")),
        Framework("rails", "Rails with Devise", "_app_session", "/users/sign_in",
                  "authenticity_token", "user[email]", ("DELETE", "/users/sign_out"),
                  "X-CSRF-Token", token_again="/", layout="_app_session",
                  cookie_pattern=r"^_[A-Za-z0-9_]+_session$"),
        Framework("laravel", "Laravel (Breeze or Fortify)", "laravel_session", "/login",
                  "_token", "email", ("POST", "/logout"), "X-CSRF-TOKEN",
                  layout="laravel_session", signs=("laravel_session", "XSRF-TOKEN")),
        Framework("spring", "Spring Security form login", "SESSION", "/login", "_csrf",
                  "username", ("POST", "/logout"), "X-CSRF-TOKEN", token_again="/login",
                  layout="SESSION", signs=("SESSION", "JSESSIONID")),
        Framework("express", "Express with express-session and a CSRF middleware",
                  "connect.sid", "/login", "_csrf", "username", ("POST", "/logout"),
                  "X-CSRF-Token", token_again="/login", layout="connect.sid",
                  signs=("connect.sid",)),
        Framework("flask", "Flask-Login with Flask-WTF", "session", "/login", "csrf_token",
                  "username", ("POST", "/logout"), "X-CSRFToken", layout="session"),
        Framework("php", "PHP sessions (phpredis)", "PHPSESSID", "/login", None, "username",
                  ("POST", "/logout"), None, layout="PHPSESSID", signs=("PHPSESSID",)),
    )
}  # fmt: skip
LOGIN_PATHS = tuple(dict.fromkeys(f.login_path for f in FRAMEWORKS.values()))


@dataclass(frozen=True)
class LoginPage:
    """What one of the usual login paths answered: its status, form fields, cookies set."""

    path: str
    status: int
    fields: frozenset[str]
    cookies: frozenset[str]


@dataclass(frozen=True)
class Recognition:
    """The framework `parity init` will write a recipe for, and the evidence (or the flag)."""

    framework: Framework | None
    evidence: str
    cookie: str | None = None  # the session cookie's name as observed (Rails names it per app)


def named_cookie(framework: Framework, cookies: set[str]) -> str | None:
    """The app's own name for the framework's session cookie (Rails: _shop_session), if seen."""
    pattern = framework.cookie_pattern
    return next((c for c in sorted(cookies) if pattern and re.match(pattern, c)), None)


def recognise(cookies: list[str], pages: list[LoginPage]) -> Recognition:
    """The one framework the observed cookies and login pages point at; none when nothing
    does or two do equally (a guess would write the wrong recipe)."""
    scores: dict[str, tuple[int, list[str]]] = {}
    every_cookie = set(cookies).union(*(p.cookies for p in pages))
    for f in FRAMEWORKS.values():
        named = named_cookie(f, every_cookie)
        seen = [
            f"a {c} cookie" for c in (*f.signs, *([named] if named else [])) if c in every_cookie
        ]
        score = len(seen)
        for page in pages:
            if page.path == f.login_path and page.status == 200 and f.token_field in page.fields:
                seen.insert(0, f"GET {page.path} answered a form with the {f.token_field} field")
                score += 2
        if score:
            scores[f.name] = (score, seen)
    if not scores:
        return Recognition(None, "no framework's cookie or login form was seen")
    best = max(s for s, _ in scores.values())
    top = [n for n, (s, _) in scores.items() if s == best]
    if len(top) > 1:
        return Recognition(None, f"as likely {' or '.join(top)}: give --framework {'|'.join(top)}")
    framework = FRAMEWORKS[top[0]]
    evidence = "observed: " + "; ".join(scores[top[0]][1])
    return Recognition(framework, evidence, named_cookie(framework, every_cookie))


def _token(framework: Framework) -> str:
    return f"{{cookie:{framework.token_from_cookie}}}" if framework.token_from_cookie else "{csrf}"


def recipe(framework: Framework, session_path: str, cookie: str | None = None) -> dict[str, Any]:
    """The `session:` section for the framework's own login, against the app's session
    endpoint; credentials from ${APP_TEST_USER} and ${APP_TEST_PASSWORD}."""
    f, login_path = framework, framework.login_path
    form = {f.user_field: "{username}", "password": "{password}"}
    if f.user_field.startswith("user["):  # Devise's nested form
        form = {f.user_field: "{username}", "user[password]": "{password}"}
    login: list[dict[str, Any]] = []
    if f.token_field:
        login.append({"method": "GET", "path": login_path,
                      "extract": {"csrf": {"form_field": f.token_field}}})  # fmt: skip
        form[f.token_field] = "{csrf}"
    login.append({"method": "POST", "path": login_path, "form": form,
                  "follow_redirects": False, "expect_status": "300-399"})  # fmt: skip
    if f.token_again and f.token_field:
        again = {"meta": "csrf-token"} if f.token_again == "/" else {"form_field": f.token_field}
        login.append({"method": "GET", "path": f.token_again, "extract": {"csrf": again}})
    headers = {f.token_header: _token(f)} if f.token_header else {}
    method, logout_path = f.logout
    return {
        "cookie": cookie or f.cookie,
        "credentials": {"username": "${APP_TEST_USER}", "password": "${APP_TEST_PASSWORD}"},
        "login": login,
        "write": {"method": "PUT", "path": session_path.rstrip("/") + "/{key}",
                  **({"headers": headers} if headers else {}),
                  "json": {"value": "{value}"}, "follow_redirects": False},
        "read": {"method": "GET", "path": session_path, "follow_redirects": False,
                 "extract": {"value": {"json": "/data/{key}"}}},
        "logout": {"method": method, "path": logout_path,
                   **({"headers": headers} if headers else {}),
                   "follow_redirects": False, "expect_status": "200-399"},
    }  # fmt: skip


def store_layout(framework: Framework) -> tuple[str, str | None, str | None]:
    """(what it is, the key, the session_id regex) of the framework's Redis sessions."""
    return LAYOUTS[framework.layout] if framework.layout else (framework.title, None, None)


def reference_table() -> str:
    """The frameworks as a Markdown table, for docs/guides/init.md (a test keeps both the same)."""
    rows = [
        "| `--framework` | what | session cookie | login form (token field, user field) "
        "| token on writes and the logout | logout | store key |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in FRAMEWORKS.values():
        token = f"`{f.token_field}`, " if f.token_field else "no token, "
        header = (f"`{f.token_header}: {_token(f)}`" if f.token_header else "none") + (
            f" (read again from `{f.token_again}` after the login)" if f.token_again else ""
        )
        _, key, _ = store_layout(f)
        rows.append(
            f"| {f.name} | {f.title} | `{f.cookie}` | `{f.login_path}` ({token}`{f.user_field}`) "
            f"| {header} | {f.logout[0]} `{f.logout[1]}` "
            f"| {f'`{key}`' if key else 'not derivable from the cookie'} |"
        )
    return "\n".join(rows)
