"""Where an exception was raised, in one line: for failures in user code (a SessionDriver) or in
a check, named without a traceback."""

from __future__ import annotations

import traceback
from pathlib import Path

from harness.printable import printable


def raised_where(exc: BaseException) -> str:
    """`KeyError: 'vals' (at driver.py:12 in read)`: the type, the first line of the message and
    the innermost frame."""
    said = (printable(str(exc)).splitlines() or [""])[0]
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})"
    return f"{type(exc).__name__}: {said}{at if frames else ''}"
