"""The tests' own people linkage: a plain dict union-find, independent of pipeline/linkage.py (an oracle)."""

from __future__ import annotations


class UnionFind:
    """Nodes are any hashable values; `find` adds a node it has not seen as its own set."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, node):
        parent = self.parent
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]  # path halving
            node = parent[node]
        return node

    def union(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)

    def __contains__(self, node) -> bool:
        return node in self.parent
