"""A Django 5 app as a user runs it: gunicorn instances behind HAProxy with cookie stickiness
(`cookie SERVERID insert indirect nocache`), sessions in a real redis-server through Django's
cache backend. Every process is started here and stopped by its PID."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.replica.processes import free_port, wait_until
from tests.stacks.common import (
    answers,
    spawn,
    start_haproxy,
    start_instances,
    start_redis,
    static_head,
)

HERE = Path(__file__).resolve().parent
PASSWORD_VARIABLE = "PARITY_DJANGO_PASSWORD"
USERNAME = "alice"
DJANGO_KEY = ":1:django.contrib.sessions.cache{session_id}"


API_RECIPE = (
    "  login: {method: POST, path: /api/login, "
    'json: {username: "{username}", password: "{password}"}}\n'
    '  write: {method: PUT, path: "/api/session/{key}", json: {value: "{value}"}}\n'
    "  read: {method: GET, path: /api/session, extract: {value: {json: "
    '"/data/{key}"}, user: {json: /user}}}\n'
    "  logout: {method: POST, path: /api/logout}\n"
)
# Django's own LoginView (a CSRF-protected form), a login_required JSON view, a write with the
# CSRF header, LogoutView by POST: the recipe the docs show, with no Python
FORMS_RECIPE = """\
  login:
    - method: GET
      path: /accounts/login/
      extract: {csrf: {form_field: csrfmiddlewaretoken}}
    - method: POST
      path: /accounts/login/
      form: {username: "{username}", password: "{password}", csrfmiddlewaretoken: "{csrf}"}
      follow_redirects: false
      expect_status: 302
  write:
    method: PUT
    path: "/notes/{key}"
    headers: {X-CSRFToken: "{cookie:csrftoken}"}
    json: {value: "{value}"}
    follow_redirects: false
  read:
    method: GET
    path: /notes
    follow_redirects: false
    extract: {value: {json: "/data/{key}"}, user: {json: /user}}
  logout:
    method: POST
    path: /accounts/logout/
    headers: {X-CSRFToken: "{cookie:csrftoken}"}
    follow_redirects: false
    expect_status: 302
"""


@dataclass
class DjangoStack:
    """The running stack: its entry URL, the instances' URLs and the store's."""

    url: str
    redis_url: str
    targets: dict[str, str] = field(default_factory=dict)
    password: str = ""

    def profile(
        self,
        path: Path,
        *,
        key: str | None = None,
        extra: str = "",
        balancer: str = "haproxy",
        expect: str = "",
        recipe: str = "",
    ) -> Path:
        """A static profile for the stack as its team would write it; `key` the redis.key,
        `expect` more lines of its `expect:` section (each indented two spaces), `recipe` the
        session steps (default: the JSON API's; FORMS_RECIPE: Django's own login form)."""
        recipe = recipe or API_RECIPE
        store = f"  key: {key!r}\n" if key else ""
        path.write_text(
            static_head("django", self.url, self.targets, balancer)
            + expect
            + "session:\n  cookie: sessionid\n"
            f"  credentials: {{username: {USERNAME}, password: '${{{PASSWORD_VARIABLE}}}'}}\n"
            f"{recipe}"
            f"redis:\n  url: {self.redis_url}\n{store}{extra}"
        )
        return path

    def env(self) -> dict[str, str]:
        return {PASSWORD_VARIABLE: self.password}


@contextmanager
def django_stack(
    work: Path,
    instances: int = 2,
    ages: dict[int, int] | None = None,
    cookie_attr: str = "",
    engine: str = "django.contrib.sessions.backends.cache",
    cdn: bool = False,
    odd_secret: int | None = None,
    pbkdf2_iterations: int | None = None,
) -> Iterator[DjangoStack]:
    """The stack, up; `ages` gives instance i (1-based) its own SESSION_COOKIE_AGE;
    `cookie_attr` is added to HAProxy's `cookie` line (` attr "Max-Age=3600"`); `engine` is
    Django's SESSION_ENGINE (`...signed_cookies`: sessions carried by the cookie); with `cdn`
    the static files are collected (hashed names) into a folder a static server (the "CDN")
    serves, HAProxy sends `/static/` there, and the instances serve none (DEBUG off);
    `odd_secret` gives instance i (1-based) a SECRET_KEY of its own; with
    `pbkdf2_iterations` passwords are hashed with Django's PBKDF2 at that count (a login as
    slow as production's)."""
    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        redis_url = start_redis(stack, work)
        password = secrets.token_urlsafe(12)
        base = {
            **os.environ,
            "PYTHONPATH": str(HERE),
            "DJANGO_SETTINGS_MODULE": "parity_django.settings",
            "DJANGO_SECRET_KEY": secrets.token_hex(32),  # one key: the instances agree
            "DJANGO_DB": str(work / "db.sqlite3"),
            "DJANGO_REDIS_URL": redis_url,
            "DJANGO_SESSION_ENGINE": engine,
            **(
                {"DJANGO_PBKDF2_ITERATIONS": str(pbkdf2_iterations)} if pbkdf2_iterations else {}
            ),
            **({"DJANGO_STATIC_ROOT": str(work / "cdn" / "static")} if cdn else {}),
        }
        setup = (
            "import django; django.setup()\n"
            "from django.core.management import call_command\n"
            "from django.contrib.auth.models import User\n"
            "call_command('migrate', verbosity=0)\n"
            f"User.objects.create_user({USERNAME!r}, password={password!r})\n"
            + ("call_command('collectstatic', interactive=False, verbosity=0)\n" if cdn else "")
        )
        subprocess.run([sys.executable, "-c", setup], env=base, check=True, timeout=120)
        envs = [
            {
                **base,
                **({"DJANGO_SESSION_AGE": str(ages[i])} if ages and i in ages else {}),
                **({"DJANGO_SECRET_KEY": secrets.token_hex(32)} if i == odd_secret else {}),
            }
            for i in range(1, instances + 1)
        ]
        targets = start_instances(stack, work, "parity_django.wsgi", envs)
        cdn_port = free_port() if cdn else None
        if cdn_port:
            spawn(
                stack,
                [sys.executable, "-m", "http.server", str(cdn_port), "--bind", "127.0.0.1",
                 "--directory", str(work / "cdn")],
                work / "cdn.log", dict(os.environ),
            )  # fmt: skip
            wait_until(lambda: answers(f"http://127.0.0.1:{cdn_port}/"), 15, "the static server")
        url = start_haproxy(stack, work, targets, cookie_attr=cookie_attr, cdn=cdn_port)
        yield DjangoStack(url, redis_url, targets, password)
