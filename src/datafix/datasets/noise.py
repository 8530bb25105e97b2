"""Label noise: noise matrices and label flips drawn from them."""

from __future__ import annotations

import numpy as np

from datafix._validation import (
    RandomState,
    check_choice,
    check_float,
    check_int,
    check_random_state,
)
from datafix.errors import InvalidInputError

NOISE_TYPES = ("symmetric", "class_conditional", "by_frequency")


def noise_matrix(
    n_classes: int, rate: float, kind: str = "symmetric", *, concentration: float = 0.3,
    class_counts: np.ndarray | None = None, random_state: RandomState = 0,
) -> np.ndarray:
    """A column-stochastic noise matrix ``T[i, j] = P(given label i | true label j)``.

    Parameters
    ----------
    n_classes : int
        K >= 2.
    rate : float in [0, 1)
        Share of each class's labels that are flipped (``1 - T[j, j]``).
    kind : {"symmetric", "class_conditional", "by_frequency"}, default "symmetric"
        Symmetric: a flipped label goes to any other class with equal chance. Class-conditional:
        each class flips towards a few classes, with shares drawn from a Dirichlet of
        ``concentration`` (small values concentrate the flips, as real confusions do).
        By frequency: a flipped label goes to another class in proportion to that class's
        count (annotators reach for common classes), so on long-tailed data a rare class
        receives few wrong labels and most of its given labels stay right; the other kinds can
        send a tail class more wrong labels than it has samples. With two classes it is
        ``"symmetric"``.
    concentration : float, default 0.3
        Dirichlet concentration for ``"class_conditional"``.
    class_counts : array-like of shape (K,), optional
        Samples per true class; required by ``"by_frequency"``.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of every random draw.

    Returns
    -------
    numpy.ndarray of shape (K, K)
        Columns sum to 1.

    Examples
    --------
    >>> T = noise_matrix(3, 0.2)
    >>> T.round(2).tolist()
    [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    >>> noise_matrix(3, 0.2, "by_frequency", class_counts=[80, 15, 5]).round(2).tolist()
    [[0.8, 0.19, 0.17], [0.15, 0.8, 0.03], [0.05, 0.01, 0.8]]
    """
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    rate = check_float(rate, "rate", low=0.0, high=0.999)
    check_choice(kind, "kind", NOISE_TYPES)
    rng = check_random_state(random_state)
    counts = _class_counts(class_counts, n_classes) if kind == "by_frequency" else None
    T = np.zeros((n_classes, n_classes))
    for j in range(n_classes):
        others = np.delete(np.arange(n_classes), j)
        if kind == "symmetric":
            share = np.full(n_classes - 1, 1.0 / (n_classes - 1))
        elif kind == "by_frequency":
            share = counts[others] / counts[others].sum()
        else:
            share = rng.dirichlet(np.full(n_classes - 1, concentration))
        T[others, j] = rate * share
        T[j, j] = 1.0 - rate
    return T


def _class_counts(class_counts, n_classes: int) -> np.ndarray:
    if class_counts is None:
        raise InvalidInputError("kind='by_frequency' needs the 'class_counts' argument (samples per true class).")
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.shape != (n_classes,) or not np.isfinite(counts).all() or (counts < 0).any():
        raise InvalidInputError(f"The 'class_counts' argument must hold {n_classes} finite counts >= 0; "
                                f"got {np.asarray(class_counts).tolist()!r}.")
    if np.count_nonzero(counts) < 2:
        raise InvalidInputError("The 'class_counts' argument needs at least two classes with samples.")
    return counts


def flip_labels(labels: np.ndarray, matrix: np.ndarray, *, random_state: RandomState = 0) -> np.ndarray:
    """Draw noisy labels: sample ``i`` with true label ``j`` gets label ``c`` with chance ``matrix[c, j]``.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (n,)
        True label codes ``0..K-1``.
    matrix : numpy.ndarray of shape (K, K)
        A column-stochastic noise matrix (see :func:`noise_matrix`).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of every random draw.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        A new array; ``labels`` is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.zeros(1000, dtype=int)
    >>> noisy = flip_labels(y, noise_matrix(2, 0.3, random_state=0), random_state=0)
    >>> 0.25 < (noisy != y).mean() < 0.35
    np.True_
    """
    labels = np.asarray(labels, dtype=np.int64)
    T = np.asarray(matrix, dtype=np.float64)
    k = T.shape[0]
    if T.shape != (k, k) or not np.allclose(T.sum(axis=0), 1.0) or (T < 0).any():
        raise InvalidInputError(
            f"The 'matrix' argument must be a square column-stochastic matrix (columns sum to 1); got shape {T.shape}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise InvalidInputError(f"The 'labels' argument must hold codes in [0, {k}); got {labels.min()}..{labels.max()}.")
    rng = check_random_state(random_state)
    cdf = np.cumsum(T, axis=0)[:, labels]  # (K, n): column i is the CDF for sample i
    u = rng.random(labels.size)
    return np.minimum((u[None, :] > cdf).sum(axis=0), k - 1).astype(np.int64)
