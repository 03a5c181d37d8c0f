"""The catalogue of attention modules: one entry per module, in one file per family. No torch."""

from .registry import FAMILIES, REGISTRY, Entry, Hyperparameter, Paper, entries, get, register

__all__ = ["FAMILIES", "REGISTRY", "Entry", "Hyperparameter", "Paper", "entries", "get", "register"]
