"""Folders that ship inside the wheel (`harness.suites`, `harness.load`), found on disk.

In a checkout they are the top-level `suites/` and `load/`; installed, `harness/suites/` and
`harness/load/` in site-packages. pyproject.toml maps one to the other.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from harness.errors import EnvironmentUnavailable


def package_dir(name: str) -> Path:
    """The folder of an importable package such as "harness.suites"."""
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise EnvironmentUnavailable(f"{name} is not installed with this Parity: reinstall it")
    return Path(locations[0]).resolve()
