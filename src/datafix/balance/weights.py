"""Class weights from class frequencies: for samplers (who is drawn) and for losses (who counts).

Every method gives a weight per *sample of* a class, ``w_c``; a class's share of the draw is
then proportional to ``n_c * w_c``:

===============  ==========================================  ===============================
method           ``w_c``                                     class share of the draw
===============  ==========================================  ===============================
``"inverse"``    ``1 / n_c``                                 equal for every class
``"sqrt"``       ``1 / sqrt(n_c)``                           proportional to ``sqrt(n_c)``
``"power"``      ``n_c ** (1 / temperature - 1)``            proportional to ``n_c ** (1/T)``
``"effective"``  ``(1 - beta) / (1 - beta ** n_c)``          ``n_c`` over its effective number
``"none"``       ``1``                                       proportional to ``n_c``
===============  ==========================================  ===============================

``"effective"`` is the class-balanced weighting of Cui et al. (CVPR 2019): the effective number
of samples of a class is ``(1 - beta ** n_c) / (1 - beta)``; ``beta = 0`` is no reweighting and
``beta -> 1`` is inverse frequency. ``"power"`` is temperature sampling: ``temperature = 1``
keeps the natural frequencies, 2 is ``"sqrt"``, and large values approach ``"inverse"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from datafix._validation import check_choice, check_float
from datafix.data.classes import class_codes, class_counts
from datafix.errors import InvalidInputError

METHODS = ("inverse", "sqrt", "power", "effective", "none")


def per_class_weights(
    counts: np.ndarray, weighting: str = "inverse", *, temperature: float = 2.0, beta: float = 0.999
) -> np.ndarray:
    """Weight of one sample of each class (0 for a class with no samples), as in the table above.

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (K,)
        Samples per class.
    weighting : {"inverse", "sqrt", "power", "effective", "none"}, default "inverse"
        The rule, as in the module's table.
    temperature : float, default 2.0
        For ``"power"``: the class share of the draw is proportional to ``n_c ** (1 / temperature)``.
    beta : float, default 0.999
        For ``"effective"``, in [0, 1).

    Returns
    -------
    numpy.ndarray of float64, shape (K,)

    Examples
    --------
    >>> per_class_weights(np.array([100, 25, 0]), "sqrt").tolist()
    [0.1, 0.2, 0.0]
    """
    check_choice(weighting, "weighting", METHODS)
    temperature = check_float(temperature, "temperature", low=1e-3, high=1e6)
    beta = check_float(beta, "beta", low=0.0, high=1.0)
    if weighting == "effective" and beta >= 1.0:
        raise InvalidInputError("The 'beta' parameter must be in [0, 1) for weighting='effective'; 1 divides by zero.")
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    n = np.where(present, counts, 1.0)
    if weighting == "inverse":
        w = 1.0 / n
    elif weighting == "sqrt":
        w = 1.0 / np.sqrt(n)
    elif weighting == "power":
        w = n ** (1.0 / temperature - 1.0)
    elif weighting == "effective":
        w = (1.0 - beta) / -np.expm1(n * np.log(beta)) if beta > 0 else np.ones_like(n)
    else:
        w = np.ones_like(n)
    return np.where(present, w, 0.0)


def class_weights(
    labels: Any,
    weighting: str = "inverse",
    *,
    beta: float = 0.999,
    temperature: float = 2.0,
    classes: Any = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Per-class loss weights, ready for ``torch.nn.CrossEntropyLoss(weight=...)``.

    The weights are normalised so that their mean over the classes that have samples is 1
    (as in Cui et al.), which keeps the loss scale, and so the learning rate, unchanged.
    A class listed in ``classes`` with no sample gets weight 0 and a warning.

    Parameters
    ----------
    labels : DataView, labelled torch Dataset, or array-like of shape (n,)
        The training labels.
    weighting : {"inverse", "sqrt", "effective", "power", "none"}, default "inverse"
        See the table in ``datafix.balance.weights``.
    beta : float, default 0.999
        For ``"effective"``: 0.9 to 0.9999 in the paper; larger is closer to inverse frequency.
    temperature : float, default 2.0
        For ``"power"``.
    classes : array-like, optional
        The full class list in the order of the model's outputs. Default: the sorted classes
        present (the integers ``0..K-1`` when every class is present).
    dtype, device
        Of the returned tensor.

    Returns
    -------
    torch.Tensor of shape (K,)

    Examples
    --------
    >>> w = class_weights([0] * 90 + [1] * 10)
    >>> [round(v, 2) for v in w.tolist()]
    [0.2, 1.8]
    >>> loss = torch.nn.CrossEntropyLoss(weight=w)
    """
    codes, names = class_codes(labels, classes)
    counts = class_counts(codes, names)
    w = per_class_weights(counts, weighting, temperature=temperature, beta=beta)
    w = w / w[counts > 0].mean()
    return torch.as_tensor(w, dtype=dtype, device=device)
