"""Processes by PID: whether one still runs, and when it started (to tell it from a later
process that reused the number)."""

from __future__ import annotations

from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def process_start(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot); None when it does not run."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
