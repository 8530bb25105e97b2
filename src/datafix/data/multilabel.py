"""Multilabel targets: the indicator-matrix check and per-label imbalance statistics (IRLbl, MeanIR, SCUMBLE).

Label data, not a rebalancing lever: the audit's ``label_imbalance`` check and
:mod:`datafix.balance` both read them from here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datafix.errors import InvalidInputError, warn_user


def check_multilabel(Y: Any, *, name: str = "Y", warn: bool = True) -> np.ndarray:
    """``Y`` as a boolean (n, L) matrix; warn about rows without labels and labels never present.

    Examples
    --------
    >>> check_multilabel([[1, 0], [1, 1]]).tolist()
    [[True, False], [True, True]]
    """
    if hasattr(Y, "detach") and hasattr(Y, "cpu"):  # a torch tensor
        Y = Y.detach().cpu().numpy()
    Y = np.asarray(Y.to_numpy() if isinstance(Y, pd.DataFrame) else Y)
    if Y.ndim != 2 or Y.shape[0] == 0 or Y.shape[1] == 0:
        raise InvalidInputError(f"The {name!r} argument must be a non-empty (n_samples, n_labels) matrix; got shape {Y.shape}.")
    if Y.dtype != bool:
        if Y.dtype.kind not in "iuf" or not np.isin(Y, (0, 1)).all():
            raise InvalidInputError(f"The {name!r} argument must hold 0/1 (or bool) indicators.")
        Y = Y.astype(bool)
    if warn:
        empty_rows = ~Y.any(axis=1)
        if empty_rows.any():
            warn_user(f"{int(empty_rows.sum())} samples of {name!r} have no label; they are never drawn "
                          "by label and only count as negatives.")
        absent = ~Y.any(axis=0)
        if absent.any():
            warn_user(f"Labels {np.flatnonzero(absent).tolist()[:10]} of {name!r} are never present.")
    return Y


@dataclass(frozen=True)
class MultilabelImbalance:
    """What :func:`multilabel_imbalance` measures: a table per label and the dataset's measures.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per label: ``count``, ``share`` (of samples), ``irlbl`` (largest label count /
        this count), ``scumble`` (how much this label co-occurs with labels of very different
        frequency, mean over its samples).
    mean_ir : float
        MeanIR, the mean IRLbl of the labels present.
    cvir : float
        The coefficient of variation of the IRLbl.
    scumble : float
        SCUMBLE of the dataset (mean over the samples).
    samples_without_label : int
        Samples that carry no label.

    Examples
    --------
    >>> m = multilabel_imbalance([[1, 0], [1, 1]])
    >>> m.table["count"].tolist(), m.mean_ir, m.samples_without_label
    ([2, 1], 1.5, 0)
    """

    table: pd.DataFrame
    mean_ir: float
    cvir: float
    scumble: float
    samples_without_label: int

    @property
    def minority(self) -> np.ndarray:
        """Whether each label is a minority label: its IRLbl is finite and above MeanIR."""
        irlbl = self.table["irlbl"].to_numpy()
        return np.isfinite(irlbl) & (irlbl > self.mean_ir)


def multilabel_imbalance(Y: Any, label_names: Any = None) -> MultilabelImbalance:
    """Per-label imbalance table and the dataset's measures (Charte et al.).

    The table's columns: ``count``, ``share`` (of samples), ``irlbl`` (largest label count /
    this count), ``scumble`` (how much this label co-occurs with labels of very different
    frequency, mean over its samples); the dataset's measures: ``mean_ir``, ``cvir``,
    ``scumble``, ``samples_without_label`` (a ``datafix.data.multilabel.MultilabelImbalance``).

    Parameters
    ----------
    Y : array-like of shape (n, L)
        The 0/1 label matrix.
    label_names : sequence of str, optional
        The table's index (default: 0 .. L-1).

    Examples
    --------
    >>> m = multilabel_imbalance([[1, 0], [1, 0], [1, 1], [1, 0]], label_names=["cat", "rare"])
    >>> m.table["irlbl"].tolist(), m.mean_ir, m.minority.tolist()
    ([1.0, 4.0], 2.5, [False, True])
    """
    Y = check_multilabel(Y, warn=False)
    counts = Y.sum(axis=0)
    irlbl = np.where(counts > 0, counts.max() / np.maximum(counts, 1), np.inf)
    present = counts > 0
    mean_ir = float(irlbl[present].mean())
    cvir = float(irlbl[present].std(ddof=1) / mean_ir) if present.sum() > 1 else 0.0
    # SCUMBLE per sample: 1 - geometric mean / arithmetic mean of its labels' IRLbl
    ir = np.where(Y & present, irlbl, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gmean = np.exp(np.nanmean(np.log(ir), axis=1))
        scumble_i = np.where(Y.any(axis=1), 1.0 - gmean / np.nanmean(ir, axis=1), 0.0)
        per_label = np.array([scumble_i[Y[:, j]].mean() if counts[j] else np.nan for j in range(Y.shape[1])])
    names = list(label_names) if label_names is not None else list(range(Y.shape[1]))
    if len(names) != Y.shape[1]:
        raise InvalidInputError(f"The 'label_names' argument has {len(names)} names for {Y.shape[1]} labels.")
    table = pd.DataFrame({"count": counts, "share": counts / len(Y), "irlbl": irlbl, "scumble": per_label},
                         index=pd.Index(names, name="label"))
    return MultilabelImbalance(table, mean_ir, cvir, float(scumble_i.mean()), int((~Y.any(axis=1)).sum()))


def check_multilabel_targets(multilabel: Any, n: int) -> tuple[list[Any], np.ndarray]:
    """The audit's ``multilabel`` argument as (label names, boolean matrix) for ``n`` samples.

    Examples
    --------
    >>> names, Y = check_multilabel_targets(pd.DataFrame({"cat": [1, 0], "dog": [1, 1]}), 2)
    >>> names, Y.tolist()
    (['cat', 'dog'], [[True, True], [False, True]])
    """
    names = list(multilabel.columns) if isinstance(multilabel, pd.DataFrame) else None
    Y = check_multilabel(multilabel, name="multilabel", warn=False)
    if len(Y) != n:
        raise InvalidInputError(f"The 'multilabel' argument has {len(Y)} rows for {n} samples.")
    return names if names is not None else list(range(Y.shape[1])), Y
