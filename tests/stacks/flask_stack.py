"""A Flask app (Flask-Login, Flask-WTF CSRF, Flask-Session in Redis) as a user runs it: gunicorn
instances behind HAProxy with cookie stickiness, a real redis-server. Every process is started
here and stopped by its PID."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.stacks.common import start_haproxy, start_instances, start_redis, static_head

HERE = Path(__file__).resolve().parent
PASSWORD_VARIABLE = "PARITY_FLASK_PASSWORD"
USERNAME = "bob"
# the login form's CSRF token from its <meta>, posted with the form and sent as X-CSRFToken on
# every write and the logout (Flask-WTF ties it to the session, which the login keeps)
FORMS_RECIPE = """\
  login:
    - {method: GET, path: /login, extract: {csrf: {meta: csrf-token}}}
    - method: POST
      path: /login
      form: {csrf_token: "{csrf}", username: "{username}", password: "{password}"}
      follow_redirects: false
      expect_status: 302
  write:
    method: PUT
    path: "/notes/{key}"
    headers: {X-CSRFToken: "{csrf}"}
    json: {value: "{value}"}
    follow_redirects: false
  read:
    method: GET
    path: /notes
    follow_redirects: false
    extract: {value: {json: "/data/{key}"}, user: {json: /user}}
  logout:
    method: POST
    path: /logout
    headers: {X-CSRFToken: "{csrf}"}
    follow_redirects: false
    expect_status: 302
"""


@dataclass
class FlaskStack:
    url: str
    redis_url: str
    targets: dict[str, str] = field(default_factory=dict)
    password: str = ""

    def profile(self, path: Path, extra: str = "") -> Path:
        path.write_text(
            static_head("flask", self.url, self.targets) + "session:\n  cookie: session\n"
            f"  credentials: {{username: {USERNAME}, password: '${{{PASSWORD_VARIABLE}}}'}}\n"
            f"{FORMS_RECIPE}redis:\n  url: {self.redis_url}\n{extra}"
        )
        return path

    def env(self) -> dict[str, str]:
        return {PASSWORD_VARIABLE: self.password}


@contextmanager
def flask_stack(
    work: Path, instances: int = 2, odd_secret: int | None = None
) -> Iterator[FlaskStack]:
    """The stack, up; `odd_secret` gives instance i (1-based) a SECRET_KEY of its own."""
    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        redis_url = start_redis(stack, work)
        password, key = secrets.token_urlsafe(12), secrets.token_hex(32)
        envs = [
            {
                **os.environ,
                "PYTHONPATH": str(HERE),
                "FLASK_SECRET_KEY": secrets.token_hex(32) if i == odd_secret else key,
                "FLASK_REDIS_URL": redis_url,
                "FLASK_USERNAME": USERNAME,
                "FLASK_PASSWORD": password,
            }
            for i in range(1, instances + 1)
        ]
        targets = start_instances(stack, work, "parity_flask:create_app()", envs)
        url = start_haproxy(stack, work, targets)
        yield FlaskStack(url, redis_url, targets, password)
