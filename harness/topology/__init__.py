"""Topology providers: one small class per source, behind one Protocol, imported lazily.

This registry is the one place that names the providers' modules: nothing else imports the
embedded replica (`harness.replica`), which is the provider the default environment opens.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, Protocol

from harness.errors import UsageError
from harness.handoff import HandOff
from harness.profile.environment import Environment, load_named
from harness.topology.model import Topology

__all__ = [
    "PROVIDERS",
    "Provider",
    "TargetStates",
    "load_environment",
    "open_environment",
    "open_provider",
    "provider_class",
    "taken_over",
]

TargetStates = dict[str, tuple[str, str]]  # target id -> (state, reason); absent: gone

PROVIDERS: dict[str, str] = {
    "aws": "harness.topology.aws.provider:AwsProvider",
    "replica": "harness.replica.provider:ReplicaProvider",
    "static": "harness.topology.static:StaticProvider",
}
DEFAULT_PROVIDER = "replica"  # no --env: the replica `parity up` runs, or one started for the run


class Provider(Protocol):
    """Resolves an environment and drives its targets (`topology.base.ProviderBase` has the
    defaults of the last four)."""

    name: str
    ephemeral: ClassVar[bool]

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

    def owns_targets(self) -> bool:
        """Whether the targets are Parity's own: disruption needs no permission."""

    def hand_off(self) -> dict[str, Any] | None:
        """What a child process needs to take this provider over, beyond the environment."""


class ProviderClass(Protocol):
    """How a provider is opened for a run, or taken over by a child process."""

    ephemeral: bool

    def __call__(self, env: Environment) -> Provider: ...

    def opened(
        self, env: Environment, *, for_children: bool = False
    ) -> AbstractContextManager[Provider]: ...

    def taken_over(self, env: Environment, handed: dict[str, Any] | None) -> Provider: ...

    def default_environment(self) -> Environment: ...


def provider_class(name: str, source: str = "the profile") -> ProviderClass:
    """The class of the provider `name`; an unknown name lists the known ones."""
    spec = PROVIDERS.get(name)
    if spec is None:
        raise UsageError(
            f"{source}: topology.provider {name!r} is unknown; "
            f"known: {', '.join(sorted(PROVIDERS))}"
        )
    module, _, cls = spec.partition(":")
    found: ProviderClass = getattr(importlib.import_module(module), cls)
    return found


def open_provider(env: Environment) -> Provider:
    """The environment's provider, on what already runs (nothing is started)."""
    return provider_class(env.provider, env.source)(env)


@contextmanager
def open_environment(env: Environment, *, for_children: bool = False) -> Iterator[Provider]:
    """The environment's provider for one run, opened as its provider opens (the replica is
    started for the block when none runs); `for_children`: child processes take it over."""
    with provider_class(env.provider, env.source).opened(env, for_children=for_children) as p:
        yield p


def taken_over(handoff: HandOff) -> Provider:
    """The provider a parent process opened and handed to this one."""
    env = handoff.environment
    return provider_class(env.provider, env.source).taken_over(env, handoff.provider)


def load_environment(name: str | None = None, env_file: str | None = None) -> Environment:
    """The environment a command targets: `--env-file`, or `--env NAME`, else the default
    provider's (the replica `parity up` runs, or the built-in replica profile)."""
    named = load_named(name, env_file)
    if named is not None:
        return named
    return provider_class(DEFAULT_PROVIDER).default_environment()
