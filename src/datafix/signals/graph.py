"""The neighbour graph's type: each sample's nearest other samples, and what checks read from them.

Checks read the graph only through :meth:`KNNGraph.nearest` (each sample's ``k`` nearest, as
arrays) and the methods that read every neighbour (:meth:`KNNGraph.label_votes`,
:meth:`KNNGraph.neighbor_median`, :meth:`KNNGraph.close_pairs`); a graph whose rows live
elsewhere (the Ray engine's :class:`datafix.scale.sharded_graph.ShardedGraph`) overrides them.
How the graph is searched is :mod:`datafix.signals.neighbors`' job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KNNGraph:
    """Each sample's k nearest other samples.

    Attributes
    ----------
    indices : numpy.ndarray of int64, shape (n, k)
        Positions of the neighbours, nearest first (ties by position); a sample is never its
        own neighbour (for a query graph: positions in the reference set).
    distances : numpy.ndarray of float64, shape (n, k)
        Their distances, ascending (computed in float64 by the exact backend, in float32 by
        the approximate ones, where ties need not follow positions; identical points are at
        distance exactly 0 either way).
    metric : str
        ``"euclidean"`` or ``"cosine"`` (``1 - cosine similarity``).
    knn_backend : str
        The search that built the graph: ``"exact"``, ``"ivf"`` or ``"faiss"``.

    Examples
    --------
    >>> g = KNNGraph(np.array([[1], [0], [1]]), np.array([[1.0], [1.0], [2.0]]), "euclidean")
    >>> g.k, g.indices.ravel().tolist()
    (1, [1, 0, 1])
    """

    indices: np.ndarray
    distances: np.ndarray
    metric: str
    knn_backend: str = "exact"

    @property
    def k(self) -> int:
        """Neighbours per sample: the columns of ``indices`` and ``distances``."""
        return self.indices.shape[1]

    def nearest(self, k: int) -> KNNGraph:
        """The graph of each sample's ``k`` nearest neighbours (this graph when it has no more).

        Examples
        --------
        >>> g = KNNGraph(np.array([[1, 2], [0, 2], [1, 0]]), np.array([[1.0, 2.0]] * 3), "euclidean")
        >>> g.nearest(1).indices.tolist()
        [[1], [0], [1]]
        """
        if k >= self.k:
            return self
        return KNNGraph(self.indices[:, :k], self.distances[:, :k], self.metric, self.knn_backend)

    def label_votes(self, votes: np.ndarray, *, smoothing: float = 0.02) -> np.ndarray:
        """Distance-weighted average of every neighbour's label distribution.

        Parameters
        ----------
        votes : numpy.ndarray of shape (n_all, K)
            What each sample votes for (one-hot given labels, or softer distributions), for
            every position ``indices`` refers to.
        smoothing : float, default 0.02
            Mass spread uniformly over the classes, so no class gets probability 0.

        Returns
        -------
        numpy.ndarray of shape (n, K)
            Rows sum to 1. Weights are ``exp(-(d / d_k)^2)``, with ``d_k`` the distance to the
            sample's k-th neighbour (``neighbor_weights``).

        Examples
        --------
        >>> g = KNNGraph(np.array([[1, 2], [0, 2], [0, 1]]), np.array([[1.0, 2.0]] * 3), "euclidean")
        >>> g.label_votes(np.eye(2)[[0, 0, 1]], smoothing=0).argmax(1).tolist()
        [0, 0, 0]
        """
        n, k_classes = len(self.indices), votes.shape[1]  # the graph's rows (a block of them) vote from all rows
        if self.k == 0:
            return np.full((n, k_classes), 1.0 / k_classes)
        w = neighbor_weights(self.distances)
        w /= w.sum(axis=1, keepdims=True)
        # a one-hot vote adds its weight to one class: a bincount over (row, class), 9x faster than
        # multiplying the gathered (rows, k, K) votes; the other votes (soft rows) are added class by class
        code = votes.argmax(axis=1)
        one_hot = (votes.max(axis=1) == 1.0) & (votes.sum(axis=1) == 1.0) & (votes.min(axis=1) >= 0.0)
        P = np.empty((n, k_classes))
        step = max(1, (16 << 20) // (self.k * 8))  # row blocks of ~16 MB per (rows, k) array
        for s in range(0, n, step):
            nbr, wb = self.indices[s : s + step], w[s : s + step]
            hard = one_hot[nbr]
            cells = np.arange(len(nbr))[:, None] * k_classes + code[nbr]
            block = np.bincount(cells[hard], weights=wb[hard], minlength=len(nbr) * k_classes).astype(np.float64)
            block = block.reshape(-1, k_classes)  # (float64 even when no vote is one-hot)
            row, col = np.nonzero(~hard)
            if len(row):
                soft = wb[row, col, None] * votes[nbr[row, col]]
                for c in range(k_classes):
                    block[:, c] += np.bincount(row, weights=soft[:, c], minlength=len(nbr))
            P[s : s + step] = block
        return (1.0 - smoothing) * P + smoothing / k_classes

    def neighbor_median(self, values: np.ndarray, *, skip: np.ndarray | None = None,
                        fallback: np.ndarray) -> np.ndarray:
        """Each sample's weighted median of ``values`` over all its neighbours.

        Weights are Gaussian in the distances (``neighbor_weights``); neighbours marked in
        ``skip`` weigh 0; a sample none of whose neighbours weighs gets its ``fallback``.

        Parameters
        ----------
        values : numpy.ndarray of shape (n_all,)
            One value per sample ``indices`` refers to.
        skip : numpy.ndarray of bool, shape (n_all,), optional
            Samples that do not count as anyone's neighbour.
        fallback : numpy.ndarray of shape (n,)
            The result where no neighbour weighs.

        Returns
        -------
        numpy.ndarray of shape (n,)

        Examples
        --------
        >>> g = KNNGraph(np.array([[1, 2], [0, 2], [0, 1]]), np.ones((3, 2)), "euclidean")
        >>> g.neighbor_median(np.array([1.0, 5.0, 9.0]), fallback=np.zeros(3)).tolist()
        [5.0, 1.0, 1.0]
        """
        weights = neighbor_weights(self.distances)
        if skip is not None:
            weights = np.where(skip[self.indices], 0.0, weights)
        return weighted_median(values[self.indices], weights, fallback=fallback)

    def close_pairs(self, radius: float) -> np.ndarray:
        """The pairs ``(sample, neighbour)`` closer than ``radius``, over all the neighbours.

        Examples
        --------
        >>> g = KNNGraph(np.array([[1, 2], [0, 2], [1, 0]]), np.array([[0.1, 2.0], [0.1, 3.0], [2.0, 2.0]]), "euclidean")
        >>> g.close_pairs(0.5).tolist()
        [[0, 1], [1, 0]]
        """
        rows, cols = np.nonzero(self.distances < radius)
        return np.stack([rows, self.indices[rows, cols]], axis=1).astype(np.int64)


def neighbor_weights(distances: np.ndarray) -> np.ndarray:
    """Gaussian weights ``exp(-(d / d_k)^2)`` of each sample's neighbours, ``d_k`` its farthest one's distance.

    Examples
    --------
    >>> neighbor_weights(np.array([[0.0, 1.0]])).round(3).tolist()
    [[1.0, 0.368]]
    """
    return np.exp(-((distances / (distances[:, -1:] + 1e-12)) ** 2))


def weighted_median(values: np.ndarray, weights: np.ndarray, *, fallback: np.ndarray) -> np.ndarray:
    """Row-wise weighted median of ``values`` (n, k); ``fallback`` where a row's weights are all 0.

    Examples
    --------
    >>> weighted_median(np.array([[1.0, 5.0, 9.0]]), np.array([[1.0, 1.0, 3.0]]), fallback=np.zeros(1)).tolist()
    [9.0]
    """
    order = np.argsort(values, axis=1)
    v = np.take_along_axis(values, order, axis=1)
    w = np.take_along_axis(weights, order, axis=1)
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1]
    pick = (cum < 0.5 * total[:, None]).sum(axis=1).clip(max=values.shape[1] - 1)
    out = v[np.arange(len(v)), pick]
    return np.where(total > 0, out, fallback)
