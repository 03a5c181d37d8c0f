"""The op graph of a network and the walker over it (networkx; no torch)."""

from .walker import NetworkCost, build_graph, walk

__all__ = ["NetworkCost", "build_graph", "walk"]
