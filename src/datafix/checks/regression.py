"""Wrong regression targets: the residual against out-of-sample and neighbour predictions, in units of its spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import erfc

from datafix.signals.graph import KNNGraph

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
    use_graph = neighbors is not None and neighbors.k > 0
    flagged = np.zeros(n, dtype=bool)
    weight = 0.0
    for _ in range(max(rounds, 1) if use_graph else 1):
        pooled = model
        if use_graph:  # flagged neighbours neither vote nor measure spread
            knn = neighbors.nearest(TARGET_NEIGHBORS).neighbor_median(y, skip=flagged, fallback=model)
            weight = _choose_weight(y, model, knn) if knn_weight == "auto" else float(knn_weight)
            pooled = (1.0 - weight) * model + weight * knn
        residual = y - pooled
        spread = max(MAD_TO_SD * float(np.median(np.abs(residual - np.median(residual)))), 1e-12 * (np.abs(y).max() + 1))
        local = spread
        if use_graph:  # every neighbour of the graph measures the spread
            local = MAD_TO_SD * neighbors.neighbor_median(np.abs(residual), skip=flagged, fallback=np.full(n, spread))
        scale = np.maximum(spread, local)
        z = np.abs(residual) / np.maximum(scale, 1e-12 * spread)
        flagged = z > threshold
    score = erfc(z / np.sqrt(2.0))
    found = pd.DataFrame({"is_label_issue": flagged, "label_score": score, "given_label": y,
                          "suggested_label": pooled, "suggested_confidence": 1.0 - score, "residual_z": z})
    return found, {"knn_weight": weight, "spread": spread}


def _choose_weight(y: np.ndarray, model: np.ndarray, knn: np.ndarray) -> float:
    """The neighbours' weight in {0, 0.1, ..., 1} with the smallest mean absolute error clipped at
    twice the model's robust spread (a bounded loss: the wrong targets cannot choose)."""
    residual = y - model
    clip = 2.0 * MAD_TO_SD * float(np.median(np.abs(residual - np.median(residual)))) or np.inf
    grid = np.linspace(0.0, 1.0, 11)
    errors = [np.minimum(np.abs(y - ((1.0 - w) * model + w * knn)), clip).mean() for w in grid]
    return float(grid[int(np.argmin(errors))])
