"""The dense-grid route: for modules torch cannot trace on symbolic sizes.

The symbolic formula (floors, ``Max``, ``Piecewise`` and all) is evaluated exactly at every valid
(H, W) of a dense grid (N cycling through 1, 2, 3) and compared, field by field and with the output
shape, with the entry's Program run on those concrete numbers; at a sparse subset that holds every
residue of H and of W modulo the formula's floor period, it is also compared with the tracer's count
of the real reference forward (and params with ``sum(p.numel())``). This is a check at finitely many
points, not a proof for all sizes: the verdict says which points.
"""

from __future__ import annotations

import math
from fractions import Fraction

import sympy
import torch
from sympy.printing.pycode import PythonCodePrinter

from ..catalogue import Entry
from ..errors import HyperparameterError
from ..reference import build
from ..symbols import N, H, W
from ..trace import trace_module

DENSE_N = (1, 2, 3)          # N at (H, W) is DENSE_N[(H + 2 W) % 3]: every N meets every H and W residue
DENSE_HW = range(1, 41)
MIN_TRACED, MAX_TRACED = 6, 12


class _NotExact(Exception):
    pass


class _ExactPrinter(PythonCodePrinter):
    """Python source that evaluates a formula exactly: ``floor(p/q)`` as ``p // q``, rationals as
    ``Fraction`` (never a float)."""

    def _print_floor(self, expr):
        num, den = sympy.fraction(sympy.together(expr.args[0]))
        return f"(({self._print(num)}) // ({self._print(den)}))"

    def _print_ceiling(self, expr):
        num, den = sympy.fraction(sympy.together(expr.args[0]))
        return f"(-((-({self._print(num)})) // ({self._print(den)})))"

    def _print_Rational(self, expr):
        return f"Fraction({expr.p}, {expr.q})"

    _print_Half = _print_Rational

    def _print_Float(self, expr):
        raise _NotExact(expr)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp.is_Integer and exp < 0:
            return f"Fraction(1, ({self._print(base)}) ** {-int(exp)})"
        if exp.is_Integer:
            return f"(({self._print(base)}) ** {int(exp)})"
        raise _NotExact(expr)


def exact_evaluator(exprs, symbols):
    """A function of integer ``symbols`` values returning ``exprs`` as exact ints/Fractions.

    Compiled to Python with ``//`` for floors; if the source could divide with ``/`` its inputs are
    Fractions (still exact); if it cannot be printed exactly, sympy substitutes the numbers."""
    exprs = [sympy.sympify(e) for e in exprs]

    def by_sympy(*values):
        mapping = {s: sympy.Integer(v) for s, v in zip(symbols, values)}
        return [_number(e.xreplace(mapping)) for e in exprs]

    try:
        printer = _ExactPrinter({"fully_qualified_modules": False, "standard": "python3"})
        source = [printer.doprint(e) for e in exprs]
        compiled = sympy.lambdify(symbols, exprs, modules=[{"Fraction": Fraction, "max": max, "min": min}, "math"],
                                  printer=printer, cse=False)
    except (_NotExact, TypeError, ValueError, SyntaxError):
        return by_sympy
    if any("/" in s.replace("//", "") for s in source):
        return lambda *values: compiled(*map(Fraction, values))
    return compiled


def _number(value):
    value = sympy.sympify(value)
    if value.is_Integer:
        return int(value)
    if value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    raise ValueError(f"not a number: {value}")


def floor_period(exprs) -> int:
    """The period in H and W of the formula's floors: the product of nested denominators
    (``floor(floor(H/2)/2)`` -> 4), lcm over all floors and ceilings."""
    def period(expr) -> int:
        out = 1
        for f in expr.atoms(sympy.floor, sympy.ceiling):
            num, den = sympy.fraction(sympy.together(f.args[0]))
            inner = period(num)
            step = int(den) if den.is_Integer else 1
            out = math.lcm(out, step * inner)
        return out

    return max(1, math.lcm(*[period(sympy.sympify(e)) for e in exprs] or [1]))


