"""Parity's own directory on this machine: the replica's state file, the journal, run locks."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """`$PARITY_HOME`, default `~/.parity`."""
    return Path(os.environ.get("PARITY_HOME") or Path.home() / ".parity")
