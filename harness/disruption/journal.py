"""The journal of disruptive actions: written before each action, marked when it is undone.

One JSON line per event in `$PARITY_HOME/journal.jsonl`, flushed and fsynced before the action
runs, so `parity restore` can undo what a killed run left behind. Each entry names its owner (PID,
the process's start time, host), so a restore can leave a run that is still alive alone. Reading
never stops at a bad line: what cannot be read is kept as a problem with its line number.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.home import home
from harness.pids import pid_alive, process_start

UNDO = {
    "deregister": "register",
    "fail-health": "pass-health",
    "kill": "restart",
    "weights": "weights",  # back to the weights kept in its details
}
WEIGHTS_TARGET = "weighted-forward"  # the `target` of a weight change: the listener's forward


@dataclass(frozen=True)
class Entry:
    """One disruptive action."""

    id: str
    at: float
    environment: str
    source: str  # the profile it came from
    provider: str  # the provider's identity: what was driven
    action: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)
    owner: dict[str, Any] = field(default_factory=dict)  # pid, started, host

    @property
    def undo(self) -> str:
        return UNDO[self.action]

    def owner_alive(self) -> bool:
        """Whether the run that began this action still runs (on another host: assumed so)."""
        if not self.owner:
            return False
        if self.owner.get("host") != platform.node():
            return True
        pid = int(self.owner.get("pid", 0))
        return pid_alive(pid) and process_start(pid) == self.owner.get("started")

    def owner_text(self) -> str:
        return f"PID {self.owner.get('pid')} on {self.owner.get('host')}"


def current_owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "started": process_start(os.getpid()), "host": platform.node()}


ENTRY_FIELDS = ("id", "at", "environment", "source", "provider", "action", "target")


def journal_path() -> Path:
    return home() / "journal.jsonl"


class Journal:
    """Append-only: `begin` before an action, `end` once it is undone."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or journal_path()

    def _append(self, event: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as out:
            out.write(json.dumps(event) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def begin(
        self,
        environment: str,
        source: str,
        provider: str,
        action: str,
        target: str,
        details: dict[str, Any] | None = None,
    ) -> Entry:
        if action not in UNDO:
            raise ValueError(f"{action} is not a disruptive action ({', '.join(UNDO)})")
        entry = Entry(
            secrets.token_hex(6),
            time.time(),
            environment,
            source,
            provider,
            action,
            target,
            details or {},
            current_owner(),
        )
        self._append({"event": "begin", **asdict(entry)})
        return entry

    def update(self, entry: Entry, details: dict[str, Any]) -> Entry:
        """Record what undoing the action needs (known only once it ran)."""
        self._append({"event": "details", "id": entry.id, "details": details})
        return Entry(**{**asdict(entry), "details": details})

    def end(self, entry_id: str, note: str = "undone") -> None:
        self._append({"event": "end", "id": entry_id, "note": note})

    def outstanding(self) -> list[Entry]:
        """Actions begun and never undone, oldest first."""
        return self.scan()[0]

    def scan(self) -> tuple[list[Entry], list[str]]:
        """Outstanding actions, and one line per journal line that could not be used."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return [], []
        open_entries: dict[str, Entry] = {}
        problems: list[str] = []
        for number, line in enumerate(raw.splitlines(), 1):
            problem = _apply(line, open_entries)
            if problem:
                problems.append(f"{self.path}: line {number}: {problem}")
        return list(open_entries.values()), problems


def _apply(line: bytes, open_entries: dict[str, Entry]) -> str | None:
    """Apply one journal line; what is wrong with it, or None."""
    if not line.strip():
        return None
    try:
        event = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text, skipped"
    except json.JSONDecodeError:
        return "not JSON (cut by a crash?), skipped"
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return "not a journal event (no id), skipped"
    kind = event.pop("event", None)
    if kind == "begin":
        missing = [k for k in ENTRY_FIELDS if k not in event]
        if missing or event.get("action") not in UNDO:
            why = f"missing {', '.join(missing)}" if missing else f"action {event.get('action')!r}"
            return f"an action that cannot be undone ({why}), skipped"
        known = {k: event[k] for k in (*ENTRY_FIELDS, "details", "owner") if k in event}
        open_entries[event["id"]] = Entry(**known)
    elif (
        kind == "details" and event["id"] in open_entries and isinstance(event.get("details"), dict)
    ):
        old = open_entries[event["id"]]
        open_entries[event["id"]] = Entry(**{**asdict(old), "details": event["details"]})
    elif kind == "end":
        open_entries.pop(event["id"], None)
    elif kind != "details":
        return f"unknown event {kind!r}, skipped"
    return None
