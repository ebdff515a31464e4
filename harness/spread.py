"""Is the spread of fresh clients over targets what their shares say? A sequential test.

Each fresh client lands on one target. Under the null hypothesis target i takes share p_i (equal
targets, or its group's weight shared by the group's targets). For every target and every factor
f (2 and 1/2 by default) the alternative "target i has f times its weight" has the log
likelihood ratio

    LLR(i, f) = c_i * ln f - n * ln(1 + (f - 1) * p_i)

after n clients of which c_i landed on i. The run rejects ("uneven") as soon as one LLR reaches
ln(K / alpha), K alternatives: by Ville's inequality each LR stays below K / alpha with
probability 1 - alpha / K under the null, so the false alarm rate is at most alpha whenever the
run stops (a union bound over K). An alternative is settled ("not this one") once its LLR falls
to ln(beta), as in Wald's SPRT; the run is even once every alternative is settled. A run that
reaches its bound undecided is even on the evidence it has, with the unsettled targets named.

Its p-value, K / max LR (capped at 1), is valid at whatever count the run stopped, so a fixed
count (the load's sessions per target) is judged by the same statistic.

The arrays carry a leading axis of runs, so the benchmark simulates thousands of runs with the
very code the checks use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.spread_promises import EVEN_FACTORS

ALPHA = 0.0005  # the false alarm bound of one run (half the 0.1 % asked, for margin)
BETA = 0.0003  # the chance of missing a target that has the alternative's share
UNDECIDED, EVEN, UNEVEN = 0, 1, -1

Floats = npt.NDArray[np.float64]


class SequentialSpread:
    """The sequential test over `runs` independent runs (the checks use one)."""

    def __init__(
        self,
        shares: Floats | list[float],
        factors: tuple[float, ...] = EVEN_FACTORS,
        *,
        alpha: float = ALPHA,
        beta: float = BETA,
        runs: int = 1,
    ) -> None:
        p = np.asarray(shares, dtype=np.float64)
        if p.ndim != 1 or len(p) < 2 or np.any(p <= 0):
            raise ValueError("a spread test needs two or more targets with positive shares")
        self.p = p / p.sum()
        f = np.asarray(factors, dtype=np.float64)
        self.log_f = np.log(f)[:, None]  # (F, 1)
        self.log_d = np.log1p((f[:, None] - 1.0) * self.p[None, :])  # (F, N)
        alternatives = len(factors) * len(self.p)
        self.upper = math.log(alternatives / alpha)
        self.lower = math.log(beta)
        self.counts = np.zeros((runs, len(self.p)), dtype=np.int64)
        self.n = np.zeros(runs, dtype=np.int64)
        self.settled = np.zeros((runs, len(factors), len(self.p)), dtype=bool)
        self.decision = np.zeros(runs, dtype=np.int8)

    def llr(self) -> Floats:
        """Every run's log likelihood ratios, shape (runs, factors, targets)."""
        counts = self.counts[:, None, :].astype(np.float64)
        n = self.n[:, None, None].astype(np.float64)
        return counts * self.log_f[None] - n * self.log_d[None]  # type: ignore[no-any-return]

    def observe(self, landed: npt.NDArray[np.int64]) -> None:
        """One fresh client more in every undecided run: the index of the target it landed on."""
        active = self.decision == UNDECIDED
        rows = np.nonzero(active)[0]
        np.add.at(self.counts, (rows, landed[rows]), 1)
        self.n[rows] += 1
        llr = self.llr()
        reject = active & ((llr >= self.upper) & ~self.settled).any(axis=(1, 2))
        self.settled |= active[:, None, None] & (llr <= self.lower)
        self.decision[reject] = UNEVEN
        self.decision[active & ~reject & self.settled.all(axis=(1, 2))] = EVEN


@dataclass(frozen=True)
class SpreadVerdict:
    """One run's outcome, keyed by target id, for the checks and the report."""

    decision: str  # even | uneven | undecided
    clients: int
    counts: dict[str, int]
    expected: dict[str, float]  # clients each target was expected to take, of `clients`
    flagged: dict[str, str]  # target -> "more" | "fewer", the alternative that won
    unsettled: list[str]  # targets whose share the evidence could not pin down
    factor: float
    alpha: float
    p_value: float  # anytime-valid: alternatives x the largest likelihood ratio's inverse

    def shares_text(self) -> str:
        return ", ".join(
            f"{t}: {self.counts.get(t, 0)} (expected {self.expected[t]:.1f})"
            for t in sorted(self.expected)
        )


class SpreadRun:
    """One check's sequential test over named targets, fed one fresh client at a time."""

    def __init__(
        self,
        weights: Mapping[str, float],
        factors: tuple[float, ...] = EVEN_FACTORS,
        *,
        alpha: float = ALPHA,
        beta: float = BETA,
    ) -> None:
        self.ids = sorted(weights)
        self.test = SequentialSpread(
            [weights[t] for t in self.ids], factors, alpha=alpha, beta=beta
        )
        self.factors, self.alpha = factors, alpha

    @classmethod
    def of_counts(
        cls,
        counts: Mapping[str, int],
        weights: Mapping[str, float],
        factors: tuple[float, ...] = EVEN_FACTORS,
    ) -> SpreadRun:
        """The test at a fixed count (a load run's sessions per target), judged as it stands:
        uneven past the upper bound, even when every alternative is below the lower one."""
        run = cls(weights, factors)
        test = run.test
        test.counts[0] = [int(counts.get(t, 0)) for t in run.ids]
        test.n[0] = int(test.counts[0].sum())
        llr = test.llr()
        test.settled = llr <= test.lower
        if (llr >= test.upper).any():
            test.decision[0] = UNEVEN
        elif test.settled.all():
            test.decision[0] = EVEN
        return run

    @property
    def decided(self) -> bool:
        return bool(self.test.decision[0] != UNDECIDED)

    def add(self, target: str) -> None:
        """A fresh client landed on `target` (one of the weighted ids)."""
        if not self.decided:
            self.test.observe(np.array([self.ids.index(target)], dtype=np.int64))

    def verdict(self) -> SpreadVerdict:
        test = self.test
        n = int(test.n[0])
        llr = test.llr()[0]
        flagged: dict[str, str] = {}
        if test.decision[0] == UNEVEN:
            for fi, ti in zip(*np.nonzero(llr >= test.upper), strict=True):
                flagged.setdefault(self.ids[ti], "more" if self.factors[fi] > 1 else "fewer")
        unsettled = [t for i, t in enumerate(self.ids) if not test.settled[0, :, i].all()]
        decision = {EVEN: "even", UNEVEN: "uneven"}.get(int(test.decision[0]), "undecided")
        return SpreadVerdict(
            decision,
            n,
            {t: int(test.counts[0, i]) for i, t in enumerate(self.ids)},
            {t: n * float(test.p[i]) for i, t in enumerate(self.ids)},
            flagged,
            [] if decision == "uneven" else unsettled,
            max(self.factors),
            self.alpha,
            min(1.0, llr.size * math.exp(-float(llr.max()))),
        )
