"""Leakage: test samples that are exact or near copies of training samples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datafix._validation import Interval
from datafix.checks.registry import TASKS, CheckResult, register_check
from datafix.errors import InvalidInputError
from datafix.signals.bundle import Signals
from datafix.signals.graph import KNNGraph
from datafix.signals.neighbors import knn_graph, knn_query

EPSILON = 1e-12


def find_leakage(
    train_features: np.ndarray | None,
    test_features: np.ndarray | None,
    *,
    train_hashes: np.ndarray | None = None,
    test_hashes: np.ndarray | None = None,
    train_graph: KNNGraph | None = None,
    test_nearest: KNNGraph | None = None,
    threshold: float = 0.13,
    knn_backend: str = "auto",
) -> pd.DataFrame:
    """Flag each test sample that duplicates a training sample.

    A test sample leaks when its content hash equals a training sample's, or when its nearest
    training sample is closer than ``threshold x`` the median nearest-neighbour distance within
    the training set (the near-duplicate rule), distances on features standardised with the
    training set's statistics.

    Parameters
    ----------
    train_features, test_features : numpy.ndarray or None
        Finite features with the same columns.
    train_hashes, test_hashes : numpy.ndarray of uint64, optional
        Content hashes.
    train_graph : KNNGraph, optional
        The training set's own kNN graph (its median 1-NN distance sets the scale).
    test_nearest : KNNGraph, optional
        Each test sample's nearest training sample (positions, distances on the standardised
        features) when it was searched already, e.g. by the Ray engine; the features are then
        not needed, ``train_graph`` is.
    threshold : float, default 0.13
        Near-copy threshold, as a share of the median nearest-neighbour distance.
    knn_backend : {"auto", "exact", "ivf", "faiss"}, default "auto"
        The kNN search for the test-to-train search (see :func:`datafix.signals.knn_graph`).

    Returns
    -------
    pandas.DataFrame
        One row per test sample: ``is_leaked``, ``is_exact_leak``, ``leak_distance``,
        ``nearest_train`` (position in the training set).

    Examples
    --------
    >>> train = np.random.default_rng(0).normal(size=(100, 3))
    >>> test = np.r_[train[:2], np.random.default_rng(1).normal(size=(3, 3))]
    >>> find_leakage(train, test)["is_leaked"].tolist()
    [True, True, False, False, False]
    """
    n_test = len(next(a for a in (test_features, test_hashes, getattr(test_nearest, "indices", None))
                      if a is not None))
    exact = np.zeros(n_test, bool)
    nearest = np.full(n_test, -1, np.int64)
    if train_hashes is not None and test_hashes is not None:
        lookup = pd.Series(np.arange(len(train_hashes)), index=train_hashes.astype(np.uint64))
        lookup = lookup[~lookup.index.duplicated()]
        hit = lookup.reindex(test_hashes.astype(np.uint64))
        exact = hit.notna().to_numpy()
        nearest[exact] = hit[exact].to_numpy(dtype=np.int64)
    distance = np.where(exact, 0.0, np.nan)
    near = np.zeros(n_test, bool)
    q = test_nearest
    if q is None and train_features is not None and test_features is not None and len(train_features) > 1:
        q = knn_query(train_features, test_features, 1, knn_backend=knn_backend)
        if train_graph is None or train_graph.k == 0:
            train_graph = knn_graph(train_features, 1, knn_backend=knn_backend)
    if q is not None:
        if train_graph is None or train_graph.k == 0:
            raise InvalidInputError("find_leakage: test_nearest= needs train_graph=, whose median nearest-neighbour "
                                    "distance sets the near-copy scale.")
        median = max(float(np.median(train_graph.distances[:, 0])), EPSILON)
        distance = np.where(exact, 0.0, q.distances[:, 0])
        nearest = np.where(exact, nearest, q.indices[:, 0])
        near = q.distances[:, 0] < threshold * median
    return pd.DataFrame(
        {"is_leaked": exact | near, "is_exact_leak": exact, "leak_distance": distance, "nearest_train": nearest}
    )


@register_check(
    "leakage",
    requires=("test",),
    flag="is_leaked",
    score="leak_distance",
    description="test samples that copy a training sample (share of the test set)",
    params={"threshold": Interval(float, 0.0, 10.0)},
    tasks=TASKS,
    target="test",
    neighbors=1,  # the training set's nearest-neighbour distances set the near-copy scale
)
def leakage_check(signals: Signals, *, threshold: float = 0.13) -> CheckResult:
    """Flag the test set's samples that copy a training sample (rows: the test samples).

    ``nearest_train`` holds positions among the audited training samples; the audit turns them
    into the training source's index.

    Examples
    --------
    >>> from datafix.signals import Signals, HeldOutSet
    >>> train = np.random.default_rng(0).normal(size=(100, 3))
    >>> test = HeldOutSet(features=np.r_[train[:1], [[9.0, 9.0, 9.0]]], hashes=None)
    >>> leakage_check(Signals(None, 0, features=train, test=test, verbose=False)).columns["is_leaked"].tolist()
    [True, False]
    """
    graph = signals.neighbors.nearest(1) if signals.has("neighbors") else None
    found = find_leakage(signals.features, signals.test.features, train_hashes=signals.hashes,
                         test_hashes=signals.test.hashes, train_graph=graph, test_nearest=signals.test.nearest,
                         threshold=threshold, knn_backend=signals.knn_backend)
    return CheckResult(found, f"identical content hash, or nearest training sample closer than {threshold} x the "
                              "median nearest-neighbour distance in the training set")
