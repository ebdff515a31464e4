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

from tests.stacks.common import serve_instances, start_haproxy, start_redis

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
        targets = serve_instances(
            stack, work, "rails", [base] * instances,
            lambda port: ["puma", "-b", f"tcp://127.0.0.1:{port}", "-t", "4:4", "-w", "0",
                          "--dir", str(APP), str(APP / "config.ru")],
            timeout=60,
        )  # fmt: skip
        url = start_haproxy(stack, work, targets)
        yield RailsStack(url, redis_url, targets, password)
