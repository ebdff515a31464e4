"""Topology providers: one small class per source, behind one Protocol, imported lazily."""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from harness.errors import UsageError
from harness.profile.environment import Environment
from harness.topology.model import Topology

__all__ = ["PROVIDERS", "Provider", "TargetStates", "open_provider"]

TargetStates = dict[str, tuple[str, str]]  # target id -> (state, reason); absent: gone

PROVIDERS: dict[str, str] = {
    "aws": "harness.topology.aws.provider:AwsProvider",
    "replica": "harness.topology.replica:ReplicaProvider",
    "static": "harness.topology.static:StaticProvider",
}


class Provider(Protocol):
    """Resolves an environment and drives its targets."""

    name: str

    def resolve(self) -> Topology:
        """The load balancer, target groups, targets with health, and Redis."""

    def target_states(self) -> TargetStates:
        """Each registered (or draining) target's state and reason, right now."""

    def deregister(self, target_id: str) -> dict[str, Any]:
        """Start draining the target (returns at once); what `register` needs to undo it."""

    def register(self, target_id: str, details: dict[str, Any] | None = None) -> None:
        """Register the target again (returns at once), with what `deregister` returned."""

    def actions(self) -> tuple[str, ...]:
        """Further disruptive actions this provider can perform (kill, fail-health, ...)."""

    def perform(self, action: str, target_id: str) -> None:
        """Perform one of `actions()`."""

    def identity(self) -> str:
        """What this provider drives, for the journal (an ARN, a socket, a control URL)."""


def open_provider(env: Environment) -> Provider:
    """The provider the environment names; an unknown name lists the known ones."""
    spec = PROVIDERS.get(env.provider)
    if spec is None:
        raise UsageError(
            f"{env.source}: topology.provider {env.provider!r} is unknown; "
            f"known: {', '.join(sorted(PROVIDERS))}"
        )
    module, _, cls = spec.partition(":")
    provider: Provider = getattr(importlib.import_module(module), cls)(env)
    return provider
