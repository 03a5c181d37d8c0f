"""The Single-Path runtime model (Eq. 7) as sympy and as a differentiable torch function."""

import pytest
import sympy
import torch

from attncost.lut.predict import predict_table
from attncost.lut.runtime import expression, indicator_symbols, runtime_torch
from attncost.lut.segments import layer_key

PROFILE = {"format": "attncost-device-profile", "version": 1, "macs_per_s": 2e10, "other_ops_per_s": 5e9,
           "bytes_per_s": 1e10, "seconds_per_op": 5e-6}


@pytest.fixture(scope="module")
def lut(full_space):
    return predict_table(full_space, PROFILE)


def _vertex(space, choice: dict):
    """Indicator values for {layer index: option or 'skip'}; other layers at k3e3."""
    values = {}
    for index, (d5x5, d50c, d100c) in indicator_symbols(space).items():
        option = choice.get(index, "k3e3")
        values[d5x5] = int(option.startswith("k5"))
        values[d100c] = int(option.endswith("e6"))
        if isinstance(d50c, sympy.Symbol):
            values[d50c] = int(option != "skip")
    return values


def test_official_formula_at_the_vertices(lut, full_space):
    """R_l = d50c (R53 + d100c (R56 - R53)) (r + (1 - r) d5x5), r = R36 / R56: exact at k3e6, k5e3, k5e6
    and R53 * R36 / R56 at k3e3; a skipped layer costs 0."""
    expr = expression(lut, "singlepath")
    r = {o: lut.ms(layer_key(7, o)) for o in ("k3e3", "k3e6", "k5e3", "k5e6")}
    base = float(expr.subs(_vertex(full_space, {7: "skip"})))
    for option, expected in [("k3e6", r["k3e6"]), ("k5e3", r["k5e3"]), ("k5e6", r["k5e6"]),
                             ("k3e3", r["k5e3"] * r["k3e6"] / r["k5e6"])]:
        assert float(expr.subs(_vertex(full_space, {7: option}))) - base == pytest.approx(expected)


def test_multilinear_model_is_exact_at_every_vertex(lut, full_space):
    expr = expression(lut, "multilinear")
    arch = [("k3e1", "none")] + [("k3e3", "none")] * 20 + [("k3e6", "none")]
    assert float(expr.subs(_vertex(full_space, {}))) == pytest.approx(lut.architecture_ms(arch))
    choice = {1: "k5e6", 2: "skip", 3: "k3e6", 4: "k5e3"}
    for index, option in choice.items():
        arch[index] = (option, "none")
    assert float(expr.subs(_vertex(full_space, choice))) == pytest.approx(lut.architecture_ms(arch))


def test_non_skippable_layers_keep_d50c_at_one(full_space):
    symbols = indicator_symbols(full_space)
    assert symbols[1][1] == 1 and symbols[5][1] == 1                 # first layers of stages
    assert isinstance(symbols[2][1], sympy.Symbol)


@pytest.mark.parametrize("model", ["singlepath", "multilinear"])
def test_torch_function_equals_sympy_and_its_gradient(lut, full_space, model):
    count = len(full_space.searchable)
    torch.manual_seed(0)
    d5x5, d50c, d100c = (torch.rand(count, dtype=torch.float64, requires_grad=True) for _ in range(3))
    plain = [t.detach() for t in (d5x5, d50c, d100c)]
    total = runtime_torch(lut, d5x5, d50c, d100c, model=model)
    total.backward()
    expr = expression(lut, model)
    values = {}
    for s, layer in enumerate(full_space.searchable):
        a, b, c = indicator_symbols(full_space)[layer.index]
        values.update({a: float(plain[0][s]), c: float(plain[2][s])})
        if isinstance(b, sympy.Symbol):
            values[b] = float(plain[1][s])
    assert total.item() == pytest.approx(float(expr.subs(values)))
    a, _, _ = indicator_symbols(full_space)[9]
    assert float(d5x5.grad[8]) == pytest.approx(float(sympy.diff(expr, a).subs(values)))


def test_attention_weights_add_their_entries(tiny_space):
    lut = predict_table(tiny_space, PROFILE)
    ones = torch.ones(len(tiny_space.searchable), dtype=torch.float64)
    zeros = torch.zeros_like(ones)
    weights = torch.zeros(len(tiny_space.searchable), 3, dtype=torch.float64)
    weights[0, 2] = 1.0                                              # layer 1 gets CBAM
    plain = runtime_torch(lut, ones, ones, zeros, model="multilinear")
    with_cbam = runtime_torch(lut, ones, ones, zeros, attention=weights, model="multilinear")
    assert float(with_cbam - plain) == pytest.approx(lut.ms("layer1+cbam"))
