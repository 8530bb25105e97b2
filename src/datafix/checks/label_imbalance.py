"""Label imbalance for multilabel data: samples that carry a rare label.

A label is rare when its IRLbl (largest label count / its count) is above the mean IRLbl
(MeanIR, Charte et al.) and at least ``min_ratio`` (default ``BALANCED_RATIO``, 3: below it the
advice says no rebalancing is needed, so a nearly balanced set has no rare label); a sample
carrying a rare label is flagged ``is_rare_label``, scored by
the rarest of its labels (``1 / IRLbl``, lower = rarer). The ``labels`` table has one row per
label: counts, IRLbl, SCUMBLE and ``is_rare``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datafix._validation import Interval
from datafix.checks.advice import BALANCED_RATIO, rebalancing_advice
from datafix.checks.registry import CheckResult, register_check
from datafix.data.multilabel import multilabel_imbalance
from datafix.signals.bundle import Signals


@register_check(
    "label_imbalance",
    requires=("multilabel",),
    flag="is_rare_label",
    score="rare_label_score",
    description="samples that carry a rare label (multilabel)",
    tasks=("multilabel",),
    params={"min_ratio": Interval(float, 1.0)},
)
def label_imbalance_check(signals: Signals, *, min_ratio: float = BALANCED_RATIO) -> CheckResult:
    """Flag samples that carry a rare label; the ``labels`` table has one row per label.

    Parameters
    ----------
    signals : Signals
        The audit's shared signals (the label matrix).
    min_ratio : float, default 3.0
        A rare label's IRLbl is above MeanIR and at least this.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> Y = np.array([[1, 0]] * 20 + [[1, 1]] * 2)
    >>> out = label_imbalance_check(Signals(None, 0, multilabel=Y.astype(bool), verbose=False))
    >>> int(out.columns["is_rare_label"].sum()), out.tables["labels"]["is_rare"].tolist()
    (2, [False, True])
    """
    Y = signals.multilabel
    imbalance = multilabel_imbalance(Y, label_names=signals.label_names)
    table = imbalance.table
    irlbl = table["irlbl"].to_numpy()
    minority = imbalance.minority & (irlbl >= min_ratio)
    table["is_rare"] = minority
    relative = np.where(np.isfinite(irlbl), 1.0 / irlbl, np.nan)
    carried = np.where(Y, relative, np.inf).min(axis=1)
    columns = pd.DataFrame({"is_rare_label": (Y & minority).any(axis=1),
                            "rare_label_score": np.where(np.isfinite(carried), carried, np.nan)})
    rule = (f"a label is rare when its IRLbl (largest label count / its count) is above MeanIR = "
            f"{imbalance.mean_ir:.3g} and at least {min_ratio:g}; CVIR {imbalance.cvir:.3g}, SCUMBLE "
            f"{imbalance.scumble:.3g}, {imbalance.samples_without_label} samples without a label")
    return CheckResult(columns, rule, {"labels": table}, rebalancing_advice(table["count"].to_numpy(), multilabel=True))
