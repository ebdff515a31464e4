"""What share of fresh clients each target should take, and what spread its balancer promises."""

from __future__ import annotations

from harness.spread_promises import EVEN_FACTORS, RATIO_FACTORS, Semantics, semantics
from harness.topology.model import Target, Topology


def target_weights(topology: Topology, healthy: list[Target]) -> dict[str, float]:
    """Each healthy target's expected share of fresh clients: equal, or in a weighted forward
    its group's weight shared by the group's healthy targets (a weight of 0: left out)."""
    ids = {t.id for t in healthy}
    weights: dict[str, float] = {}
    for group in topology.target_groups:
        members = [t.id for t in group.targets if t.id in ids]
        share = 1.0 if group.weight is None else float(group.weight)
        for member in members:
            if share > 0:
                weights.setdefault(
                    member, share / (len(members) if group.weight is not None else 1)
                )
    return weights


def spread_semantics(topology: Topology, weights: dict[str, float]) -> Semantics:
    """The weakest promise among the groups that take fresh clients: none, a gross ratio, or
    an even spread by weight."""
    found: list[Semantics] = []
    for group in topology.target_groups:
        if any(t.id in weights for t in group.targets):
            found.append(semantics(group.algorithm, group.slow_start_seconds))
    for kind in (None, RATIO_FACTORS):
        for s in found:
            if s.factors == kind:
                return s
    return found[0] if found else Semantics(EVEN_FACTORS, "each target takes its share")
