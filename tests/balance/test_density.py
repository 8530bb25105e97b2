"""Imbalanced regression: target density, density weights, the density sampler, SMOTER and Gaussian noise."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_diabetes

from datafix.balance import DensitySampler, Resampler, density_weights, target_density
from datafix.balance.smoter import oversample_rare_targets
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError


def skewed(n=1000, seed=0):
    """A target with a long right tail: most values near 0, a few far out."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.exp(X[:, 0] + 0.3 * rng.normal(size=n))
    return X, y


def test_density_is_smaller_in_the_tail_and_weights_grow_there():
    X, y = skewed()
    d = target_density(y)
    tail = y > np.quantile(y, 0.98)
    assert d[tail].max() < d[~tail].min() * 1.01 or d[tail].mean() < 0.1 * d[~tail].mean()
    w = density_weights(y, alpha=1.0).numpy()
    assert w[tail].mean() > 5 * w[~tail].mean()
    assert w.mean() == pytest.approx(1.0, rel=1e-5)


def test_weight_rules_order_and_extremes():
    _, y = skewed()
    plain = density_weights(y, "none").numpy()
    assert np.allclose(plain, 1.0)
    sqrt = density_weights(y, alpha=0.5).numpy()
    full = density_weights(y, alpha=1.0).numpy()
    assert full.max() / full.min() > sqrt.max() / sqrt.min() > 1.5  # alpha sets the strength
    dense = density_weights(y, "dense", alpha=1.0).numpy()
    common = np.argmax(target_density(y))
    assert dense[common] == dense.min() and dense.min() < 1e-3  # DenseWeight: the mode gets min_weight
    assert density_weights(y, "dense", alpha=0.0).numpy() == pytest.approx(np.ones(len(y)))


def test_density_weights_match_a_balanced_class_target():
    """Two values 9:1: inverse density gives the rare one 9 times the weight (class_weights' ratio)."""
    y = np.r_[np.zeros(90), np.full(10, 5.0)]
    w = density_weights(y, alpha=1.0, dtype=torch.float64)
    assert w.dtype == torch.float64
    assert float(w[-1] / w[0]) == pytest.approx(9.0, rel=1e-6)


def test_density_sampler_flattens_the_target_and_is_deterministic():
    _, y = skewed(3000)
    top = y > np.quantile(y, 0.9)
    sampler = DensitySampler(y, num_samples=20000, seed=3)
    drawn = sampler.indices(epoch=0)
    assert len(drawn) == 20000
    assert top[drawn].mean() > 2 * top.mean()  # the rare top decile drawn far more than its 10 %
    assert np.array_equal(drawn, DensitySampler(y, num_samples=20000, seed=3).indices(epoch=0))
    assert not np.array_equal(drawn, sampler.indices(epoch=1))


def test_density_sampler_ranks_split_the_epoch():
    _, y = skewed(500)
    whole = DensitySampler(y, num_samples=400, num_replicas=1, rank=0, seed=1).indices()
    parts = [DensitySampler(y, num_samples=400, num_replicas=4, rank=r, seed=1).indices() for r in range(4)]
    assert all(len(p) == 100 for p in parts)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.sort(whole))


def test_density_sampler_in_a_dataloader():
    _, y = skewed(200)
    loader = torch.utils.data.DataLoader(torch.arange(200), sampler=DensitySampler(y), batch_size=50)
    assert sum(len(b) for b in loader) == 200


@pytest.mark.parametrize("bad, error", [
    ([1.0, np.nan, 2.0], "missing value"),
    ([1.0, np.inf, 2.0], "infinite value"),
    ([3.0, 3.0, 3.0], "same value"),
])
def test_density_refuses_bad_targets(bad, error):
    with pytest.raises(InvalidInputError, match=error):
        density_weights(bad)


def test_density_refuses_text_targets():
    with pytest.raises(InvalidTypeError, match="numbers"):
        target_density(["a", "b", "c"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=60).filter(lambda v: len(set(v)) > 1),
       st.sampled_from(["inverse", "dense"]), st.floats(0.0, 2.0))
def test_density_weights_are_finite_positive_mean_one(values, method, alpha):
    w = density_weights(values, method, alpha=alpha, dtype=torch.float64).numpy()
    assert w.shape == (len(values),)
    assert np.isfinite(w).all() and (w > 0).all()
    assert w.mean() == pytest.approx(1.0, rel=1e-9)


