"""The Ray engine's K-fold probe that never gathers its training rows: a linear discriminant.

A linear discriminant (Gaussian classes with one shared covariance, scikit-learn's
``LinearDiscriminantAnalysis(solver="lsqr")``) is fitted from sums alone: per fold and class the
row count and the sum of the features, and per fold the sum of outer products. Every block adds
its rows' sums (:func:`lda_sums_block`), the driver adds the blocks' sums (a few MB: ``cv`` x
``(K d + d^2)`` numbers, whatever the number of rows), and the model of fold ``f`` is the one
fitted on the sums of the other folds (:func:`lda_models`), exactly as scikit-learn would fit it
on those rows. Each row is then predicted by the model of its own fold (:func:`lda_predict_block`):
out-of-sample probabilities for every row, from every row, in two passes over the blocks.

A row's fold is a hash of its row id and the seed (:func:`fold_of`), so it does not depend on
how the rows are split into blocks. Nothing here imports Ray.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from datafix.scale.blocks import CODE, FEATURES, PROBS, ROW


def fold_of(row_ids: np.ndarray, cv: int, seed: int) -> np.ndarray:
    """Each row's fold in ``0 .. cv - 1``: a SplitMix64 hash of its id and ``seed``.

    Examples
    --------
    >>> fold_of(np.arange(6), 3, 0).tolist()
    [1, 2, 1, 0, 1, 2]
    >>> np.bincount(fold_of(np.arange(100_000), 5, 0)).tolist()
    [20036, 20102, 20136, 19964, 19762]
    """
    with np.errstate(over="ignore"):
        z = np.asarray(row_ids, np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) \
            + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(cv)).astype(np.int64)


@dataclass
class LDASums:
    """Per fold: rows per class ``(cv, K)``, feature sums per class ``(cv, K, d)`` and the sum of
    outer products ``(cv, d, d)``, of features centred on ``center`` (for accuracy)."""

    counts: np.ndarray
    sums: np.ndarray
    outer: np.ndarray

    def __add__(self, other: LDASums) -> LDASums:
        return LDASums(self.counts + other.counts, self.sums + other.sums, self.outer + other.outer)


def lda_sums_block(batch: dict[str, np.ndarray], n_classes: int, cv: int, seed: int, center: np.ndarray
                   ) -> dict[str, list]:
    """One block's :class:`LDASums` (pickled, one row): its labelled rows (code >= 0) only."""
    X = np.asarray(batch[FEATURES], np.float64) - center
    codes, folds = np.asarray(batch[CODE]), fold_of(batch[ROW], cv, seed)
    d = X.shape[1]
    sums = LDASums(np.zeros((cv, n_classes)), np.zeros((cv, n_classes, d)), np.zeros((cv, d, d)))
    for f in range(cv):
        rows = (folds == f) & (codes >= 0)
        Xf, cf = X[rows], codes[rows]
        sums.counts[f] = np.bincount(cf, minlength=n_classes)
        np.add.at(sums.sums[f], cf, Xf)
        sums.outer[f] = Xf.T @ Xf
    return {"sums": [pickle.dumps(sums)]}


def lda_models(total: LDASums) -> tuple[np.ndarray, np.ndarray]:
    """The linear discriminant of each fold, fitted on the other folds' sums as scikit-learn's
    ``LinearDiscriminantAnalysis(solver="lsqr")`` fits it (priors from the counts, the classes'
    pooled biased covariance, coefficients by least squares): ``(coef (cv, K, d), intercept
    (cv, K))``, in centred coordinates. A class with no training row gets intercept -inf.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [4.0], [5.0], [0.5], [4.5]])
    >>> batch = {FEATURES: X, CODE: np.array([0, 0, 1, 1, 0, 1]), ROW: np.arange(6)}
    >>> total = pickle.loads(lda_sums_block(batch, 2, 2, 0, X.mean(0))["sums"][0])
    >>> coef, intercept = lda_models(total)
    >>> coef.shape, intercept.shape
    ((2, 2, 1), (2, 2))
    """
    cv = len(total.counts)
    if cv < 2:
        raise ValueError("cv must be at least 2 (a fold's model is fitted on the other folds)")
    K, d = total.sums.shape[1:]
    coef, intercept = np.zeros((cv, K, d)), np.full((cv, K), -np.inf)
    all_counts, all_sums, all_outer = total.counts.sum(0), total.sums.sum(0), total.outer.sum(0)
    for f in range(cv):
        counts = all_counts - total.counts[f]
        sums, outer = all_sums - total.sums[f], all_outer - total.outer[f]
        n, seen = counts.sum(), counts > 0
        if n == 0:
            continue
        means = sums[seen] / counts[seen, None]
        covariance = (outer - (means.T * counts[seen]) @ means) / n  # sum_c prior_c * biased cov_c
        w = linalg.lstsq(covariance, means.T)[0].T
        coef[f, seen] = w
        intercept[f, seen] = -0.5 * np.einsum("kd,kd->k", means, w) + np.log(counts[seen] / n)
    return coef, intercept


def lda_predict_block(batch: dict[str, np.ndarray], coef: np.ndarray, intercept: np.ndarray, seed: int,
                      center: np.ndarray) -> dict[str, np.ndarray]:
    """Each row's probabilities from the model of its own fold (softmax of the discriminants)."""
    X = np.asarray(batch[FEATURES], np.float64) - center
    folds = fold_of(batch[ROW], len(coef), seed)
    scores = np.empty((len(X), coef.shape[1]))
    for f in range(len(coef)):
        rows = folds == f
        scores[rows] = X[rows] @ coef[f].T + intercept[f]
    scores -= scores.max(axis=1, keepdims=True)
    P = np.exp(scores)
    return {ROW: batch[ROW], PROBS: P / P.sum(axis=1, keepdims=True)}
