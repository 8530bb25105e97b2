import numpy as np
import pandas as pd
import pytest

import datafix as dfx
from conftest import checksum
from datafix.checks.leakage import find_leakage
from datafix.errors import InvalidInputError


@pytest.fixture(scope="module")
def split():
    data = dfx.datasets.load_noisy("digits", random_state=0)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data.y))
    train, test = order[:1400], order[1400:]
    X_test = data.X[test].copy()
    X_test[:10] = data.X[train[:10]]                      # exact copies
    X_test[10:20] = data.X[train[10:20]] + rng.normal(0, 0.01, (10, 64)) * data.X.std(0)  # near copies
    return data.X[train], data.y[train], X_test


def test_copies_of_training_samples_in_the_test_set_are_flagged(split):
    X, y, X_test = split
    before = [checksum(X), checksum(X_test)]
    report = dfx.audit(X, y, test=X_test, checks=["duplicate"], verbose=False)
    leak = report.test_issues
    assert leak["is_exact_leak"].to_numpy()[:10].all() and not leak["is_exact_leak"].to_numpy()[10:].any()
    assert leak["is_leaked"].to_numpy()[:20].all()
    assert leak["nearest_train"].tolist()[:20] == list(range(20))
    # digits has a few genuine near-identical images; few other test samples may match
    assert leak["is_leaked"].to_numpy()[20:].mean() < 0.03
    assert report.summary().loc["leakage", "count"] == leak["is_leaked"].sum()
    assert "leakage:" in str(report)
    assert before == [checksum(X), checksum(X_test)]


def test_dataframe_test_set_is_encoded_like_the_training_table():
    train = pd.DataFrame({"a": np.arange(30.0), "c": ["x", "y", "z"] * 10, "y": [0, 1] * 15})
    test = pd.DataFrame({"c": ["y", "q"], "a": [4.0, 100.0], "y": [0, 1]}, index=["t1", "t2"])
    report = dfx.audit(train, "y", test=test, checks=["duplicate"], verbose=False)
    assert report.test_issues.loc["t1", "is_exact_leak"] and not report.test_issues.loc["t2", "is_leaked"]
    assert report.test_issues.loc["t1", "nearest_train"] == 4
    with pytest.raises(InvalidInputError, match=r"lacks the training feature columns \['c'\]"):
        dfx.audit(train, "y", test=test.drop(columns="c"), verbose=False)


def test_test_set_with_other_columns_is_an_error(split):
    X, y, X_test = split
    with pytest.raises(InvalidInputError, match="'test' data has 10 feature columns but the training data has 64"):
        dfx.audit(X, y, test=X_test[:, :10], verbose=False)


def test_test_rows_with_nan_follow_nan_policy(split):
    X, y, X_test = split
    X_test = X_test.copy()
    X_test[30] = np.nan
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        dfx.audit(X, y, test=X_test, checks=["duplicate"], verbose=False)
    report = dfx.audit(X, y, test=X_test, checks=["duplicate"], nan_policy="drop", verbose=False)
    assert report.test_issues.loc[30, "is_broken"] and pd.isna(report.test_issues.loc[30, "is_leaked"])


def test_leakage_alone_does_not_build_the_full_neighbour_graph(split):
    X, y, X_test = split
    report = dfx.audit(X, y, test=X_test, checks=["class_imbalance"], verbose=False)
    # leakage reads one neighbour of the training set's graph (its median 1-NN distance sets the scale):
    # the audit builds the graph with that one, not the 40 that k_neighbors allows, and says so
    assert ", k=1," in report.signals["neighbors"]
    assert report.test_issues["is_leaked"].to_numpy()[:20].all()


def test_checks_that_read_no_neighbours_build_no_graph(split):
    X, y, _ = split
    report = dfx.audit(X, y, checks=["class_imbalance", "null"], verbose=False)
    assert "neighbors" not in report.signals


def test_a_nearest_training_sample_searched_elsewhere_gives_the_same_flags_as_the_features():
    from datafix.signals import knn_graph, knn_query

    rng = np.random.default_rng(4)
    train = rng.normal(size=(300, 4))
    test = np.r_[train[:5] + 1e-3, rng.normal(size=(20, 4))]
    graph = knn_graph(train, 1)
    from_features = find_leakage(train, test, train_graph=graph)
    searched = find_leakage(None, None, train_graph=graph, test_nearest=knn_query(train, test, 1))
    pd.testing.assert_frame_equal(searched, from_features)
    assert searched["is_leaked"].sum() == 5
    with pytest.raises(InvalidInputError, match="test_nearest= needs train_graph="):
        find_leakage(None, None, test_nearest=knn_query(train, test, 1))
