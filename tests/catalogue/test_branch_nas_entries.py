"""Branch and nas entries: formula == traced reference, field by field, and bad hyperparameters rejected."""

from __future__ import annotations

import re

import pytest
import torch

from attncost.catalogue import get
from attncost.errors import HyperparameterError
from attncost.reference import build
from attncost.trace import trace_module

CASES = [
    ("sk", (1, 64, 7, 13), {}),
    ("sk", (3, 48, 16, 5), {"groups": 16}),
    ("sk", (2, 32, 8, 8), {"groups": 8, "branches": 3, "r": 2, "min_hidden": 4}),
    ("split-attention", (1, 32, 7, 13), {}),
    ("split-attention", (3, 48, 6, 5), {"radix": 1}),
    ("split-attention", (2, 64, 8, 8), {"radix": 4, "cardinality": 2}),
    ("split-attention", (2, 64, 5, 8), {"radix": 1, "cardinality": 4, "reduction": 2}),
    ("condconv", (1, 32, 7, 13), {}),
    ("condconv", (3, 16, 9, 6), {"out_channels": 24, "kernel": 5, "stride": 2, "bias": True}),
    ("dynamic-conv", (2, 32, 7, 13), {}),
    ("dynamic-conv", (3, 16, 9, 6), {"experts": 1, "out_channels": 8, "kernel": 1, "stride": 2, "bias": False,
                                     "reduction": 8, "temperature": 1.0}),
    ("mbconv", (2, 16, 7, 13), {}),
    ("mbconv", (2, 16, 7, 13), {"kernel": 5, "expansion": 3, "activation": "relu6"}),
    ("mbconv", (1, 16, 9, 9), {"kernel": 5, "stride": 2, "out_channels": 24}),
    ("mbconv", (2, 16, 7, 13), {"skip": True}),
]


@pytest.mark.parametrize("name, shape, hp", CASES)
def test_formula_equals_trace(name, shape, hp):
    module = build(name, shape, hp)
    traced, traced_shape, unsupported = trace_module(module, torch.randn(*shape))
    formula, formula_shape = get(name).run(shape, hp)
    assert not unsupported
    assert formula.fields() == traced.fields()
    assert tuple(formula_shape) == tuple(traced_shape)
    assert formula.params == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name, shape, hp, message", [
    ("split-attention", (1, 64, 8, 8), {"radix": 0}, "split-attention.radix=0 must be at least 1"),
    ("split-attention", (1, 30, 8, 8), {"radix": 4}, "not divisible by radix*cardinality=4"),
    ("split-attention", (1, 48, 8, 8), {"radix": 1, "cardinality": 3}, "not divisible by cardinality=3"),
    ("sk", (1, 48, 8, 8), {}, "sk: C=48 is not divisible by groups=32"),
    ("sk", (1, 64, 8, 8), {"branches": 1}, "sk.branches=1 must be at least 2"),
    ("condconv", (1, 64, 8, 8), {"kernel": 4}, "condconv.kernel=4 must be odd"),
    ("dynamic-conv", (1, 64, 8, 8), {"temperature": 0.0}, "temperature=0 must be positive"),
    ("dynamic-conv", (1, 3, 8, 8), {}, "C=3 with reduction=4 leaves no hidden units"),
    ("mbconv", (1, 64, 8, 8), {"skip": True, "stride": 2}, "skip=True needs stride 1"),
])
def test_bad_hyperparameters_raise_one_line(name, shape, hp, message):
    with pytest.raises(HyperparameterError, match=re.escape(message)) as error:
        get(name).cost(shape, hp)
    assert "\n" not in str(error.value)
