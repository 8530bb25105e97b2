import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafix.datasets import (
    NAMES,
    flip_labels,
    load_noisy,
    long_tail_subset,
    make_noisy,
    noise_matrix,
)
from datafix.errors import InvalidInputError


@given(st.integers(2, 12), st.floats(0.0, 0.9), st.sampled_from(["symmetric", "class_conditional"]), st.integers(0, 99))
def test_noise_matrix_is_column_stochastic_with_the_asked_diagonal(k, rate, kind, seed):
    T = noise_matrix(k, rate, kind, random_state=seed)
    np.testing.assert_allclose(T.sum(axis=0), 1.0)
    np.testing.assert_allclose(np.diag(T), 1.0 - rate)
    assert (T >= 0).all()


@given(st.lists(st.integers(0, 500), min_size=2, max_size=12).filter(lambda c: sum(x > 0 for x in c) >= 2),
       st.floats(0.0, 0.9))
def test_by_frequency_noise_sends_flips_in_proportion_to_class_counts(counts, rate):
    T = noise_matrix(len(counts), rate, "by_frequency", class_counts=counts)
    np.testing.assert_allclose(T.sum(axis=0), 1.0)
    np.testing.assert_allclose(np.diag(T), 1.0 - rate)
    c = np.asarray(counts, dtype=float)
    for j in range(len(c)):
        others = np.delete(np.arange(len(c)), j)
        np.testing.assert_allclose(T[others, j], rate * c[others] / c[others].sum())


def test_by_frequency_noise_keeps_a_tail_class_mostly_right_where_class_conditional_does_not():
    counts = np.round(90 * 15.0 ** (-np.arange(10) / 9)).astype(int)  # 90 down to 6: ratio 15
    y = np.repeat(np.arange(10), counts)
    wrong_share = {}
    for kind in ("by_frequency", "symmetric"):
        T = noise_matrix(10, 0.25, kind, class_counts=counts)
        noisy = flip_labels(np.tile(y, 50), T, random_state=0)
        carriers = np.tile(y, 50)[noisy == 9]
        wrong_share[kind] = (carriers != 9).mean()
    assert wrong_share["by_frequency"] < 0.35 < 0.5 < wrong_share["symmetric"]
    with pytest.raises(InvalidInputError, match="class_counts"):
        noise_matrix(3, 0.2, "by_frequency")
    with pytest.raises(InvalidInputError, match="3 finite counts"):
        noise_matrix(3, 0.2, "by_frequency", class_counts=[1, 2])
    with pytest.raises(InvalidInputError, match="at least two classes"):
        noise_matrix(3, 0.2, "by_frequency", class_counts=[5, 0, 0])


def test_make_noisy_takes_by_frequency_noise_from_the_kept_class_counts():
    data = load_noisy("digits", noise=0.25, noise_type="by_frequency", imbalance=15, random_state=0)
    rarest = np.bincount(data.y_true).argmin()
    assert (data.y_true[data.y == rarest] == rarest).mean() > 0.6
    assert 0.2 < data.is_label_error.mean() < 0.3


def test_flip_labels_follows_the_matrix():
    y = np.repeat(np.arange(3), 20000)
    T = np.array([[0.7, 0.0, 0.1], [0.3, 0.9, 0.0], [0.0, 0.1, 0.9]])
    noisy = flip_labels(y, T, random_state=1)
    for j in range(3):
        observed = np.bincount(noisy[y == j], minlength=3) / 20000
        np.testing.assert_allclose(observed, T[:, j], atol=0.01)


def test_flip_labels_rejects_bad_matrix():
    with pytest.raises(InvalidInputError, match="column-stochastic"):
        flip_labels(np.array([0, 1]), np.array([[0.5, 0.5], [0.6, 0.5]]))


def test_ground_truth_matches_what_was_injected():
    X = np.random.default_rng(0).normal(size=(300, 4))
    y = np.repeat(["a", "b", "c"], 100)
    data = make_noisy(X, y, noise=0.3, n_duplicates=10, n_outliers=5, random_state=3)
    assert len(data) == 315
    assert ((data.y != data.y_true) == data.is_label_error).all()
    assert 0.2 < data.is_label_error[:300].mean() < 0.4
    dup = np.flatnonzero(data.is_duplicate)
    np.testing.assert_array_equal(data.X[dup], data.X[data.duplicate_of[dup]])
    np.testing.assert_array_equal(data.y[dup], data.y[data.duplicate_of[dup]])
    z = np.abs((data.X[data.is_outlier] - X.mean(0)) / X.std(0))
    assert (z > 5).all()
    assert set(data.y) <= {"a", "b", "c"}


def test_same_seed_same_data_and_input_untouched():
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = np.arange(50) % 2
    before = (X.copy(), y.copy())
    a = make_noisy(X, y, noise=0.2, n_duplicates=3, random_state=7)
    b = make_noisy(X, y, noise=0.2, n_duplicates=3, random_state=7)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(X, before[0])
    np.testing.assert_array_equal(y, before[1])


@settings(max_examples=30)
@given(st.integers(2, 8), st.floats(1.0, 100.0))
def test_long_tail_counts_fall_off_by_the_ratio(k, ratio):
    y = np.repeat(np.arange(k), 200)
    counts = np.bincount(y[long_tail_subset(y, ratio)], minlength=k)
    assert counts[0] == 200
    assert counts.min() >= 1
    assert (np.diff(counts) <= 0).all()
    assert abs(counts[-1] - max(1.0, 200 / ratio)) <= 0.5  # the rarest class is n_max / ratio, rounded


@pytest.mark.parametrize("name", NAMES)
def test_every_embedded_dataset_loads_without_download(name):
    data = load_noisy(name, noise=0.1, random_state=0)
    assert data.X.shape[0] == len(data.y) > 100
    assert 0.05 < data.is_label_error.mean() < 0.15
    assert len(data.feature_names) == data.X.shape[1]


def test_bad_noise_is_named_as_the_caller_passed_it():
    with pytest.raises(InvalidInputError, match=r"The 'noise' parameter must be a float in the range \[0.0, 0.999\]; "
                                                r"got 1.5"):
        load_noisy("digits", noise=1.5)
    with pytest.raises(InvalidInputError, match="The 'noise_type' parameter must be one of 'symmetric'"):
        load_noisy("iris", noise=0.1, noise_type="pair")
