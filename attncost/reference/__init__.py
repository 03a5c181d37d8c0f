"""Reference PyTorch implementations, one per catalogue entry, faithful to the papers' code."""

from ..trace.marks import attention_map
from .registry import REFERENCES, build, reference

# importing the family files registers their references (the registry itself imports none of them)
from . import channel, selfattention, spatial  # noqa: E402,F401
from . import baseline  # noqa: E402,F401
from . import context  # noqa: E402,F401
from . import branch, nas  # noqa: E402,F401
from . import other  # noqa: E402,F401
from . import transformer  # noqa: E402,F401

__all__ = ["REFERENCES", "attention_map", "build", "reference"]
