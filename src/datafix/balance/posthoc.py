"""Post-hoc fixes of a trained model's outputs: logit adjustment and decision thresholds.

They need no retraining, which is why they are the first levers to try on a long-tailed
problem (Menon et al. 2021): subtract ``tau * log(prior)`` from the logits, with ``tau`` chosen
on a validation set for balanced accuracy; for multilabel outputs, choose one threshold per
label for F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from datafix.balance.logit_adjustment import logit_adjustment
from datafix.balance.multilabel import check_multilabel
from datafix.errors import InvalidInputError


def adjust_logits(logits: Any, labels: Any = None, *, priors: Any = None, tau: float = 1.0) -> torch.Tensor:
    """``logits - tau * log(prior)``: the post-hoc form of logit adjustment.

    Parameters
    ----------
    logits : torch.Tensor or array of shape (n, K)
        A normally trained model's outputs.
    labels, priors
        The training labels (priors are their frequencies) or the priors themselves.
    tau : float, default 1.0
        Strength of the adjustment.

    Returns
    -------
    torch.Tensor of shape (n, K)

    Examples
    --------
    >>> adjust_logits(torch.tensor([[1.0, 0.5]]), [0, 0, 0, 1]).argmax(1).tolist()
    [1]
    """
    z = torch.as_tensor(np.asarray(logits) if not isinstance(logits, torch.Tensor) else logits)
    offsets = logit_adjustment(labels, priors=priors, tau=tau, dtype=z.dtype, device=z.device)
    if z.ndim != 2 or z.shape[1] != len(offsets):
        raise InvalidInputError(f"The 'logits' argument must have shape (n, {len(offsets)}); got {tuple(z.shape)}.")
    return z - offsets


def tune_logit_adjustment(logits: Any, y: Any, labels: Any = None, *, priors: Any = None,
                          taus: Any = None) -> tuple[float, dict[float, float]]:
    """The ``tau`` that maximises balanced accuracy of adjusted validation logits.

    Parameters
    ----------
    logits : array or tensor of shape (n, K)
        Validation outputs of the trained model.
    y : array of shape (n,)
        Validation labels as class indices ``0..K-1``.
    labels, priors
        Training labels or priors, as in :func:`adjust_logits`.
    taus : sequence of float, optional
        Candidates (default 0, 0.25, ..., 3).

    Returns
    -------
    best_tau : float
    scores : dict mapping each tau to its balanced accuracy

    Examples
    --------
    >>> logits = torch.tensor([[2.0, 1.5], [2.0, 0.0], [2.0, 1.6]])
    >>> tau, scores = tune_logit_adjustment(logits, [1, 0, 1], [0] * 9 + [1])
    >>> tau > 0, scores[0.0] < scores[tau]
    (True, True)
    """
    from sklearn.metrics import balanced_accuracy_score

    y = np.asarray(y)
    grid = np.arange(0.0, 3.01, 0.25) if taus is None else np.asarray(taus, dtype=float)
    scores = {}
    for tau in grid:
        pred = adjust_logits(logits, labels, priors=priors, tau=float(tau)).argmax(1).cpu().numpy()
        scores[float(tau)] = float(balanced_accuracy_score(y, pred))
    best = max(scores, key=lambda t: (scores[t], -abs(t - 1.0)))  # ties: closest to the theory's 1
    return best, scores


def tune_thresholds(scores: Any, Y: Any, *, grid: Any = None) -> np.ndarray:
    """One decision threshold per label that maximises that label's F1 on validation data.

    Parameters
    ----------
    scores : array of shape (n, L)
        Validation probabilities (or any scores) per label.
    Y : array of shape (n, L)
        Validation 0/1 targets. A label without a positive keeps 0.5.
    grid : sequence of float, optional
        Candidate thresholds. By default every distinct validation score is a candidate
        (scikit-learn's precision-recall curve), and the chosen threshold lies halfway between the
        best one and the next lower score, so that a rare label, whose scores a plainly trained
        model keeps far below 0.5, gets a threshold of its own scale.

    Returns
    -------
    numpy.ndarray of shape (L,)
        Predict label ``j`` where ``scores[:, j] >= thresholds[j]``.

    Examples
    --------
    >>> s = np.array([[0.9, 0.03], [0.2, 0.01], [0.8, 0.02]])
    >>> tune_thresholds(s, [[1, 1], [0, 0], [1, 0]]).tolist()
    [0.5, 0.025]
    >>> tune_thresholds(s, [[1, 1], [0, 0], [1, 0]], grid=[0.25, 0.5, 0.75]).tolist()
    [0.25, 0.25]
    """
    from sklearn.metrics import f1_score, precision_recall_curve

    Y = check_multilabel(Y, warn=False)
    s = np.asarray(scores, dtype=float)
    if s.shape != Y.shape:
        raise InvalidInputError(f"The 'scores' argument has shape {s.shape} but Y has {Y.shape}.")
    if not np.isfinite(s).all():
        raise InvalidInputError("The 'scores' argument has NaN or infinite values.")
    candidates = None if grid is None else np.asarray(grid, dtype=float)
    out = np.full(Y.shape[1], 0.5)
    for j in range(Y.shape[1]):
        if not Y[:, j].any():
            continue
        if candidates is not None:
            f1 = [f1_score(Y[:, j], s[:, j] >= t, zero_division=0) for t in candidates]
            out[j] = round(float(candidates[int(np.argmax(f1))]), 6)
            continue
        precision, recall, cuts = precision_recall_curve(Y[:, j], s[:, j])
        f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
        best = cuts[int(np.argmax(f1))]
        below = s[:, j][s[:, j] < best]
        middle = best / 2 + below.max() / 2 if len(below) else best
        out[j] = float(middle if len(below) and middle > below.max() else best)  # no midpoint between denormals
    return out
