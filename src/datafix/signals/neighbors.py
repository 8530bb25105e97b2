"""The k-nearest-neighbour graph, built once per audit and read by every neighbour-based check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors

from datafix._validation import check_choice, check_int


@dataclass(frozen=True)
class KNNGraph:
    """Each sample's k nearest other samples.

    Attributes
    ----------
    indices : numpy.ndarray of int64, shape (n, k)
        Positions of the neighbours, nearest first; a sample is never its own neighbour.
    distances : numpy.ndarray of float64, shape (n, k)
        Their distances, ascending.
    metric : str
        ``"euclidean"`` or ``"cosine"``.
    """

    indices: np.ndarray
    distances: np.ndarray
    metric: str

    @property
    def k(self) -> int:
        """Neighbours per sample."""
        return self.indices.shape[1]


def knn_graph(features: np.ndarray, k: int = 40, *, metric: str = "euclidean", standardize: bool = True) -> KNNGraph:
    """Exact k-nearest-neighbour graph of the rows of ``features``, self excluded.

    Parameters
    ----------
    features : numpy.ndarray of shape (n, d)
        Finite features.
    k : int, default 40
        Neighbours per sample; capped at n - 1.
    metric : {"euclidean", "cosine"}, default "euclidean"
        Distance between rows.
    standardize : bool, default True
        Z-score each column first (constant columns become 0), so that no column dominates by
        its scale.

    Returns
    -------
    KNNGraph

    Examples
    --------
    >>> import numpy as np
    >>> g = knn_graph(np.array([[0.0], [1.0], [3.0]]), k=1, standardize=False)
    >>> g.indices.ravel().tolist(), g.distances.ravel().tolist()
    ([1, 0, 1], [1.0, 1.0, 2.0])
    """
    k = check_int(k, "k", minimum=1)
    check_choice(metric, "metric", ("euclidean", "cosine"))
    X = np.asarray(features, dtype=np.float64)
    n = len(X)
    k = min(k, n - 1)
    if k < 1:
        return KNNGraph(np.empty((n, 0), np.int64), np.empty((n, 0)), metric)
    if standardize:
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        X = (X - X.mean(axis=0)) / scale
    nn = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(X)
    dist, idx = nn.kneighbors(X)
    # Drop each row's own entry; with duplicates the self entry need not come first.
    own = idx == np.arange(n)[:, None]
    no_self = ~own.any(axis=1)
    own[no_self, -1] = True
    keep = ~own
    idx = idx[keep].reshape(n, k)
    dist = dist[keep].reshape(n, k)
    return KNNGraph(idx.astype(np.int64), np.maximum(dist, 0.0), metric)
