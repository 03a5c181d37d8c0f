"""Formulas as MathML (presentation markup from sympy): browsers render it natively, no script needed.

Chromium lays a ``<math>`` element out on one line (MathML Core has no line breaking), so a long
formula, such as the peak memory ``max(...)`` of six sums, would run out of its table cell.
:func:`to_flow` therefore prints a formula as several ``<math>`` pieces nested in wrapping boxes:
the arguments of a max/min, the terms of a sum and the sum inside a product (``N (a + b + ...)``)
each become a piece, and the browser breaks a line between pieces, between the arguments of a
``max`` before it breaks inside one. Read left to right the pieces are the same formula.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable

import sympy
from sympy.printing.mathml import mathml

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

#: a sub-expression whose sympy text is shorter than this stays one piece (never broken)
UNBROKEN = 28


def _escaped(expr):
    """sympy prints symbol names verbatim, so names are HTML-escaped first (a symbol called ``<b>``
    shows as text)."""
    expr = sympy.sympify(expr)
    return expr.xreplace({s: sympy.Symbol(html.escape(s.name), **s.assumptions0)
                          for s in expr.free_symbols if isinstance(s, sympy.Symbol) and html.escape(s.name) != s.name})


def _body(expr) -> str:
    """Presentation MathML; ``max``/``min`` as identifiers (sympy makes them operators, which
    puts operator space before them)."""
    body = mathml(expr, printer="presentation")
    return body.replace("<mo>max</mo>", "<mi>max</mi>").replace("<mo>min</mo>", "<mi>min</mi>")


def _math(body: str, display: str = "inline") -> str:
    return f'<math xmlns="{MATHML_NS}" display="{display}">{body}</math>'


def to_mathml(expr, display: str = "inline") -> str:
    """``expr`` as one ``<math>`` element."""
    return _math(_body(_escaped(expr)), display)


def to_flow(expr) -> str:
    """``expr`` as HTML that wraps inside its container: ``<math>`` pieces in nested
    ``span.mflow`` boxes (``display: inline-flex; flex-wrap: wrap``, see the page's style)."""
    return _render(pieces(_escaped(expr)))


@dataclass(frozen=True)
class Notation:
    """How :func:`pieces` writes a piece and the marks it adds between pieces. :data:`MATHML` is the
    page's; :data:`TEXT` writes sympy's own syntax, so that the pieces joined can be parsed back
    (the tests check they give the formula)."""

    body: Callable
    open: str
    close: str
    comma: str
    plus: str
    minus: str
    times: str
    negate: str
    function: Callable


MATHML = Notation(_body, "<mo>(</mo>", "<mo>)</mo>", "<mo>,</mo>", '<mo form="infix">+</mo>',
                  '<mo form="infix">-</mo>', "<mo>&InvisibleTimes;</mo>", "<mo>-</mo>",
                  lambda name: f"<mi>{name}</mi><mo>(</mo>")
TEXT = Notation(lambda e: f"({sympy.srepr(e)})", "(", ")", ",", "+", "-", "*", "-",
                lambda name: f"{name.capitalize()}(")


def pieces(expr, notation: Notation = MATHML):
    """``expr`` as a tree: a piece (str: ``notation``'s markup, for MathML without its ``<math>``)
    or a list of trees (a box that may wrap). Read depth first, the pieces are the formula: the
    arguments of a max/min in sympy's print order, the terms of a sum in its order (a term that
    could take a minus sign after a minus), a product split into its widest sum or max and the
    rest in front of it. A sub-expression shorter than :data:`UNBROKEN` stays one piece."""
    if len(str(expr)) < UNBROKEN:
        return notation.body(expr)
    if isinstance(expr, (sympy.Max, sympy.Min)):
        args = [pieces(a, notation) for a in sorted(expr.args, key=sympy.default_sort_key)]
        args = [_suffix(a, notation.comma) for a in args[:-1]] + args[-1:]
        args[0] = _prefix(args[0], notation.function(type(expr).__name__.lower()))
        args[-1] = _suffix(args[-1], notation.close)
        return args
    if isinstance(expr, sympy.Add):
        terms = expr.as_ordered_terms()                                 # as sympy's printer orders them
        out = [pieces(terms[0], notation)]
        for term in terms[1:]:
            sign, term = (notation.minus, -term) if term.could_extract_minus_sign() else (notation.plus, term)
            out.append(_prefix(pieces(term, notation), sign))
        return out
    if isinstance(expr, sympy.Mul):
        inner = [f for f in expr.args if isinstance(f, (sympy.Add, sympy.Max, sympy.Min))]
        if inner:
            widest = max(inner, key=lambda f: len(str(f)))
            rest = sympy.Mul(*[f for f in expr.args if f is not widest])
            tree = pieces(widest, notation)
            if not isinstance(tree, list):
                return notation.body(expr)
            if isinstance(widest, sympy.Add):
                tree = _suffix(_prefix(tree, notation.open), notation.close)
            if rest == -1:
                lead = notation.negate
            else:
                lead = "" if rest == 1 else notation.body(rest) + notation.times
            return [_prefix(tree, lead)]
    return notation.body(expr)


def _prefix(tree, markup: str):
    if isinstance(tree, str):
        return markup + tree
    return [_prefix(tree[0], markup), *tree[1:]]


def _suffix(tree, markup: str):
    if isinstance(tree, str):
        return tree + markup
    return [*tree[:-1], _suffix(tree[-1], markup)]


def _render(tree) -> str:
    """A piece as ``<math>``, a box as ``span.mflow`` (a box of one is its content)."""
    while isinstance(tree, list) and len(tree) == 1:
        tree = tree[0]
    if isinstance(tree, str):
        return _math(tree)
    return '<span class="mflow">' + "".join(_render(t) for t in tree) + "</span>"
