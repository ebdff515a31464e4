"""The session section `parity init` writes: the recognised framework's login recipe and store
layout, the replica's own contract, or a skeleton of the endpoints a probe found."""

from __future__ import annotations

import textwrap
from importlib import resources
from typing import Any

import yaml

from harness.scaffold.frameworks import (
    FRAMEWORKS,
    SESSION_PATH,
    Recognition,
    named_cookie,
    recipe,
    recognise,
    store_layout,
)
from harness.scaffold.line import Line
from harness.scaffold.source import Source
from harness.store.keys import LAYOUTS


def recognition_of(source: Source, http: dict[str, Any]) -> Recognition:
    """The framework to write a recipe for: --framework, else what the app's answers show."""
    if source.framework:
        named = FRAMEWORKS[source.framework]
        pages = http.get("login_pages", [])
        cookies = set(http["cookies"]).union(*(p.cookies for p in pages))
        return Recognition(
            named, f"from --framework {source.framework}", named_cookie(named, cookies)
        )
    return recognise(http["cookies"], http.get("login_pages", []))


def _framework_lines(source: Source, found: Recognition) -> list[Line]:
    """A recipe for the framework's own login, and its store key layout."""
    framework = found.framework
    assert framework is not None
    path = source.session_path or SESSION_PATH
    what, key, session_id = store_layout(framework)
    store: dict[str, Any] = {"url": source.redis_url} if source.redis_url else {}
    if key is not None:
        store.update(key=key, session_id=session_id)
    endpoint = (
        "--session-path"
        if source.session_path
        else ('a guess: give --session-path; docs/guides/init.md, "A session endpoint"')
    )
    said = (
        f"session: the login of {framework.title} ({found.evidence}), as ${{APP_TEST_USER}} with "
        f"${{APP_TEST_PASSWORD}}; the write and read go to the app's session endpoint at {path} "
        f"({endpoint})"
    )
    lines = [
        *(Line(0, None, comment=c) for c in textwrap.wrap(said, 96, subsequent_indent="  ")),
        Line(0, "session", recipe(framework, path, found.cookie)),
    ]
    layout = (
        f"{what}: key {key}"
        if key
        else f"{what}: no key derives from the cookie; give the session driver a store_key(user)"
    )
    if source.redis_url:
        return [*lines, Line(0, "redis", store, layout)]
    return [
        *lines,
        Line(0, None, comment="redis: (the session store: parity init --redis-url URL, or:)"),
        Line(0, None, comment='  url: "redis://:${REDIS_PASSWORD}@HOST:6379/0"'),
        *(
            [Line(0, None, comment=f"  key: {key!r}  # {what}"),
             Line(0, None, comment=f"  session_id: {session_id!r}")]
            if key else [Line(0, None, comment=f"  ({layout})")]
        ),
    ]  # fmt: skip


def session_lines(source: Source, http: dict[str, Any]) -> list[Line]:
    if source.kind == "replica":  # the reference app: its contract is known, and it works
        base = yaml.safe_load(
            resources.files("harness.profile").joinpath("replica.yaml").read_text()
        )
        return [
            Line(0, "session", base["session"], "the reference app's contract"),
            Line(0, "redis", base["redis"], "the reference app's session keys"),
        ]
    found_framework = recognition_of(source, http)
    if found_framework.framework is not None:
        return _framework_lines(source, found_framework)
    found = ", ".join(f"{p} ({s})" for p, s in http["session"]) or "none of the usual paths"
    path = (source.session_path or "/session").rstrip("/") or "/session"
    return [
        Line(0, None, comment=f"framework: {found_framework.evidence} (--framework NAME)"),
        Line(0, None, comment=f"session: a skeleton to complete. A probe found: {found}."),
        Line(0, None, comment="  (a guess: check each path, method and body against the app)"),
        Line(0, None, comment="session:"),
        Line(0, None, comment="  cookie: session"),
        Line(
            0,
            None,
            comment='  credentials: {username: "${APP_TEST_USER}", '
            'password: "${APP_TEST_PASSWORD}"}',
        ),
        Line(
            0,
            None,
            comment="  login: {method: POST, path: /login, "
            'json: {username: "{username}", password: "{password}"}}',
        ),
        Line(
            0,
            None,
            comment=f'  write: {{method: PUT, path: "{path}/{{key}}", '
            + 'json: {value: "{value}"}}',
        ),
        Line(
            0,
            None,
            comment=f"  read: {{method: GET, path: {path}, "
            'extract: {value: {json: "/data/{key}"}}}',
        ),
        Line(0, None, comment="  logout: {method: POST, path: /logout}"),
        Line(0, None, comment="redis:"),
        Line(
            0,
            None,
            comment=f'  url: "{source.redis_url or "redis://:${REDIS_PASSWORD}@HOST:6379/0"}"',
        ),
        *_store_layout(http["cookies"]),
    ]


def _store_layout(cookies: list[str]) -> list[Line]:
    """The store key layout of a framework the entry's cookies name, as a comment to keep."""
    for name in cookies:
        if name in LAYOUTS:
            framework, key, session_id = LAYOUTS[name]
            if key is None:
                return [
                    Line(0, None, comment=f"  ({framework}, from the {name} cookie: no store key "
                         "derives from the cookie; give the session driver a store_key(user))")
                ]  # fmt: skip
            return [
                Line(0, None, comment=f"  key: {key!r}  # {framework}, from the {name} cookie"),
                Line(0, None, comment=f"  session_id: {session_id!r}"),
            ]
    return []
