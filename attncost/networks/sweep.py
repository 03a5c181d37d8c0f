"""Resolution sweeps of a whole network as one compiled function (no torch).

The network's Program runs once on symbolic N, H, W; each total (every op kind, params, activation
elements, and, on request, the peak) is lambdified with numpy once; evaluating any number of
resolutions is then one vectorised call. Floors from strided layers are kept exactly (numpy floors
of float64 values, exact below 2**53).
"""

from __future__ import annotations

import functools

import numpy as np

from .. import symbols
from ..cost import Program
from . import forward


@functools.lru_cache(maxsize=64)
def compile_totals(spec, with_peak: bool = False):
    """A function ``(n, h, w) -> {field: array}`` for ``spec``'s totals, compiled once."""
    import sympy

    N, H, W = symbols.N, symbols.H, symbols.W
    g = Program()
    out = forward(g, g.input((N, 3, H, W)), spec)
    fields = g.totals(out, peak=with_peak)
    names = list(fields)
    compiled = sympy.lambdify((N, H, W), [fields[k] for k in names], modules="numpy")

    def evaluate(n, h, w) -> dict:
        n, h, w = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (n, h, w)))
        values = compiled(n, h, w)
        return {k: np.rint(np.broadcast_to(v, h.shape)).astype(np.int64) for k, v in zip(names, values)}

    return evaluate


def macs(totals: dict) -> np.ndarray:
    return sum(v for k, v in totals.items() if k.startswith("count:mac."))
