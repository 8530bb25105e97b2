"""Wrong regression targets: the residual against out-of-sample and neighbour predictions, in units of its spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import erfc

from datafix.signals.neighbors import KNNGraph, neighbor_weights

#: Neighbours (the nearest of the shared graph) whose targets predict a sample's; the local spread
#: reads all of the graph's neighbours (a steadier estimate).
TARGET_NEIGHBORS = 10

#: A median absolute deviation times this estimates a normal distribution's standard deviation.
MAD_TO_SD = 1.4826


def find_target_issues(
    targets: np.ndarray,
    predictions: np.ndarray,
    *,
    neighbors: KNNGraph | None = None,
    knn_weight: float | str = "auto",
    threshold: float = 3.0,
    rounds: int = 2,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Flag regression targets that are likely wrong.

    1. **Prediction.** The out-of-sample ``predictions`` are pooled with a neighbour prediction,
       the weighted median of the :data:`TARGET_NEIGHBORS` nearest neighbours' targets
       (Gaussian weights on the distances): ``(1 - w) * model + w * neighbours``, with ``w`` in
       {0, 0.1, ..., 1} giving the smallest absolute error against the given targets, clipped at
       twice the model's spread (a bounded loss, so the wrong targets do not choose).
    2. **Spread.** A residual ``r = y - prediction`` is measured in units of
       ``s = max(s_model, s_local)``: ``s_model`` is the robust spread (1.4826 x median absolute
       deviation) of every residual, ``s_local`` the weighted median of the absolute residuals of
       all the graph's neighbours x 1.4826. So a noisy region of the data tolerates larger
       residuals, and no region is judged more strictly than the whole set. (On the tables of
       ``benchmarks/regression_labels.py`` the larger of the two flags about as well as the
       model's spread alone, F1 0.598 vs 0.611 at the same threshold, and it keeps a noisy
       region's ordinary residuals unflagged where the model's spread flags them.)
    3. **Rule.** ``z = |r| / s``; a target is a label issue when ``z > threshold``. The score is
       the two-sided normal tail ``erfc(z / sqrt(2))`` (1: the residual is typical, near 0:
       far out). In the second round, flagged neighbours neither predict nor measure spread.

    Parameters
    ----------
    targets : numpy.ndarray of shape (n,)
        The given targets.
    predictions : numpy.ndarray of shape (n,)
        Out-of-sample predictions of the targets.
    neighbors : KNNGraph, optional
        The shared kNN graph (without it: the model's predictions and the global spread only).
    knn_weight : float in [0, 1] or "auto", default "auto"
        The neighbours' weight in the pooled prediction.
    threshold : float, default 3.0
        Flag residuals above this many spreads.
    rounds : int, default 2
        Passes; each later one leaves the previous one's flagged samples out of the neighbours.

    Returns
    -------
    found : pandas.DataFrame
        One row per sample: ``is_label_issue``, ``label_score`` (in [0, 1], lower = more likely
        wrong), ``given_label``, ``suggested_label`` (the pooled prediction),
        ``suggested_confidence`` (``1 - label_score``: how sure the given target is off, which
        :class:`~datafix.fix.Relabel` reads), ``residual_z``.
    stats : dict
        ``knn_weight`` (the weight used) and ``spread`` (``s_model``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 10, 300)
    >>> y = 2 * x + rng.normal(0, 0.5, 300)
    >>> y[7] += 8.0  # a wrong target
    >>> found, _ = find_target_issues(y, 2 * x)
    >>> bool(found.loc[7, "is_label_issue"]), int(found["label_score"].idxmin())
    (True, 7)
    """
    y = np.asarray(targets, dtype=np.float64)
    model = np.asarray(predictions, dtype=np.float64)
    n = len(y)
    graph = None
    if neighbors is not None and neighbors.k > 0:
        k = min(TARGET_NEIGHBORS, neighbors.k)
        graph = (neighbors.indices[:, :k], neighbor_weights(neighbors.distances[:, :k]))
    flagged = np.zeros(n, dtype=bool)
    weight = 0.0
    for _ in range(max(rounds, 1) if graph is not None else 1):
        pooled = model
        if graph is not None:
            idx, w = graph
            w = np.where(flagged[idx], 0.0, w)  # flagged neighbours neither vote nor measure spread
            knn = _weighted_median(y[idx], w, fallback=model)
            weight = _choose_weight(y, model, knn) if knn_weight == "auto" else float(knn_weight)
            pooled = (1.0 - weight) * model + weight * knn
        residual = y - pooled
        spread = max(MAD_TO_SD * float(np.median(np.abs(residual - np.median(residual)))), 1e-12 * (np.abs(y).max() + 1))
        local = spread
        if graph is not None:  # every neighbour of the graph measures the spread
            local = MAD_TO_SD * neighbor_median(np.abs(residual), neighbors, skip=flagged, fallback=np.full(n, spread))
        scale = np.maximum(spread, local)
        z = np.abs(residual) / np.maximum(scale, 1e-12 * spread)
        flagged = z > threshold
    score = erfc(z / np.sqrt(2.0))
    found = pd.DataFrame({"is_label_issue": flagged, "label_score": score, "given_label": y,
                          "suggested_label": pooled, "suggested_confidence": 1.0 - score, "residual_z": z})
    return found, {"knn_weight": weight, "spread": spread}