def test_smoter_adds_rows_in_the_rare_ranges_only_with_interpolated_targets():
    X, y = skewed(800)
    resampler = Resampler("smoter", random_state=0)
    X_res, y_res = resampler.fit_resample(X, y)
    new = resampler.is_synthetic_
    assert np.array_equal(X_res[~new], X) and np.array_equal(y_res[~new], y)  # the input rows, unchanged
    assert new.sum() > 0
    rare = 1 - target_density(y) / target_density(y).max() >= 0.8  # the rule of oversample_rare_targets
    assert y_res[new].min() >= y[rare].min() - 1e-9  # new targets lie inside the rare range
    assert y_res[new].max() <= y[rare].max() + 1e-9
    # each new row lies between two rare rows: inside the rare rows' bounding box
    assert (X_res[new] >= X[rare].min(axis=0) - 1e-9).all() and (X_res[new] <= X[rare].max(axis=0) + 1e-9).all()
    assert resampler.sampling_strategy_ == {"new_rows": int(new.sum())}


def test_smoter_target_follows_the_nearer_parent():
    """On a line y = x, an interpolated row's target is its own x (distance-weighted average)."""
    x = np.r_[np.linspace(0, 1, 200), np.linspace(5, 6, 8)]
    X, y = x[:, None], x.copy()
    X_res, y_res, source = oversample_rare_targets(X, y, random_state=1)
    new = source < 0
    assert new.any()
    assert np.allclose(y_res[new], X_res[new, 0])


def test_gaussian_noise_stays_near_its_seeds():
    X, y = skewed(800)
    resampler = Resampler("gaussian_noise", params={"perturbation": 0.01}, random_state=0)
    X_res, y_res = resampler.fit_resample(X, y)
    new = resampler.is_synthetic_
    d = np.abs(X_res[new][:, None, :] - X[None, :, :]).max(axis=2).min(axis=1)
    assert new.sum() > 0 and d.max() < 0.1


def test_tiny_rare_ranges_never_crash():
    X = np.arange(11, dtype=float)[:, None]
    y = np.array([0.0, 0.0, 0.1, 0.2, 0.1, 0.0, 0.1, 0.2, 0.0, 0.1, 9.0])  # one sample alone in the high range
    with pytest.warns(DatafixWarning, match="single sample"):
        X_res, y_res = Resampler("smoter", random_state=0).fit_resample(X, y)
    assert len(y_res) > len(y) and np.isfinite(y_res).all()
    flat = np.linspace(0, 1, 50)  # a uniform target: nothing rare, the data come back
    with pytest.warns(DatafixWarning, match="No target is rare"):
        X_res, y_res = Resampler("smoter").fit_resample(flat[:, None], flat)
    assert np.array_equal(y_res, flat)


def test_smoter_rounds_integer_columns_to_the_nearer_value():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"rooms": rng.integers(1, 9, 400), "area": rng.normal(80, 20, 400)})
    y = np.r_[rng.normal(0, 1, 380), rng.normal(9, 0.3, 20)]
    resampler = Resampler("smoter", random_state=0)
    X_res, _ = resampler.fit_resample(X, y)
    assert X_res["rooms"].dtype == X["rooms"].dtype
    new = X_res[resampler.is_synthetic_]
    assert new["rooms"].between(1, 8).all()


def test_smoter_keeps_a_dataframe_and_refuses_bad_options():
    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target
    X_res, y_res = Resampler("smoter", params={"threshold": 0.7}, random_state=0).fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(X.columns)
    assert X_res.dtypes.equals(X.dtypes)
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X.reset_index(drop=True), check_index_type=False)
    with pytest.raises(InvalidInputError, match="no parameter 'kk'"):
        Resampler("smoter", params={"kk": 1}).fit_resample(X, y)
    with pytest.raises(InvalidInputError, match="sampling_strategy"):
        Resampler("smoter", sampling_strategy="minority").fit_resample(X, y)
    with pytest.raises(InvalidInputError, match="missing value"):
        Resampler("smoter").fit_resample(X, y.where(y > 30))
    with pytest.raises(InvalidInputError, match=r"columns \['colour'\] are not numeric"):
        Resampler("smoter").fit_resample(X.assign(colour=pd.Categorical(["r", "g"] * 221)), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the input objects are not modified
        before = y.copy()
        Resampler("gaussian_noise", random_state=0).fit_resample(X, y)
    pd.testing.assert_series_equal(y, before)
