"""Logit adjustment for long-tailed classification (Menon et al., ICLR 2021).

Training with ``cross_entropy(logits + tau * log(prior), y)`` makes the model's plain logits
estimate the *balanced* posterior, so ``argmax(logits)`` maximises balanced accuracy at test
time (the "loss" form). The "post-hoc" form trains normally and predicts
``argmax(logits - tau * log(prior))``. ``tau = 1`` is the Bayes-consistent choice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datafix._validation import check_choice, check_float
from datafix.data.classes import class_codes, class_counts
from datafix.errors import InvalidInputError, warn_user


def class_priors(labels: Any, *, classes: Any = None) -> torch.Tensor:
    """Class frequencies of ``labels`` (float64, sums to 1).

    A class listed in ``classes`` with no sample would have prior 0 and an infinite adjustment;
    it is given half a sample instead (a warning says so).

    Parameters
    ----------
    labels : array-like
        One class label per sample.
    classes : array-like, optional
        The classes, in order (default: the sorted distinct labels).

    Examples
    --------
    >>> class_priors([0, 0, 0, 1]).tolist()
    [0.75, 0.25]
    """
    codes, names = class_codes(labels, classes)
    counts = class_counts(codes, names, warn_empty=False).astype(np.float64)
    if (counts == 0).any():
        warn_user(
            f"Classes {names[counts == 0].tolist()[:10]} have no samples; their prior is set to half a "
            "sample so that log(prior) stays finite.")
        counts[counts == 0] = 0.5
    return torch.from_numpy(counts / counts.sum())


def logit_adjustment(
    labels: Any = None,
    *,
    priors: Any = None,
    tau: float = 1.0,
    classes: Any = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """The offsets ``tau * log(prior)``: add them to the logits in the loss, or subtract them
    from the logits of a normally trained model at prediction time.

    Parameters
    ----------
    labels : DataView, labelled torch Dataset, or array-like, optional
        Training labels, to estimate the priors from. Give either ``labels`` or ``priors``.
    priors : array-like of shape (K,), optional
        Class priors (positive; normalised to sum to 1).
    tau : float, default 1.0
        Strength; 0 is no adjustment.
    classes : array-like, optional
        The full class list in the order of the model's outputs.
    dtype, device
        Of the returned tensor.

    Returns
    -------
    torch.Tensor of shape (K,)

    Examples
    --------
    >>> offsets = logit_adjustment([0, 0, 0, 1])
    >>> [round(v, 3) for v in offsets.tolist()]
    [-0.288, -1.386]
    >>> logits = torch.tensor([[1.0, 0.5]])
    >>> (logits - offsets).argmax(dim=1).tolist()  # post-hoc: the rare class wins here
    [1]
    """
    tau = check_float(tau, "tau", low=0.0, high=1e6)
    if (labels is None) == (priors is None):
        raise InvalidInputError("Give exactly one of 'labels' and 'priors'.")
    if priors is None:
        p = class_priors(labels, classes=classes)
    else:
        p = torch.as_tensor(np.asarray(priors, dtype=np.float64))
        if p.ndim != 1 or len(p) == 0 or not torch.isfinite(p).all() or (p <= 0).any():
            raise InvalidInputError(f"The 'priors' argument must be a 1-D array of positive finite numbers; got {priors!r}.")
        p = p / p.sum()
    return (tau * torch.log(p)).to(dtype=dtype, device=device)


class LogitAdjustedLoss(nn.Module):
    """Cross-entropy on logits shifted by ``tau * log(prior)`` (the loss form of logit adjustment).

    Parameters
    ----------
    labels : DataView, labelled torch Dataset, or array-like, optional
        Training labels to estimate the priors; or give ``priors``.
    priors : array-like of shape (K,), optional
    tau : float, default 1.0
    classes : array-like, optional
        The full class list in the order of the model's outputs.
    weight : torch.Tensor of shape (K,), optional
        Class weights, as in ``CrossEntropyLoss``.
    reduction : {"mean", "sum", "none"}, default "mean"
    label_smoothing : float, default 0.0

    Examples
    --------
    >>> loss_fn = LogitAdjustedLoss([0, 0, 0, 1])
    >>> logits = torch.zeros(2, 2, requires_grad=True)
    >>> loss = loss_fn(logits, torch.tensor([0, 1]))
    >>> loss.backward()
    >>> round(loss.item(), 4)
    0.837
    """

    def __init__(
        self,
        labels: Any = None,
        *,
        priors: Any = None,
        tau: float = 1.0,
        classes: Any = None,
        weight: torch.Tensor | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum", "none"))
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", low=0.0, high=1.0)
        self.register_buffer("adjustment", logit_adjustment(labels, priors=priors, tau=tau, classes=classes))
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of ``logits + adjustment`` against ``target``."""
        if logits.shape[-1] != len(self.adjustment):
            raise InvalidInputError(
                f"The logits have {logits.shape[-1]} classes but the loss was built for {len(self.adjustment)}."
            )
        adjusted = logits + self.adjustment.to(logits.dtype)
        return F.cross_entropy(adjusted, target, weight=self.weight, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)
