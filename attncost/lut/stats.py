"""The statistics of one entry's samples: its estimate, the estimate's confidence interval, its spread.

Pure Python, no numpy, no torch (the measuring worker calls these between rounds).

- **Estimates** (``STATISTICS``): ``median``; ``p10``, the 10th percentile; ``min``. Quantiles are
  interpolated within the samples (the ``inclusive`` method of :func:`statistics.quantiles`, type 7
  of Hyndman and Fan 1996: ``h = (n - 1) p``), so they never leave the range of the samples.
  Under load from other processes the noise is one-sided: a segment is only ever slowed (preempted,
  migrated, its cache refilled), so symmetric robust estimators (a trimmed mean, a median of means)
  keep half of that bias while a low quantile drops it as long as fewer than 90% of the runs are hit.
- **Confidence interval** (:func:`quantile_ci`): distribution-free, from order statistics. For the
  p-quantile xi_p of a continuous distribution, B = #{X_i <= xi_p} ~ Binomial(n, p), so
  P(X_(l) <= xi_p <= X_(u)) = P(l <= B <= u - 1). The ranks are equal-tailed: l the largest rank
  with P(B <= l - 1) <= alpha / 2, u the smallest with P(B >= u) <= alpha / 2 (coverage >= 1 - alpha;
  Conover, *Practical Nonparametric Statistics*, 3rd ed., 1999, Sec. 3.2). It needs enough samples:
  at 95%, n >= 6 for the median and n >= 36 for the 10th percentile (0.9^36 = 0.022); with fewer
  there is no interval and the precision is unknown (``None``). The minimum has none at all (where
  it lies depends on n).
- **Precision**: the interval's relative half-width, max(est - low, high - est) / est.
- **Dispersion**: the relative interquartile range (q3 - q1) / median, which outliers do not move,
  and, as Google Benchmark reports per repetition, the coefficient of variation stdev / mean.
"""

from __future__ import annotations

import functools
import math
import statistics as _statistics

STATISTICS = ("median", "min", "p10")
QUANTILES = {"median": 0.5, "p10": 0.1}          # the quantile each statistic is; min has no interval
CONFIDENCE = 0.95


def quantile(ordered, p: float) -> float:
    """The ``p``-quantile of ``ordered`` (sorted, non-empty), interpolated within the samples."""
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def estimate(samples, statistic: str) -> float:
    """The table's estimate of an entry from its samples."""
    ordered = sorted(samples)
    return ordered[0] if statistic == "min" else quantile(ordered, QUANTILES[statistic])


def _binomial_cdf(n: int, p: float):
    """P(B <= k) for k = 0..n, B ~ Binomial(n, p), in log space (n in the thousands does not overflow)."""
    lp, lq = math.log(p), math.log1p(-p)
    pmf = [math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lp + (n - k) * lq)
           for k in range(n + 1)]
    cdf, total = [], 0.0
    for value in pmf:
        total += value
        cdf.append(min(total, 1.0))
    return cdf


@functools.lru_cache(maxsize=4096)
def ci_ranks(n: int, p: float, confidence: float = CONFIDENCE):
    """1-based ranks (l, u) of the order statistics bounding the p-quantile with at least
    ``confidence``, equal-tailed; ``None`` when ``n`` samples cannot give such an interval."""
    if n < 1:
        return None
    tail = (1 - confidence) / 2
    cdf = _binomial_cdf(n, p)
    if cdf[0] > tail or 1 - cdf[n - 1] > tail:
        return None
    low = max(k for k in range(1, n + 1) if cdf[k - 1] <= tail)              # P(B <= l - 1) <= tail
    high = min(k for k in range(1, n + 1) if 1 - cdf[k - 1] <= tail)         # P(B >= u) <= tail
    return low, high


def coverage(n: int, p: float, ranks) -> float:
    """P(X_(l) <= xi_p <= X_(u)) for the ranks (l, u): P(l <= B <= u - 1)."""
    cdf = _binomial_cdf(n, p)
    low, high = ranks
    return cdf[high - 1] - cdf[low - 1]


def quantile_ci(samples, statistic: str, confidence: float = CONFIDENCE):
    """(low, high) of the statistic's distribution-free confidence interval, or ``None`` (too few
    samples, or the minimum, which has none)."""
    if statistic not in QUANTILES:
        return None
    ranks = ci_ranks(len(samples), QUANTILES[statistic], confidence)
    if ranks is None:
        return None
    ordered = sorted(samples)
    return ordered[ranks[0] - 1], ordered[ranks[1] - 1]


def precision(value: float, interval) -> float | None:
    """The relative half-width of ``interval`` around ``value`` (a fraction), ``None`` without one."""
    if interval is None or value <= 0:
        return None
    return max(value - interval[0], interval[1] - value) / value


def summarize(samples, statistic: str = "median", confidence: float = CONFIDENCE) -> dict:
    """One entry's figures (ms, and percent): median, quartiles, 10th percentile, min, max, n; the
    table statistic's confidence interval and precision (``None`` where there is none); the relative
    IQR and the coefficient of variation. Quartiles are interpolated within the samples: the
    ``exclusive`` method extrapolates beyond the smallest and largest sample when there are few, so
    two noisy samples (1 ms, 10 ms) gave a negative first quartile, which the schema rightly refuses."""
    ordered = sorted(samples)
    median = quantile(ordered, 0.5)
    q1, q3 = quantile(ordered, 0.25), quantile(ordered, 0.75)
    value = ordered[0] if statistic == "min" else quantile(ordered, QUANTILES[statistic])
    interval = quantile_ci(ordered, statistic, confidence)
    achieved = precision(value, interval)
    mean = _statistics.fmean(ordered)
    return {"median_ms": median, "q1_ms": q1, "q3_ms": q3, "p10_ms": quantile(ordered, 0.1), "min_ms": ordered[0],
            "max_ms": ordered[-1], "n": len(ordered),
            "ci_low_ms": interval[0] if interval else None, "ci_high_ms": interval[1] if interval else None,
            "precision_pct": 100 * achieved if achieved is not None else None,
            "rel_iqr_pct": 100 * (q3 - q1) / median if median > 0 else 0.0,
            "cv_pct": 100 * _statistics.stdev(ordered) / mean if len(ordered) > 1 and mean > 0 else 0.0}
