"""Reference implementations of the self-attention family, mirroring
``catalogue/families/self_attention/`` module for module: ``non_local`` and ``transformer``."""

from . import non_local, transformer  # noqa: F401
