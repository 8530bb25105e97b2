"""Unlabelled samples: audited like the others, pseudo-labelled, and added to training by the PseudoLabel step."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import datafix as dfx
from datafix.checks.unlabelled import find_pseudo_labels, spread_labels
from datafix.data.labels import encode_labels
from datafix.errors import DatafixWarning, InvalidInputError
from datafix.fix.steps import balanced_pseudo_labels
from datafix.signals import cross_val_pred_probs, knn_graph, make_model


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.4, stratify=y, random_state=0)
    rng = np.random.default_rng(0)
    kept = np.concatenate([rng.choice(np.flatnonzero(y_train == c), 5, replace=False) for c in range(10)])
    partial = np.full(len(y_train), np.nan)
    partial[kept] = y_train[kept]
    return X_train, y_train, X_test, y_test, partial, np.sort(kept)


def test_missing_labels_are_coded_unlabelled_only_when_asked():
    with pytest.raises(InvalidInputError, match="1 missing labels"):
        encode_labels(["a", None, "b"])
    assert encode_labels(["a", None, "b"], unlabelled=True)[0].tolist() == [0, -1, 1]
    codes, classes = encode_labels([3, -1, 5, 3], unlabelled=-1)
    assert codes.tolist() == [0, -1, 1, 0] and classes.tolist() == [3, 5]
    assert encode_labels([1.0, np.nan, 2.0], unlabelled=True)[1].tolist() == [1, 2]
    with pytest.raises(InvalidInputError, match="no label at all"):
        encode_labels([None, None], unlabelled=True)


def test_audit_refuses_data_without_any_label():
    with pytest.raises(InvalidInputError, match="no label at all"):
        dfx.audit(np.eye(4), labels=[np.nan] * 4, verbose=False)
    with pytest.raises(InvalidInputError, match="no label at all"):
        dfx.audit(np.eye(4), labels=[-1] * 4, unlabelled=-1, verbose=False)


def test_unlabelled_samples_are_predicted_by_every_fold_model(digits):
    X, y, _, _, partial, kept = digits
    labels = np.where(np.isnan(partial), -1, partial).astype(int)
    P = cross_val_pred_probs(X, labels, n_classes=10, verbose=False)
    assert np.allclose(P.sum(axis=1), 1.0)
    unlabelled = labels < 0
    assert (P[unlabelled].argmax(1) == y[unlabelled]).mean() > 0.7
    only = cross_val_pred_probs(X[kept], labels[kept], n_classes=10, verbose=False)
    assert np.allclose(P[kept], only)  # the labelled samples' probabilities are the usual out-of-sample ones
    one_each = np.full(len(y), -1)
    firsts = [int(np.flatnonzero(y == c)[0]) for c in range(10)]
    one_each[firsts] = y[firsts]
    with pytest.warns(DatafixWarning, match="single labelled sample"):
        P1 = cross_val_pred_probs(X, one_each, n_classes=10, verbose=False)
    assert np.allclose(P1[firsts], 0.1) and (P1[one_each < 0].argmax(1) == y[one_each < 0]).mean() > 0.5


def test_spreading_follows_the_neighbourhoods():
    X = np.r_[np.linspace(0, 1, 20), np.linspace(5, 6, 20)][:, None]
    labels = np.full(40, -1)
    labels[[0, 39]] = [0, 1]
    F = spread_labels(labels, knn_graph(X, 5, standardize=False, verbose=False), 2)
    assert F.argmax(1).tolist() == [0] * 20 + [1] * 20 and np.allclose(F.sum(1), 1.0)


def test_pseudo_labels_train_a_better_model_than_the_labels_alone(digits):
    X, y, X_test, y_test, partial, kept = digits
    labels = np.where(np.isnan(partial), -1, partial).astype(int)
    P = cross_val_pred_probs(X, labels, n_classes=10, verbose=False)
    found = find_pseudo_labels(labels, P, neighbors=knn_graph(X, 40, verbose=False))
    unlabelled = labels < 0
    assert found["is_unlabelled"].tolist() == unlabelled.tolist()
    assert found["pseudo_confidence"][~unlabelled].isna().all() and (found["pseudo_label"][~unlabelled] == -1).all()
    confident = found["is_confident_pseudo_label"].to_numpy()
    assert (found["pseudo_label"].to_numpy()[confident] == y[confident]).mean() > 0.9
    chosen = balanced_pseudo_labels(found["pseudo_label"], found["pseudo_confidence"], y[kept], 0.5)
    alone = make_model(None).fit(X[kept], y[kept]).score(X_test, y_test)
    train = np.r_[kept, chosen]
    with_pseudo = make_model(None).fit(X[train], np.r_[y[kept], found["pseudo_label"].to_numpy()[chosen]])
    assert with_pseudo.score(X_test, y_test) >= alone + 0.03
    model_only = find_pseudo_labels(labels, P, neighbors=knn_graph(X, 40, verbose=False), model_weight=1.0)
    np.testing.assert_array_equal(model_only["pseudo_label"].to_numpy()[unlabelled], P[unlabelled].argmax(1))
    with pytest.raises(ValueError, match="'model_weight'"):
        find_pseudo_labels(labels, P, model_weight=1.5)


def test_balanced_pseudo_labels_cap_a_common_class():
    pseudo = np.array([0] * 8 + [1] * 2)
    confidence = np.linspace(0.99, 0.9, 10)
    chosen = balanced_pseudo_labels(pseudo, confidence, [0, 1], 0.5)  # given labels 50/50: at most 5 per class
    assert np.bincount(pseudo[chosen]).tolist() == [5, 2] and chosen[:5].tolist() == [0, 1, 2, 3, 4]
    assert len(balanced_pseudo_labels(pseudo, confidence, [0, 1], 0.5, balanced=False)) == 10


@pytest.fixture(scope="module")
def audited(digits):
    X, y, _, _, partial, _ = digits
    frame = pd.DataFrame(X, columns=[f"p{j}" for j in range(64)]).assign(digit=pd.array(partial, dtype="Int64"))
    with pytest.warns(DatafixWarning, match="1028 of 1078 samples have no label"):
        report = dfx.audit(frame, "digit", verbose=False)
    return frame, report


def test_audit_checks_unlabelled_samples_but_never_calls_them_label_issues(audited, digits):
    frame, report = audited
    y = digits[1]
    issues = report.issues
    unlabelled = frame["digit"].isna().to_numpy()
    assert issues["is_unlabelled"].to_numpy(bool).tolist() == unlabelled.tolist()
    assert not issues["is_label_issue"].to_numpy(bool)[unlabelled].any()
    assert issues["label_score"][unlabelled].isna().all() and issues["given_label"][unlabelled].isna().all()
    assert issues["outlier_score"].notna().all()  # every sample is checked for outliers
    assert report.tables["classes"]["count"].sum() == (~unlabelled).sum()
    assert (issues["pseudo_label"][unlabelled].to_numpy() == y[unlabelled]).mean() > 0.85
    assert report.signals["labels"] == "given for 50 samples, 1028 unlabelled"
    assert "PseudoLabel step" in report.checks["unlabelled"].advice


def test_minus_one_as_unlabelled_gives_the_same_report(audited):
    frame, report = audited
    coded = frame.assign(digit=frame["digit"].fillna(-1).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        other = dfx.audit(coded, "digit", unlabelled=-1, verbose=False)
    pd.testing.assert_series_equal(other.issues["pseudo_label"].astype("Int64"),
                                   report.issues["pseudo_label"].astype("Int64"))


def test_pseudo_label_step_adds_confident_samples_and_undoes(audited, digits):
    frame, report = audited
    y = digits[1]
    plain = dfx.fix.Pipeline([]).fit(frame, "digit", report=report)
    assert len(plain.kept) == frame["digit"].notna().sum()
    assert (plain.samples["dropped_by"][frame["digit"].isna()] == "unlabelled").all()
    plan = dfx.fix.Pipeline([dfx.fix.PseudoLabel(min_confidence=0.6)]).fit(frame, "digit", report=report)
    added = plan.changes[plan.changes["action"] == "relabel"]
    assert len(added) > 500 and (added["score"] >= 0.6).all() and added["old_label"].isna().all()
    assert (plan.samples.loc[added.index, "label"].to_numpy() == y[added.index]).mean() > 0.9
    assert len(plan.kept) == len(plain.kept) + len(added)
    assert plan.samples["label"].dtype == frame["digit"].dtype
    assert len(plan.undo("pseudo_label").kept) == len(plain.kept)
    x, label = plan.dataset[len(plan.kept) - 1]
    assert 0 <= label < 10 and x.shape == (64,)
