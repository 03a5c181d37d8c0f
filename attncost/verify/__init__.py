"""Verification of catalogue formulas against real PyTorch (imports torch)."""

from .sampling import RandomPick, sample_config
from .grid import check_dense_grid
from .verify import EntryReport, check_config, check_symbolic, prove_in_sizes, torch_limitation, verify_entry
from .training import TrainingReport, check_training_config, check_training_symbolic, verify_training_entry

__all__ = ["EntryReport", "RandomPick", "TrainingReport", "check_config", "check_dense_grid", "check_symbolic",
           "check_training_config", "check_training_symbolic", "prove_in_sizes", "sample_config",
           "torch_limitation", "verify_entry", "verify_training_entry"]
