"""Accuracy metrics against hand-computed values."""

import pytest

from attncost.lut.metrics import accuracy, kendall_tau, noise_floor, ranks, spearman


def test_kendall_tau_by_hand():
    # pairs of [1,2,3] vs [1,3,2]: (1,2)+ (1,3)+ (2,3)-  -> (2 - 1) / 3
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # tau-b with a tie in a: [1,1,2] vs [1,2,3]: n0 = 3, ties_a = 1, C = 2, D = 0 -> 2 / sqrt(2 * 3)
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / 6 ** 0.5)


def test_spearman_by_hand():
    assert ranks([10, 30, 20, 20]).tolist() == [1.0, 4.0, 2.5, 2.5]
    # d = [0, 1, -1], rho = 1 - 6 * 2 / (3 * 8) = 0.5
    assert spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)


def test_accuracy_by_hand():
    got = accuracy([110, 95, 100, 80], [100, 100, 100, 100])
    assert got["mape_pct"] == pytest.approx((10 + 5 + 0 + 20) / 4)
    assert got["max_err_pct"] == pytest.approx(20)
    assert got["bias_pct"] == pytest.approx((10 - 5 + 0 - 20) / 4)
    assert got["within5_pct"] == pytest.approx(50)               # 95 and 100
    assert got["within10_pct"] == pytest.approx(75)


def test_noise_floor_by_hand():
    got = noise_floor([[100, 200], [110, 180]])
    # pass vs pass: |100-110|/110, |200-180|/180, |110-100|/100, |180-200|/200 -> mean
    assert got["pass_vs_pass_mape_pct"] == pytest.approx(100 * (10 / 110 + 20 / 180 + 10 / 100 + 20 / 200) / 4)
    # means 105 and 190: |100-105|/105, |200-190|/190, |110-105|/105, |180-190|/190
    assert got["pass_vs_mean_mape_pct"] == pytest.approx(100 * (2 * 5 / 105 + 2 * 10 / 190) / 4)
