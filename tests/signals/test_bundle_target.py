"""Signals read the label kind from its Target (issue 41, point 2): the prediction signal is the
target's own cross-validation, so a new label kind is one Target subclass plus the checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.datasets import load_iris

from datafix.data.annotations import Annotations
from datafix.data.target import Annotated, Classes, MultiLabel, NoTarget, Predicted, Regression
from datafix.signals import Signals


def test_each_built_in_kind_is_read_back_and_cross_validates_its_own_signal():
    X, y = load_iris(return_X_y=True)
    cases = {
        Classes: (Signals(y, 3, features=X, verbose=False), "pred_probs", (150, 3)),
        MultiLabel: (Signals(None, 0, features=X, multilabel=np.eye(3, dtype=bool)[y], verbose=False),
                     "pred_probs", (150, 3)),
        Regression: (Signals(None, 0, features=X[:, 1:], targets=X[:, 0], verbose=False), "predictions", (150,)),
        Annotated: (Signals(y, 3, features=X, annotations=Annotations(np.stack([y, y], 1), np.arange(3), ["a", "b"]),
                            verbose=False), "pred_probs", (150, 3)),
    }
    for kind, (signals, name, shape) in cases.items():
        assert type(signals.target) is kind and signals.target.prediction == name
        assert getattr(signals, name).shape == shape and signals.folds == 5
        assert "5-fold cross-validation" in signals.provenance[name]
    assert "regression target has predictions" in cases[Regression][0].missing("pred_probs")
    unlabelled = Signals(None, 0, features=X, verbose=False)
    assert isinstance(unlabelled.target, NoTarget)
    assert unlabelled.missing("pred_probs") == "no labels to cross-validate: pass labels="


@dataclass(frozen=True)
class _Ordinal(Classes):
    """A new label kind: ordered classes, whose probabilities spill onto the adjacent classes."""

    def cross_validate(self, features, *, model, cv, random_state, verbose) -> Predicted:
        got = super().cross_validate(features, model=model, cv=cv, random_state=random_state, verbose=verbose)
        P = got.values.copy()
        P[:, 1:] += 0.1 * got.values[:, :-1]
        P[:, :-1] += 0.1 * got.values[:, 1:]
        return Predicted(P / P.sum(axis=1, keepdims=True), got.folds, f"{got.described}, spilt onto adjacent classes")


def test_a_new_label_kind_is_one_target_subclass():
    X, y = load_iris(return_X_y=True)
    plain = Signals(y, 3, features=X, verbose=False)
    ordinal = Signals(y, 3, features=X, target=_Ordinal(y, np.arange(3)), verbose=False)
    P = ordinal.pred_probs
    assert ordinal.provenance["pred_probs"].endswith("spilt onto adjacent classes")
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert not np.allclose(P, plain.pred_probs)
    assert (P[:, 1] >= 0.05).mean() > (plain.pred_probs[:, 1] >= 0.05).mean()


def test_the_target_cross_validates_with_the_signals_seed():
    X, y = load_iris(return_X_y=True)
    a = Signals(y, 3, features=X, random_state=3, verbose=False).pred_probs
    b = Signals(y, 3, features=X, random_state=3, verbose=False).pred_probs
    np.testing.assert_array_equal(a, b)
    with pytest.raises(NotImplementedError):
        NoTarget(2).cross_validate(X[:2], model=None, cv=2, random_state=0, verbose=False)
