"""The Ray engine's neighbour graph: a :class:`~datafix.signals.graph.KNNGraph` whose rows live on the cluster."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from datafix.signals.graph import KNNGraph


class ShardedGraph(KNNGraph):
    """``k`` neighbours per row, kept on the cluster in the parts of the search that found them.

    What reads every neighbour runs there, part by part: :meth:`label_votes`,
    :meth:`neighbor_median` and :meth:`close_pairs`. What reads arrays brings them to the
    driver: :meth:`nearest` each row's ``k`` nearest (fetched once, the widest kept for
    narrower requests), ``indices`` and ``distances`` all of them. So the driver holds only the
    columns that the checks that run declare they read.

    Parameters
    ----------
    k : int
        Neighbours per row on the cluster.
    metric, knn_backend : str
        As in :class:`~datafix.signals.graph.KNNGraph`.
    fetch : callable
        ``fetch(k) -> KNNGraph``: each row's ``k`` nearest, brought to the driver.
    votes : callable
        ``votes(votes, smoothing) -> numpy.ndarray``: :meth:`KNNGraph.label_votes` on the cluster.
    median : callable
        ``median(values, skip, fallback) -> numpy.ndarray``: :meth:`KNNGraph.neighbor_median` there.
    pairs : callable
        ``pairs(radius) -> numpy.ndarray``: :meth:`KNNGraph.close_pairs` there.

    Examples
    --------
    >>> local = KNNGraph(np.array([[1, 2], [0, 2], [1, 0]]), np.array([[1.0, 2.0]] * 3), "euclidean")
    >>> g = ShardedGraph(2, "euclidean", "exact", fetch=local.nearest,
    ...                  votes=lambda v, s: local.label_votes(v, smoothing=s),
    ...                  median=lambda v, skip, fallback: local.neighbor_median(v, skip=skip, fallback=fallback),
    ...                  pairs=local.close_pairs)
    >>> g.k, g.nearest(1).k, g.nearest(1).indices.ravel().tolist(), g.nearest(2) is g
    (2, 1, [1, 0, 1], True)
    """

    def __init__(self, k: int, metric: str, knn_backend: str, *, fetch: Callable[[int], KNNGraph],
                 votes: Callable[..., np.ndarray], median: Callable[..., np.ndarray],
                 pairs: Callable[[float], np.ndarray]) -> None:
        for name, value in (("metric", metric), ("knn_backend", knn_backend), ("_k", k), ("_fetch", fetch),
                            ("_votes", votes), ("_median", median), ("_pairs", pairs), ("_held", None)):
            object.__setattr__(self, name, value)

    @property
    def k(self) -> int:
        """Neighbours per row (on the cluster): what :meth:`nearest` and the methods serve."""
        return self._k

    @property
    def indices(self) -> np.ndarray:  # type: ignore[override]
        """Every row's ``k`` neighbours, brought to the driver."""
        return self._on_driver(self._k).indices

    @property
    def distances(self) -> np.ndarray:  # type: ignore[override]
        """Their distances, brought to the driver."""
        return self._on_driver(self._k).distances

    def nearest(self, k: int) -> KNNGraph:
        """Each row's ``k`` nearest neighbours: this graph when ``k`` covers all of them, else a
        :class:`~datafix.signals.graph.KNNGraph` on the driver."""
        return self if k >= self._k else self._on_driver(k)

    def label_votes(self, votes: np.ndarray, *, smoothing: float = 0.02) -> np.ndarray:
        """:meth:`KNNGraph.label_votes` over the whole graph, part by part on the cluster."""
        return self._votes(votes, smoothing)

    def neighbor_median(self, values: np.ndarray, *, skip: np.ndarray | None = None,
                        fallback: np.ndarray) -> np.ndarray:
        """:meth:`KNNGraph.neighbor_median` over the whole graph, part by part on the cluster."""
        return self._median(values, skip, fallback)

    def close_pairs(self, radius: float) -> np.ndarray:
        """:meth:`KNNGraph.close_pairs` over the whole graph, part by part on the cluster."""
        return self._pairs(radius)

    def _on_driver(self, k: int) -> KNNGraph:
        if self._held is None or self._held.k < k:
            object.__setattr__(self, "_held", self._fetch(k))
        return self._held.nearest(k)

    def __repr__(self) -> str:
        return f"ShardedGraph(k={self._k}, metric={self.metric!r}, knn_backend={self.knn_backend!r})"

    __eq__ = object.__eq__
    __hash__ = object.__hash__
