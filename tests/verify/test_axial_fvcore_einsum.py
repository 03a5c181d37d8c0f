"""Axial attention against fvcore: the one difference of the fvcore view, made exact.

Axial-DeepLab's attention is five ``torch.einsum`` calls per axis (qr, kr, qk, sv, sve). attncost counts
the bmm each runs (MACs = the product of every label's size, as in FlopCounterMode); fvcore's einsum
handle has exact formulas for two equations only ("abc,abd->acd", "abc,adc->adb") and estimates every
other one from ``numpy.einsum_path``'s printed "Optimized FLOP count", which has four significant
digits: 1.843e+05 / 2 = 92150 for a contraction of 92160 MACs. So fvcore's total is attncost's fvcore
view with each einsum's exact MACs replaced by that rounded estimate, and FlopCounterMode agrees with
the ``flopcounter`` view exactly (tests/verify/test_against_peers.py)."""

import numpy as np
import pytest
import torch
from fvcore.nn import FlopCountAnalysis

from attncost import catalogue
from attncost.cost import flops
from attncost.reference import build

EINSUMS = ("bgci,cij->bgij", "bgci,cij->bgij", "bgci,bgcj->bgij", "bgij,bgcj->bgci", "bgij,cij->bgci")


def _numpy_estimate(equation: str, *shapes) -> float:
    """fvcore 0.1.5's einsum_flop_jit for a generic equation: floor(optimized FLOP count / 2)."""
    path = np.einsum_path(equation, *[np.zeros(s) for s in shapes], optimize="optimal")[1]
    line = next(line for line in path.split("\n") if "optimized flop" in line.lower())
    return float(np.floor(float(line.split(":")[-1]) / 2))


def _einsum_operands(sequences: int, length: int, groups: int, group_planes: int):
    """The operand shapes of the five einsums of one axis: q, k (sequences, groups, gp/2, L), v
    (..., gp, L), the similarity (..., L, L) and the embeddings (gp/2 or gp, L, L)."""
    half = group_planes // 2
    q = (sequences, groups, half, length)
    s = (sequences, groups, length, length)
    return [(q, (half, length, length)), (q, (half, length, length)), (q, q),
            (s, (sequences, groups, group_planes, length)), (s, (group_planes, length, length))]


@pytest.mark.parametrize("shape, groups", [((2, 64, 12, 10), 8), ((1, 48, 9, 11), 4)])
def test_fvcore_rounds_the_einsums_and_nothing_else(shape, groups):
    n, c, h, w = shape
    cost = catalogue.get("axial-attention").cost(shape, {"groups": groups})
    module = build("axial-attention", shape, {"groups": groups})
    analysis = FlopCountAnalysis(module, torch.randn(*shape))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    exact, estimated = 0, 0.0
    for sequences, length in ((n * w, h), (n * h, w)):                  # the height axis, then the width axis
        for equation, operands in zip(EINSUMS, _einsum_operands(sequences, length, groups, c // groups)):
            labels = {}
            for spec, operand in zip(equation.split("->")[0].split(","), operands):
                labels.update(zip(spec, operand))
            exact += int(np.prod(list(labels.values())))                 # MACs: every label's size, once
            estimated += _numpy_estimate(equation, *operands)
    assert exact == cost.counts["mac.matmul"]                            # the einsums are all the matmuls
    assert analysis.total() == flops(cost, "fvcore") - exact + estimated
    assert estimated != exact                                            # the rounding is real here
