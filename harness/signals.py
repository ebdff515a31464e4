"""Signals: SIGTERM unwinds like Ctrl-C, children stop with their parent and are waited for.

A run that drains a target must undo it however it ends. SIGTERM becomes `Terminated` (a
KeyboardInterrupt) so every `finally` runs; a child process (pytest) runs in its own session,
is told of its parent's death by the kernel (PR_SET_PDEATHSIG), and on Ctrl-C or SIGTERM is
interrupted and waited for, for a bounded time, while it undoes what it did.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

PR_SET_PDEATHSIG = 1
UNDO_GRACE_SECONDS = 180.0  # register a drained target again and see it healthy


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that cleanup runs."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (main thread only; elsewhere a no-op)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def die_with_parent() -> None:
    """In a child before exec: SIGTERM when the parent dies (Linux; elsewhere nothing), and
    Ctrl-C handled even when the parent was started with SIGINT ignored (a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_child(
    proc: subprocess.Popen[str],
    show: Callable[[str], object],
    grace: float = UNDO_GRACE_SECONDS,
) -> bool:
    """Interrupt the child's process group and wait up to `grace` s while it undoes what it
    did, showing what it prints; True when it ended by itself, False when it had to be killed."""
    print(
        f"parity: interrupted; waiting up to {grace:g} s while the checks undo what they changed",
        file=sys.stderr,
        flush=True,
    )

    def drain_output() -> None:  # the child must never block on a full pipe while it undoes
        for line in proc.stdout or []:
            show(line)

    threading.Thread(target=drain_output, daemon=True).start()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(
            "parity: the checks did not finish undoing in time and were killed: "
            "run `parity restore` for this environment",
            file=sys.stderr,
        )
        return False
    print("parity: the checks stopped and undid what they changed", file=sys.stderr)
    return True