def neighbor_median(values: np.ndarray, graph: KNNGraph, *, skip: np.ndarray | None = None,
                    fallback: np.ndarray) -> np.ndarray:
    """Each sample's weighted median of ``values`` over all its neighbours in ``graph``.

    Weights are Gaussian in the distances (:func:`~datafix.signals.neighbors.neighbor_weights`);
    neighbours marked in ``skip`` weigh 0; a sample none of whose neighbours weighs gets its
    ``fallback``. A graph whose rows live elsewhere (``datafix.scale``'s sharded graph, which has
    a ``neighbor_median`` method) computes it where they live.

    Parameters
    ----------
    values : numpy.ndarray of shape (n,)
        One value per sample.
    graph : KNNGraph
        The neighbour graph over the same samples.
    skip : numpy.ndarray of bool, shape (n,), optional
        Samples that do not count as anyone's neighbour.
    fallback : numpy.ndarray of shape (n,)
        The result where no neighbour weighs.

    Returns
    -------
    numpy.ndarray of shape (n,)

    Examples
    --------
    >>> g = KNNGraph(np.array([[1, 2], [0, 2], [0, 1]]), np.ones((3, 2)), "euclidean")
    >>> neighbor_median(np.array([1.0, 5.0, 9.0]), g, fallback=np.zeros(3)).tolist()
    [5.0, 1.0, 1.0]
    """
    if hasattr(graph, "neighbor_median"):
        return graph.neighbor_median(values, skip=skip, fallback=fallback)
    weights = neighbor_weights(graph.distances)
    if skip is not None:
        weights = np.where(skip[graph.indices], 0.0, weights)
    return _weighted_median(values[graph.indices], weights, fallback=fallback)


def _weighted_median(values: np.ndarray, weights: np.ndarray, *, fallback: np.ndarray) -> np.ndarray:
    """Row-wise weighted median of ``values`` (n, k); ``fallback`` where a row's weights are all 0."""
    order = np.argsort(values, axis=1)
    v = np.take_along_axis(values, order, axis=1)
    w = np.take_along_axis(weights, order, axis=1)
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1]
    pick = (cum < 0.5 * total[:, None]).sum(axis=1).clip(max=values.shape[1] - 1)
    out = v[np.arange(len(v)), pick]
    return np.where(total > 0, out, fallback)


def _choose_weight(y: np.ndarray, model: np.ndarray, knn: np.ndarray) -> float:
    """The neighbours' weight in {0, 0.1, ..., 1} with the smallest mean absolute error clipped at
    twice the model's robust spread (a bounded loss: the wrong targets cannot choose)."""
    residual = y - model
    clip = 2.0 * MAD_TO_SD * float(np.median(np.abs(residual - np.median(residual)))) or np.inf
    grid = np.linspace(0.0, 1.0, 11)
    errors = [np.minimum(np.abs(y - ((1.0 - w) * model + w * knn)), clip).mean() for w in grid]
    return float(grid[int(np.argmin(errors))])
