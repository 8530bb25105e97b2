"""Unlabelled samples: pseudo-labels by label spreading over the shared kNN graph, pooled with the model.

Samples without a label (None / NaN, or the value given as ``unlabelled=``) are audited like the
others (outliers, duplicates, leakage, quality); this check proposes a label for each of them:

1. label spreading (Zhou et al., 2004) over the nearest :data:`SPREAD_NEIGHBORS` of the shared
   graph, made symmetric and normalised (``S = D^-1/2 W D^-1/2``): labelled samples start from
   their label, unlabelled ones from nothing, and each round ``F = alpha * S F + (1 - alpha) * F0``;
2. the spread distribution is averaged with the model's ``pred_probs`` (trained on the labelled
   samples), with the weight whose average best predicts labels it did not see: the labelled
   samples are split in five folds, each fold's labels hidden in turn and spread from the others,
   and the weight whose average gets most hidden labels right wins (ties: the lower Brier score;
   0.5 when a class has a single label);
3. the pseudo-label is the class the average rates highest, its confidence that class's share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from datafix._validation import Interval, check_param, check_params
from datafix.checks.registry import CheckResult, register_check
from datafix.signals.bundle import Signals
from datafix.signals.graph import KNNGraph, neighbor_weights

PARAMS = {
    "alpha": Interval(float, 0.0, 0.99),
    "iterations": Interval(int, 1),
    "min_confidence": Interval(float, 0.0, 1.0),
}

#: Neighbours through which labels spread (the nearest of the shared graph's). Digits, 5 % of the
#: labels kept (``benchmarks/semi_supervised.py``): transductive accuracy 0.89 with 10 neighbours,
#: 0.81 with 40; 1 %: 0.70 and 0.59 (spreading far reaches other classes).
SPREAD_NEIGHBORS = 10

#: Folds of the labelled samples hidden in turn to weigh the model against the spreading (the
#: model's out-of-sample pred_probs also come from 5 folds: both then see 80 % of the labels).
HIDDEN_FOLDS = 5


def spread_labels(
    labels: np.ndarray,
    neighbors: KNNGraph,
    n_classes: int,
    *,
    alpha: float = 0.9,
    iterations: int = 30,
) -> np.ndarray:
    """Label spreading over the kNN graph (symmetric, normalised): what each sample's neighbourhood says.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (n,)
        Label codes, ``-1`` for an unlabelled sample.
    neighbors : KNNGraph
        The shared kNN graph (self excluded); its nearest :data:`SPREAD_NEIGHBORS` are used.
    n_classes : int
        K.
    alpha : float in [0, 0.99], default 0.9
        How much each round takes from the neighbours (the rest comes from the labels).
    iterations : int, default 30
        Rounds of spreading.

    Returns
    -------
    numpy.ndarray of shape (n, K)
        Rows sum to 1 (uniform where no label reaches).

    Examples
    --------
    >>> from datafix.signals import knn_graph
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> spread_labels(np.array([0, -1, -1, -1, -1, 1]), knn_graph(X, 2, standardize=False), 2).argmax(1).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    graph = neighbors.nearest(SPREAD_NEIGHBORS)
    k, d, idx = graph.k, graph.distances, graph.indices
    W = sp.csr_matrix((neighbor_weights(d).ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
    W = W.maximum(W.T)
    scale = sp.diags(1.0 / np.sqrt(np.maximum(np.asarray(W.sum(axis=1)).ravel(), 1e-12)))
    S = scale @ W @ scale
    start = np.zeros((n, n_classes))
    known = labels >= 0
    start[np.flatnonzero(known), labels[known]] = 1.0
    F = start
    for _ in range(iterations):
        F = alpha * (S @ F) + (1.0 - alpha) * start
    total = F.sum(axis=1, keepdims=True)
    return np.where(total > 0, F / np.where(total > 0, total, 1.0), 1.0 / n_classes)


def choose_model_weight(labels: np.ndarray, pred_probs: np.ndarray, neighbors: KNNGraph, *, alpha: float,
                        iterations: int, seed: int = 0) -> float:
    """The weight in {0, 0.1, ..., 1} of ``pred_probs`` in the pseudo-label average: fewest wrong
    pseudo-labels (then lowest Brier score) on labels hidden from the spreading (:data:`HIDDEN_FOLDS` class-stratified folds of the
    labelled samples, each hidden in turn, as the model's cross-validation hides them); 0.5 when
    some class has a single label.

    Examples
    --------
    >>> from datafix.signals import knn_graph
    >>> X = np.r_[np.zeros((20, 1)), np.ones((20, 1))] + np.linspace(0, 0.1, 40)[:, None]
    >>> labels = np.r_[np.zeros(20, int), np.ones(20, int)]
    >>> flat = np.full((40, 2), 0.5)  # a model that knows nothing gets no weight
    >>> choose_model_weight(labels, flat, knn_graph(X, 5), alpha=0.9, iterations=30)
    0.0
    """
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = pred_probs.shape[1]
    labelled = np.flatnonzero(labels >= 0)
    counts = np.bincount(labels[labelled], minlength=n_classes)
    if counts[counts > 0].min() < 2:
        return 0.5
    rng = np.random.default_rng(seed)
    fold = np.full(len(labels), -1)
    for c in np.flatnonzero(counts):  # class-stratified folds, as the model's cross-validation
        members = rng.permutation(labelled[labels[labelled] == c])
        fold[members] = np.arange(len(members)) % HIDDEN_FOLDS
    grid = np.linspace(0.0, 1.0, 11)
    errors, brier = np.zeros(len(grid)), np.zeros(len(grid))
    for f in range(HIDDEN_FOLDS):
        hidden = fold == f
        if not hidden.any():
            continue
        F = spread_labels(np.where(hidden, -1, labels), neighbors, n_classes, alpha=alpha, iterations=iterations)
        onehot = np.eye(n_classes)[labels[hidden]]
        for j, w in enumerate(grid):
            pooled = (1.0 - w) * F[hidden] + w * pred_probs[hidden]
            errors[j] += (pooled.argmax(axis=1) != labels[hidden]).sum()
            brier[j] += ((pooled - onehot) ** 2).sum()
    return float(grid[np.lexsort((brier, errors))[0]])


def find_pseudo_labels(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    neighbors: KNNGraph | None = None,
    alpha: float = 0.9,
    iterations: int = 30,
    min_confidence: float = 0.5,
    model_weight: float | None = None,
) -> pd.DataFrame:
    """A pseudo-label and its confidence for every unlabelled sample (see the module's docstring).

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (n,)
        Label codes, ``-1`` for an unlabelled sample.
    pred_probs : numpy.ndarray of shape (n, K)
        The model's probabilities: out-of-sample for labelled samples, from models trained on the
        labelled samples for unlabelled ones.
    neighbors : KNNGraph, optional
        The shared kNN graph; without it, the model alone proposes.
    alpha : float in [0, 0.99], default 0.9
        See :func:`spread_labels`.
    iterations : int, default 30
        See :func:`spread_labels`.
    min_confidence : float, default 0.5
        ``is_confident_pseudo_label`` from this confidence on.
    model_weight : float in [0, 1], optional
        The model's weight in the average with the spreading (with ``neighbors``); default:
        :func:`choose_model_weight`'s choice, the fewest errors on hidden labels.

    Returns
    -------
    pandas.DataFrame
        One row per sample: ``is_unlabelled``, ``pseudo_label`` (code; -1 for labelled samples),
        ``pseudo_confidence`` (NaN for labelled samples), ``is_confident_pseudo_label``.

    Examples
    --------
    >>> P = np.array([[.9, .1], [.2, .8], [.6, .4], [.05, .95]])
    >>> out = find_pseudo_labels(np.array([0, 1, -1, -1]), P, min_confidence=0.9)
    >>> out["pseudo_label"].tolist(), out["is_confident_pseudo_label"].tolist()
    ([-1, -1, 0, 1], [False, False, False, True])
    """
    check_params({"alpha": alpha, "iterations": iterations, "min_confidence": min_confidence}, PARAMS,
                 "function 'find_pseudo_labels'")
    if model_weight is not None:
        model_weight = check_param(model_weight, "model_weight", Interval(float, 0.0, 1.0))
    labels = np.asarray(labels, dtype=np.int64)
    P = np.asarray(pred_probs, dtype=np.float64)
    unlabelled = labels < 0
    pooled = P
    if neighbors is not None and neighbors.k > 0:
        weight = model_weight if model_weight is not None else choose_model_weight(
            labels, P, neighbors, alpha=alpha, iterations=iterations)
        F = spread_labels(labels, neighbors, P.shape[1], alpha=alpha, iterations=iterations)
        pooled = (1.0 - weight) * F + weight * P
    best = pooled.argmax(axis=1)
    confidence = np.where(unlabelled, pooled[np.arange(len(pooled)), best], np.nan)
    out = pd.DataFrame({
        "is_unlabelled": unlabelled,
        "pseudo_label": np.where(unlabelled, best, -1).astype(np.int64),
        "pseudo_confidence": confidence,
        "is_confident_pseudo_label": unlabelled & (np.nan_to_num(confidence) >= min_confidence),
    })
    return out


@register_check(
    "unlabelled",
    requires=("unlabelled", "pred_probs"),
    uses=("neighbors",),
    flag="is_unlabelled",
    score="pseudo_confidence",
    label_columns=("pseudo_label",),
    description="samples without a label, with a proposed pseudo-label",
    params=PARAMS,
    neighbors=SPREAD_NEIGHBORS,
)
def unlabelled_check(signals: Signals, *, alpha: float = 0.9, iterations: int = 30,
                     min_confidence: float = 0.5) -> CheckResult:
    """Run :func:`find_pseudo_labels` on the audit's shared signals.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> y = np.where(np.arange(150) % 4 == 0, -1, y)
    >>> out = unlabelled_check(Signals(y, 3, features=X, verbose=False)).columns
    >>> int(out["is_unlabelled"].sum()), bool(out["is_confident_pseudo_label"].sum() > 20)
    (38, True)
    """
    graph = signals.neighbors.nearest(SPREAD_NEIGHBORS) if signals.has("neighbors") else None
    labels = np.asarray(signals.labels, dtype=np.int64)
    weight = None if graph is None or graph.k == 0 else choose_model_weight(
        labels, np.asarray(signals.pred_probs, dtype=np.float64), graph, alpha=alpha, iterations=iterations)
    found = find_pseudo_labels(labels, signals.pred_probs, neighbors=graph, alpha=alpha, iterations=iterations,
                               min_confidence=min_confidence, model_weight=weight)
    n_unlabelled = int(found["is_unlabelled"].sum())
    confident = int(found["is_confident_pseudo_label"].sum())
    rule = ((f"pseudo-labels by label spreading over the {graph.k} nearest neighbours "
             f"(alpha={alpha}, {iterations} rounds) averaged with the model's pred_probs (weight "
             f"{weight:.1f}, the fewest errors on hidden labels)") if weight is not None else
            "pseudo-labels from the model's pred_probs (no neighbour graph)") + (
        f"; confident when the pseudo-label's share is at least {min_confidence}")
    advice = (f"{confident} of the {n_unlabelled} unlabelled samples have a confident pseudo-label; add them to "
              "the training set with the PseudoLabel step, or label the least confident ones first.")
    return CheckResult(found, rule, advice=advice)
