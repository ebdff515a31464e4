"""Run `pytest suites` in a subprocess against a replica (healthy or with one fault)."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import parity

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Outcome:
    status: str  # passed | failed | error | skipped
    message: str


def parse_junit(path: Path) -> dict[str, Outcome]:
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
        status, text = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                status = {"failure": "failed"}.get(kind, kind)
                text = (node.get("message") or "") + "\n" + (node.text or "")
        outcomes[name] = Outcome(status, text)
    return outcomes


def run_suites(
    home: Path,
    fault: str | None = None,
    *args: str,
    up: tuple[str, ...] = (),
    before: Callable[[Path], None] | None = None,
) -> dict[str, Outcome]:
    """Outcomes by `module::test`; with a fault (or `up` flags, or something to do `before`
    the run), against `parity up`."""
    home.mkdir(parents=True, exist_ok=True)
    started = bool(fault or up or before)
    if started:
        flags = ("--fault", fault) if fault else ()
        result = parity(home, "up", *flags, "--deregistration-delay", "3", *up)
        assert result.returncode == 0, result.stderr
        if before is not None:
            before(home)
    junit = home / "junit.xml"
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *(args or ("suites",)),
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={junit}",
            ],
            cwd=ROOT,
            env={**os.environ, "PARITY_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        if started:
            parity(home, "down")
    return parse_junit(junit)


if __name__ == "__main__":  # print what each fault does to the suites
    import tempfile

    for name in sys.argv[1:]:
        results = run_suites(Path(tempfile.mkdtemp()), name)
        print(f"== {name}")
        for test, outcome in results.items():
            if outcome.status != "passed":
                print(
                    f"  {outcome.status:7} {test}: {outcome.message.strip().splitlines()[0][:150]}"
                )
