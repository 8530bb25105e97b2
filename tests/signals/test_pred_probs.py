import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.svm import LinearSVC

import datafix as dfx
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError
from datafix.signals import TorchProbeClassifier, check_pred_probs, cross_val_pred_probs, make_model


@pytest.mark.parametrize(
    ("P", "message"),
    [
        (np.full((3, 3), 1 / 3), r"shape \(n_samples, n_classes\) = \(3, 2\); got \(3, 3\)"),
        (np.array([[0.5, 0.5], [np.nan, 1.0], [1.0, 0.0]]), "NaN or inf in rows \\[1\\]"),
        (np.array([[1.5, -0.5], [0.5, 0.5], [1.0, 0.0]]), "negative values in rows \\[0\\]"),
        (np.array([[2.0, 1.0], [0.5, 0.5], [1.0, 0.0]]), "must sum to 1; rows \\[0\\]"),
    ],
)
def test_bad_pred_probs_are_named(P, message):
    with pytest.raises(InvalidInputError, match=message):
        check_pred_probs(P, n=3, n_classes=2)


def test_probabilities_are_out_of_sample(noisy_iris):
    # Random labels carry no signal: an out-of-sample model cannot beat chance by much,
    # while an in-sample one would memorise them.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = rng.integers(0, 3, 300)
    P = cross_val_pred_probs(X, y, model=RandomForestClassifier(random_state=0), verbose=False)
    assert (P.argmax(1) == y).mean() < 0.45
    np.testing.assert_allclose(P.sum(1), 1.0)


def test_same_seed_same_probabilities_and_inputs_untouched(noisy_iris):
    X, y = noisy_iris.X.copy(), np.unique(noisy_iris.y, return_inverse=True)[1]
    X0, y0 = X.copy(), y.copy()
    a = cross_val_pred_probs(X, y, random_state=3, verbose=False)
    b = cross_val_pred_probs(X, y, random_state=3, verbose=False)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_class_smaller_than_the_folds_works_with_a_warning():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (40, 2)), rng.normal(6, 1, (40, 2)), [[20.0, 20.0]]]
    y = np.r_[np.zeros(40, int), np.ones(40, int), [2]]
    with pytest.warns(DatafixWarning, match=r"Class 2 \(1 sample\) has fewer samples than the 5 folds") as caught:
        P = cross_val_pred_probs(X, y, verbose=False)
    assert caught[0].filename == __file__  # points at the caller, not at datafix
    assert P.shape == (81, 3)
    assert P[-1, 2] == 0.0  # its only sample was never in a training fold
    assert (P[:80].argmax(1) == y[:80]).mean() > 0.95


def test_warnings_and_errors_name_classes_in_the_users_values():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = np.array(["stay"] * 90 + ["churn"] * 8 + ["fraud"] * 2)
    with pytest.warns(DatafixWarning, match=r"Class 'fraud' \(2 samples\) has fewer samples"):
        cross_val_pred_probs(X, np.unique(y, return_inverse=True)[1], classes=np.unique(y), verbose=False)
    # two classes, one of them a single sample: a fold would train on one class
    with pytest.raises(InvalidInputError, match=r"Class 'yes' \(1 sample\) has too few samples for 5-fold"):
        dfx.audit(X, np.array(["no"] * 99 + ["yes"]), verbose=False)


def test_folds_shrink_to_the_largest_class_and_all_singletons_raise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        P = cross_val_pred_probs(np.arange(6.0)[:, None], [0, 0, 1, 1, 2, 2], cv=5, verbose=False)
    assert P.shape == (6, 3)
    with pytest.raises(InvalidInputError, match="every class has one"):
        cross_val_pred_probs(np.eye(3), [0, 1, 2], verbose=False)


def test_model_choices():
    assert type(make_model("linear")).__name__ == "TorchProbeClassifier"
    with pytest.raises(InvalidInputError, match="'model' parameter must be one of"):
        make_model("xgboost")
    with pytest.raises(InvalidTypeError, match="predict_proba"):
        make_model(LinearSVC())
    rf = RandomForestClassifier()
    assert make_model(rf) is not rf  # cloned, never fitted in place


@pytest.mark.parametrize("hidden", [0, 32])
def test_torch_probe_learns_and_is_deterministic(noisy_iris, hidden):
    X = noisy_iris.X
    y = noisy_iris.y_true
    a = TorchProbeClassifier(hidden=hidden, epochs=200, device="cpu", random_state=1).fit(X, y)
    b = TorchProbeClassifier(hidden=hidden, epochs=200, device="cpu", random_state=1).fit(X, y)
    assert (a.predict(X) == y).mean() > 0.9
    assert a.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_torch_probe_on_gpu_matches_cpu_accuracy(noisy_iris):
    X, y = noisy_iris.X, noisy_iris.y_true
    cpu = TorchProbeClassifier(epochs=200, device="cpu").fit(X, y)
    gpu = TorchProbeClassifier(epochs=200, device="cuda").fit(X, y)
    assert abs((cpu.predict(X) == y).mean() - (gpu.predict(X) == y).mean()) < 0.03


def test_wide_tables_get_a_chosen_regularisation_and_better_held_out_probabilities():
    """Issue 17: on 784 pixel columns the default C=1 overfitted and took 314 s on 20,000 images."""
    from datafix.signals.pred_probs import WIDE_COLUMNS, make_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, WIDE_COLUMNS))
    y = (X[:, :3].sum(axis=1) + rng.normal(scale=1.0, size=400) > 0).astype(int)
    chosen = cross_val_pred_probs(X, y, verbose=False)
    plain = cross_val_pred_probs(X, y, model=make_model(C=1.0), verbose=False)
    log_loss = [-np.log(P[np.arange(400), y]).mean() for P in (chosen, plain)]
    assert log_loss[0] < log_loss[1] - 0.1
    assert (chosen.argmax(1) == y).mean() > (plain.argmax(1) == y).mean()
    narrow = cross_val_pred_probs(X[:, : WIDE_COLUMNS - 1], y, verbose=False)  # narrower: C=1 as before
    np.testing.assert_allclose(narrow, cross_val_pred_probs(X[:, : WIDE_COLUMNS - 1], y, model=make_model(C=1.0),
                                                            verbose=False))


def test_the_regularisation_is_chosen_on_every_class_not_the_common_ones(monkeypatch):
    """Issue 39: the plain held-out log-loss is ruled by the common classes; scored per class, the
    chosen C is the one that serves the rare classes' held-out samples too."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    import datafix.signals.pred_probs as module

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), (600, 600, 10, 10))  # two head classes, two of 10 samples
    X = rng.normal(size=(len(y), 300))
    for c in range(4):
        X[y == c, 3 * c:3 * c + 3] += 2.0
    order = rng.permutation(len(y))
    train, test = order[: len(y) * 3 // 4], order[len(y) * 3 // 4:]
    balanced = module.choose_regularization(X, y, train, test)
    monkeypatch.setattr(module, "C_SCORE", "plain")
    plain = module.choose_regularization(X, y, train, test)
    assert balanced != plain

    def tail_log_loss(c: float) -> float:
        scaler = StandardScaler().fit(X[train])
        est = LogisticRegression(C=c, max_iter=100).fit(scaler.transform(X[train]), y[train])
        proba = est.predict_proba(scaler.transform(X[test]))
        rare = test[y[test] >= 2]
        return float(-np.log(proba[np.isin(test, rare), y[rare]]).mean())

    assert tail_log_loss(balanced) < tail_log_loss(plain)
