"""ADASYN, BorderlineSMOTE, Tomek links and ENN on datafix's neighbour search.

Each function follows imbalanced-learn 0.14's algorithm step for step, including the order of
its random draws, so the output equals imbalanced-learn's whenever the neighbours are the same
(a test compares them). What changes is where the neighbours come from: a given
:class:`~datafix.signals.KNNGraph` over the same rows (an audit's, for instance) costs nothing,
otherwise datafix's exact search runs. Two differences are deliberate: a sample is never its own
neighbour (imbalanced-learn drops the first neighbour found, which is a duplicate's twin when
two rows are identical), and Tomek links search only the samples that can be in a link.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import mode
from sklearn.utils import check_random_state

from datafix.signals.neighbors import KNNGraph, knn_query


def neighbours_of(X: np.ndarray, rows: np.ndarray, k: int, graph: KNNGraph | None = None) -> np.ndarray:
    """The k nearest other rows of ``X`` for each of ``X[rows]`` (from ``graph`` when it has them).

    Examples
    --------
    >>> neighbours_of(np.array([[0.0], [1.0], [5.0]]), np.array([2]), 1).tolist()
    [[1]]
    """
    if graph is not None and graph.indices.shape[0] == len(X) and graph.k >= k:
        return graph.indices[rows, :k]
    return knn_query(X, X[rows], k, standardize=False, knn_backend="exact", self_positions=rows).indices


def adasyn(X, y, strategy, *, n_neighbors=5, random_state=None, graph=None):
    """ADASYN (He et al. 2008) as ``imblearn.over_sampling.ADASYN``; returns the new rows."""
    rng = check_random_state(random_state)
    new_X, new_y = [], []
    for class_sample, n_samples in strategy.items():
        if n_samples == 0:
            continue
        target = np.flatnonzero(y == class_sample)
        X_class = X[target]
        nns = neighbours_of(X, target, n_neighbors, graph)
        ratio_nn = np.sum(y[nns] != class_sample, axis=1) / n_neighbors
        if not np.sum(ratio_nn):
            raise RuntimeError(
                "Not any neigbours belong to the majority class. This case will induce a NaN case with a "
                "division by zero. ADASYN is not suited for this specific dataset. Use SMOTE instead."
            )
        ratio_nn /= np.sum(ratio_nn)
        n_generate = np.rint(ratio_nn * n_samples).astype(int)
        n_samples = np.sum(n_generate)
        if not n_samples:
            raise ValueError("No samples will be generated with the provided ratio settings.")
        local = np.arange(len(target))
        nns = knn_query(X_class, X_class, n_neighbors, standardize=False, knn_backend="exact", self_positions=local).indices
        rows = np.repeat(local, n_generate)
        cols = rng.choice(n_neighbors, size=n_samples)
        diffs = X_class[nns[rows, cols]] - X_class[rows]
        steps = rng.uniform(size=(n_samples, 1))
        new_X.append((X_class[rows] + steps * diffs).astype(X.dtype))
        new_y.append(np.full(n_samples, fill_value=class_sample, dtype=y.dtype))
    return new_X, new_y


def borderline_smote(X, y, strategy, *, k_neighbors=5, m_neighbors=10, kind="borderline-1", random_state=None,
                     graph=None):
    """Borderline-SMOTE (Han et al. 2005) as ``imblearn.over_sampling.BorderlineSMOTE``."""
    new_X, new_y = [], []
    for class_sample, n_samples in strategy.items():
        if n_samples == 0:
            continue
        target = np.flatnonzero(y == class_sample)
        n_majority = np.sum(y[neighbours_of(X, target, m_neighbors, graph)] != class_sample, axis=1)
        danger = (n_majority >= m_neighbors / 2) & (n_majority < m_neighbors)
        if not danger.any():
            continue
        X_danger = X[target[danger]]
        if kind == "borderline-1":
            pool, pool_y = X[target], None
            nns = knn_query(pool, X_danger, k_neighbors, standardize=False, knn_backend="exact",
                            self_positions=np.flatnonzero(danger)).indices
        else:
            pool, pool_y = X, y
            nns = neighbours_of(X, target[danger], k_neighbors, graph)
        rng = check_random_state(random_state)  # imbalanced-learn re-seeds here for every class
        picks = rng.randint(low=0, high=nns.size, size=n_samples)
        steps = rng.uniform(size=n_samples)[:, np.newaxis]
        rows, cols = np.floor_divide(picks, nns.shape[1]), np.mod(picks, nns.shape[1])
        diffs = pool[nns[rows, cols]] - X_danger[rows]
        if pool_y is not None:  # borderline-2: shorter steps towards other classes
            rng_pairs = check_random_state(random_state)
            other = pool_y[nns[rows, cols]] != class_sample
            diffs[other] *= rng_pairs.uniform(low=0.0, high=0.5, size=(other.sum(), 1))
        new_X.append((X_danger[rows] + steps * diffs).astype(X.dtype))
        new_y.append(np.full(n_samples, fill_value=class_sample, dtype=y.dtype))
    return new_X, new_y


def tomek_links(X, y, strategy, *, graph=None):
    """Positions kept by ``imblearn.under_sampling.TomekLinks`` (samples of the classes in
    ``strategy`` that form a Tomek link are removed).

    A Tomek link is a pair of mutual nearest neighbours with different labels, so at least one
    end is outside the largest class: only those samples, and the largest-class samples they
    point at, need a neighbour search.
    """
    n = len(y)
    nearest = np.full(n, -1, dtype=np.int64)
    classes, counts = np.unique(y, return_counts=True)
    if graph is not None and graph.indices.shape[0] == n and graph.k >= 1:
        nearest = graph.indices[:, 0].copy()
    else:
        outside = np.flatnonzero(y != classes[np.argmax(counts)])
        nearest[outside] = neighbours_of(X, outside, 1)[:, 0]
        partners = np.unique(nearest[outside][y[nearest[outside]] != y[outside]])
        partners = partners[nearest[partners] < 0]
        if len(partners):
            nearest[partners] = neighbours_of(X, partners, 1)[:, 0]
    known = np.flatnonzero(nearest >= 0)
    j = nearest[known]
    linked = (y[j] != y[known]) & (nearest[j] == known)
    links = np.zeros(n, dtype=bool)
    links[known[linked]] = True
    links &= np.isin(y, list(strategy))
    return np.flatnonzero(~links)


def edited_nearest_neighbours(X, y, strategy, *, n_neighbors=3, kind_sel="all", graph=None):
    """Positions kept by ``imblearn.under_sampling.EditedNearestNeighbours``, in its order."""
    kept = []
    for target_class in np.unique(y):
        members = np.flatnonzero(y == target_class)
        if target_class in strategy:
            labels = y[neighbours_of(X, members, n_neighbors, graph)]
            if kind_sel == "mode":
                agree = np.ravel(mode(labels, axis=1, keepdims=False)[0]) == target_class
            else:
                agree = np.all(labels == target_class, axis=1)
            members = members[agree]
        kept.append(members)
    return np.concatenate(kept)
