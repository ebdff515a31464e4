"""`parity check`: the suites (and a load profile) against one environment, and the reports.

Writes reports/<timestamp>/ with index.html, junit.xml, results.json and the load evidence, and
points reports/latest at it. Exit: 0 passed, 1 findings, 2 bad usage or profile, 3 could not run.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__
from harness.config import Environment
from harness.errors import EnvironmentUnavailable, UsageError
from harness.loadrun import LoadOptions, run_load
from harness.replica import commands as replica_commands
from harness.report import html, junit
from harness.report.redact import redact
from harness.targeting import open_environment, replica_config, uses_running_replica
from harness.topology import Provider

SUITES = ("topology", "sticky", "sharing", "failover", "distribution", "model")
SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"


@dataclass
class CheckOptions:
    suites: list[str] = field(default_factory=list)
    allow_disruptive: bool = False
    allow_production: str | None = None
    with_load: str | None = None
    load_users: int = 10
    load_run_time: float = 20
    report_dir: Path = Path("reports")
    app_revision: str | None = None
    reference: Environment | None = None


@contextlib.contextmanager
def replica_for_run(env: Environment) -> Iterator[None]:
    """For the replica: the running one, or one started (and stopped) for this check."""
    if env.provider != "replica" or uses_running_replica(env):
        yield
        return
    if replica_commands.running_state() is not None:
        raise UsageError(
            f"a replica with other settings is running; {env.source} asks for "
            f"{env.topology.get('replica')}: stop it with `parity down` first"
        )
    replica_commands.up(replica_config(env))
    try:
        yield
    finally:
        replica_commands.down()


def _git_revision() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=SUITES_DIR.parent,
                timeout=5,
                check=False,
            ).stdout.strip()
            or "unknown"
        )
    except OSError:
        return "unknown"


def run_suites(env: Environment, opts: CheckOptions, results_path: Path) -> int:
    """pytest over the chosen suites, each check printed as it ends; returns pytest's code."""
    unknown = [s for s in opts.suites if s not in SUITES]
    if unknown:
        raise UsageError(f"--suite {unknown[0]!r}: known suites: {', '.join(SUITES)}")
    paths = [str(SUITES_DIR / f"test_{s}.py") for s in (opts.suites or SUITES)]
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        "-v",
        "--no-header",
        "-p",
        "no:cacheprovider",
        "--tb=no",
        f"--parity-results={results_path}",
        "--rootdir",
        str(SUITES_DIR.parent),
    ]
    argv += ["--env-file", env.source] if not env.source.startswith("<") else []
    if opts.allow_disruptive:
        argv.append("--allow-disruptive")
    if opts.allow_production:
        argv += ["--allow-production", opts.allow_production]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=SUITES_DIR.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "::" in line and any(w in line for w in ("PASSED", "FAILED", "ERROR", "SKIPPED")):
            print("  " + line.strip().split("/")[-1], file=sys.stderr, flush=True)
    return proc.wait()


def verdict_of(checks: list[dict[str, Any]], load: dict[str, Any] | None) -> tuple[str, int]:
    if any(c["outcome"] == "error" for c in checks):
        return "error", 3
    if any(c["outcome"] == "failed" for c in checks) or any(
        not g["passed"] for g in (load or {}).get("gates", [])
    ):
        return "failed", 1
    return "passed", 0


def _load(env: Environment, provider: Provider, opts: CheckOptions) -> dict[str, Any] | None:
    if not opts.with_load:
        return None
    gates = list((env.raw.get("load") or {}).get("gates", []))
    load_opts = LoadOptions(
        opts.with_load,
        users=opts.load_users,
        spawn_rate=opts.load_users,
        run_time=opts.load_run_time,
        gates=gates,
        allow_disruptive=opts.allow_disruptive,
        allow_production=opts.allow_production,
    )
    print(
        f"load: {opts.with_load}, {opts.load_users} users, {opts.load_run_time:g} s",
        file=sys.stderr,
    )
    result = run_load(env, provider, load_opts)
    assert result is not None
    return {
        "profile": opts.with_load,
        "users": opts.load_users,
        "run_time_seconds": opts.load_run_time,
        "measured": result.measured,
        "gates": [
            {"gate": str(g.gate), "value": g.value, "passed": g.passed} for g in result.gates
        ],
        "drain_events": result.drain_events,
        "evidence": result.evidence,
    }


def run_check(env: Environment, opts: CheckOptions) -> tuple[dict[str, Any], Path]:
    """Run everything, write the reports; the results document and the report folder."""
    started = time.time()
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = opts.report_dir / stamp
    folder.mkdir(parents=True, exist_ok=True)
    with replica_for_run(env), open_environment(env) as provider:
        topology = provider.resolve()
        code = run_suites(env, opts, folder / "checks.json")
        if not (folder / "checks.json").exists():
            raise EnvironmentUnavailable(
                f"the suites did not run (pytest exit {code}); run `pytest suites` to see why"
            )
        checks = json.loads((folder / "checks.json").read_text())["checks"]
        load = _load(env, provider, opts)
        after = provider.resolve()
        diff = None
        if opts.reference is not None:
            from harness.diff import compare_environments

            diff = compare_environments(env, opts.reference, topology=after)
    verdict, exit_code = verdict_of(checks, load)
    if diff and diff["unexpected"] and exit_code == 0:
        verdict, exit_code = "failed", 1
    finished = time.time()
    results = {
        "parity_version": __version__,
        "verdict": verdict,
        "exit_code": exit_code,
        "run": {
            "id": stamp,
            "started": datetime.fromtimestamp(started, UTC).isoformat(),
            "finished": datetime.fromtimestamp(finished, UTC).isoformat(),
            "duration_seconds": round(finished - started, 1),
            "user": getpass.getuser(),
            "host": platform.node(),
            "harness_version": __version__,
            "harness_revision": _git_revision(),
            "app_revision": opts.app_revision or "not given",
            "command": " ".join(["parity", *sys.argv[1:]]),
        },
        "environment": {
            "name": env.name,
            "source": env.source,
            "provider": env.provider,
            "production": env.production,
            "url": topology.entry_url,
        },
        "topology": after.to_json(),
        "checks": checks,
        "load": load,
        "diff": diff,
    }
    results = redact(results, tuple(topology.secrets.values()))
    write_reports(results, folder)
    (folder / "checks.json").unlink()
    latest = opts.report_dir / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(stamp)
    return results, folder


def write_reports(results: dict[str, Any], folder: Path) -> None:
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    junit.write(results, folder / "junit.xml")
    html.write(results, folder / "index.html")
    if results.get("load"):
        (folder / f"load-{results['load']['profile']}.json").write_text(
            json.dumps(results["load"], indent=1)
        )
