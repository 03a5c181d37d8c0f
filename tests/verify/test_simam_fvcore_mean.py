"""SimAM against fvcore: the one documented difference of the fvcore view, made exact.

SimAM's squeeze is an explicit ``x.mean(dim=[2, 3], keepdim=True)``. At the aten level that is the
very op ``adaptive_avg_pool2d(x, 1)`` runs, so attncost's ``fvcore`` view weighs it as fvcore weighs
adaptive average pooling, one per input element (docs/CONVENTIONS.md, "Conventions"); fvcore itself
sees ``aten::mean`` in its jit graph, which it has no handle for, and counts 0. Every other op SimAM
runs (sub, pow, sum, div, add, mul, sigmoid) is one fvcore ignores and attncost weighs 0 in that view.
So fvcore's total is attncost's fvcore view less exactly N*C*H*W, and 0 here; FlopCounterMode counts
no op of SimAM either.
"""

import pytest
import torch
from fvcore.nn import FlopCountAnalysis
from torch.utils.flop_counter import FlopCounterMode

from attncost import catalogue
from attncost.cost import flops
from attncost.reference import build


@pytest.mark.parametrize("shape", [(2, 64, 12, 10), (1, 48, 32, 34)])
def test_fvcore_misses_exactly_the_explicit_mean(shape):
    n, c, h, w = shape
    cost = catalogue.get("simam").cost(shape)
    module = build("simam", shape)
    x = torch.randn(*shape)
    analysis = FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    assert cost.counts["pool.global_avg"] == n * c * h * w
    assert analysis.total() == flops(cost, "fvcore") - n * c * h * w == 0
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    assert counter.get_total_flops() == flops(cost, "flopcounter") == 0
