"""The suites `parity check` runs, in order, and the old names still accepted for one release."""

from __future__ import annotations

SUITES = (
    "topology",
    "sticky",
    "sharing",
    "realtime",
    "compatibility",
    "store",
    "failover",
    "distribution",
    "groups",
    "balancer",
    "model",
)
# `groups` was `canary` until 0.2: renamed so that it is not taken for `parity canary`, the
# production probe. `--suite canary` and an accepted `canary::...` check still mean it.
SUITE_ALIASES = {"canary": "groups"}


def suite_named(name: str) -> str:
    """The suite a `--suite` name means: an old name gives its new one."""
    return SUITE_ALIASES.get(name, name)


def renamed_note(name: str) -> str | None:
    """What to tell a user who typed an old suite name, or None."""
    new = SUITE_ALIASES.get(name)
    return f"--suite {name} is now --suite {new}; the old name goes in 0.3" if new else None


def check_named(check_id: str) -> str:
    """A check id (`suite::test_name`) under its suite's current name."""
    suite, sep, rest = check_id.partition("::")
    return f"{SUITE_ALIASES[suite]}::{rest}" if sep and suite in SUITE_ALIASES else check_id
