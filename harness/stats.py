"""Statistics for distribution and latency evidence: chi-square fit, ratios, HDR histograms."""

from __future__ import annotations

from dataclasses import dataclass

from hdrh.histogram import HdrHistogram
from scipy.stats import chisquare

LOWEST_US, HIGHEST_US, DIGITS = 1, 120_000_000, 3  # 1 us to 120 s, 3 significant digits
PERCENTILES = (50, 90, 95, 99)


def histogram() -> HdrHistogram:
    """An empty latency histogram in microseconds, 3 significant digits."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def percentiles_ms(hist: HdrHistogram) -> dict[str, float]:
    """p50/p90/p95/p99/max in milliseconds (empty histogram: zeros)."""
    out = {f"p{p}": hist.get_value_at_percentile(p) / 1000 for p in PERCENTILES}
    out["max"] = hist.get_max_value() / 1000
    out["count"] = float(hist.get_total_count())
    return out


@dataclass(frozen=True)
class Fit:
    """A chi-square goodness-of-fit of observed counts to expected shares."""

    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    max_min_ratio: float


def fit(observed: dict[str, int], weights: dict[str, float]) -> Fit:
    """Test the counts against the weights (every weighted key is counted, missing as 0)."""
    keys = sorted(weights)
    total = sum(observed.get(k, 0) for k in keys)
    share = sum(weights.values())
    expected = {k: total * weights[k] / share for k in keys}
    counts = [observed.get(k, 0) for k in keys]
    if len(keys) < 2 or total == 0:
        return Fit(dict(observed), expected, 0.0, 1.0, 1.0)
    result = chisquare(counts, [expected[k] for k in keys])
    normalised = [observed.get(k, 0) / weights[k] for k in keys]
    ratio = max(normalised) / min(normalised) if min(normalised) > 0 else float("inf")
    return Fit(dict(observed), expected, float(result.statistic), float(result.pvalue), ratio)
