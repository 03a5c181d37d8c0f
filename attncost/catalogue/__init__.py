"""The catalogue of attention modules: one entry per module, in one file per family. No torch."""

from .registry import FAMILIES, REGISTRY, Entry, Hyperparameter, Paper, entries, get, register
from . import families  # noqa: E402,F401  (importing the family files registers their entries)

__all__ = ["FAMILIES", "REGISTRY", "Entry", "Hyperparameter", "Paper", "entries", "get", "register"]
