"""Accuracy of latency estimates against measurements: relative errors and rank correlations.

Errors are relative to the measurement, in percent: e_i = 100 (estimate_i - measured_i) / measured_i.
Kendall's tau is tau-b (ties in either list counted as in Kendall 1945); Spearman's rho is Pearson's
correlation of the average ranks. numpy only.
"""

from __future__ import annotations

import itertools

import numpy as np


def relative_errors(estimate, measured) -> np.ndarray:
    estimate, measured = np.asarray(estimate, float), np.asarray(measured, float)
    return 100.0 * (estimate - measured) / measured


def kendall_tau(a, b) -> float:
    """Kendall's tau-b: (concordant - discordant) / sqrt((n0 - ties_a) (n0 - ties_b))."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    concordant = discordant = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
        ties_a += da == 0
        ties_b += db == 0
        if da and db:
            concordant += da == db
            discordant += da != db
    pairs = len(a) * (len(a) - 1) // 2
    denominator = np.sqrt(float(pairs - ties_a) * float(pairs - ties_b))
    return float((concordant - discordant) / denominator) if denominator else float("nan")


def ranks(values) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    values = np.asarray(values, float)
    order = np.argsort(values, kind="mergesort")
    out = np.empty(len(values))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[order[j + 1]] == values[order[i]]:
            j += 1
        out[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a, b) -> float:
    ra, rb = ranks(a), ranks(b)
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")                          # undefined when one list is constant
    return float(np.corrcoef(ra, rb)[0, 1])


def accuracy(estimate, measured) -> dict:
    """MAPE, max |error|, bias (mean signed error), share within 5% and 10% (all %), Kendall, Spearman."""
    errors = relative_errors(estimate, measured)
    return {"mape_pct": float(np.mean(np.abs(errors))), "max_err_pct": float(np.max(np.abs(errors))),
            "bias_pct": float(np.mean(errors)), "within5_pct": float(100 * np.mean(np.abs(errors) <= 5)),
            "within10_pct": float(100 * np.mean(np.abs(errors) <= 10)),
            "kendall_tau": kendall_tau(estimate, measured), "spearman": spearman(estimate, measured)}


def noise_floor(passes) -> dict:
    """Run-to-run disagreement of end-to-end measurements (``passes``: P lists of per-architecture
    times): MAPE of one pass against another (all pass pairs), and of one pass against the mean."""
    runs = np.asarray(passes, float)
    mean = runs.mean(axis=0)
    pairwise = [np.mean(np.abs(runs[a] - runs[b]) / runs[b]) for a, b in itertools.permutations(range(len(runs)), 2)]
    return {"pass_vs_pass_mape_pct": float(100 * np.mean(pairwise)) if pairwise else 0.0,
            "pass_vs_mean_mape_pct": float(100 * np.mean(np.abs(runs - mean) / mean)),
            "passes": len(runs)}
