"""`parity watch -- <deploy command>`: watch the team's own deploy from the outside."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.durations import parse_duration
from harness.cli.environment import add_environment_options
from harness.errors import UsageError
from harness.topology import load_environment


def cmd_watch(args: argparse.Namespace) -> int:
    from harness.commands.watch import WatchOptions, run_watch

    command = list(args.deploy_command)
    if command[:1] == ["--"]:
        command = command[1:]
    try:
        max_time = parse_duration(args.max_time)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--run-time", "--max-time")) from exc
    opts = WatchOptions(
        command=command,
        users=args.users,
        rate=args.rate,
        max_time=max_time,
        poll=args.poll,
        settle=args.settle,
        report_dir=Path(args.report_dir),
        allow_mixed_end=args.allow_mixed_end,
        streams=args.streams,
    )
    env = load_environment(args.env, args.env_file)
    document, folder = run_watch(env, opts, print)
    print_summary(document, folder)
    code = document["exit_code"]
    assert isinstance(code, int)
    return code


def _where(event: dict[str, Any]) -> str:
    """`on app-1` (it answered), `for app-1 (its sticky target; no answer)`, or `on ?`."""
    if event["target"]:
        return f"on {event['target']}"
    if event.get("intended"):
        return f"for {event['intended']} (its target; no answer named one)"
    return "on ?"


def _streams_of(row: dict[str, Any]) -> str:
    """A departure's streams, when any met anything: `; streams: 1 closed, 0 refused, ...`."""
    met = (row.get("streams_closed", 0), row.get("streams_refused", 0), row.get("messages_lost", 0))
    if not any(met):
        return ""
    return f"; streams: {met[0]} closed, {met[1]} refused, {met[2]} messages lost"


def _print_streams(document: dict[str, Any]) -> None:
    rt = document.get("realtime")
    if not rt:
        return
    from harness.deploywatch.document import streams_said

    print(f"streams: {streams_said(rt)}")


def _print_departures(document: dict[str, Any]) -> None:
    for r in document["restarts"]:
        back = f"back at +{r['ended_at']:.1f} s" if r["back"] else "not back"
        replaced = f", replaced {r['replaced']}" if r["replaced"] else ""
        print(
            f"  {r['target']} {r['how']} (after +{r['left_after']:.1f} s, seen "
            f"+{r['seen_at']:.1f} s; {back}{replaced}): {r['errors_5xx']} 5xx, "
            f"{r['no_response']} without response, {r['cut_in_flight']} cut in flight"
            f"{_streams_of(r)}"
        )
    for d in document["drains"]:
        last = d["last_request_after_seconds"]
        print(
            f"  drain of {d['target']} ({d['seen_as']} between +{d['deregistered_at']:.1f} and "
            f"+{d['seen_leaving_at']:.1f} s): last request served "
            f"{'-' if last is None else f'{last:.1f} s'} after it, {d['errors_5xx']} "
            f"5xx, {d['no_response']} without response, {d['cut_in_flight']} cut in flight"
            f"{_streams_of(d)}; {d['grace_rule']}"
        )


def _print_builds(document: dict[str, Any]) -> None:
    for w in document["mixed_windows"]:
        builds = "; ".join(f"{b} on {', '.join(ts)}" for b, ts in w["builds"].items())
        said = w["verdict"] + (f" ({w['note']})" if w.get("note") else "")
        print(f"  two builds live +{w['start']:.1f} to +{w['end']:.1f} s ({builds}): {said}")
        for p in w["probes"]:
            found = "; ".join(p["problems"]) or "sessions carried both ways"
            print(
                f"    +{p['started']:6.1f} s  made on {p['writer']}, used on {p['reader']}: {found}"
            )
    end = document["end_state"]
    if end.get("targets"):
        listing = ", ".join(
            f"{t} {r['build'] or '?'} ({r['state']})" for t, r in end["targets"].items()
        )
        print(f"  at the end: {listing}{' (mixed builds)' if end['mixed'] else ''}")


def print_summary(document: dict[str, Any], folder: Path) -> None:
    load = document["load"]
    print(
        f"watched {document['command']!r}: exit {document['command_exit_code']}, "
        f"{document['duration_seconds']:.1f} s; load {load['requests']} requests, "
        f"{load['errors']} errors, {load['session_losses']} session losses, "
        f"{load['moves']} moves, {load['sticky_violations']} sticky violations"
    )
    made = load.get("test_sessions") or {}
    if made.get("made"):
        print(
            f"test sessions: {made['made']} made by the load: {made['logged_out']} logged out, "
            f"{made['left']} left"
        )
    _print_streams(document)
    for t in document["transitions"]:
        print(f"  +{t['at']:6.1f} s  {t['label']}")
    _print_departures(document)
    _print_builds(document)
    shown = [e for e in document["events"] if e["kind"] != "move"][:20]
    for e in shown:
        cause = e["cause"] or "no transition (unattributed)"
        print(f"  +{e['at']:6.1f} s  {e['kind']} {_where(e)}: {e['detail']} <- {cause}")
    for error in document["poll_errors"]:
        print(f"  not observed: {error}")
    for reason in document["reasons"]:
        print(f"  {reason}")
    print(f"\n{document['verdict'].upper()}: report {folder / 'index.html'} (also watch.json)")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = sub.add_parser(
        "watch",
        help="run a low-rate sticky load while your deploy command runs; attribute every error, "
        "move and session loss to the transition behind it",
        usage="parity watch [--env NAME] [options] -- DEPLOY COMMAND ...",
    )
    add_environment_options(watch)
    watch.add_argument("--users", type=int, default=4, help="sticky users (default 4)")
    watch.add_argument(
        "--rate", type=float, default=8.0, help="requests per second, all users (default 8)"
    )
    watch.add_argument(
        "--max-time",
        default="30m",
        metavar="T",
        help="stop watching after this long (default 30m); the deploy is never killed for it",
    )
    watch.add_argument(
        "--poll", type=float, default=0.5, metavar="S", help="provider poll interval (0.5 s)"
    )
    watch.add_argument(
        "--settle",
        type=float,
        default=3.0,
        metavar="S",
        help="keep watching this long after the command exits (default 3 s)",
    )
    watch.add_argument(
        "--allow-mixed-end",
        action="store_true",
        help="a deploy that leaves targets on two builds (a canary) is not [incomplete-rollout]",
    )
    watch.add_argument(
        "--streams",
        type=int,
        default=None,
        metavar="N",
        help="real-time streams to hold open through the deploy, each pinned to a target "
        "(default with a realtime: section: one per healthy target, at most 8; 0 for none)",
    )
    watch.add_argument("--report-dir", default="reports", metavar="DIR")
    watch.add_argument(
        "deploy_command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="your deploy"
    )
    watch.set_defaults(handler=cmd_watch)
