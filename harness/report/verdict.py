"""The verdict of a run and its exit code: passed 0, failed 1, could not run 2 or 3, and never
passed when no check ran."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.model import CheckRecord, DiffSection, LoadSection, Verdict

NO_CHECK_RAN: Verdict = "no-check-ran"
RAN = ("passed", "failed", "error", "accepted")


def verdict_of(
    checks: list[CheckRecord], load: LoadSection | None, diff: DiffSection | None = None
) -> tuple[Verdict, int]:
    """A failed check or load gate fails the run, also when other checks could not run; then an
    error (2 when a check's was the profile's, else 3); then a difference from the reference
    environment that no `expect_differences` entry allows."""
    if not any(c["outcome"] in RAN for c in checks):
        return NO_CHECK_RAN, 3
    gates = load["gates"] if load else []
    if any(c["outcome"] == "failed" for c in checks) or any(g["passed"] is False for g in gates):
        return "failed", 1
    errors = [c for c in checks if c["outcome"] == "error"]
    if errors:
        return "error", 2 if any(c.get("error_exit") == 2 for c in errors) else 3
    if diff and diff["unexpected"]:
        return "failed", 1
    return "passed", 0


def no_check_reason(
    checks: list[CheckRecord], suites: Sequence[str], keyword: str | None
) -> str | None:
    """Why no check ran (a gate never passes on nothing), or None when one did."""
    if any(c["outcome"] in RAN for c in checks):
        return None
    selection = ", ".join(suites) or "all suites"
    if keyword:
        selection += f", -k {keyword!r}"
    if not checks:
        return f"no check ran: the selection ({selection}) matched no check"
    first = checks[0]
    return (
        f"no check ran: all {len(checks)} selected checks ({selection}) were skipped; "
        f"first: {first['name']}: {first['message'].splitlines()[0] if first['message'] else ''}"
    )
