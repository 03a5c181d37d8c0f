"""Reference PyTorch implementations, one per catalogue entry, faithful to the papers' code."""

from importlib import import_module

from ..catalogue.registry import FAMILIES, family_module
from ..trace.marks import attention_map
from .registry import REFERENCES, build, reference

# one file per family, named as in catalogue/families/; importing each registers its references (the
# registry itself imports none of them)
for _family in FAMILIES:
    import_module(f"{__name__}.{family_module(_family)}")

__all__ = ["REFERENCES", "attention_map", "build", "reference"]
