"""What `parity init` asks the environment over HTTP: the entry's identity header, version and
session endpoints, cookies and login pages, and each static target's health path."""

from __future__ import annotations

from typing import Any

import requests

from harness.scaffold.frameworks import (
    LOGIN_PATHS,
    LoginPage,
)
from harness.scaffold.realtime import observe_realtime
from harness.scaffold.source import Source
from harness.traffic.contract import html_fields

IDENTITY_HEADERS = ("X-Instance-Id", "X-Served-By", "X-Backend-Server", "X-Upstream", "X-Server")

VERSION_PATHS = ("/version", "/api/version", "/build", "/healthz")

SESSION_PATHS = ("/login", "/api/login", "/session", "/api/session", "/logout", "/api/logout")

PROBE_TIMEOUT = 5.0
# where apps answer health checks: the usual names, Rails 7.1's /up, Spring Boot's actuator,
# then the root (which a framework's app often answers 404, or a redirect to its login)

HEALTH_PATHS = ("/healthz", "/health", "/up", "/actuator/health", "/status", "/ping", "/")

HEALTH_MATCHER = "200-299"


def _get(url: str, verify: bool | str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=PROBE_TIMEOUT, verify=verify, allow_redirects=False)
    except requests.RequestException:
        return None


def observe_http(entry: str, verify: bool | str) -> dict[str, Any]:
    """What the entry URL says about the balancer, the identity header, the build, sessions."""
    first = _get(entry, verify)
    found: dict[str, Any] = {"cookies": [], "identity": None, "version": None, "session": []}
    if first is not None:
        found["cookies"] = list(first.cookies.keys())
        found["identity"] = next((h for h in IDENTITY_HEADERS if h in first.headers), None)
    for path in VERSION_PATHS:
        answer = _get(entry.rstrip("/") + path, verify)
        body = _json(answer)
        key = next((k for k in ("build", "version", "commit") if k in body), None)
        if answer is not None and answer.status_code == 200 and key:
            found["version"] = {"path": path, "json": f"/{key}"}
            break
    for path in SESSION_PATHS:
        answer = _get(entry.rstrip("/") + path, verify)
        if answer is not None and answer.status_code != 404:
            found["session"].append((path, answer.status_code))
            found["cookies"] += [c for c in answer.cookies.get_dict() if c not in found["cookies"]]
    found["login_pages"] = [
        LoginPage(path, answer.status_code, frozenset(html_fields(answer.text).inputs),
                  frozenset(answer.cookies.keys()))
        for path in LOGIN_PATHS
        if (answer := _get(entry.rstrip("/") + path, verify)) is not None
    ]  # fmt: skip
    found["realtime"] = observe_realtime(entry, verify)
    return found


def _json(answer: requests.Response | None) -> dict[str, Any]:
    try:
        body = answer.json() if answer is not None else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def health_path(source: Source) -> str:
    """The static targets' health path: --health-path, else the first of HEALTH_PATHS that
    every target answers 2xx directly (kept in `source.health_note`)."""
    if source.health_path:
        source.health_note = "from --health-path"
        return source.health_path
    for path in HEALTH_PATHS:
        answers = [_get(url.rstrip("/") + path, True) for _, url in source.targets]
        if all(a is not None and 200 <= a.status_code < 300 for a in answers):
            codes = sorted({a.status_code for a in answers if a is not None})
            source.health_note = (
                f"observed: every target answered GET {path} with {', '.join(map(str, codes))}"
            )
            return path
    source.health_note = (
        f"no target answered 2xx at any of {', '.join(HEALTH_PATHS)}: set the app's health "
        "path (parity init --health-path PATH)"
    )
    return "/"
