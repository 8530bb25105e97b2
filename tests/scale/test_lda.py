"""The Ray engine's gather-free K-fold probe (datafix.scale.lda): fitted from block sums, it is
scikit-learn's linear discriminant fitted on the other folds' rows, whatever the blocks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from datafix.scale.blocks import CODE, FEATURES, PROBS, ROW
from datafix.scale.lda import fold_of, lda_models, lda_predict_block, lda_sums_block
from datafix.signals import make_model


def blockwise(X, y, ids, cv, seed, cuts):
    center = X.mean(0)
    total = None
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        part = pickle.loads(lda_sums_block({FEATURES: X[a:b], CODE: y[a:b], ROW: ids[a:b]}, 3, cv, seed,
                                           center)["sums"][0])
        total = part if total is None else total + part
    coef, intercept = lda_models(total)
    return lda_predict_block({FEATURES: X, ROW: ids}, coef, intercept, seed, center)[PROBS]


def test_each_folds_model_is_sklearns_lda_fitted_on_the_other_folds_whatever_the_blocks():
    X, y = load_wine(return_X_y=True)  # real data, 13 columns on very different scales
    ids = np.arange(len(X)) + 1000
    P = blockwise(X, y, ids, 4, 7, [0, 50, 51, 120, len(X)])
    again = blockwise(X, y, ids, 4, 7, [0, len(X)])
    np.testing.assert_allclose(P, again, atol=1e-9)
    folds = fold_of(ids, 4, 7)
    for f in range(4):
        expected = make_model("lda").fit(X[folds != f], y[folds != f]).predict_proba(X[folds == f])
        np.testing.assert_allclose(P[folds == f], expected, atol=1e-6)
    assert (P.argmax(1) == y).mean() > 0.9


def test_unlabelled_rows_are_predicted_not_learned_from_and_a_class_missing_from_the_training_folds_gets_zero():
    X, y = load_wine(return_X_y=True)
    y = y.copy()
    y[::5] = -1  # unlabelled
    ids = np.arange(len(X))
    folds = fold_of(ids, 3, 0)
    rare = np.flatnonzero(y == 2)
    y[rare[folds[rare] != 0]] = -1  # class 2 labelled only in fold 0
    P = blockwise(X, y, ids, 3, 0, [0, 90, len(X)])
    assert np.isfinite(P).all() and np.allclose(P.sum(1), 1.0)
    assert (P[folds == 0][:, 2] == 0).all()  # fold 0's model never saw class 2
    kept = (y >= 0) & (folds == 1)
    expected = LinearDiscriminantAnalysis(solver="lsqr").fit(X[(y >= 0) & (folds != 1)], y[(y >= 0) & (folds != 1)])
    np.testing.assert_allclose(P[folds == 1], expected.predict_proba(X[folds == 1]), atol=1e-6)
    assert kept.any()


def test_cv_below_two_is_refused():
    X, y = load_wine(return_X_y=True)
    sums = pickle.loads(lda_sums_block({FEATURES: X, CODE: y, ROW: np.arange(len(X))}, 3, 1, 0, X.mean(0))["sums"][0])
    with pytest.raises(ValueError, match="cv must be at least 2"):
        lda_models(sums)