def check_dense_grid(entry: Entry, shape: tuple, hp: dict, n_values=DENSE_N, hw_values=DENSE_HW,
                     max_traced: int = MAX_TRACED) -> str:
    """Compare the symbolic formula (C fixed to ``shape[1]``) with the Program at every valid (H, W)
    of the grid, and with the traced reference at a sparse subset. ``FAILED: ...`` on the first
    difference, else a summary naming the points."""
    channels = shape[1]
    formula = entry.cost((N, channels, H, W), hp)
    formula_shape = entry.output_shape((N, channels, H, W), hp)
    fields = formula.fields()
    names = sorted(fields)
    evaluate = exact_evaluator([fields[k] for k in names] + list(formula_shape), (N, H, W))
    period = floor_period(fields.values())

    checked, degenerate_points = [], 0
    for h in hw_values:
        for w in hw_values:
            n = n_values[(h + 2 * w) % len(n_values)]
            point = (n, channels, h, w)
            try:
                entry.resolve(point, hp)
            except HyperparameterError:
                continue                  # outside what the module allows (e.g. H < 8)
            program, program_shape, degenerate = entry.program_result(point, hp)
            if degenerate:                # a size of 1 spared a copy: the formula does not claim it
                degenerate_points += 1
                continue
            values = evaluate(n, h, w)
            expected, expected_shape = dict(zip(names, values)), values[len(names):]
            problem = _compare(expected, expected_shape, program.fields(), program_shape, "program")
            if problem:
                return f"FAILED: dense grid at N,H,W={n},{h},{w}: {problem}"
            checked.append((n, h, w))
    if not checked:
        return "FAILED: dense grid: no valid point"

    traced = _trace_points(checked, period, max_traced)
    for n, h, w in traced:
        point = (n, channels, h, w)
        module = build(entry.name, point, hp)
        torch.manual_seed(0)
        cost, out_shape, unsupported = trace_module(module, torch.randn(*point), allow_unsupported=True)
        if unsupported:
            return f"FAILED: dense grid at N,H,W={n},{h},{w}: unsupported aten ops {sorted(unsupported)}"
        values = evaluate(n, h, w)
        expected, expected_shape = dict(zip(names, values)), values[len(names):]
        problem = _compare(expected, expected_shape, cost.fields(), out_shape, "traced")
        param_sum = sum(p.numel() for p in module.parameters())
        if not problem and expected.get("params", 0) != param_sum:
            problem = f"params formula={expected.get('params', 0)} sum(p.numel())={param_sum}"
        if problem:
            return f"FAILED: dense grid at N,H,W={n},{h},{w}: {problem}"

    hs, ws = sorted({h for _, h, _ in checked}), sorted({w for _, _, w in checked})
    ns = sorted({n for n, _, _ in checked})
    residues_h, residues_w = {h % period for _, h, _ in traced}, {w % period for _, _, w in traced}
    if period == 1:
        coverage = "no floors in H, W"
    elif len(residues_h) == len(residues_w) == period:
        coverage = f"every H and W mod {period}"
    else:
        coverage = f"H mod {period} in {sorted(residues_h)}, W mod {period} in {sorted(residues_w)}"
    skipped = f", {degenerate_points} with a size-1 copy skipped" if degenerate_points else ""
    return (f"dense grid: formula = program at every valid (H,W), H {_span(hs)}, W {_span(ws)}, "
            f"N {_span(ns)} cycling, C={channels} ({len(checked)} points{skipped}); "
            f"= traced reference at {len(traced)} of them ({coverage})")


def _compare(expected: dict, expected_shape, actual: dict, actual_shape, what: str) -> str:
    for name in sorted(set(expected) | set(actual)):
        e, a = expected.get(name, 0), _number(actual.get(name, 0))
        if e != a:
            return f"{name} formula={e} {what}={a}"
    if tuple(expected_shape) != tuple(int(s) for s in actual_shape):
        return f"output shape formula={tuple(expected_shape)} {what}={tuple(int(s) for s in actual_shape)}"
    return ""


def _trace_points(points: list, period: int, limit: int) -> list:
    """A few of ``points``: every residue of H and of W modulo ``period`` (W's shifted so the pairs
    differ), N cycling, the smallest such points first (fast to trace), at least MIN_TRACED."""
    chosen = []
    for i in range(min(limit, max(period, MIN_TRACED))):
        r = i % period
        wanted, n_wanted = (r, (3 * i + 1) % period), 1 + i % 3
        candidates = [p for p in points if (p[1] % period, p[2] % period) == wanted and p not in chosen]
        candidates = candidates or [p for p in points if p[1] % period == r and p not in chosen]
        candidates = candidates or [p for p in points if p not in chosen]
        if candidates:
            chosen.append(min(candidates, key=lambda p: (p[0] != n_wanted, p[1] + p[2])))
    return chosen


def _span(values: list) -> str:
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}" if len(values) > 1 else f"{values[0]}"
    return ",".join(map(str, values))
