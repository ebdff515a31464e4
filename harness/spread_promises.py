"""What each balancing algorithm promises about the spread of fresh clients over its targets,
as the factors the spread test (`harness.spread`) looks for. Apart from the test, so that the
profile's schema names the algorithms without loading numpy."""

from __future__ import annotations

from dataclasses import dataclass

EVEN_FACTORS = (2.0, 0.25)  # a target with twice its weight, or starved (a quarter)
RATIO_FACTORS = (4.0, 0.125)  # where assignment follows load: only a gross skew


@dataclass(frozen=True)
class Semantics:
    """What a balancing algorithm promises about the spread of fresh clients."""

    factors: tuple[float, ...] | None  # None: no spread is promised to one test client
    note: str


ALGORITHM_SPREAD: dict[str, Semantics] = {
    "round_robin": Semantics(EVEN_FACTORS, "each target takes its weight's share"),
    "weighted_random": Semantics(EVEN_FACTORS, "each target takes its weight's share"),
    "random": Semantics(EVEN_FACTORS, "each target takes its weight's share"),
    "hash": Semantics(
        EVEN_FACTORS, "a hash of a fresh key per client: each target takes its weight's share"
    ),
    "least_outstanding_requests": Semantics(
        RATIO_FACTORS,
        "assignment follows each target's requests in flight, so unequal latencies shift it: "
        "only a 4:1 skew or a starved target fails",
    ),
    "least_connections": Semantics(
        RATIO_FACTORS,
        "assignment follows each target's open connections: only a 4:1 skew or a starved "
        "target fails",
    ),
    "consistent_hash": Semantics(
        RATIO_FACTORS,
        "a consistent-hash ring gives targets unequal arcs: only a 4:1 skew or a starved "
        "target fails",
    ),
    "source_ip_hash": Semantics(
        None, "every test client comes from one address, so one target takes them all"
    ),
}


def semantics(algorithm: str, slow_start_seconds: int = 0) -> Semantics:
    """The spread an algorithm promises; slow start promises none while a target ramps up."""
    if slow_start_seconds > 0:
        return Semantics(
            None,
            f"slow start ({slow_start_seconds} s) ramps a newly registered target's share up "
            "from almost nothing, so no spread is promised to a short test",
        )
    return ALGORITHM_SPREAD.get(algorithm, ALGORITHM_SPREAD["round_robin"])
