"""Who ran what, where and when: the `run` section of a report, for release sign-off."""

from __future__ import annotations

import getpass
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__


def stamp_of(started: float) -> str:
    """The run's id and the name of its report folder: `20261202T010203Z`."""
    return datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")


def git_revision() -> str:
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


def run_info(started: float, app_revision: str | None) -> dict[str, Any]:
    """The run from `started` until now."""
    finished = time.time()
    return {
        "id": stamp_of(started),
        "started": datetime.fromtimestamp(started, UTC).isoformat(),
        "finished": datetime.fromtimestamp(finished, UTC).isoformat(),
        "duration_seconds": round(finished - started, 1),
        "user": getpass.getuser(),
        "host": platform.node(),
        "harness_version": __version__,
        "harness_revision": git_revision(),
        "app_revision": app_revision or "not given",
        "command": " ".join(["parity", *sys.argv[1:]]),
    }
