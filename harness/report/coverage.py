"""What a release sign-off reads beside the verdict: the build(s) under test, as the targets
named them, and what the run did not cover (every check skipped or not applicable, with why)."""

from __future__ import annotations

from harness.printable import printable
from harness.report.model import CheckRecord, Uncovered, evidence_of

NOT_READ = "not read (no expect.version in the profile, or the build check did not run)"


def builds_under_test(checks: list[CheckRecord]) -> dict[str, list[str]]:
    """Each build the targets named at `expect.version` (the same-build check's evidence) and
    the targets serving it; answers that named no build ("HTTP 404") are left out."""
    seen = evidence_of(checks, "builds") or {}
    builds: dict[str, list[str]] = {}
    for target, build in seen.items():
        if not str(build).startswith("HTTP "):
            builds.setdefault(str(build), []).append(str(target))
    return builds


def builds_line(checks: list[CheckRecord]) -> str:
    """`build-7 on app-1, app-2` or `current on app-1; previous on app-2`."""
    builds = builds_under_test(checks)
    if not builds:
        return NOT_READ
    listed = "; ".join(f"{b} on {', '.join(sorted(t))}" for b, t in sorted(builds.items()))
    return printable(listed)  # a build name is the server's text: escapes shown, never sent


def not_covered(checks: list[CheckRecord]) -> list[Uncovered]:
    """Every check that was skipped (not applicable, not enough evidence, not asked for) with
    its reason; accepted findings are listed apart, as accepted."""
    return [
        {
            "check": c.get("title") or c["name"],
            "suite": c["suite"],
            "reason": printable((c["message"].splitlines() or ["no reason given"])[0])[:300],
        }
        for c in checks
        if c["outcome"] == "skipped"
    ]


def sessions_line(sessions: dict[str, int]) -> str:
    """`41 made by this run: 41 logged out, 3 store keys deleted, 0 left`."""
    return (
        f"{sessions.get('made', 0)} made by this run: {sessions.get('logged_out', 0)} logged "
        f"out, {sessions.get('keys_deleted', 0)} store keys deleted, {sessions.get('left', 0)} "
        "left"
    )
