"""Errors raised by Parity.

ParityError                     root: everything Parity raises on purpose
+-- UsageError                  the harness is misconfigured (bad flag, profile, file): exit 2
|   +-- ProfileError            an environment profile is invalid (names file, line, field)
|   +-- ContractError           the session contract works on no target (step, path, status)
+-- EnvironmentUnavailable      the environment cannot be reached or driven: exit 3
|   +-- MissingDependency       a program Parity needs is not installed
|   +-- ReplicaError            the embedded replica failed to start or to act
|   +-- NothingToCheck          a check has nothing to look at (no healthy target, say)
+-- PublishError                an output (CloudWatch, a Pushgateway, a file) refused results
+-- SafetyRefusal               a disruptive action was refused by the guard
+-- NotApplicable               a check does not apply here (fresh clients never reach a target)
+-- DeploymentFinding           the deployment misbehaved (a check or gate failed): exit 1
"""

from __future__ import annotations

__all__ = [
    "ContractError",
    "DeploymentFinding",
    "EnvironmentUnavailable",
    "MissingDependency",
    "NotApplicable",
    "NothingToCheck",
    "ParityError",
    "ProfileError",
    "PublishError",
    "ReplicaError",
    "SafetyRefusal",
    "UsageError",
]


class ParityError(Exception):
    """Root of every error Parity raises on purpose."""

    exit_code = 3


class UsageError(ParityError):
    """The harness is misconfigured: a flag, a file or a value is not allowed."""

    exit_code = 2


class ProfileError(UsageError):
    """An environment profile is invalid."""


class ContractError(UsageError):
    """The session contract (login, write, read) works on no target: it is wrong, not the app."""


class EnvironmentUnavailable(ParityError):
    """The environment cannot be reached or driven."""

    exit_code = 3


class MissingDependency(EnvironmentUnavailable):
    """A program Parity needs (redis-server, haproxy, ...) is not installed."""


class ReplicaError(EnvironmentUnavailable):
    """The embedded replica failed to start, stop or act."""


class NothingToCheck(EnvironmentUnavailable):
    """A check has nothing to look at: it can neither pass nor fail."""


class SafetyRefusal(ParityError):
    """The guard refused a disruptive action."""

    exit_code = 2


class NotApplicable(ParityError):
    """A check does not apply here, for a reason its message states with the numbers: the
    check is skipped, never passed or failed."""

    exit_code = 0


class DeploymentFinding(ParityError):
    """The deployment misbehaved: a check or a gate failed."""

    exit_code = 1


class PublishError(ParityError):
    """An output (CloudWatch, a Pushgateway, a metrics file) did not take the results: exit 3."""

    exit_code = 3
