"""What each command's exit code means, shown at the end of its --help."""

from __future__ import annotations

import argparse

COMMON = "2 bad usage, flag or profile (one line naming it); 3 the harness could not run"
EXITS = {
    "up": f"0 the replica runs; {COMMON} (a server missing, a port taken)",
    "status": "0 shown; 3 no replica is running",
    "replica": f"0 done; {COMMON} (no replica is running, or it refused the action)",
    "down": "0 stopped (or nothing was running)",
    "topology": f"0 resolved and every endpoint answers HTTP; {COMMON} (unreachable: each named)",
    "restore": f"0 everything undone or left to a live run; 1 something stayed undone; {COMMON}",
    "init": f"0 written; {COMMON} (the environment could not be resolved); never overwrites",
    "profile": "0 valid; 2 not valid (file, line and field named); 3 with --resolve: unreachable",
    "load": f"0 every gate passed; 1 a gate failed; {COMMON} (or no request was made)",
    "check": (
        f"0 every check and gate passed; 1 a check or gate failed, or drift from --reference; "
        f"{COMMON}, a check errored, or no check ran; 130/143 interrupted (drains undone)"
    ),
    "report": "0 written; 2 not a results.json of parity check (the field named)",
    "diff": f"0 no unexpected difference; 1 drift (listed); {COMMON}",
    "canary": (
        "0 every step held; 1 a step failed (sessions, stickiness or builds: named); "
        f"{COMMON} (the environment unreachable, nothing to check, or an output refused)"
    ),
    "exporter": f"0 stopped by Ctrl-C or SIGTERM; {COMMON} (the address taken)",
    "watch": (
        "0 the deploy exited 0 with 5xx and session losses within expect.error_budget; 1 over "
        f"budget, a drain cut requests, or the deploy command failed; {COMMON} (or the deploy "
        "ran past --max-time: watched in part); 130 interrupted"
    ),
}


def add_exit_codes(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Append each command's exit codes to its --help."""
    for name, parser in sub.choices.items():
        parser.epilog = f"exit codes: {EXITS[name]}"
