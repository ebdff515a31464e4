"""The state file of a replica started by `parity up`: PIDs, URLs and the control token.

It lives in `$PARITY_HOME/replica.json` (default `~/.parity`), readable by its owner only, so that
`parity status`, `parity down` (even after the daemon crashed) and the suites can find the replica.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.home import home


def state_path() -> Path:
    return home() / "replica.json"


def write_state(state: dict[str, Any]) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(state, out, indent=2)
    tmp.replace(path)


def read_state() -> dict[str, Any] | None:
    """The state of the running replica, or None when none was started."""
    try:
        data: dict[str, Any] = json.loads(state_path().read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data


def remove_state() -> None:
    state_path().unlink(missing_ok=True)
