"""`parity restore`: undo every journaled action a killed run left behind."""

from __future__ import annotations

from harness.disruption.drain import Progress, restore_timeout
from harness.disruption.guard import undo
from harness.disruption.journal import Journal
from harness.errors import EnvironmentUnavailable
from harness.profile.environment import Environment
from harness.topology import Provider, open_provider


def restore_outstanding(
    env: Environment, journal: Journal | None = None, progress: Progress | None = None
) -> list[str]:
    """Undo this environment's outstanding actions; one line per action says what happened."""
    journal = journal or Journal()
    entries = [e for e in journal.outstanding() if e.environment == env.name]
    if not entries:
        return []
    try:
        provider: Provider | None = open_provider(env)
    except EnvironmentUnavailable:
        if env.provider != "replica":
            raise
        provider = None  # the replica is gone, and its targets with it
    done = []
    for entry in entries:
        if provider is None or provider.identity() != entry.provider:
            journal.end(entry.id, "obsolete: what it acted on no longer runs")
            done.append(f"{entry.action} {entry.target}: obsolete ({entry.provider} is gone)")
            continue
        hc = provider.resolve().target_groups[0].health_check
        record = undo(
            provider, entry, restore_timeout(hc.interval_seconds, hc.healthy_threshold), progress
        )
        journal.end(entry.id)
        done.append(
            f"{entry.action} {entry.target}: undone ({entry.undo}), healthy after "
            f"{record.completed_after:.1f} s"
        )
    return done
