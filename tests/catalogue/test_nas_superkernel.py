"""The Single-Path NAS superkernel cost equals the concrete mbconv entry at every 0/1 indicator value."""

from __future__ import annotations

import itertools

import pytest
import sympy

from attncost.catalogue import get
from attncost.catalogue.families.nas import D5X5, D50C, D100C, superkernel_cost
from attncost.errors import HyperparameterError
from attncost.symbols import SHAPE_SYMBOLS, N, C, H, W

LAYERS = [  # (out_channels, stride): skippable, strided, widening
    (None, 1),
    (None, 2),
    (24, 1),
]


def _corner_hp(d5x5, d50c, d100c, out_channels, stride, activation):
    return {"kernel": 5 if d5x5 else 3, "expansion": 6 if d100c else 3, "skip": not d50c,
            "out_channels": out_channels, "stride": stride, "activation": activation}


def _corners(out_channels, stride):
    skippable = stride == 1 and out_channels is None
    return [c for c in itertools.product((0, 1), repeat=3) if c[1] == 1 or skippable]


@pytest.mark.parametrize("activation", ["relu", "relu6"])
@pytest.mark.parametrize("out_channels, stride", LAYERS)
@pytest.mark.parametrize("shape", [(2, 16, 9, 7), (1, 24, 8, 8)])
def test_corners_equal_concrete_mbconv(shape, out_channels, stride, activation):
    general = superkernel_cost(shape, out_channels, stride, activation=activation)
    for d5x5, d50c, d100c in _corners(out_channels, stride):
        at_corner = general.subs({D5X5: d5x5, D50C: d50c, D100C: d100c})
        concrete = get("mbconv").cost(shape, _corner_hp(d5x5, d50c, d100c, out_channels, stride, activation))
        assert at_corner.fields() == concrete.fields(), (d5x5, d50c, d100c)


@pytest.mark.parametrize("out_channels, stride", [(None, 1), (None, 2)])
def test_symbolic_shape_counts_and_params(out_channels, stride):
    general = superkernel_cost(SHAPE_SYMBOLS, out_channels, stride)
    for d5x5, d50c, d100c in _corners(out_channels, stride):
        at_corner = general.subs({D5X5: d5x5, D50C: d50c, D100C: d100c})
        concrete = get("mbconv").formula(_corner_hp(d5x5, d50c, d100c, out_channels, stride, "relu"))
        for name in set(at_corner.counts) | set(concrete.counts):
            assert sympy.simplify(at_corner.counts.get(name, 0) - concrete.counts.get(name, 0)) == 0, name
        assert sympy.simplify(at_corner.params - concrete.params) == 0
        assert sympy.simplify(at_corner.activation_elements - concrete.activation_elements) == 0


def test_paper_form_of_macs_and_params():
    """Eq. 1-4: MACs and params are d50c * (...) of e' = 3C(1 + d100c) channels and 9 + 16 d5x5 taps."""
    cost = superkernel_cost()
    hidden = 3 * C * (1 + D100C)
    taps = 9 + 16 * D5X5
    macs = D50C * (N * H * W * C * hidden + N * H * W * hidden * taps + N * H * W * hidden * C)
    params = D50C * (C * hidden + 2 * hidden + hidden * taps + 2 * hidden + hidden * C + 2 * C)
    assert sympy.expand(cost.counts["mac.conv"] - macs) == 0
    assert sympy.expand(cost.params - params) == 0
    # differentiable: d MACs / d d5x5 = 16 taps on every expanded channel of every output position
    assert sympy.expand(sympy.diff(cost.counts["mac.conv"], D5X5) - D50C * N * H * W * hidden * 16) == 0


def test_skip_of_an_unskippable_layer_is_rejected():
    with pytest.raises(HyperparameterError, match="d50c=0"):
        superkernel_cost((1, 16, 8, 8), None, 2, d50c=0)
    with pytest.raises(HyperparameterError, match="skip=True needs stride 1"):
        get("mbconv").cost((1, 16, 8, 8), {"skip": True, "stride": 2})
