"""Exact and near duplicates, grouped.

Exact duplicates share a content hash (row values, image file bytes, item tensor bytes). Near
duplicates are closer to their nearest neighbour than ``0.13 x`` the median nearest-neighbour
distance (cleanlab Datalab's default rule). Duplicates are joined into groups (connected
components of the "is a duplicate of" relation): ``duplicate_group`` (an id, NA outside groups)
and ``duplicate_group_size``. ``duplicate_score = 1 - exp(-d / median d)``: 0 for an exact copy,
lower = more likely a duplicate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from datafix._validation import Interval
from datafix.checks.registry import TASKS, CheckResult, register_check
from datafix.signals.bundle import Signals

EPSILON = 1e-12


def duplicate_groups(n: int, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group ids and group sizes from duplicate pairs; samples in no pair get id -1 and size 1.

    Parameters
    ----------
    n : int
        Number of samples.
    pairs : numpy.ndarray of shape (m, 2)
        Positions found to be duplicates of each other.

    Examples
    --------
    >>> ids, sizes = duplicate_groups(5, np.array([[0, 3], [3, 4]]))
    >>> ids.tolist(), sizes.tolist()
    ([0, -1, -1, 0, 0], [3, 1, 1, 3, 3])
    """
    if len(pairs) == 0:
        return np.full(n, -1, np.int64), np.ones(n, np.int64)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    sizes = np.bincount(comp)[comp]
    in_group = sizes > 1
    ids = np.full(n, -1, np.int64)
    _, ids[in_group] = np.unique(comp[in_group], return_inverse=True)
    return ids, sizes.astype(np.int64)


def exact_duplicate_pairs(hashes: np.ndarray) -> np.ndarray:
    """Pairs (first, other) of positions sharing a hash.

    Parameters
    ----------
    hashes : numpy.ndarray
        One content hash per sample.

    Examples
    --------
    >>> exact_duplicate_pairs(np.array([7, 8, 7, 7], dtype=np.uint64)).tolist()
    [[0, 2], [0, 3]]
    """
    order = np.argsort(hashes, kind="stable")
    sorted_h = hashes[order]
    starts = np.r_[True, sorted_h[1:] != sorted_h[:-1]]
    first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    dup = ~starts
    return np.stack([first[dup], order[dup]], axis=1) if dup.any() else np.empty((0, 2), np.int64)


PARAMS = {"threshold": Interval(float, 0.0, 10.0)}


@register_check(
    "duplicate",
    requires=("neighbors|hashes",),
    flag="is_duplicate",
    score="duplicate_score",
    description="exact or near copies of another sample",
    params=PARAMS,
    tasks=TASKS,
    neighbors=lambda options, k_neighbors: k_neighbors,  # a near copy among any of a sample's neighbours
)
def duplicate_check(signals: Signals, *, threshold: float = 0.13) -> CheckResult:
    """Flag exact and near duplicates and group them.

    Parameters
    ----------
    signals : Signals
        The audit's shared signals (hashes and/or the kNN graph).
    threshold : float, default 0.13
        Near duplicates are closer than ``threshold x`` the median nearest-neighbour distance.

    Returns
    -------
    CheckResult
        Columns ``is_duplicate``, ``duplicate_score``, ``is_exact_duplicate``, ``duplicate_group``,
        ``duplicate_group_size``.

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> X = np.r_[np.random.default_rng(0).normal(size=(50, 2)), [[0.0, 0.0], [0.0, 0.0]]]
    >>> out = duplicate_check(Signals(None, 0, features=X, verbose=False))
    >>> out.columns["duplicate_group_size"].iloc[-2:].tolist()
    [2, 2]
    """
    graph = signals.neighbors.nearest(signals.k_neighbors) if signals.has("neighbors") else None
    if graph is not None and graph.k == 0:
        graph = None
    nn = None if graph is None else graph.nearest(1).distances[:, 0]
    # the samples: the hashes', else the features' or the graph's rows (an engine may give only the graph)
    n = next(len(a) for a in (signals.hashes, signals.features, nn) if a is not None)
    pairs = [np.empty((0, 2), np.int64)]
    exact = np.zeros(n, bool)
    if signals.hashes is not None:
        ex = exact_duplicate_pairs(np.asarray(signals.hashes))
        exact[ex.ravel()] = True
        pairs.append(ex)
    score = np.where(exact, 0.0, 1.0)
    rule = "identical content hash"
    if graph is not None:
        median = max(float(np.median(nn)), EPSILON)
        pairs.append(graph.close_pairs(threshold * median))
        score = np.where(exact | (nn <= EPSILON), 0.0, 1.0 - np.exp(-nn / median))
        rule += f", or nearest-neighbour distance below {threshold} x median = {threshold * median:.4g}"
    ids, sizes = duplicate_groups(n, np.concatenate(pairs))
    out = pd.DataFrame(
        {
            "is_duplicate": sizes > 1,
            "duplicate_score": score,
            "is_exact_duplicate": exact,
            "duplicate_group": pd.array(np.where(ids >= 0, ids, -1), dtype="Int64"),
            "duplicate_group_size": sizes,
        }
    )
    out.loc[ids < 0, "duplicate_group"] = pd.NA
    return CheckResult(out, rule)
