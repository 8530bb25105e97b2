"""Outliers: samples far from the rest of the data (kNN distance), or that no class explains.

Default score: the mean distance to the 10 nearest neighbours (from the audit's shared graph),
flagged above ``Q3 + 5 x IQR`` of the *logarithms* of those means (a multiplicative fence:
kNN distances are right-skewed, and Datalab's linear ``Q3 + 1.7 x IQR`` flagged 4-7 % of clean
data, 80 samples for 10 injected outliers on the demo). ``outlier_score = exp(-mean_distance /
median_mean_distance)``, in (0, 1], lower = more outlying; ``threshold=`` flags every sample
scored below it instead.
Options: scikit-learn's IsolationForest, LocalOutlierFactor (on the shared graph), and, when
there are no features, a pred_probs-only score (normalised entropy: a sample whose predicted
probabilities spread over all classes is unlike every class).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor

from datafix._validation import Interval, Options
from datafix.checks.registry import TASKS, CheckResult, register_check
from datafix.signals.bundle import Signals
from datafix.signals.graph import KNNGraph

METHODS = ("auto", "knn", "isolation_forest", "lof", "entropy")


def fence(values: np.ndarray, scale: float = 1.7) -> float:
    """``Q3 + scale * IQR`` of ``values``: the upper fence above which a value is an outlier.

    Examples
    --------
    >>> fence(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    7.4
    """
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 + scale * (q3 - q1))


def knn_outlier_scores(graph: KNNGraph, k_neighbors: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Mean distance to the first ``k_neighbors`` neighbours, and its score ``exp(-d / median d)``.

    Examples
    --------
    >>> from datafix.signals import knn_graph
    >>> g = knn_graph(np.array([[0.0], [0.1], [0.2], [0.3], [9.0]]), k_neighbors=2, standardize=False)
    >>> d, score = knn_outlier_scores(g, k_neighbors=2)
    >>> int(np.argmin(score))
    4
    """
    d = graph.nearest(k_neighbors).distances.mean(axis=1)
    med = np.median(d)
    return d, np.exp(-d / (med if med > 0 else 1.0))


#: Fence scales by method: on log kNN distances, and on pred_probs entropies.
FENCE_SCALES = {"knn": 5.0, "entropy": 1.7}


PARAMS = {
    "method": Options(*METHODS),
    "k_neighbors": Interval(int, 1),
    "fence_scale": [None, Interval(float, 0.0, 1e6)],
    "contamination": Interval(float, 1e-6, 0.5),
    "threshold": [None, Interval(float, 0.0, 1.0)],
}


#: What each method reads: the shared graph, the features, or pred_probs ("auto": the graph when
#: there are features, else pred_probs).
REQUIRES = {"auto": ("neighbors|pred_probs",), "knn": ("neighbors",), "lof": ("neighbors",),
            "isolation_forest": ("features",), "entropy": ("pred_probs",)}


def outlier_neighbors(options: dict, k_neighbors: int) -> int:
    """The neighbours the outlier check reads with ``options``: its ``k_neighbors`` (one more for
    LOF, which scikit-learn reads with ``n_neighbors``), none for the methods without the graph.

    Examples
    --------
    >>> outlier_neighbors({"method": "lof", "k_neighbors": 10}, 40)
    11
    """
    if options["method"] in ("isolation_forest", "entropy"):
        return 0
    return min(options["k_neighbors"] + (options["method"] == "lof"), k_neighbors)


@register_check(
    "outlier",
    requires=lambda options: REQUIRES[options["method"]],
    neighbors=outlier_neighbors,
    flag="is_outlier",
    score="outlier_score",
    description="samples far from the rest of the data",
    params=PARAMS,
    tasks=TASKS,
)
def outlier_check(
    signals: Signals, *, method: str = "auto", k_neighbors: int = 10, fence_scale: float | None = None,
    contamination: float = 0.05, threshold: float | None = None,
) -> CheckResult:
    """Flag outliers (columns ``is_outlier``, ``outlier_score``, and the rule).

    Parameters
    ----------
    signals : Signals
        The audit's shared signals.
    method : {"auto", "knn", "isolation_forest", "lof", "entropy"}, default "auto"
        ``"auto"``: ``"knn"`` with features, ``"entropy"`` with pred_probs only.
    k_neighbors : int, default 10
        Neighbours in the kNN score (at most the graph's).
    fence_scale : float, optional
        The fence is ``Q3 + fence_scale * IQR`` of the log kNN distances (default 5) or of the
        entropies (default 1.7). Lower flags more.
    contamination : float, default 0.05
        Expected outlier share, for IsolationForest and LOF.
    threshold : float in [0, 1], optional
        Flag every sample whose ``outlier_score`` is below this, instead of the method's rule.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> X = np.r_[np.random.default_rng(0).normal(size=(200, 3)), [[12.0, 12.0, 12.0]]]
    >>> out = outlier_check(Signals(None, 0, features=X, verbose=False))
    >>> bool(out.columns["is_outlier"].iloc[-1]), out.rule[:26]
    (True, 'mean distance to the 10 ne')
    """
    if method == "auto":
        method = "knn" if signals.has("neighbors") else "entropy"
    scale = FENCE_SCALES.get(method, 1.7) if fence_scale is None else fence_scale
    if method == "entropy":
        P = signals.pred_probs
        entropy = -(P * np.log(np.clip(P, 1e-12, 1.0))).sum(axis=1) / np.log(max(P.shape[1], 2))
        score = 1.0 - entropy
        cut = fence(entropy, scale)
        flags = entropy > cut
        rule = f"normalised entropy of pred_probs above Q3 + {scale:g} x IQR = {cut:.4g}"
    elif method == "knn":
        graph = signals.neighbors.nearest(k_neighbors)
        d, score = knn_outlier_scores(graph, k_neighbors)
        positive = d[d > 0]
        if len(positive):  # a multiplicative fence on the log distances (0: an exact copy's)
            cut = float(np.exp(fence(np.log(positive), scale)))
        else:
            cut = 0.0
        flags = d > cut
        rule = (f"mean distance to the {graph.k} nearest neighbours above a fence of "
                f"Q3 + {scale:g} x IQR on their logarithms = {cut:.4g} ({cut / max(np.median(d), 1e-300):.3g} x the "
                "median)")
    elif method == "lof":
        g = signals.neighbors.nearest(k_neighbors + 1)  # scikit-learn's LOF reads one more than n_neighbors
        n, kk = len(g.indices), g.k
        sparse = csr_matrix((g.distances.ravel() + 1e-12, g.indices.ravel(), np.arange(0, n * kk + 1, kk)), shape=(n, n))
        lof = LocalOutlierFactor(n_neighbors=max(kk - 1, 1), metric="precomputed", contamination=contamination)
        flags = lof.fit_predict(sparse) == -1
        raw = -lof.negative_outlier_factor_
        score = np.exp(-(raw - 1.0).clip(min=0))
        rule = f"LocalOutlierFactor (k={max(kk - 1, 1)}) on the shared graph, contamination={contamination}"
    else:
        forest = IsolationForest(contamination=contamination, random_state=0)
        flags = forest.fit_predict(signals.features) == -1
        raw = -forest.score_samples(signals.features)
        score = np.exp(-raw / np.median(raw))
        rule = f"IsolationForest, contamination={contamination}"
    if threshold is not None:
        flags = np.asarray(score) < threshold
        rule = f"outlier_score below threshold={threshold:g} ({method} score)"
    columns = pd.DataFrame({"is_outlier": np.asarray(flags, dtype=bool),
                            "outlier_score": np.asarray(score, dtype=np.float64)})
    return CheckResult(columns, rule)
