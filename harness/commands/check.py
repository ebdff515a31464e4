"""`parity check`: the suites (and a load profile) against one environment, and the reports.

Writes reports/<timestamp>/ with index.html, junit.xml, results.json and the load evidence, and
points reports/latest at it. Exit: 0 passed, 1 findings, 2 bad usage or profile, 3 could not run.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import __version__
from harness.loadgen.gates import Gate
from harness.loadgen.options import LoadOptions
from harness.loadgen.runner import check_caps, run_load
from harness.profile.environment import Environment
from harness.report.acceptance import acceptance_section
from harness.report.coverage import builds_under_test, not_covered
from harness.report.folder import point_latest, write_reports
from harness.report.model import DiffSection, LoadSection, Results
from harness.report.redact import redact
from harness.report.run_info import run_info, stamp_of
from harness.report.verdict import no_check_reason, verdict_of
from harness.suite_run import SuiteSelection, run_suites
from harness.topology import Provider, open_environment


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

    @property
    def selection(self) -> SuiteSelection:
        return SuiteSelection(
            tuple(self.suites),
            self.keyword,
            self.allow_disruptive,
            self.allow_production,
            self.previous_env,
        )


def _load_options(env: Environment, opts: CheckOptions) -> LoadOptions | None:
    """The load run `--with-load` asks for, its flags and gates checked (before any work)."""
    if not opts.with_load:
        return None
    load_opts = LoadOptions(
        opts.with_load,
        users=opts.load_users,
        spawn_rate=opts.load_users,
        run_time=opts.load_run_time,
        gates=list(env.load.gates),
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


def run_check(env: Environment, opts: CheckOptions) -> tuple[Results, Path]:
    """Run everything, write the reports; the results document and the report folder."""
    load_opts = _load_options(env, opts)  # a bad flag is exit 2 before anything runs
    started = time.time()
    stamp = stamp_of(started)
    folder = opts.report_dir / stamp
    folder.mkdir(parents=True, exist_ok=True)
    with open_environment(env, for_children=True) as provider:
        topology = provider.resolve()
        outcome = run_suites(env, provider, opts.selection)
        checks = outcome.checks
        load = _load(env, provider, opts, load_opts)
        after = provider.resolve()
        diff: DiffSection | None = None
        if opts.reference is not None:
            from harness.commands.diff import compare_environments

            diff = compare_environments(env, opts.reference, topology=after)
    verdict, exit_code = verdict_of(checks, load, diff)
    results: Results = {
        "parity_version": __version__,
        "verdict": verdict,
        "verdict_reason": no_check_reason(checks, opts.suites, opts.keyword),
        "exit_code": exit_code,
        "run": run_info(started, opts.app_revision),
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
    results["sessions"] = outcome.sessions
    results["not_covered"] = not_covered(checks)
    results = redact(results, tuple(topology.secrets.values()))
    write_reports(results, folder)
    point_latest(opts.report_dir, stamp)
    return results, folder
