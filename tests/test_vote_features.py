"""``audit(vote_features=...)``: the label check's kNN votes over a second feature space (issue 43)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import datafix as dfx
from conftest import label_f1
from datafix.errors import InvalidInputError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    given = y.copy()
    flip = rng.choice(len(y), 180, replace=False)
    given[flip] = (y[flip] + rng.integers(1, 10, 180)) % 10
    weak = X[:, :: 8] + rng.normal(scale=4.0, size=(len(X), 8))  # 8 noisy pixels: a weak model's view
    return X, weak, given, given != y


def test_votes_over_a_better_feature_space_find_more_wrong_labels(digits):
    X, weak, given, wrong = digits
    plain = dfx.audit(weak, given, checks="label", verbose=False)
    voted = dfx.audit(weak, given, vote_features=X, checks="label", verbose=False)
    assert voted.signals["vote_neighbors"] == ("the label check's kNN votes over the given vote_features (64 "
                                               "columns) (k=40), a second view beside the model")
    assert voted.signals["features"] == plain.signals["features"]  # the model still reads its own features
    assert label_f1(voted, wrong) > label_f1(plain, wrong) + 0.1


def test_the_votes_skip_broken_samples_as_the_audit_does(digits):
    X, weak, given, wrong = digits
    broken = weak.copy()
    broken[:5, 0] = np.nan
    report = dfx.audit(broken, given, vote_features=X, nan_policy="drop", checks="label", verbose=False)
    assert report.issues["is_broken"].sum() == 5 and len(report.issues) == len(X)


@pytest.mark.parametrize(("given", "message"), [
    (np.zeros((10, 3)), r"must be an array of shape \(1797, d\), one row per sample"),
    (np.zeros(1797), r"must be an array of shape \(1797, d\)"),
    (np.full((1797, 2), np.nan), "holds NaN or infinite values"),
    ("efficientnet_lite0", "names a pretrained network, which embeds images; this data is 'arrays'"),
])
def test_bad_vote_features_are_refused_naming_the_argument(digits, given, message):
    X, weak, labels, _ = digits
    with pytest.raises(InvalidInputError, match=message):
        dfx.audit(weak, labels, vote_features=given, checks="label", verbose=False)


def test_the_ray_engine_refuses_vote_features_before_any_cluster_work():
    import pandas as pd

    from datafix.scale import RayEngine

    frame = pd.DataFrame({"x": np.arange(20.0), "y": ["a", "b"] * 10})
    with pytest.raises(InvalidInputError, match="'vote_features' argument is not supported by engine='ray'"):
        dfx.audit(frame, labels="y", vote_features=np.zeros((20, 2)), engine=RayEngine(address="127.0.0.1:9"),
                  verbose=False)


@pytest.mark.parametrize(("given", "shape", "cnn", "expected"), [
    ("auto", (1, 28, 28), True, "network"),  # the CNN's audit of images the network reads
    ("auto", (3, 16, 16), True, "network"),
    ("auto", (1, 8, 8), True, None),  # too small for an ImageNet network (PRETRAINED_MIN_SIDE)
    ("auto", (1, 28, 28), False, None),  # another model's probabilities: its own features vote
    ("auto", None, True, None),  # not images
    (None, (1, 28, 28), True, None),  # switched off
    ("resnet18", (1, 28, 28), False, "resnet18"),  # given: as given
])
def test_auto_votes_over_the_pretrained_network_only_for_the_cnns_audit_of_images(given, shape, cnn, expected):
    from types import SimpleNamespace

    from datafix.engines.local import _vote_features
    from datafix.signals.image_default import DEFAULT_NETWORK, pretrained_installed

    if expected == "network":
        expected = DEFAULT_NETWORK if pretrained_installed() else None  # without the packages: the CNN's own
    assert _vote_features(given, SimpleNamespace(image_shape=shape), cnn=cnn) == expected


def test_an_array_of_vote_features_is_taken_as_given():
    from types import SimpleNamespace

    from datafix.engines.local import _vote_features

    X = np.zeros((4, 2))
    assert _vote_features(X, SimpleNamespace(image_shape=(1, 28, 28)), cnn=True) is X
