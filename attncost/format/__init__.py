"""Output formats for rows of results: table, json, csv, markdown (printing happens in the CLI)."""

from .render import FORMATS, OutputFormat, render, render_result

__all__ = ["FORMATS", "OutputFormat", "render", "render_result"]
