"""`parity check` (the pre-deploy gate) and `parity report` (render the HTML again)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.durations import parse_duration
from harness.cli.environment import add_environment_options
from harness.errors import UsageError
from harness.loadgen.options import PROFILES
from harness.printable import printable
from harness.report.model import Results, gate_status
from harness.suite_names import SUITE_ALIASES, SUITES, renamed_note, suite_named
from harness.topology import load_environment


def _summary(results: Results) -> None:
    from harness.report.coverage import builds_line, not_covered, sessions_line

    checks = results["checks"]
    print(f"\n{'suite':<13} {'check':<62} {'status':<8} time")
    for c in checks:
        title = c.get("title") or c["name"]
        print(f"{c['suite']:<13} {title[:62]:<62} {c['outcome']:<8} {c['duration']:.1f} s")
        if c["outcome"] in ("failed", "error", "accepted"):
            first = (c["message"].splitlines() or [""])[0]
            print(f"{'':<13} -> {printable(first)[:150]}")
    for warning in results.get("warnings", []):
        print(f"warning: {printable(warning)}")
    print(f"build under test: {builds_line(checks)}")
    if results.get("sessions"):
        print(f"test sessions: {sessions_line(results['sessions'])}")
    uncovered = not_covered(checks)
    if uncovered:
        print(f"not covered ({len(uncovered)} checks skipped; they prove nothing):")
        for u in uncovered:
            print(f"  {u['check'][:62]:<62} {u['reason'][:120]}")
    load = results["load"]
    if load:
        for gate in load["gates"]:
            print(f"{'load gate':<13} {gate['gate']:<62} {gate_status(gate)}")


def suites_of(names: list[str]) -> list[str]:
    """The suites `--suite` names, each old name told on stderr and given as its new one."""
    for name in names:
        note = renamed_note(name)
        if note:
            print(f"parity: note: {note}", file=sys.stderr)
    return [suite_named(name) for name in names]


def cmd_check(args: argparse.Namespace) -> int:
    from harness.cli.diff import load_reference
    from harness.commands.check import CheckOptions, run_check

    env = load_environment(args.env, args.env_file)
    reference = load_reference(args.reference) if args.reference else None
    opts = CheckOptions(
        suites=suites_of(args.suite),
        keyword=args.keyword,
        allow_disruptive=args.allow_disruptive,
        allow_production=args.allow_production,
        with_load=args.with_load,
        load_users=args.load_users,
        load_run_time=parse_duration(args.load_run_time),
        report_dir=Path(args.report_dir),
        app_revision=args.app_revision,
        reference=reference,
        previous_env=args.previous_env,
    )
    if args.previous_env:
        load_environment(args.previous_env)  # a bad name or profile: exit 2 before any check
    results, folder = run_check(env, opts)
    _summary(results)
    if results.get("verdict_reason"):
        print(f"parity: error: {results['verdict_reason']}", file=sys.stderr)
    print(
        f"\n{str(results['verdict']).upper()}: report {folder / 'index.html'} "
        f"(also junit.xml, results.json; latest: {Path(args.report_dir) / 'latest'})"
    )
    code = results["exit_code"]
    assert isinstance(code, int)
    return code


def cmd_report(args: argparse.Namespace) -> int:
    from jinja2 import UndefinedError

    from harness.report import html
    from harness.report.reading import read_results

    path = Path(args.results)
    results = read_results(path)
    out = Path(args.out) if args.out else path.with_name("index.html")
    try:
        html.write(results, out)
    except (KeyError, TypeError, AttributeError, ValueError, UndefinedError) as exc:
        raise UsageError(f"{path}: a field the report needs is missing or wrong: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write it: {exc.strerror}") from exc
    print(f"report: {out}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="the pre-deploy gate: suites, load, reports, exit code")
    add_environment_options(check)
    check.add_argument(
        "--suite",
        action="append",
        default=[],
        choices=(*SUITES, *SUITE_ALIASES),
        metavar="NAME",
        help=f"run only these suites ({', '.join(SUITES)}); repeat (canary: old name of groups)",
    )
    check.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPRESSION",
        help="run only the checks whose names match (pytest's -k); matching none is exit 3",
    )
    check.add_argument(
        "--allow-disruptive",
        action="store_true",
        help="drain targets (always allowed on the replica)",
    )
    check.add_argument("--allow-production", metavar="NAME")
    check.add_argument(
        "--with-load",
        choices=PROFILES,
        metavar="PROFILE",
        help=f"also run a load profile ({', '.join(PROFILES)})",
    )
    check.add_argument("--load-users", type=int, default=10)
    check.add_argument("--load-run-time", default="20s")
    check.add_argument("--report-dir", default="reports", metavar="DIR")
    check.add_argument(
        "--app-revision", metavar="REV", help="the app's git revision, for the report"
    )
    check.add_argument(
        "--reference",
        metavar="ENV",
        help="compare with this environment (parity diff) and put the differences in the report",
    )
    check.add_argument(
        "--previous-env",
        metavar="NAME",
        help="the environment still serving the previous build: the compatibility suite carries "
        "sessions and assets between its targets and these",
    )
    check.set_defaults(handler=cmd_check)
    report = sub.add_parser("report", help="render the HTML report again from results.json")
    report.add_argument("results", metavar="RESULTS.json")
    report.add_argument("--out", metavar="PATH", help="default: index.html beside it")
    report.set_defaults(handler=cmd_report)
