"""`parity diff`: two environments' resolved topologies and settings, side by side.

Every setting becomes a path (`target_group[0].stickiness.duration_seconds`); target groups are
paired by their position behind the listeners. A profile's `parity.expected` lists the paths
(globs allowed) that may differ, with the reason; every other difference is drift.
"""

from __future__ import annotations

from harness.drift.compare import compare, policy_of
from harness.drift.facts import builds_of, facts
from harness.profile.environment import Environment
from harness.report.model import DiffSection
from harness.topology import open_environment
from harness.topology.model import Topology

__all__ = ["compare_environments", "facts"]


def compare_environments(
    env: Environment, reference: Environment, topology: Topology | None = None
) -> DiffSection:
    """Resolve both (unless `topology` of `env` is given) and compare them."""
    if topology is None:
        with open_environment(env) as provider:
            topology = provider.resolve()
            left = facts(topology, builds_of(env, topology))
    else:
        left = facts(topology, builds_of(env, topology))
    with open_environment(reference) as provider:
        other = provider.resolve()
        right = facts(other, builds_of(reference, other))
    differences = compare(left, right, policy_of(env) + policy_of(reference))
    return {
        "left": env.name,
        "reference": reference.name,
        "differences": differences,
        "unexpected": [d for d in differences if not d["expected"]],
    }
