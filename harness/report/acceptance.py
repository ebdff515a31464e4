"""Accepted findings: a profile's `accept:` list, for failures a team knows and accepts.

An entry names a check (`suite::test_name`), a fault (`lost-update`) or both (that check failing
with that fault), a reason and an expiry.
A failure it matches is ACCEPTED (skipped with the reason; it does not fail the gate) until the
expiry; after it, the failure fails again, saying the acceptance expired. Entries that matched
nothing are warnings in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from harness.profile.sections import Accept
from harness.report.model import AcceptanceRecord, CheckRecord
from harness.suite_names import check_named

ACCEPTED_PROPERTY = "parity_accepted"  # user property: the entry's index, on an accepted report


@dataclass(frozen=True)
class Acceptance:
    index: int
    check: str | None
    fault: str | None
    reason: str
    until: date
    written: str | None = None  # the check as the profile wrote it (an old suite name, say)

    @classmethod
    def from_entry(cls, index: int, entry: Accept) -> Acceptance:
        check = entry.check
        return cls(
            index,
            check_named(str(check)) if check else None,
            entry.fault,
            str(entry.reason),
            date.fromisoformat(str(entry.until)),
            str(check) if check else None,
        )

    def matches(self, check_id: str, message: str) -> bool:
        """The check it names failed (with the fault it names, when it names both)."""
        if self.check and self.check not in (check_id, check_id.split("[")[0]):
            return False
        return not self.fault or message.startswith(f"[{self.fault}]")

    def expired(self, today: date | None = None) -> bool:
        return (today or date.today()) > self.until

    def describe(self) -> str:
        named = self.written or self.check or self.fault
        return f"{named}: {self.reason} (until {self.until.isoformat()})"


def acceptances(entries: Sequence[Accept]) -> list[Acceptance]:
    return [Acceptance.from_entry(i, e) for i, e in enumerate(entries)]


def matching(found: list[Acceptance], check_id: str, message: str) -> Acceptance | None:
    return next((a for a in found if a.matches(check_id, message)), None)


def acceptance_section(
    entries: Sequence[Accept], checks: list[CheckRecord]
) -> tuple[list[AcceptanceRecord], list[str]]:
    """What each `accept:` entry matched, and a warning for each that matched nothing."""
    records: list[AcceptanceRecord] = []
    for found in acceptances(entries):
        matched = [c["name"] for c in checks if c.get("accepted") == found.index]
        records.append({"entry": found.describe(), "expired": found.expired(), "matched": matched})
    warnings = [
        f"accept: {r['entry']} matched nothing in this run: the finding no longer occurs, or the "
        "entry names no check that ran; remove it or correct it"
        for r in records
        if not r["matched"] and not r["expired"]
    ]
    return records, warnings
