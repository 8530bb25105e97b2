import numpy as np
import pytest

from datafix.checks.outlier import fence, outlier_check
from datafix.datasets import load_noisy
from datafix.signals import Signals


@pytest.fixture(scope="module")
def digits_with_outliers():
    data = load_noisy("digits", n_outliers=15, random_state=0)
    y = np.unique(data.y, return_inverse=True)[1]
    return data, Signals(y, 10, features=data.X, verbose=False)


@pytest.mark.parametrize("method", ["knn", "lof", "isolation_forest"])
def test_injected_outliers_are_found(digits_with_outliers, method):
    data, signals = digits_with_outliers
    out = outlier_check(signals, method=method)
    result, out = out, out.columns
    assert out["is_outlier"].to_numpy()[data.is_outlier].all()
    assert out["is_outlier"].mean() < 0.1
    worst = np.argsort(out["outlier_score"].to_numpy(), kind="stable")[:15]
    assert data.is_outlier[worst].mean() > 0.8
    assert result.rule


def test_pred_probs_only_uses_entropy():
    rng = np.random.default_rng(0)
    P = np.tile([0.96, 0.02, 0.02], (100, 1))
    P[[3, 50]] = [1 / 3, 1 / 3, 1 / 3]
    out = outlier_check(Signals(rng.integers(0, 3, 100), 3, pred_probs=P, verbose=False))
    result, out = out, out.columns
    assert np.flatnonzero(out["is_outlier"]).tolist() == [3, 50]
    assert "entropy" in result.rule


def test_identical_points_have_no_outliers():
    out = outlier_check(Signals(None, 0, features=np.ones((30, 4)), verbose=False)).columns
    assert not out["is_outlier"].any()
    assert (out["outlier_score"] == 1.0).all()


def test_fence_is_tukey_like():
    assert fence(np.arange(1.0, 6.0), scale=1.5) == pytest.approx(4 + 1.5 * 2)


def test_default_rule_is_precise_on_the_demo_and_on_far_outliers_in_128_dimensions():
    """Issue 15: the linear fence flagged 80 samples for 10 injected outliers on the demo (precision 0.125)."""
    import datafix as dfx

    demo = load_noisy("digits", noise=0.2, noise_type="class_conditional", n_duplicates=20, n_outliers=10,
                      random_state=0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 128)) + rng.normal(size=(10, 128))[rng.integers(0, 10, 3000)] * 0.6
    far = rng.choice(3000, 30, replace=False)
    X[far] = rng.normal(size=(30, 128)) * 4.0  # the audit benchmark's outliers
    truth = np.isin(np.arange(3000), far)
    for features, is_outlier in ((demo.X, demo.is_outlier), (X, truth)):
        flagged = dfx.audit(features, np.zeros(len(features), int) + np.arange(len(features)) % 2, checks="outlier",
                            verbose=False).issues["is_outlier"].to_numpy(bool)
        hits = (flagged & is_outlier).sum()
        assert hits / flagged.sum() >= 0.5 and hits / is_outlier.sum() >= 0.9


def test_threshold_flags_by_score(digits_with_outliers):
    _, signals = digits_with_outliers
    out = outlier_check(signals, threshold=0.2)
    result, out = out, out.columns
    assert out["is_outlier"].equals(out["outlier_score"] < 0.2)
    assert "threshold=0.2" in result.rule
