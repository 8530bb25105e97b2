"""The Ray engine's neighbour graph: a :class:`~datafix.signals.neighbors.KNNGraph` whose rows live on the cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from datafix.signals.neighbors import KNNGraph


@dataclass(frozen=True)
class ShardedGraph(KNNGraph):
    """The Ray engine's neighbour graph: each row's nearest :data:`LOCAL_NEIGHBORS` on the driver
    (``indices``, ``distances``), all ``full_k`` on the cluster, where the label votes are cast."""

    full_k: int = 0
    votes: Callable[..., np.ndarray] | None = None
    median: Callable[..., np.ndarray] | None = None

    @property
    def k(self) -> int:
        return self.full_k

    def label_votes(self, votes: np.ndarray, *, smoothing: float = 0.02) -> np.ndarray:
        """:func:`datafix.checks.label.knn_label_votes` over the whole graph, block by block."""
        return self.votes(votes, smoothing)

    def nearest(self, k: int) -> KNNGraph:
        """Each row's ``k`` nearest neighbours: this graph when ``k`` covers all of them, else a graph
        on the driver (``k`` at most the neighbours it holds there)."""
        if k >= self.full_k:
            return self
        if k > self.indices.shape[1]:
            raise ValueError(f"The driver holds {self.indices.shape[1]} neighbours per row; {k} were asked for.")
        return KNNGraph(self.indices[:, :k], self.distances[:, :k], self.metric, self.knn_backend)

    def neighbor_median(self, values: np.ndarray, *, skip: np.ndarray | None = None, fallback: np.ndarray
                        ) -> np.ndarray:
        """:func:`datafix.checks.regression.neighbor_median` over the whole graph, block by block."""
        return self.median(values, skip, fallback)
