"""Family files: one per family of ``registry.FAMILIES``, named after it (``registry.family_module``:
``self-attention`` is the package ``self_attention/``, one module per sub-family). Importing this
package imports each, in the order of ``FAMILIES``, which registers its entries."""

from importlib import import_module

from ..registry import FAMILIES, family_module

for _family in FAMILIES:
    import_module(f"{__name__}.{family_module(_family)}")
