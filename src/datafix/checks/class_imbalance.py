"""Class imbalance: per-class counts and shares, the imbalance ratio, rare classes.

A class is rare when its share is below ``threshold x 1/K`` (default 0.1, Datalab's rule); its
samples are flagged ``is_class_imbalance``. ``class_imbalance_score = min(1, share x K)``. The
``classes`` table also gives the effective number of samples ``(1 - beta^n) / (1 - beta)``
(Cui et al. 2019), which class-balanced losses weight by.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datafix._validation import Interval
from datafix.checks.advice import rebalancing_advice
from datafix.checks.registry import CheckResult, register_check
from datafix.signals.bundle import Signals


def effective_number(counts: np.ndarray, beta: float = 0.999) -> np.ndarray:
    """Effective number of samples per class, ``(1 - beta**n) / (1 - beta)``.

    Parameters
    ----------
    counts : numpy.ndarray
        Samples per class.
    beta : float, default 0.999
        Cui et al.'s beta, in [0, 1).

    Examples
    --------
    >>> effective_number(np.array([1, 10, 10000]), beta=0.9).round(2).tolist()
    [1.0, 6.51, 10.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    return (1.0 - beta**counts) / (1.0 - beta)


PARAMS = {"threshold": Interval(float, 0.0, 1.0), "beta": Interval(float, 0.0, 0.999999)}


@register_check(
    "class_imbalance",
    requires=("labels",),
    flag="is_class_imbalance",
    score="class_imbalance_score",
    description="samples of classes far rarer than average",
    params=PARAMS,
)
def imbalance_check(signals: Signals, *, threshold: float = 0.1, beta: float = 0.999) -> CheckResult:
    """Flag samples of rare classes; the ``classes`` table has one row per class.

    Parameters
    ----------
    signals : Signals
        The audit's shared signals (labels).
    threshold : float, default 0.1
        A class is rare below ``threshold x 1/K`` of the samples.
    beta : float, default 0.999
        For the effective number of samples.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> y = np.array([0] * 95 + [1] * 100 + [2] * 5)
    >>> out = imbalance_check(Signals(y, 3, classes=np.array(["a", "b", "c"]), verbose=False))
    >>> int(out.columns["is_class_imbalance"].sum()), out.tables["classes"].loc["c", "is_rare"]
    (5, np.True_)
    """
    labels = signals.labels
    k = signals.n_classes
    counts = np.bincount(labels[labels >= 0], minlength=k)
    share = counts / max(int(counts.sum()), 1)
    rare = share < threshold / k
    present = counts[counts > 0]
    ratio = float(present.max() / present.min()) if len(present) else float("nan")
    table = pd.DataFrame(
        {
            "count": counts,
            "share": share,
            "is_rare": rare,
            "effective_number": effective_number(counts, beta),
        },
        index=pd.Index(list(signals.classes), name="class"),
    )
    known = labels >= 0  # an unlabelled sample belongs to no class
    at = np.maximum(labels, 0)
    out = pd.DataFrame({"is_class_imbalance": known & rare[at],
                        "class_imbalance_score": np.where(known, np.minimum(1.0, share[at] * k), np.nan)})
    rule = (f"class share below {threshold} x 1/K = {threshold / k:.4g}; "
            f"imbalance ratio (largest / smallest class) {ratio:.3g}")
    kind = "images" if signals.image_stats is not None else "table" if signals.table is not None else None
    return CheckResult(out, rule, {"classes": table}, rebalancing_advice(counts, kind=kind))
