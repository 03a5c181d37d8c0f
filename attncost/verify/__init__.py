"""Verification of catalogue formulas against real PyTorch (imports torch)."""

from .sampling import RandomPick, sample_config
from .verify import EntryReport, check_config, check_symbolic, verify_entry

__all__ = ["EntryReport", "RandomPick", "check_config", "check_symbolic", "sample_config", "verify_entry"]
