"""`parity check`: the suites (and a load profile) against one environment, and the reports.

Writes reports/<timestamp>/ with index.html, junit.xml, results.json and the load evidence, and
points reports/latest at it. Exit: 0 passed, 1 findings, 2 bad usage or profile, 3 could not run.
"""

from __future__ import annotations

import getpass
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import UsageError
from harness.handoff import HandOff, read_results, write_handoff
from harness.loadgen.gates import Gate
from harness.loadgen.options import LoadOptions
from harness.loadgen.runner import check_caps, run_load
from harness.packaged import package_dir
from harness.printable import printable
from harness.profile.environment import Environment
from harness.report import html, junit
from harness.report.acceptance import acceptance_section
from harness.report.coverage import builds_under_test, not_covered
from harness.report.model import CheckRecord, LoadSection, Results, Verdict
from harness.report.redact import redact
from harness.signals import die_with_parent, stop_child
from harness.suite_names import SUITE_ALIASES, SUITES, suite_named
from harness.topology import Provider, open_environment

SUITES_PACKAGE = "harness.suites"
PYTEST_USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR (the CLI does not import pytest)
NO_CHECK_RAN: Verdict = "no-check-ran"


@dataclass
class CheckOptions:
    suites: list[str] = field(default_factory=list)
    keyword: str | None = None
    allow_disruptive: bool = False
    allow_production: str | None = None
    with_load: str | None = None
    load_users: int = 10
    load_run_time: float = 20
    report_dir: Path = Path("reports")
    app_revision: str | None = None
    reference: Environment | None = None
    previous_env: str | None = None  # the compatibility suite's environment of the build before


