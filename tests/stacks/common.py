"""What every test stack starts the same way: a redis-server, gunicorn instances, HAProxy with
cookie stickiness in front; each process stopped by its PID when the stack's ExitStack closes.
And `check`, `parity check` over a stack's profile as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from harness.replica.processes import free_port, stop_pid, wait_until
from tests.helpers import parity
from tests.installed import run


def haproxy_config(
    port: int, targets: dict[str, str], cookie_attr: str = "", cdn: int | None = None
) -> str:
    """The balancer; with a `cdn` port, `/static/` goes there and never to an instance."""
    servers = "\n".join(
        f"  server {t} {u.removeprefix('http://')} check cookie {t} inter 500ms"
        for t, u in targets.items()
    )
    to_cdn = "  use_backend cdn if { path_beg /static/ }\n" if cdn else ""
    cdn_backend = f"backend cdn\n  server cdn 127.0.0.1:{cdn}\n" if cdn else ""
    return (
        "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n"
        f"  timeout server 30s\nfrontend entry\n  bind 127.0.0.1:{port}\n{to_cdn}"
        "  default_backend app\nbackend app\n  balance roundrobin\n"
        f"  cookie SERVERID insert indirect nocache{cookie_attr}\n"
        f"  option httpchk GET /healthz\n{servers}\n{cdn_backend}"
    )


def static_head(name: str, url: str, targets: dict[str, str], balancer: str = "haproxy") -> str:
    """A static profile's first sections for a stack behind HAProxy's SERVERID cookie: the
    targets, the instance header, `expect:` up to its health check (more lines may follow)."""
    listed = "\n".join(f'    - {{id: {t}, url: "{u}"}}' for t, u in targets.items())
    return (
        f"name: {name}\nurl: {url}\ntopology:\n  provider: static\n  targets:\n{listed}\n"
        "identity: {header: X-Instance-Id}\n"
        f"expect:\n  targets: {len(targets)}\n  balancer: {balancer}\n"
        "  cookie: {name: SERVERID}\n  health_check: {path: /healthz, matcher: '200-299'}\n"
    )


def spawn(stack: ExitStack, argv: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    stack.callback(stop_pid, proc.pid, proc=proc)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


def start_redis(stack: ExitStack, work: Path) -> str:
    """A redis-server of the stack's own; its URL."""
    port = free_port()
    spawn(
        stack,
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        work / "redis.log", dict(os.environ),
    )  # fmt: skip
    return f"redis://127.0.0.1:{port}/0"


def start_instances(
    stack: ExitStack, work: Path, app: str, envs: list[dict[str, str]]
) -> dict[str, str]:
    """One gunicorn of `app` per environment (app-1, app-2, ...), each answering /healthz."""
    targets = {}
    for i, env in enumerate(envs, start=1):
        port = free_port()
        spawn(
            stack,
            [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "4"],
            work / f"app-{i}.log", {**env, "INSTANCE_ID": f"app-{i}"},
        )  # fmt: skip
        targets[f"app-{i}"] = f"http://127.0.0.1:{port}"
    for target, url in targets.items():
        wait_until(lambda u=url: answers(u + "/healthz"), 30, f"{app} {target}")
    return targets


def start_haproxy(stack: ExitStack, work: Path, targets: dict[str, str], **config: object) -> str:
    """HAProxy in front of `targets` (haproxy_config's options); its entry URL."""
    entry = free_port()
    path = work / "haproxy.cfg"
    path.write_text(haproxy_config(entry, targets, **config))  # type: ignore[arg-type]
    spawn(stack, ["haproxy", "-db", "-f", str(path)], work / "haproxy.log", dict(os.environ))
    url = f"http://127.0.0.1:{entry}"
    wait_until(lambda: answers(url + "/healthz"), 15, "haproxy in front of the stack")
    return url


def check(
    tmp_path: Path, profile: Path, env: dict[str, str], *args: str
) -> tuple[int, str, dict[str, tuple[str, str]]]:
    """`parity check --env-file profile ARGS`: exit code, output, outcome and message by check."""
    reports = tmp_path / "reports"
    done = parity(
        tmp_path / "home", "check", "--env-file", str(profile), *args,
        "--report-dir", str(reports), env=env,
    )  # fmt: skip
    results = json.loads((reports / "latest" / "results.json").read_text())
    checks = {c["name"]: (c["outcome"], c["message"]) for c in results["checks"]}
    return done.returncode, done.stdout + done.stderr, checks


def init_static(
    bin_dir: Path, project: Path, name: str, url: str, targets: dict[str, str], *flags: str
) -> str:
    """`parity init NAME --static URL --target ...` from the installed wheel, run in `project`;
    the profile's text. It must say which variables to set."""
    listed = [a for t, u in targets.items() for a in ("--target", f"{t}={u}")]
    done = run(bin_dir, project, "parity", "init", name, "--static", url, *listed,
               "--not-production", *flags)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "set APP_TEST_PASSWORD, APP_TEST_USER before a check" in done.stdout, done.stdout
    return (project / "environments" / f"{name}.yaml").read_text()


def comments(text: str) -> str:
    """A profile's comment lines as one line of text (init wraps its long comments)."""
    return " ".join(line.strip("# ") for line in text.splitlines() if line.startswith("#"))


@dataclass
class EveryCommand:
    """`parity check`, `parity canary --json` and `parity watch -- sleep 3` on one profile."""

    check: subprocess.CompletedProcess[str]
    checks: dict[str, tuple[str, str]]
    canary: subprocess.CompletedProcess[str]
    watch: subprocess.CompletedProcess[str]
    watched: dict[str, Any]

    def failures(self) -> list[str]:
        """What went wrong, as lines; none when every command passed."""
        wrong = [f"{n}: {m[:300]}" for n, (o, m) in self.checks.items() if o in ("failed", "error")]
        for command in (self.check, self.canary, self.watch):
            if command.returncode != 0:
                said = command.stdout[-500:] + command.stderr[-800:]
                wrong.append(f"{command.args[:2]} exit {command.returncode}: {said}")
        load = self.watched.get("load", {})
        if not load.get("requests") or load.get("session_losses"):
            wrong.append(f"watch load: {load}")
        return wrong

    def output(self) -> str:
        return "".join(c.stdout + c.stderr for c in (self.check, self.canary, self.watch))


def every_command(
    bin_dir: Path, project: Path, name: str, credentials: dict[str, str]
) -> EveryCommand:
    """The three commands a team runs, from the installed wheel, with `credentials` set."""
    checked = run(bin_dir, project, "parity", "check", "--env", name, "--report-dir", "reports",
                  env=credentials)  # fmt: skip
    results = json.loads((project / "reports" / "latest" / "results.json").read_text())
    canary = run(bin_dir, project, "parity", "canary", "--env", name, "--json", env=credentials)
    watch = run(bin_dir, project, "parity", "watch", "--env", name, "--settle", "1",
                "--report-dir", "watch", "--", "sleep", "3", env=credentials)  # fmt: skip
    docs = sorted((project / "watch").glob("watch-*/watch.json"))
    return EveryCommand(
        checked,
        {c["name"]: (c["outcome"], c["message"]) for c in results["checks"]},
        canary,
        watch,
        json.loads(docs[-1].read_text()) if docs else {},
    )
