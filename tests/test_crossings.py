"""Crossover points against brute force: the exact cost of both modules at every size of a grid."""

import pytest

from attncost import catalogue
from attncost.cost import flops
from attncost.crossings import crossover
from attncost.errors import HyperparameterError
from attncost.symbols import H, W


def brute_force_points(a, b, shape_of, metric, lo, hi):
    """Sizes where the cheaper module changes, evaluating each module's Program at each size."""
    def value(name, t):
        cost = catalogue.get(name).cost(shape_of(t))
        return {"macs": cost.macs, "flops": flops(cost, "full"), "peak": cost.peak_live_elements,
                "attention-map": cost.attention_map_elements}[metric]

    points, previous = [], None
    for t in range(lo, hi + 1):
        try:
            d = int(value(a, t) - value(b, t))
        except HyperparameterError:
            continue
        sign = (d > 0) - (d < 0)
        if sign == 0:
            continue
        if previous is not None and sign != previous:
            points.append(t)
        previous = sign
    return points


@pytest.mark.parametrize("a, b, channels, metric, lo, hi", [
    ("nonlocal", "ccnet", 512, "macs", 2, 120),
    ("nonlocal", "cbam", 1024, "macs", 2, 60),
    ("nonlocal", "cbam", 64, "flops", 2, 60),
    ("ccnet", "se", 64, "macs", 1, 60),
    ("nonlocal", "gc", 32, "peak", 2, 40),
])
def test_crossing_points_match_brute_force(a, b, channels, metric, lo, hi):
    result = crossover(a, b, (1, channels, H, W), "H=W", metric, lo=lo, hi=hi)
    assert result.points == brute_force_points(a, b, lambda t: (1, channels, t, t), metric, lo, hi)


def test_nonlocal_ccnet_crossing_and_sides():
    # nonlocal - ccnet MACs at C=512 are 128 t^2 (t^2 - 18 t - 1024): zero at t = 9 + sqrt(1105) = 42.24
    result = crossover("nonlocal", "ccnet", (1, 512, H, W), "H=W", "macs", lo=2, hi=256)
    assert result.points == [44]
    assert abs(result.symbolic_roots[-1] - 42.24) < 0.01
    assert result.segments[0][2] == "nonlocal" and result.segments[-1][2] == "ccnet"


def test_vary_channels():
    result = crossover("se", "eca", (1, "C", 14, 14), "C", "params", lo=16, hi=512)
    assert result.cheaper_at_hi == "eca"


def test_attention_map_crossing_with_exact_floors():
    # Non-local's map N*HW*floor(H/2)*floor(W/2) vs CCNet's N*HW*(H+W): the floor-free difference
    # t^3 (t - 8) / 4 has its root at 8, where they are equal; with floors, CCNet's is smaller from 10 on
    result = crossover("nonlocal", "ccnet", (1, 512, H, W), "H=W", "attention-map", lo=2, hi=64)
    assert result.points == brute_force_points("nonlocal", "ccnet", lambda t: (1, 512, t, t), "attention-map", 2, 64)
    assert result.symbolic_roots == [8.0] and result.points == [10]