def _git_revision() -> str:
    """The harness's own revision when it runs from a git checkout, else "unknown"."""
    import harness

    root = Path(harness.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return "unknown"
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def pytest_argv(opts: CheckOptions) -> list[str]:
    """pytest over the chosen suites as modules of the installed package (`--pyargs`), so that
    it runs from site-packages and loads the conftest.py of the directory it is started in."""
    unknown = [s for s in opts.suites if s not in SUITES and s not in SUITE_ALIASES]
    if unknown:
        raise UsageError(f"--suite {unknown[0]!r}: known suites: {', '.join(SUITES)}")
    chosen = dict.fromkeys(suite_named(s) for s in opts.suites) or SUITES
    modules = [f"{SUITES_PACKAGE}.test_{s}" for s in chosen]
    argv = [sys.executable, "-m", "pytest", "--pyargs", *modules]
    argv += ["-v", "--no-header", "-p", "no:cacheprovider", "--tb=no", "-o", "addopts="]
    rootdir = package_dir(SUITES_PACKAGE).parent  # node ids read suites/test_x.py::check
    argv += ["--rootdir", str(rootdir)]
    argv += ["-k", opts.keyword] if opts.keyword else []
    if opts.allow_disruptive:
        argv.append("--allow-disruptive")
    if opts.allow_production:
        argv += ["--allow-production", opts.allow_production]
    if opts.previous_env:
        argv += ["--previous-env", opts.previous_env]
    return argv


def _show_check_line(line: str) -> bool:
    """Print a check's outcome line; False for any other line of pytest's."""
    if "::" in line and any(w in line for w in ("PASSED", "FAILED", "ERROR", "SKIPPED")):
        print("  " + printable(line.strip().split("/")[-1]), file=sys.stderr, flush=True)
        return True
    return False


def run_suites(env: Environment, provider: Provider, opts: CheckOptions, results: Path) -> int:
    """pytest over the chosen suites against the opened environment, each check printed as it
    ends; returns pytest's code. On Ctrl-C or SIGTERM the checks are interrupted and waited for
    while they undo what they changed; if parity itself is killed, they are told by the kernel."""
    with tempfile.TemporaryDirectory(prefix="parity-check-") as tmp:
        handoff = HandOff(env, provider.hand_off(), results=str(results))
        child_env = write_handoff(handoff, Path(tmp) / "handoff.json")
        proc = subprocess.Popen(
            pytest_argv(opts),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**child_env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        other: deque[str] = deque(maxlen=3)
        try:
            for line in proc.stdout or []:
                if not _show_check_line(line) and line.strip():
                    other.append(line.strip())
            code = proc.wait()
        except KeyboardInterrupt:
            stop_child(proc, _show_check_line)
            raise
    if code == PYTEST_USAGE_ERROR:  # a -k expression pytest cannot parse, say
        raise UsageError(f"pytest refused the run: {printable(' | '.join(other))}")
    return code


def no_check_reason(checks: list[CheckRecord], opts: CheckOptions) -> str | None:
    """Why no check ran (a gate never passes on nothing), or None when one did."""
    if any(c["outcome"] in RAN for c in checks):
        return None
    selection = ", ".join(opts.suites) or "all suites"
    if opts.keyword:
        selection += f", -k {opts.keyword!r}"
    if not checks:
        return f"no check ran: the selection ({selection}) matched no check"
    first = checks[0]
    return (
        f"no check ran: all {len(checks)} selected checks ({selection}) were skipped; "
        f"first: {first['name']}: {first['message'].splitlines()[0] if first['message'] else ''}"
    )


RAN = ("passed", "failed", "error", "accepted")


def verdict_of(checks: list[CheckRecord], load: LoadSection | None) -> tuple[Verdict, int]:
    if not any(c["outcome"] in RAN for c in checks):
        return NO_CHECK_RAN, 3
    gates = load["gates"] if load else []
    if any(c["outcome"] == "failed" for c in checks) or any(g["passed"] is False for g in gates):
        return "failed", 1  # also when other checks could not run: the deployment failed
    errors = [c for c in checks if c["outcome"] == "error"]
    if errors:
        return "error", 2 if any(c.get("error_exit") == 2 for c in errors) else 3
    return "passed", 0


def _load_options(env: Environment, opts: CheckOptions) -> LoadOptions | None:
    """The load run `--with-load` asks for, its flags and gates checked (before any work)."""
    if not opts.with_load:
        return None
    load_opts = LoadOptions(
        opts.with_load,
        users=opts.load_users,
        spawn_rate=opts.load_users,
        run_time=opts.load_run_time,
        gates=list((env.raw.get("load") or {}).get("gates", [])),
        allow_disruptive=opts.allow_disruptive,
        allow_production=opts.allow_production,
    )
    check_caps(env, load_opts, flags=("--load-users", "--load-users"))
    for gate in load_opts.gates:
        Gate.parse(gate)
    return load_opts


def _load(
    env: Environment, provider: Provider, opts: CheckOptions, load_opts: LoadOptions | None
) -> LoadSection | None:
    if load_opts is None or not opts.with_load:
        return None
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
        "gates": [g.record() for g in result.gates],
        "drain_events": result.drain_events,
        "evidence": result.evidence,
    }


def _run_info(stamp: str, started: float, opts: CheckOptions) -> dict[str, Any]:
    finished = time.time()
    return {
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
    }


def _read_checks(path: Path, code: int) -> tuple[list[CheckRecord], dict[str, int]]:
    """The checks' records, and what the run did with the sessions it made."""
    said = f"exit {code}; run `pytest --pyargs harness.suites` to see why"
    body = read_results(path, "the suites' pytest run", said)
    path.unlink()
    return body["checks"], body.get("sessions") or {}


def run_check(env: Environment, opts: CheckOptions) -> tuple[Results, Path]:
    """Run everything, write the reports; the results document and the report folder."""
    load_opts = _load_options(env, opts)  # a bad flag is exit 2 before anything runs
    started = time.time()
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = opts.report_dir / stamp
    folder.mkdir(parents=True, exist_ok=True)
    with open_environment(env, for_children=True) as provider:
        topology = provider.resolve()
        code = run_suites(env, provider, opts, folder / "checks.json")
        checks, sessions = _read_checks(folder / "checks.json", code)
        load = _load(env, provider, opts, load_opts)
        after = provider.resolve()
        diff = None
        if opts.reference is not None:
            from harness.commands.diff import compare_environments

            diff = compare_environments(env, opts.reference, topology=after)
    verdict, exit_code = verdict_of(checks, load)
    if diff and diff["unexpected"] and exit_code == 0:
        verdict, exit_code = "failed", 1
    results: Results = {
        "parity_version": __version__,
        "verdict": verdict,
        "verdict_reason": no_check_reason(checks, opts),
        "exit_code": exit_code,
        "run": _run_info(stamp, started, opts),
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
    results["acceptances"], results["warnings"] = acceptance_section(env.accept, checks)
    results["builds"] = builds_under_test(checks)
    results["sessions"] = sessions
    results["not_covered"] = not_covered(checks)
    results = redact(results, tuple(topology.secrets.values()))
    write_reports(results, folder)
    _point_latest(opts.report_dir, stamp)
    return results, folder


def _point_latest(report_dir: Path, stamp: str) -> None:
    latest = report_dir / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(stamp)


def write_reports(results: Results, folder: Path) -> None:
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    junit.write(results, folder / "junit.xml")
    html.write(results, folder / "index.html")
    if results["load"]:
        (folder / f"load-{results['load']['profile']}.json").write_text(
            json.dumps(results["load"], indent=1)
        )
