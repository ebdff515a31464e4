"""What every provider does the same way unless it says otherwise: how it is opened for a run,
how a child process takes it over, and whether its targets are Parity's own.

The embedded replica is the provider that differs (it is started for a run, its targets are
Parity's, and it is gone when stopped); it says so by overriding these, and nothing else asks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Self

from harness.errors import UsageError
from harness.profile.environment import Environment


class ProviderBase:
    """Defaults for a provider that resolves an environment somebody else runs."""

    # its targets end with it: when it cannot be opened, nothing it did is left to undo
    ephemeral: ClassVar[bool] = False

    def __init__(self, env: Environment) -> None:
        self.env = env

    @classmethod
    @contextmanager
    def opened(cls, env: Environment, *, for_children: bool = False) -> Iterator[Self]:
        """The provider for one run; `for_children`: child processes will take it over too."""
        yield cls(env)

    @classmethod
    def default_environment(cls) -> Environment:
        """The environment of a run that names none: only the replica has one."""
        raise UsageError(f"the {cls.__name__} needs a profile: give --env NAME or --env-file")

    def owns_targets(self) -> bool:
        """Whether the targets are Parity's own, so disruption needs no permission (the
        replica's, or a profile it wrote for one of its front ends)."""
        return self.env.owned_targets

    def hand_off(self) -> dict[str, Any] | None:
        """What a child process needs to take this provider over (`taken_over`) beyond the
        environment; None when the environment alone opens it again."""
        return None

    @classmethod
    def taken_over(cls, env: Environment, handed: dict[str, Any] | None) -> Self:
        """The provider a parent process opened, from its `hand_off`."""
        return cls(env)
