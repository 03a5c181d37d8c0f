"""Reference implementations of the self-attention family, mirroring
``catalogue/families/self_attention/`` module for module: ``non_local``, ``transformer``, ``efficient``, ``window``, ``botnet`` and ``axial``."""

from . import axial, botnet, efficient, non_local, transformer, window  # noqa: F401
