"""The one guard every disruptive action goes through: refuse, journal, act, always undo.

Refused when the profile says `safety.allow_disruptive: false`, when the run did not allow
disruptive actions, when the environment is production and the run did not name it explicitly,
and when the action would leave no healthy target.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from harness.disruption.drain import Progress, Transition, restore, restore_timeout, wait_for
from harness.disruption.journal import WEIGHTS_TARGET, Entry, Journal
from harness.errors import SafetyRefusal
from harness.profile.environment import Environment
from harness.signals import terminate_as_interrupt
from harness.topology import Provider


@dataclass(frozen=True)
class Permission:
    """What the run allows: `--allow-disruptive` and `--allow-production NAME`."""

    disruptive: bool = False
    production_name: str | None = None


def permission(
    provider: Provider, allow_disruptive: bool, production_name: str | None = None
) -> Permission:
    """What a run allows: disruption as `--allow-disruptive` says, and always on targets that
    are Parity's own (the replica's, `Provider.owns_targets`)."""
    return Permission(allow_disruptive or provider.owns_targets(), production_name)


class Guard:
    """Checks, journals, performs and undoes disruptive actions on one environment."""

    def __init__(
        self,
        env: Environment,
        provider: Provider,
        permission: Permission,
        journal: Journal | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.env, self.provider, self.permission = env, provider, permission
        self.journal = journal or Journal()
        self.progress = progress

    def check(self, action: str, target_id: str) -> None:
        """Raise SafetyRefusal with the reason, or return when the action is allowed."""
        self._permitted(action, target_id)
        if action != "deregister" and action not in self.provider.actions():
            raise SafetyRefusal(f"{action} is not possible with the {self.provider.name} provider")
        states = self.provider.target_states()
        if target_id not in states:
            raise SafetyRefusal(
                f"{action} {target_id} refused: no such registered target "
                f"(targets: {', '.join(sorted(states)) or 'none'})"
            )
        healthy = sorted(t for t, (s, _) in states.items() if s == "healthy" and t != target_id)
        if not healthy:
            raise SafetyRefusal(
                f"{action} {target_id} refused: it would leave no healthy target "
                f"(states: {', '.join(f'{t}={s}' for t, (s, _) in states.items())})"
            )

    def allow(self, action: str, what: str) -> None:
        """A disruptive action on something other than a target (the store, say): refused like
        any other unless the profile and the run allow it (production only when named)."""
        self._permitted(action, what)

    def _permitted(self, action: str, target_id: str) -> None:
        """The profile and the run allow disruption here (production only when named)."""
        env = self.env
        if not env.safety.allow_disruptive:
            raise SafetyRefusal(
                f"{action} {target_id} refused: {env.source} sets safety.allow_disruptive: false"
            )
        if not self.permission.disruptive:
            raise SafetyRefusal(
                f"{action} {target_id} refused: disruptive actions need "
                "--allow-disruptive (or PARITY_ALLOW_DISRUPTIVE=1)"
            )
        if env.production and self.permission.production_name != env.name:
            raise SafetyRefusal(
                f"{action} {target_id} refused: {env.name} is a production "
                f"environment; allow it by name with --allow-production {env.name}"
            )

    @contextlib.contextmanager
    def disrupt(
        self, action: str, target_id: str, restore_after: float | None = None
    ) -> Iterator[Transition]:
        """Perform `action` on the target for the block; undo it on every way out."""
        self.check(action, target_id)
        entry = self.journal.begin(
            self.env.name, self.env.source, self.provider.identity(), action, target_id
        )
        record = Transition(target_id, action, entry.at)
        with terminate_as_interrupt():
            try:
                if action == "deregister":
                    record.details = self.provider.deregister(target_id)
                    if record.details:
                        entry = self.journal.update(entry, record.details)
                else:
                    self.provider.perform(action, target_id)
                yield record
            finally:
                timeout = restore_after or self._restore_timeout(target_id)
                undo(self.provider, entry, timeout, self.progress)
                self.journal.end(entry.id)

    @contextlib.contextmanager
    def reweigh(self, weights: dict[str, int]) -> Iterator[dict[str, int]]:
        """New weights for the weighted forward for the block, journaled first with the weights
        to go back to, which are put back on every way out. Yields the old weights."""
        change = getattr(self.provider, "set_weights", None)
        read = getattr(self.provider, "weights", None)
        if change is None or read is None:
            raise SafetyRefusal(f"changing weights is not possible with {self.provider.name}")
        self._permitted("weights", WEIGHTS_TARGET)
        before: dict[str, int] = read()
        entry = self.journal.begin(
            self.env.name,
            self.env.source,
            self.provider.identity(),
            "weights",
            WEIGHTS_TARGET,
            {"before": before, "after": weights},
        )
        with terminate_as_interrupt():
            try:
                change(weights)
                yield before
            finally:
                change(before)
                self.journal.end(entry.id)

    def _restore_timeout(self, target_id: str) -> float:
        """From the health check of the drained target's own group."""
        topology = self.provider.resolve()
        group = topology.group_of(target_id) or topology.target_groups[0]
        hc = group.health_check
        return restore_timeout(hc.interval_seconds, hc.healthy_threshold)


def undo(
    provider: Provider, entry: Entry, timeout: float, progress: Progress | None = None
) -> Transition:
    """Undo one journaled action and wait until the target is healthy again."""
    if entry.action == "weights":  # put the weights back: nothing to wait for
        record = Transition(entry.target, "weights", entry.at)
        getattr(provider, "set_weights")(entry.details["before"])  # noqa: B009
        return record
    if entry.action == "deregister":
        return restore(provider, entry.target, timeout, entry.details, progress)
    record = Transition(entry.target, entry.undo, entry.at)
    provider.perform(entry.undo, entry.target)
    wait_for(provider, record, lambda s: s == "healthy", timeout, progress)
    return record
