"""Reference PyTorch implementations, one per catalogue entry, faithful to the papers' code."""

from .marks import attention_map
from .registry import REFERENCES, build, reference

__all__ = ["REFERENCES", "attention_map", "build", "reference"]
