"""The journal of disruptive actions: written before each action, marked when it is undone.

One JSON line per event in `$PARITY_HOME/journal.jsonl`, flushed and fsynced before the action
runs, so `parity restore` can undo what a killed run left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.replica.state import home

UNDO = {"deregister": "register", "fail-health": "pass-health", "kill": "restart"}


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

    @property
    def undo(self) -> str:
        return UNDO[self.action]


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
        if not self.path.exists():
            return []
        open_entries: dict[str, Entry] = {}
        for line in self.path.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            kind = event.pop("event", None)
            if kind == "begin":
                open_entries[event["id"]] = Entry(**event)
            elif kind == "details" and event["id"] in open_entries:
                old = open_entries[event["id"]]
                open_entries[event["id"]] = Entry(**{**asdict(old), "details": event["details"]})
            elif kind == "end":
                open_entries.pop(event["id"], None)
        return list(open_entries.values())
