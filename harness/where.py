"""Where an exception was raised, in one line: for failures in user code (a SessionDriver) or in
a check, named without a traceback."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from harness.printable import printable


def raised_where(exc: BaseException) -> str:
    """`KeyError: 'vals' (at driver.py:12 in read)`: the type, the first line of the message and
    the innermost frame outside the standard library and installed packages."""
    said = (printable(str(exc)).splitlines() or [""])[0]
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not _library(f.filename)] or frames
    if not own:
        return f"{type(exc).__name__}: {said}"
    at = own[-1]
    return f"{type(exc).__name__}: {said} (at {Path(at.filename).name}:{at.lineno} in {at.name})"


def _library(filename: str) -> bool:
    """A frame of the standard library or an installed package, not the code that called it."""
    path = Path(filename)
    return (
        "site-packages" in path.parts
        or str(path).startswith(sys.prefix + "/lib/")
        or (str(path).startswith(sys.base_prefix + "/lib/"))
    )
