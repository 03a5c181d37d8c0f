"""Design reports: one self-contained, offline HTML page per review question (``attncost report``).

``spec`` reads what to show, ``modules``/``networks``/``latency`` compute each section from the
catalogue, the walker and lookup tables, ``verdict`` writes the text at the top from the same data,
``charts`` draws plotly figures, ``mathml`` prints formulas that wrap, ``page`` assembles the escaped
HTML (human units, print stylesheet) with plotly's JavaScript embedded, and ``build`` runs the steps
with progress.
"""

from .build import build_report
from .spec import ReportSpec, load_report_spec, spec_from_options

__all__ = ["ReportSpec", "build_report", "load_report_spec", "spec_from_options"]
