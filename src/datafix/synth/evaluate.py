"""Is the synthetic data any good? Fidelity, utility and privacy measures in one table.

- **Utility**: train-on-synthetic-test-on-real (TSTR) against train-on-real (TRTR), balanced
  accuracy of the same classifier on the same real test set.
- **Fidelity**: per-column distance (Kolmogorov-Smirnov statistic for numeric columns, total
  variation for categorical ones, over the union of categories, so values unseen on one side
  count fully), and the mean absolute difference of the numeric correlation matrices.
- **Privacy / copying**: each synthetic row's distance to its closest real row (standardised
  features, one-hot categories), relative to the real rows' own nearest-neighbour distances;
  the share of synthetic rows closer than ``copy_distance`` x the median real one is reported,
  and should be about 0.
- **Detectability**: cross-validated AUC of a classifier telling real from synthetic rows
  (0.5 means indistinguishable). On small tables it can fall well below 0.5: a held-out real
  row is surrounded by synthetic rows generated from it, so read values under 0.5 as "no
  better than chance, and hugging the real rows" (check ``median_dcr`` and ``copy_share``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from datafix._validation import check_float
from datafix.errors import InvalidInputError
from datafix.signals.neighbors import knn_graph, knn_query
from datafix.synth._table import split_frame, table_roles


@dataclass(frozen=True)
class SynthQuality:
    """The measures of :func:`evaluate`.

    Attributes
    ----------
    summary : dict
        ``tstr_balanced_accuracy``, ``trtr_balanced_accuracy``, ``mean_column_distance``,
        ``correlation_difference`` (only with two numeric columns or more), ``median_dcr``
        (relative), ``copy_share``, ``detection_auc``.
    columns : pandas.DataFrame
        Per column: ``kind``, ``distance`` (KS or total variation).
    dcr : numpy.ndarray
        Each synthetic row's distance to its closest real row, over the median real-to-real
        nearest-neighbour distance.
    notes : dict
        Why a measure is not in ``summary`` (measure: reason).
    """

    summary: dict
    columns: pd.DataFrame
    dcr: np.ndarray
    notes: dict = field(default_factory=dict)


def evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, labels: Any, *, test: pd.DataFrame | None = None,
             copy_distance: float = 0.05, classifier: Any = None, random_state: int = 0) -> SynthQuality:
    """Measure ``synthetic`` against ``real`` (both DataFrames with the same columns).

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Same columns, including ``labels``.
    labels : column name
        The label column of both frames.
    test : pandas.DataFrame, optional
        Held-out real rows for TSTR / TRTR; default: a stratified third of ``real`` (the other
        two thirds are then the training real rows).
    copy_distance : float, default 0.05
        A synthetic row closer to a real row than this fraction of the median real-to-real
        nearest-neighbour distance counts as a copy.
    classifier : scikit-learn classifier, optional
        For TSTR / TRTR and detection (cloned). Default: a random forest of 200 trees, which
        also works on the few rows of a rare class.
    random_state : int, default 0
        Seed of the train/test split and the classifiers.

    Returns
    -------
    SynthQuality

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"x": rng.normal(size=300), "y": rng.choice([0, 1], 300)})
    >>> real["x"] += real["y"] * 2
    >>> fake = real.sample(frac=1.0, random_state=1).assign(x=lambda d: d["x"] + rng.normal(0, 0.3, 300))
    >>> q = evaluate(real, fake, "y")
    >>> q.summary["copy_share"] < 0.2, q.summary["tstr_balanced_accuracy"] > 0.7
    (True, True)
    >>> q.notes["correlation_difference"]
    "left out: it compares the correlations between numeric columns, and the table has 1 ('x')"
    """
    from sklearn.base import clone
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

    copy_distance = check_float(copy_distance, "copy_distance", low=0.0, high=10.0)
    label = labels
    roles = table_roles(real, label) if isinstance(real, pd.DataFrame) and label in real.columns else None
    Xr, yr, numeric, categorical = split_frame(real, label, roles)
    Xs, ys, _, _ = split_frame(synthetic, label, roles)
    missing = set(Xr.columns) ^ set(Xs.columns)
    if missing:
        raise InvalidInputError(f"The real and synthetic frames differ in columns {sorted(map(str, missing))}.")
    Xs = Xs[Xr.columns]
    if len(Xs) == 0:
        raise InvalidInputError("The 'synthetic' frame is empty.")
    rows = []
    for c in numeric:
        a, b = Xr[c].dropna().to_numpy(float), pd.to_numeric(Xs[c], errors="coerce").dropna().to_numpy(float)
        rows.append((c, "numeric", ks_2samp(a, b).statistic if len(a) and len(b) else 1.0))
    for c in categorical:
        p = Xr[c].astype(object).where(Xr[c].notna(), None).value_counts(normalize=True, dropna=False)
        q = Xs[c].astype(object).where(Xs[c].notna(), None).value_counts(normalize=True, dropna=False)
        union = p.index.union(q.index)
        rows.append((c, "categorical", 0.5 * float(np.abs(p.reindex(union, fill_value=0) - q.reindex(union, fill_value=0)).sum())))
    columns = pd.DataFrame(rows, columns=["column", "kind", "distance"]).set_index("column")

    measures, notes = {}, {}
    if len(numeric) > 1:
        cr = Xr[numeric].corr().to_numpy()
        cs = Xs[numeric].apply(pd.to_numeric, errors="coerce").corr().to_numpy()
        measures["correlation_difference"] = float(np.nanmean(np.abs(cr - cs)[np.triu_indices(len(numeric), 1)]))
    else:
        notes["correlation_difference"] = (
            f"left out: it compares the correlations between numeric columns, and the table has {len(numeric)}"
            + (f" ({str(numeric[0])!r})" if numeric else ""))

    encode = _Encoder(Xr, numeric, categorical)
    R, S = encode(Xr), encode(Xs)
    real_nn = knn_graph(R, 1, standardize=False).distances[:, 0]
    scale = float(np.median(real_nn)) or 1.0
    dcr = knn_query(R, S, 1, standardize=False).distances[:, 0] / scale

    if test is None:
        train_real, test_real = train_test_split(real, test_size=1 / 3, stratify=yr, random_state=random_state)
    else:
        train_real, test_real = real, test
    Xtr, ytr, _, _ = split_frame(train_real, label, roles)
    Xte, yte, _, _ = split_frame(test_real, label, roles)
    base = classifier if classifier is not None else RandomForestClassifier(n_estimators=200, random_state=random_state)
    trtr = balanced_accuracy_score(yte.astype(str), clone(base).fit(encode(Xtr), ytr.astype(str)).predict(encode(Xte)))
    tstr = balanced_accuracy_score(yte.astype(str), clone(base).fit(S, ys.astype(str)).predict(encode(Xte)))

    both = np.vstack([R, S])
    is_synth = np.r_[np.zeros(len(R)), np.ones(len(S))]
    from sklearn.metrics import roc_auc_score

    # shuffled folds: the frames come in their own (e.g. class) order, and unshuffled folds would
    # mix that order into the real-vs-synthetic signal
    folds = StratifiedKFold(3, shuffle=True, random_state=random_state)
    proba = cross_val_predict(clone(base), both, is_synth, cv=folds, method="predict_proba")[:, 1]
    summary = {
        "tstr_balanced_accuracy": float(tstr),
        "trtr_balanced_accuracy": float(trtr),
        "mean_column_distance": float(columns["distance"].mean()),
        **measures,
        "median_dcr": float(np.median(dcr)),
        "copy_share": float((dcr < copy_distance).mean()),
        "detection_auc": float(roc_auc_score(is_synth, proba)),
    }
    return SynthQuality(summary, columns, dcr, notes)


class _Encoder:
    """Standardised numeric columns (NaN -> column median) and one-hot categories of the real data."""

    def __init__(self, X: pd.DataFrame, numeric: list, categorical: list) -> None:
        self.numeric, self.categorical = numeric, categorical
        num = X[numeric].to_numpy(float) if numeric else np.zeros((len(X), 0))
        self.median = np.nanmedian(num, axis=0) if numeric else np.zeros(0)
        self.median = np.where(np.isnan(self.median), 0.0, self.median)
        filled = np.where(np.isnan(num), self.median, num)
        self.mean, self.std = filled.mean(0), filled.std(0)
        self.std[self.std == 0] = 1.0
        self.categories = {c: list(pd.unique(X[c].astype(object).where(X[c].notna(), None))) for c in categorical}

    def __call__(self, X: pd.DataFrame) -> np.ndarray:
        parts = []
        if self.numeric:
            num = X[self.numeric].apply(pd.to_numeric, errors="coerce").to_numpy(float)
            parts.append((np.where(np.isnan(num), self.median, num) - self.mean) / self.std)
        for c, cats in self.categories.items():
            col = X[c].astype(object).where(X[c].notna(), None).to_numpy()
            parts.append(np.column_stack([col == v for v in cats]).astype(float))  # unseen values: all zeros
        return np.hstack(parts) if parts else np.zeros((len(X), 0))
