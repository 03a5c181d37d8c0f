"""Run a reference module on FakeTensors with symbolic N, H, W (torch's ShapeEnv).

The tracer then sees sizes as SymInts; ``size_to_expr`` maps their sympy expressions onto
attncost's own symbols (N, H, W) and rewrites torch's sympy functions (FloorDiv, ...) into plain
sympy, so the traced cost can be compared with a catalogue formula by ``sympy.simplify``.
"""

from __future__ import annotations

import sympy
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import DimDynamic, ShapeEnv, StatelessSymbolicContext
from torch.utils._sympy import functions as torch_sympy

from ..cost import Cost
from ..symbols import SHAPE_SYMBOLS
from .tracer import CostTracer


def _plain(expr):
    """torch's sympy helper functions -> plain sympy."""
    expr = expr.replace(torch_sympy.FloorDiv, lambda a, b: sympy.floor(a / b))
    if hasattr(torch_sympy, "CleanDiv"):
        expr = expr.replace(torch_sympy.CleanDiv, lambda a, b: a / b)
    if hasattr(torch_sympy, "CeilDiv"):
        expr = expr.replace(torch_sympy.CeilDiv, lambda a, b: sympy.ceiling(a / b))
    if hasattr(torch_sympy, "PythonMod"):
        expr = expr.replace(torch_sympy.PythonMod, lambda a, b: sympy.Mod(a, b))
    return expr


def trace_symbolic(build_module, hint_shape, dynamic=(0, 2, 3)) -> tuple[Cost, tuple, dict]:
    """Trace ``build_module()`` on a FakeTensor of ``hint_shape`` whose dims ``dynamic`` are
    symbolic. Returns the cost and output shape in N, C, H, W, and the dims torch had to specialise
    (symbol -> hint value: code that uses a size as a kernel size, say, fixes it to the hint)."""
    shape_env = ShapeEnv(duck_shape=False)
    fake_mode = FakeTensorMode(shape_env=shape_env)
    with fake_mode:
        module = build_module()
    context = StatelessSymbolicContext(
        dynamic_sizes=[DimDynamic.DYNAMIC if i in dynamic else DimDynamic.STATIC for i in range(len(hint_shape))])
    x = fake_mode.from_tensor(torch.empty(*hint_shape), symbolic_context=context)
    rename = {}
    for i, size in enumerate(x.shape):
        if isinstance(size, torch.SymInt):
            rename[size.node.expr] = SHAPE_SYMBOLS[i]

    def size_to_expr(v):
        if isinstance(v, torch.SymInt):
            return _plain(shape_env.replace(v.node.expr)).xreplace(rename)
        return sympy.Integer(int(v))

    tracer = CostTracer(module, size_to_expr)
    tracer.add_input(x)
    with torch.no_grad(), fake_mode, tracer:
        out = module(x)
    specialised = {}
    for torch_symbol, ours in rename.items():
        value = shape_env.replace(torch_symbol)
        if value.is_Number:
            specialised[ours] = int(value)
    cost = tracer.result(out).subs(specialised)
    out_shape = tuple(sympy.sympify(s).subs(specialised) for s in tracer.shape(out))
    return cost, out_shape, specialised
