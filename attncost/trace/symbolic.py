"""Run a module on FakeTensors with symbolic sizes (torch's ShapeEnv).

The tracer then sees sizes as SymInts; ``size_to_expr`` maps their sympy expressions onto
attncost's own symbols (N, H, W, or any letter of a user's shape) and rewrites torch's sympy
functions (FloorDiv, ...) into plain sympy, so the traced cost can be compared with a catalogue
formula by ``sympy.simplify``, or printed and evaluated as a user model's formula.

:func:`trace_symbolic` traces a catalogue reference module built inside the fake mode;
:class:`SymbolicInputs` is the general piece (a ShapeEnv, its fake mode, symbolic input tensors,
the renaming, what torch specialised and the guards it recorded), which
:func:`attncost.usermodels.formula` uses for users' models, whose real parameters are converted.
"""

from __future__ import annotations

import sympy
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import DimDynamic, ShapeEnv, StatelessSymbolicContext
from torch.utils._sympy import functions as torch_sympy

from ..cost import Cost
from ..symbols import SHAPE_SYMBOLS
from .fake_log import quiet_fake_tensor_log
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


#: the value a symbolic size is traced at unless a hint is given: N = 2 (torch specialises 0 and 1),
#: any other size 224 (an ImageNet resolution, which models with fixed position embeddings need)
DEFAULT_HINTS = {"N": 2}
DEFAULT_HINT = 224


class SymbolicInputs:
    """A ShapeEnv and its FakeTensorMode, making input FakeTensors whose sizes are sympy symbols.

    ``tensor(shape, dtype)`` makes one (ints stay static, symbols become SymInts traced at their
    hint); ``size_to_expr`` turns a SymInt back into an expression in those symbols; afterwards
    ``specialised()`` gives the symbols torch fixed to their hint and ``guards()`` the conditions
    on the sizes the trace assumed."""

    def __init__(self, hints: dict | None = None):
        self.shape_env = ShapeEnv(duck_shape=False)
        self.fake_mode = FakeTensorMode(shape_env=self.shape_env, allow_non_fake_inputs=True)
        self.hints = {str(k).upper(): int(v) for k, v in (hints or {}).items()}
        self.rename: dict = {}
        self.symbols: dict = {}                      # our symbol -> hint

    def hint(self, symbol) -> int:
        name = str(symbol)
        value = self.hints.get(name, DEFAULT_HINTS.get(name, DEFAULT_HINT))
        if value < 2:
            raise ValueError(f"hint {name}={value}: torch specialises sizes 0 and 1, give a hint of at least 2")
        return value

    def tensor(self, shape, dtype=torch.float32):
        hint_shape = [self.hint(s) if isinstance(s, sympy.Basic) else int(s) for s in shape]
        context = StatelessSymbolicContext(
            dynamic_sizes=[DimDynamic.DYNAMIC if isinstance(s, sympy.Basic) else DimDynamic.STATIC for s in shape])
        x = self.fake_mode.from_tensor(torch.empty(hint_shape, dtype=dtype), symbolic_context=context)
        for ours, size in zip(shape, x.shape):
            if isinstance(ours, sympy.Basic) and isinstance(size, torch.SymInt):
                self.rename[size.node.expr] = ours
                self.symbols[ours] = self.hint(ours)
        return x

    def size_to_expr(self, v):
        if isinstance(v, torch.SymInt):
            return _plain(self.shape_env.replace(v.node.expr)).xreplace(self.rename)
        return sympy.Integer(int(v))

    def specialised(self) -> dict:
        """Our symbol -> the value torch fixed it to (it used the size as a plain int)."""
        out = {}
        for torch_symbol, ours in self.rename.items():
            value = self.shape_env.replace(torch_symbol)
            if value.is_Number:
                out[ours] = int(value)
        return out

    def guards(self) -> list:
        """The conditions on the sizes the traced forward assumed (each a sympy relation in our
        symbols), trivial ones dropped: the formula holds where all of them do."""
        out = []
        for guard in self.shape_env.guards:
            expr = _plain(self.shape_env.replace(guard.expr)).xreplace(self.rename)
            if expr in (sympy.true, True) or expr.free_symbols - set(self.symbols):
                continue
            if expr not in out:
                out.append(expr)
        return out


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
    with torch.no_grad(), fake_mode, tracer, quiet_fake_tensor_log():
        out = module(x)
    specialised = {}
    for torch_symbol, ours in rename.items():
        value = shape_env.replace(torch_symbol)
        if value.is_Number:
            specialised[ours] = int(value)
    cost = tracer.result(out).subs(specialised)
    out_shape = tuple(sympy.sympify(s).subs(specialised) for s in tracer.shape(out))
    return cost, out_shape, specialised
