"""The statistics of an entry: quantiles, the distribution-free interval from order statistics, the
spread; each against numbers worked out by hand."""

import math

import pytest

from attncost.lut.stats import ci_ranks, coverage, estimate, precision, quantile, quantile_ci, summarize


def test_quantiles_interpolate_within_the_samples():
    ordered = [1.0, 2.0, 3.0, 4.0, 10.0]
    # h = (n - 1) p: the median is x_3 = 3; p10: h = 0.4, 1 + 0.4 * (2 - 1) = 1.4; q3: h = 3, x_4 = 4
    assert quantile(ordered, 0.5) == 3.0
    assert quantile(ordered, 0.1) == pytest.approx(1.4)
    assert quantile(ordered, 0.75) == 4.0
    assert estimate([10.0, 1.0, 3.0, 2.0, 4.0], "min") == 1.0
    assert estimate([10.0, 1.0, 3.0, 2.0, 4.0], "p10") == pytest.approx(1.4)


def _binomial_tail_le(n, p, k):
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


@pytest.mark.parametrize("n, p, ranks", [
    # the median, n = 6: P(B = 0) = 1/64 = 0.016 <= 0.025, P(B <= 1) = 7/64 = 0.109 > 0.025: (1, 6),
    # coverage 1 - 2/64 = 0.969
    (6, 0.5, (1, 6)),
    # n = 15: P(B <= 3) = (1 + 15 + 105 + 455) / 32768 = 0.0176, P(B <= 4) = 0.0592: l = 4, u = 12
    (15, 0.5, (4, 12)),
    # the 10th percentile, n = 36: P(B = 0) = 0.9^36 = 0.0225; the upper rank 8: P(B >= 8) = 0.0164,
    # P(B >= 7) = 0.0458
    (36, 0.1, (1, 8)),
])
def test_interval_ranks_by_hand(n, p, ranks):
    assert ci_ranks(n, p) == ranks
    low, high = ranks
    tail = 0.025
    assert _binomial_tail_le(n, p, low - 1) <= tail < _binomial_tail_le(n, p, low)
    assert 1 - _binomial_tail_le(n, p, high - 1) <= tail < 1 - _binomial_tail_le(n, p, high - 2)
    exact = _binomial_tail_le(n, p, high - 1) - _binomial_tail_le(n, p, low - 1)
    assert coverage(n, p, ranks) == pytest.approx(exact) and exact >= 0.95


@pytest.mark.parametrize("n, p", [(5, 0.5), (35, 0.1)])
def test_too_few_samples_have_no_interval(n, p):
    # n = 5: P(B = 0) = 1/32 = 0.031 > 0.025; n = 35: 0.9^35 = 0.0250 > 0.025
    assert ci_ranks(n, p) is None
    assert quantile_ci([1.0] * n, "median" if p == 0.5 else "p10") is None


def test_the_minimum_has_no_interval_and_precision_is_the_relative_half_width():
    assert quantile_ci(list(range(1, 101)), "min") is None
    samples = [float(v) for v in range(1, 16)]            # 1..15: median 8, ranks (4, 12) -> [4, 12]
    assert quantile_ci(samples, "median") == (4.0, 12.0)
    assert precision(8.0, (4.0, 12.0)) == 0.5               # max(8 - 4, 12 - 8) / 8
    assert precision(8.0, (7.0, 8.5)) == 0.125              # the wider side: 1 / 8
    assert precision(8.0, None) is None


def test_the_interval_of_a_large_sample_is_found_in_log_space():
    ranks = ci_ranks(5000, 0.5)                             # 0.5^5000 underflows a float; lgamma does not
    assert ranks is not None and ranks[0] < 2500 < ranks[1]
    assert coverage(5000, 0.5, ranks) >= 0.95


def test_summary_of_an_entry():
    samples = [float(v) for v in range(1, 16)]
    figures = summarize(samples, "median")
    assert (figures["median_ms"], figures["q1_ms"], figures["q3_ms"], figures["min_ms"], figures["max_ms"]) == \
        (8.0, 4.5, 11.5, 1.0, 15.0)                         # h = 14 p: q1 at 3.5 -> 4.5, q3 at 10.5 -> 11.5
    assert figures["p10_ms"] == pytest.approx(2.4)          # h = 1.4: 2 + 0.4
    assert (figures["ci_low_ms"], figures["ci_high_ms"], figures["precision_pct"]) == (4.0, 12.0, 50.0)
    assert figures["rel_iqr_pct"] == pytest.approx(100 * 7 / 8)          # (11.5 - 4.5) / 8
    # stdev of 1..15 = sqrt(15 * 16 / 12) = sqrt(20); mean 8
    assert figures["cv_pct"] == pytest.approx(100 * math.sqrt(20) / 8)
    few = summarize([2.0, 1.0], "p10")
    assert few["n"] == 2 and few["precision_pct"] is None and few["ci_low_ms"] is None
