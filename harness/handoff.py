"""What a parity command hands a child process, and what the child hands back, in one format.

A command that starts pytest or Locust writes one hand-off file (mode 0600: it holds resolved
secrets) and names it in `PARITY_HANDOFF`: the opened environment, what its provider needs to
be taken over, what this child is asked (`run`), and where the child writes its results. The
child writes them with `write_results` (whole, or not at all) and the command reads them with
`read_results`, which says so when the child ended without writing any.

This module runs inside Locust's gevent-patched processes too: it imports no provider.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import EnvironmentUnavailable
from harness.profile.environment import Environment

HANDOFF_VARIABLE = "PARITY_HANDOFF"


@dataclass(frozen=True)
class HandOff:
    """One child's hand-off."""

    environment: Environment
    provider: dict[str, Any] | None = field(default=None, repr=False)  # its `hand_off()`
    run: dict[str, Any] = field(default_factory=dict)  # what this child is asked (Locust's pace)
    results: str | None = None  # where the child writes its results


def _write_whole(path: Path, data: Any, mode: int) -> None:
    """JSON in a file, whole or not at all (written aside, then renamed)."""
    aside = path.with_name(path.name + ".part")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, default=str)  # a YAML date in a profile travels as its text
    aside.replace(path)


def write_handoff(handoff: HandOff, path: Path) -> dict[str, str]:
    """Write the hand-off; the process environment a child needs to find it."""
    _write_whole(path, dataclasses.asdict(handoff), 0o600)  # it holds resolved secrets
    return {**os.environ, HANDOFF_VARIABLE: str(path)}


def read_handoff() -> HandOff | None:
    """The hand-off this process was started with; None when a parity command did not start it."""
    path = os.environ.get(HANDOFF_VARIABLE)
    if not path:
        return None
    body = json.loads(Path(path).read_text())
    return HandOff(
        environment=Environment.from_json(body["environment"]),
        provider=body["provider"],
        run=body["run"],
        results=body["results"],
    )


def write_results(path: str | Path, results: dict[str, Any]) -> None:
    """What the child found, for the command that started it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(target, results, 0o666)  # as any file the user's umask allows


def read_results(path: Path, child: str, said: str = "") -> dict[str, Any]:
    """What the child wrote; EnvironmentUnavailable naming the child (and the last it said)
    when it ended without writing them."""
    try:
        results: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        tail = " | ".join(said.strip().splitlines()[-3:])
        raise EnvironmentUnavailable(
            f"{child} wrote no results" + (f": {tail}" if tail else "")
        ) from None
    return results
