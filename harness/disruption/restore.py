"""`parity restore`: undo every journaled action a killed run left behind.

Each entry is undone on its own: one that cannot be (its target is gone, the provider refuses)
is reported and the rest go on. A run that is still alive keeps its entries unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.disruption.drain import Progress, restore_timeout
from harness.disruption.guard import undo
from harness.disruption.journal import Entry, Journal
from harness.errors import EnvironmentUnavailable, ParityError
from harness.profile.environment import Environment
from harness.topology import Provider, open_provider, provider_class


@dataclass
class RestoreReport:
    """What a restore did (`done`), left to a live run (`left`), and could not do (`failed`)."""

    done: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _provider(env: Environment) -> Provider | None:
    try:
        return open_provider(env)
    except EnvironmentUnavailable:
        if not provider_class(env.provider, env.source).ephemeral:
            raise
        return None  # the provider is gone (a stopped replica), and its targets with it


def _undo_one(provider: Provider, entry: Entry, progress: Progress | None) -> str:
    if entry.action == "weights":
        undo(provider, entry, 0.0, progress)
        return f"weights: put back to {entry.details.get('before')}"
    topology = provider.resolve()
    group = topology.group_of(entry.target) or topology.target_groups[0]
    hc = group.health_check
    timeout = restore_timeout(hc.interval_seconds, hc.healthy_threshold)
    record = undo(provider, entry, timeout, progress)
    return (
        f"{entry.action} {entry.target}: undone ({entry.undo}), healthy after "
        f"{record.completed_after:.1f} s"
    )


def restore_outstanding(
    env: Environment,
    journal: Journal | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> RestoreReport:
    """Undo this environment's outstanding actions; one line per action says what happened."""
    journal = journal or Journal()
    entries, problems = journal.scan()
    report = RestoreReport(failed=problems)
    mine = [e for e in entries if e.environment == env.name]
    provider = _provider(env) if mine else None
    for entry in mine:
        if entry.owner_alive() and not force:
            report.left.append(
                f"{entry.action} {entry.target}: left alone, the run that did it "
                f"({entry.owner_text()}) is still alive (--force to undo it anyway)"
            )
        elif provider is None or provider.identity() != entry.provider:
            journal.end(entry.id, "obsolete: what it acted on no longer runs")
            report.done.append(
                f"{entry.action} {entry.target}: obsolete ({entry.provider} is gone)"
            )
        else:
            try:
                report.done.append(_undo_one(provider, entry, progress))
            except ParityError as exc:
                report.failed.append(f"{entry.action} {entry.target}: could not undo: {exc}")
                continue
            journal.end(entry.id)
    return report
