"""A Rails 6.1 app with Devise and redis-actionpack (tests/stacks/parity_rails; its gems from
Debian's packages) as a user runs it: puma instances behind HAProxy with cookie stickiness, a
real redis-server. Every process is started here and stopped by its PID."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.replica.processes import free_port, wait_until
from tests.stacks.common import answers, spawn, start_haproxy, start_redis

APP = Path(__file__).resolve().parent / "parity_rails"
EMAIL = "dana@example.com"


@dataclass
class RailsStack:
    url: str
    redis_url: str
    targets: dict[str, str] = field(default_factory=dict)
    password: str = ""


@contextmanager
def rails_stack(work: Path, instances: int = 2) -> Iterator[RailsStack]:
    """The stack, up: one database and one secret_key_base, as a deploy of one build has."""
    for tool in ("ruby", "puma"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"the Rails stack needs {tool} (scripts/install-system-deps)")
    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        redis_url = start_redis(stack, work)
        password = secrets.token_urlsafe(12)
        base = {
            **os.environ,
            "RAILS_ENV": "production",
            "SECRET_KEY_BASE": secrets.token_hex(64),
            "RAILS_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/0",
            "RAILS_DB": str(work / "rails.sqlite3"),
        }
        subprocess.run(
            ["ruby", "setup.rb", EMAIL, password], cwd=APP, env=base, check=True,
            capture_output=True, timeout=120,
        )  # fmt: skip
        targets = {}
        for i in range(1, instances + 1):
            port = free_port()
            env = {**base, "INSTANCE_ID": f"app-{i}"}
            argv = ["puma", "-b", f"tcp://127.0.0.1:{port}", "-t", "4:4", "-w", "0",
                    "--dir", str(APP), str(APP / "config.ru")]  # fmt: skip
            spawn(stack, argv, work / f"app-{i}.log", env)
            targets[f"app-{i}"] = f"http://127.0.0.1:{port}"
        for target, url in targets.items():
            wait_until(lambda u=url: answers(u + "/healthz"), 60, f"rails {target}")
        url = start_haproxy(stack, work, targets)
        yield RailsStack(url, redis_url, targets, password)
