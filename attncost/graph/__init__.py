"""The op graph of a network and the walker over it (networkx; no torch)."""

from .modules import ModuleRow, module_table
from .walker import GROUP_BY, WalkResult, build_graph, walk

__all__ = ["GROUP_BY", "ModuleRow", "WalkResult", "build_graph", "module_table", "walk"]
