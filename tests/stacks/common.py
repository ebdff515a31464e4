"""What every test stack starts the same way: a redis-server, gunicorn instances, HAProxy with
cookie stickiness in front; each process stopped by its PID when the stack's ExitStack closes.
And `check`, `parity check` over a stack's profile as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests

from harness.replica.processes import free_port, stop_pid, wait_until
from tests.helpers import parity
from tests.installed import run


def haproxy_config(
    port: int,
    targets: dict[str, str],
    cookie_attr: str = "",
    cdn: int | None = None,
    unsticky: str | None = None,
) -> str:
    """The balancer; with a `cdn` port, `/static/` goes there and never to an instance; paths
    under `unsticky` go to a backend of their own without the cookie (a misconfiguration)."""
    servers = "\n".join(
        f"  server {t} {u.removeprefix('http://')} check cookie {t} inter 500ms"
        for t, u in targets.items()
    )
    to_cdn = "  use_backend cdn if { path_beg /static/ }\n" if cdn else ""
    cdn_backend = f"backend cdn\n  server cdn 127.0.0.1:{cdn}\n" if cdn else ""
    to_unsticky = f"  use_backend unsticky if {{ path_beg {unsticky} }}\n" if unsticky else ""
    unsticky_backend = (
        "backend unsticky\n  balance roundrobin\n"
        + "".join(f"  server {t} {u.removeprefix('http://')}\n" for t, u in targets.items())
        if unsticky
        else ""
    )
    return (
        "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n"
        f"  timeout server 30s\nfrontend entry\n  bind 127.0.0.1:{port}\n{to_cdn}{to_unsticky}"
        "  default_backend app\nbackend app\n  balance roundrobin\n"
        f"  cookie SERVERID insert indirect nocache{cookie_attr}\n"
        f"  option httpchk GET /healthz\n{servers}\n{cdn_backend}{unsticky_backend}"
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


def serve_instances(
    stack: ExitStack,
    work: Path,
    what: str,
    envs: list[dict[str, str]],
    argv: Callable[[int], list[str]],
    timeout: float = 30,
) -> dict[str, str]:
    """One process per environment (app-1, app-2, ...; `argv(port)`, with INSTANCE_ID and
    PORT set), each answering /healthz; their URLs by target."""
    targets = {}
    for i, env in enumerate(envs, start=1):
        port = free_port()
        spawn(stack, argv(port), work / f"app-{i}.log",
              {**env, "INSTANCE_ID": f"app-{i}", "PORT": str(port)})  # fmt: skip
        targets[f"app-{i}"] = f"http://127.0.0.1:{port}"
    for target, url in targets.items():
        wait_until(lambda u=url: answers(u + "/healthz"), timeout, f"{what} {target}")
    return targets


def start_instances(
    stack: ExitStack, work: Path, app: str, envs: list[dict[str, str]]
) -> dict[str, str]:
    """One gunicorn of `app` per environment (app-1, app-2, ...), each answering /healthz."""
    return serve_instances(
        stack, work, app, envs,
        lambda port: [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
                      "--workers", "1", "--threads", "4"],
    )  # fmt: skip


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


class AppStack(Protocol):
    """What the framework stacks give their tests."""

    url: str
    redis_url: str
    targets: dict[str, str]
    password: str


SESSION_CHECKS = (  # what every framework stack must pass with the profile init wrote
    "test_session_made_on_one_target_works_on_every_other",
    "test_logout_on_one_target_ends_the_session_on_every_other",
    "test_session_is_in_the_store_with_a_ttl",
)


def credentials(stack: AppStack, username: str) -> dict[str, str]:
    return {"APP_TEST_USER": username, "APP_TEST_PASSWORD": stack.password}


def init_and_every_command(
    wheel_bin: Path, tmp_path: Path, stack: AppStack, name: str, username: str, accept: str
) -> tuple[str, EveryCommand]:
    """`parity init` (the /notes session endpoint, the stack's store) from the wheel, `accept`
    added as the team would, then every command: the profile's text and what they did."""
    project = tmp_path / "project"
    project.mkdir()
    text = init_static(wheel_bin, project, name, stack.url, stack.targets,
                       "--session-path", "/notes", "--redis-url", stack.redis_url)  # fmt: skip
    (project / "environments" / f"{name}.yaml").write_text(text + accept)
    return text, every_command(wheel_bin, project, name, credentials(stack, username))


def assert_passed(every: EveryCommand, stack: AppStack, *more: str) -> None:
    """Every command passed, the session checks (and `more`) among them; no password shown."""
    assert not every.failures(), every.failures()
    for name in (*SESSION_CHECKS, *more):
        assert every.checks[name][0] == "passed", (name, every.checks[name])
    assert stack.password not in every.output()


def init_and_check_sharing(
    wheel_bin: Path, tmp_path: Path, stack: AppStack, name: str, username: str
) -> tuple[int, dict[str, str]]:
    """`parity init` then `parity check --suite sharing` from the wheel: the exit code and the
    failed checks' messages."""
    project = tmp_path / "project"
    project.mkdir()
    init_static(wheel_bin, project, name, stack.url, stack.targets, "--session-path", "/notes")
    done = run(wheel_bin, project, "parity", "check", "--env", name, "--suite", "sharing",
               "--report-dir", "reports", env=credentials(stack, username))  # fmt: skip
    results = json.loads((project / "reports" / "latest" / "results.json").read_text())
    failed = {c["name"]: c["message"] for c in results["checks"] if c["outcome"] == "failed"}
    return done.returncode, failed
