"""An Express app (express-session in Redis through connect-redis, csrf-sync, Socket.IO with its
Redis adapter) as a user runs it: node instances behind HAProxy with cookie stickiness, a real
redis-server. Its npm packages are
installed from tests/stacks/parity_express/package-lock.json (`make setup` does it; so does the
first stack here). Every process is started here and stopped by its PID."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.stacks.common import serve_instances, start_haproxy, start_redis

APP = Path(__file__).resolve().parent / "parity_express"
USERNAME = "carol"


def install_packages() -> None:
    """`npm ci` once, if node_modules is missing (one xdist worker at a time)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the Express stack needs Node.js and npm on PATH")
    with open(Path(tempfile.gettempdir()) / "parity-express-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = json.loads((APP / "package.json").read_text())["dependencies"]
        if not all((APP / "node_modules" / name).is_dir() for name in wanted):
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel", "error"],
                cwd=APP, check=True, timeout=300,
            )  # fmt: skip


@dataclass
class ExpressStack:
    url: str
    redis_url: str
    targets: dict[str, str] = field(default_factory=dict)
    password: str = ""


@contextmanager
def express_stack(
    work: Path,
    instances: int = 2,
    odd_secret: int | None = None,
    *,
    adapter: str = "redis",
    unsticky: str | None = None,
) -> Iterator[ExpressStack]:
    """The stack, up; `odd_secret` gives instance i (1-based) a session secret of its own;
    `adapter` is Socket.IO's (`memory`: none shared); HAProxy balances paths under
    `unsticky` without its cookie."""
    install_packages()
    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        redis_url = start_redis(stack, work)
        password, secret = secrets.token_urlsafe(12), secrets.token_hex(32)
        envs = [
            {
                **os.environ,
                "REDIS_URL": redis_url,
                "SESSION_SECRET": secrets.token_hex(32) if i == odd_secret else secret,
                "APP_USERNAME": USERNAME,
                "APP_PASSWORD": password,
                "REALTIME_ADAPTER": adapter,
            }
            for i in range(1, instances + 1)
        ]
        targets = serve_instances(
            stack, work, "express", envs, lambda port: ["node", str(APP / "app.js")]
        )
        url = start_haproxy(stack, work, targets, unsticky=unsticky)
        yield ExpressStack(url, redis_url, targets, password)
