"""The results document of a run, typed: what `parity check` writes as results.json and what the
HTML, JUnit and behaviour comparisons read."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

Outcome = Literal["passed", "failed", "error", "skipped", "accepted"]
Verdict = Literal["passed", "failed", "error", "no-check-ran"]


class CheckRecord(TypedDict):
    """One check (a test of a suite): outcome, first-line-first message, evidence."""

    id: str
    suite: str
    name: str
    outcome: Outcome
    duration: float
    message: str
    evidence: dict[str, Any]
    error_exit: NotRequired[int]  # 2: the check's configuration is wrong; 3: it could not run
    accepted: NotRequired[int]  # the index of the profile's accept: entry that accepted it
    title: NotRequired[str]  # one line a release manager reads
    why: NotRequired[str]  # why it matters


class GateRecord(TypedDict):
    gate: str
    value: float | None  # None: the metric had nothing to look at
    passed: bool | None  # None: not measured (`reason` says why)
    reason: NotRequired[str]


def gate_status(gate: GateRecord) -> str:
    """A gate record in a phrase: `passed  measured 0.41`, `not measured  (why)`."""
    if gate["passed"] is None or gate["value"] is None:
        return f"not measured  ({gate.get('reason', 'nothing to look at')})"
    return f"{'passed' if gate['passed'] else 'failed':<8} measured {gate['value']:.4g}"


class LoadSection(TypedDict):
    profile: str
    users: int
    run_time_seconds: float
    measured: dict[str, float | None]
    gates: list[GateRecord]
    drain_events: list[dict[str, Any]]
    evidence: dict[str, Any]


class Difference(TypedDict):
    """A setting or behaviour that differs between two environments."""

    path: str
    left: Any
    right: Any
    expected: bool
    reason: str


class DiffSection(TypedDict):
    left: str
    reference: str
    differences: list[Difference]
    unexpected: list[Difference]


class AcceptanceRecord(TypedDict):
    """One `accept:` entry of the profile and what it matched in this run."""

    entry: str
    expired: bool
    matched: list[str]


class Uncovered(TypedDict):
    """A check the run did not cover: skipped, with why."""

    check: str  # its title
    suite: str
    reason: str  # the first line of why it was skipped


class Results(TypedDict):
    parity_version: str
    verdict: Verdict
    verdict_reason: str | None
    exit_code: int
    run: dict[str, Any]
    environment: dict[str, Any]
    topology: dict[str, Any]
    checks: list[CheckRecord]
    load: LoadSection | None
    diff: DiffSection | None
    acceptances: NotRequired[list[AcceptanceRecord]]
    warnings: NotRequired[list[str]]
    builds: NotRequired[dict[str, list[str]]]  # build -> the targets that named it
    not_covered: NotRequired[list[Uncovered]]  # skipped checks and why (report.coverage)
    sessions: NotRequired[dict[str, int]]  # made, logged_out, keys_deleted, left (cleanup)


def evidence_of(checks: list[CheckRecord], key: str) -> Any:
    """The first piece of evidence recorded under `key` by any check, or None."""
    return next((c["evidence"][key] for c in checks if key in c.get("evidence", {})), None)
