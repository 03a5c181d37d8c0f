"""Output formats for rows of results: table, json, csv, markdown, in human or exact units (printing
happens in the CLI)."""

from .render import DATA_FORMATS, FORMATS, OutputFormat, OutputStyle, render, render_result
from .units import UNITS, Units

__all__ = ["DATA_FORMATS", "FORMATS", "OutputFormat", "OutputStyle", "UNITS", "Units", "render", "render_result"]
