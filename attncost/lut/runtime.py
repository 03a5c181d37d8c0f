"""The Single-Path NAS runtime model as a function of the superkernel's indicator variables.

Stamoulis et al. 2019, Eq. 7 (official ``nas-search/superkernel.py``): per searched layer, with its
table entries R(k, e) and the indicators d5x5 = 1(use 5x5), d50c = 1(use e=3; 0 skips the layer),
d100c = 1(use e=6),

    R_ch  = d50c * (R(5,3) + d100c * (R(5,6) - R(5,3)))
    R_l   = R_ch * r + R_ch * (1 - r) * d5x5,    r = R(3,6) / R(5,6),

and the network runtime is a constant (stem, head, fixed layers) plus the sum of R_l. The model is exact
at k3e6, k5e3 and k5e6 and approximates k3e3 by R(5,3) * R(3,6) / R(5,6). ``model="multilinear"`` is
the unique multilinear interpolation of the four entries instead (exact at all four, as
``attncost.catalogue.families.nas.superkernel_cost`` is for op counts):

    R_l = d50c * ((1-d5x5)(1-d100c) R(3,3) + (1-d5x5) d100c R(3,6) + d5x5 (1-d100c) R(5,3) + d5x5 d100c R(5,6)).

Attention candidates (attncost's addition) add d50c * sum_a w_a * R(a) with weights w_a over the
modules (one-hot for a chosen module, a softmax for a relaxed one). Layers that cannot be skipped keep
d50c = 1, as the official supernet does. The same formula gives a sympy expression (:func:`expression`)
and a differentiable torch function of indicator tensors (:func:`runtime_torch`); torch is imported
only by the latter.
"""

from __future__ import annotations

import sympy

from ..errors import LutError
from .segments import attention_key, layer_key
from .space import NO_ATTENTION, Space

MODELS = ("singlepath", "multilinear")
OPTIONS = ("k3e3", "k3e6", "k5e3", "k5e6")


def _singlepath(r, d5x5, d50c, d100c):
    channels = d50c * (r["k5e3"] + d100c * (r["k5e6"] - r["k5e3"]))
    ratio = r["k3e6"] / r["k5e6"]
    return channels * ratio + channels * (1 - ratio) * d5x5


def _multilinear(r, d5x5, d50c, d100c):
    return d50c * ((1 - d5x5) * (1 - d100c) * r["k3e3"] + (1 - d5x5) * d100c * r["k3e6"]
                   + d5x5 * (1 - d100c) * r["k5e3"] + d5x5 * d100c * r["k5e6"])


LAYER_MODELS = {"singlepath": _singlepath, "multilinear": _multilinear}


def _layer_entries(lut, layer) -> dict:
    if set(layer.options) != set(OPTIONS):
        raise LutError(f"layer {layer.index}: the runtime model needs the options {', '.join(OPTIONS)} "
                       f"(has {', '.join(layer.options)})")
    return {option: lut.ms(layer_key(layer.index, option)) for option in OPTIONS}


def indicator_symbols(space: Space) -> dict:
    """layer index -> (d5x5_i, d50c_i, d100c_i); d50c_i is 1 where layer i cannot be skipped."""
    return {layer.index: (sympy.Symbol(f"d5x5_{layer.index}"),
                          sympy.Symbol(f"d50c_{layer.index}") if layer.skippable else sympy.Integer(1),
                          sympy.Symbol(f"d100c_{layer.index}"))
            for layer in space.searchable}


def attention_symbols(space: Space) -> dict:
    """(layer index, module) -> the weight symbol w_<module>_<i> of that attention candidate."""
    return {(layer.index, a): sympy.Symbol(f"w_{a.replace('-', '_')}_{layer.index}")
            for layer in space.searchable for a in layer.attention if a != NO_ATTENTION}


def expression(lut, model: str = "singlepath") -> sympy.Expr:
    """The network runtime (ms) as a sympy expression of the indicators (and attention weights)."""
    layer_model = LAYER_MODELS[model]
    weights = attention_symbols(lut.space)
    total = sympy.Float(lut.constant_ms)
    for layer in lut.space.searchable:
        d5x5, d50c, d100c = indicator_symbols(lut.space)[layer.index]
        total += layer_model(_layer_entries(lut, layer), d5x5, d50c, d100c)
        total += d50c * sum((weights[layer.index, a] * lut.ms(attention_key(layer.index, a))
                             for a in layer.attention if a != NO_ATTENTION), sympy.Integer(0))
    return total


def runtime_torch(lut, d5x5, d50c, d100c, attention=None, model: str = "singlepath"):
    """The network runtime (ms) as a differentiable torch scalar.

    ``d5x5``, ``d50c``, ``d100c``: tensors of shape (S,), one value per searched layer (in
    ``lut.space.searchable`` order; d50c is ignored where a layer cannot be skipped). ``attention``:
    optional (S, A) weights over ``lut.space.attention_modules`` (columns of modules a layer does not
    allow are ignored)."""
    import torch

    layer_model = LAYER_MODELS[model]
    modules = lut.space.attention_modules
    total = torch.as_tensor(lut.constant_ms, dtype=d5x5.dtype)
    for s, layer in enumerate(lut.space.searchable):
        keep = d50c[s] if layer.skippable else torch.ones((), dtype=d5x5.dtype)
        total = total + layer_model(_layer_entries(lut, layer), d5x5[s], keep, d100c[s])
        if attention is not None:
            for a, module in enumerate(modules):
                if module in layer.attention:
                    total = total + keep * attention[s, a] * lut.ms(attention_key(layer.index, module))
    return total
