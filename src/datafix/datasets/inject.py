"""Make dirty versions of clean data, keeping the ground truth of everything injected."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from datafix._validation import (
    RandomState,
    check_choice,
    check_float,
    check_int,
    check_random_state,
)
from datafix.data.labels import encode_labels
from datafix.datasets.noise import NOISE_TYPES, flip_labels, noise_matrix
from datafix.errors import InvalidInputError


@dataclass(frozen=True)
class InjectedData:
    """A dataset with injected problems and the truth about each sample.

    Attributes
    ----------
    X : numpy.ndarray of shape (n, d)
        Features (duplicates and outliers appended after the original rows).
    y : numpy.ndarray of shape (n,)
        Given (noisy) labels, in the original label values.
    y_true : numpy.ndarray of shape (n,)
        True labels (for an injected outlier: the label it was given).
    is_label_error : numpy.ndarray of bool
        ``y != y_true``.
    is_duplicate : numpy.ndarray of bool
        Rows appended as copies of another row.
    duplicate_of : numpy.ndarray of int64
        The copied row's position, -1 for rows that are not copies.
    is_outlier : numpy.ndarray of bool
        Rows appended far from the data.
    noise_matrix : numpy.ndarray of shape (K, K)
        ``P(given | true)`` used to flip labels (identity without noise).
    feature_names : list of str
    name : str
    """

    X: np.ndarray
    y: np.ndarray
    y_true: np.ndarray
    is_label_error: np.ndarray
    is_duplicate: np.ndarray
    duplicate_of: np.ndarray
    is_outlier: np.ndarray
    noise_matrix: np.ndarray
    feature_names: list[str]
    name: str = "data"

    def __len__(self) -> int:
        return len(self.y)

    def frame(self, label: str = "label") -> pd.DataFrame:
        """The data as a DataFrame: feature columns and the given labels in column ``label``.

        Examples
        --------
        >>> from datafix.datasets import load_noisy
        >>> load_noisy("iris", noise=0.1).frame().columns[-1]
        'label'
        """
        df = pd.DataFrame(self.X, columns=self.feature_names)
        df[label] = self.y
        return df


def make_noisy(
    X: np.ndarray,
    y: np.ndarray,
    *,
    noise: float = 0.0,
    noise_type: str = "symmetric",
    matrix: np.ndarray | None = None,
    imbalance: float | None = None,
    n_duplicates: int = 0,
    n_outliers: int = 0,
    feature_names: list[str] | None = None,
    name: str = "data",
    random_state: RandomState = 0,
) -> InjectedData:
    """Inject long-tail imbalance, label noise, duplicates and outliers into clean ``(X, y)``.

    Steps, in order: subsample classes to a long tail (``imbalance``), flip labels (``noise`` /
    ``matrix``), append exact copies of random rows (``n_duplicates``, with their noisy labels),
    append outliers (``n_outliers``: points 6 to 10 standard deviations from the mean on every
    feature, with random labels).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
        Clean features.
    y : numpy.ndarray of shape (n,)
        Clean labels.
    noise : float in [0, 1), default 0
        Share of labels to flip.
    noise_type : {"symmetric", "class_conditional", "by_frequency"}, default "symmetric"
        See :func:`datafix.datasets.noise_matrix`.
    matrix : numpy.ndarray of shape (K, K), optional
        Your own column-stochastic noise matrix; overrides ``noise`` and ``noise_type``.
    imbalance : float >= 1, optional
        Ratio of the largest to the smallest class; class sizes fall off exponentially (class
        order: by label).
    n_duplicates, n_outliers : int, default 0
        Exact copies and outliers to append.
    feature_names : list of str, optional
        Column names (default ``x0, x1, ...``).
    name : str, default "data"
        Recorded as ``InjectedData.name``.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of every random draw.

    Returns
    -------
    InjectedData

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> data = make_noisy(X, y, noise=0.2, n_duplicates=5, n_outliers=3, random_state=0)
    >>> len(data), int(data.is_duplicate.sum()), int(data.is_outlier.sum())
    (158, 5, 3)
    """
    rng = check_random_state(random_state)
    X = np.asarray(X, dtype=np.float64)
    codes, classes = encode_labels(y, name="y")
    if len(X) != len(codes):
        raise InvalidInputError(f"X has {len(X)} rows but y has {len(codes)} labels.")
    n_duplicates = check_int(n_duplicates, "n_duplicates", minimum=0)
    n_outliers = check_int(n_outliers, "n_outliers", minimum=0)
    if matrix is None:  # checked here, so that an error names the parameters the caller passed
        noise = check_float(noise, "noise", low=0.0, high=0.999)
        check_choice(noise_type, "noise_type", NOISE_TYPES)
    k = len(classes)

    if imbalance is not None:
        keep = long_tail_subset(codes, check_float(imbalance, "imbalance", low=1.0, high=1e6), random_state=rng)
        X, codes = X[keep], codes[keep]
    T = (noise_matrix(k, noise, noise_type, class_counts=np.bincount(codes, minlength=k), random_state=rng)
         if matrix is None else np.asarray(matrix, float))
    noisy = flip_labels(codes, T, random_state=rng)
    n = len(codes)
    dup_src = rng.choice(n, size=n_duplicates, replace=n_duplicates > n) if n_duplicates else np.empty(0, int)
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-12
    sign = rng.choice([-1.0, 1.0], size=(n_outliers, X.shape[1]))
    outliers = mean + sign * rng.uniform(6.0, 10.0, size=(n_outliers, X.shape[1])) * std
    out_labels = rng.integers(0, k, size=n_outliers)

    X_all = np.vstack([X, X[dup_src], outliers])
    true_all = np.concatenate([codes, codes[dup_src], out_labels])
    given_all = np.concatenate([noisy, noisy[dup_src], out_labels])
    m = len(X_all)
    is_dup = np.zeros(m, bool)
    is_dup[n : n + n_duplicates] = True
    dup_of = np.full(m, -1, np.int64)
    dup_of[n : n + n_duplicates] = dup_src
    is_out = np.zeros(m, bool)
    is_out[n + n_duplicates :] = True
    return InjectedData(
        X=X_all,
        y=classes[given_all],
        y_true=classes[true_all],
        is_label_error=given_all != true_all,
        is_duplicate=is_dup,
        duplicate_of=dup_of,
        is_outlier=is_out,
        noise_matrix=T,
        feature_names=list(feature_names) if feature_names is not None else [f"x{j}" for j in range(X.shape[1])],
        name=name,
    )


def long_tail_subset(labels: np.ndarray, ratio: float, *, random_state: RandomState = 0) -> np.ndarray:
    """Positions of a long-tailed subsample: class c keeps ``n_max * ratio**(-c / (K - 1))`` samples.

    ``n_max`` is the size of the smallest class, so every class can supply its share; every
    class keeps at least one sample. Returned positions are sorted.

    Parameters
    ----------
    labels : numpy.ndarray
        One class per sample.
    ratio : float
        Largest over smallest class size in the subset.
    random_state : int or numpy.random.Generator, default 0
        Seed of which samples each class keeps.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat([0, 1, 2], 100)
    >>> np.bincount(y[long_tail_subset(y, 10.0)]).tolist()
    [100, 32, 10]
    """
    rng = check_random_state(random_state)
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    k = len(classes)
    n_max = counts.min()
    keep = []
    for c_idx, c in enumerate(classes):
        target = max(1, int(round(n_max * ratio ** (-c_idx / max(k - 1, 1)))))
        members = np.flatnonzero(labels == c)
        keep.append(rng.choice(members, size=target, replace=False))
    return np.sort(np.concatenate(keep))
