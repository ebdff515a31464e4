"""The `parity` command.

Exit codes: 0 passed, 1 findings, 2 bad usage or profile, 3 could not run.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence

from harness import __version__
from harness.cli import canary, check, diff, environment, init, load, profile, replica, watch
from harness.cli.exits import add_exit_codes
from harness.errors import ParityError
from harness.printable import one_line
from harness.signals import Terminated, terminate_as_interrupt

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parity", description=__doc__)
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (replica, environment, init, profile, load, check, diff, canary, watch):
        group.add_commands(sub)
    add_exit_codes(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Ctrl-C (SIGINT) interrupts and undoes also when parity was started with SIGINT ignored
    # (by a background job, a CI runner, a test process): Python then installs no handler
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        with terminate_as_interrupt():  # SIGTERM unwinds like Ctrl-C: drains are undone
            return handler(args)
    except ParityError as exc:
        print(f"parity: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("parity: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("parity: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, and the traceback when asked for
        if os.environ.get("PARITY_DEBUG"):
            raise
        print(
            f"parity: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(PARITY_DEBUG=1 shows the traceback; please report it)",
            file=sys.stderr,
        )
        return 3
