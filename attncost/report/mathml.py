"""Formulas as MathML (presentation markup from sympy): browsers render it natively, no script needed."""

from __future__ import annotations

import html

import sympy
from sympy.printing.mathml import mathml

MATHML_NS = "http://www.w3.org/1998/Math/MathML"


def to_mathml(expr, display: str = "inline") -> str:
    """``expr`` as a ``<math>`` element. sympy prints symbol names verbatim, so names are
    HTML-escaped first (a symbol called ``<b>`` shows as text)."""
    expr = sympy.sympify(expr)
    expr = expr.xreplace({s: sympy.Symbol(html.escape(s.name), **s.assumptions0)
                          for s in expr.free_symbols if isinstance(s, sympy.Symbol) and html.escape(s.name) != s.name})
    body = mathml(expr, printer="presentation")
    return f'<math xmlns="{MATHML_NS}" display="{display}">{body}</math>'
