"""A Flask app (Flask-Login, Flask-WTF CSRF, Flask-Session in Redis) as a user runs it: gunicorn
instances behind HAProxy with cookie stickiness, a real redis-server. Every process is started
here and stopped by its PID."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.replica.processes import free_port, wait_until
from tests.stacks.django_stack import answers, haproxy_config, spawn

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
        listed = "\n".join(f'    - {{id: {t}, url: "{u}"}}' for t, u in self.targets.items())
        path.write_text(
            f"name: flask\nurl: {self.url}\ntopology:\n  provider: static\n  targets:\n{listed}\n"
            "identity: {header: X-Instance-Id}\n"
            f"expect:\n  targets: {len(self.targets)}\n  balancer: haproxy\n"
            "  cookie: {name: SERVERID}\n  health_check: {path: /healthz, matcher: '200-299'}\n"
            "session:\n  cookie: session\n"
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
        redis_port = free_port()
        spawn(
            stack,
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(work)],
            work / "redis.log", dict(os.environ),
        )  # fmt: skip
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        password, key = secrets.token_urlsafe(12), secrets.token_hex(32)
        targets = {}
        for i in range(1, instances + 1):
            port = free_port()
            env = {
                **os.environ,
                "PYTHONPATH": str(HERE),
                "INSTANCE_ID": f"app-{i}",
                "FLASK_SECRET_KEY": secrets.token_hex(32) if i == odd_secret else key,
                "FLASK_REDIS_URL": redis_url,
                "FLASK_USERNAME": USERNAME,
                "FLASK_PASSWORD": password,
            }
            spawn(
                stack,
                [sys.executable, "-m", "gunicorn", "parity_flask:create_app()", "--bind",
                 f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
                work / f"app-{i}.log", env,
            )  # fmt: skip
            targets[f"app-{i}"] = f"http://127.0.0.1:{port}"
        for target, url in targets.items():
            wait_until(lambda u=url: answers(u + "/healthz"), 30, f"flask {target}")
        entry = free_port()
        config = work / "haproxy.cfg"
        config.write_text(haproxy_config(entry, targets))
        spawn(stack, ["haproxy", "-db", "-f", str(config)], work / "haproxy.log", dict(os.environ))
        url = f"http://127.0.0.1:{entry}"
        wait_until(lambda: answers(url + "/healthz"), 15, "haproxy in front of flask")
        yield FlaskStack(url, redis_url, targets, password)
