"""The op graph of a network and the walker over it (networkx; no torch)."""

from .modules import ModuleRow, module_table
from .walker import NetworkCost, build_graph, walk

__all__ = ["ModuleRow", "NetworkCost", "build_graph", "module_table", "walk"]
