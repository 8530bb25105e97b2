import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE
from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks
from imblearn.utils.estimator_checks import parametrize_with_checks
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_classification

from conftest import checksum
from datafix.balance import (
    ResampledDataset,
    Resampler,
    available_resamplers,
    oversample,
    undersample,
)
from datafix.balance.resample import SAMPLERS, resolve_method
from datafix.data import from_arrays
from datafix.errors import DatafixWarning, InvalidInputError
from datafix.signals import knn_graph


@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(n_samples=600, n_features=6, n_informative=4, n_classes=3, weights=[0.7, 0.2, 0.1],
                               class_sep=0.8, random_state=0)
    return X, y


@parametrize_with_checks(
    [
        Resampler("smote", random_state=0),
        Resampler("adasyn", random_state=0),
        Resampler("borderline_smote", random_state=0),
        Resampler("tomek_links"),
        Resampler("edited_nearest_neighbours"),
        Resampler("random_under_sampler", random_state=0),
        Resampler("random_over_sampler", random_state=0),
        Resampler("near_miss"),
        Resampler("smoteenn", random_state=0),
        Resampler("cluster_centroids", random_state=0,
                  params={"voting": "soft", "estimator": KMeans(random_state=0, algorithm="lloyd", n_init=1)}),
    ]
)
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


FAST_CASES = [
    ("adasyn", ADASYN, {"n_neighbors": 5}),
    ("borderline_smote", BorderlineSMOTE, {"kind": "borderline-1"}),
    ("borderline_smote", BorderlineSMOTE, {"kind": "borderline-2", "k_neighbors": 4}),
    ("tomek_links", TomekLinks, {}),
    ("edited_nearest_neighbours", EditedNearestNeighbours, {"kind_sel": "all"}),
    ("edited_nearest_neighbours", EditedNearestNeighbours, {"kind_sel": "mode", "n_neighbors": 5}),
]


@pytest.mark.parametrize("name, peer, params", FAST_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_paths_equal_imblearn(imbalanced, name, peer, params, dtype):
    X, y = imbalanced
    X = X.astype(dtype)
    seeded = {"random_state": 3} if "random_state" in peer().get_params() else {}
    expected_X, expected_y = peer(**params, **seeded).fit_resample(X, y)
    r = Resampler(name, params=params, **seeded)
    X_res, y_res = r.fit_resample(X, y)
    assert r.backend_ == "datafix"
    np.testing.assert_array_equal(y_res, expected_y)
    np.testing.assert_allclose(X_res, expected_X, rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert X_res.dtype == dtype


@pytest.mark.parametrize("name, peer, params", FAST_CASES)
def test_fast_paths_reuse_a_given_neighbour_graph(imbalanced, name, peer, params):
    X, y = imbalanced
    graph = knn_graph(X, k_neighbors=12, standardize=False, knn_backend="exact")
    seeded = {"random_state": 3} if "random_state" in peer().get_params() else {}
    expected_X, _ = peer(**params, **seeded).fit_resample(X, y)
    X_res, _ = Resampler(name, params=params, **seeded).fit_resample(X, y, neighbors=graph)
    np.testing.assert_allclose(X_res, expected_X)
    # the graph is what is read: a scrambled graph changes the result
    scrambled = type(graph)(np.roll(graph.indices, 1, axis=0), graph.distances, graph.metric)
    X_bad, _ = Resampler(name, params=params, **seeded).fit_resample(X, y, neighbors=scrambled)
    assert X_bad.shape != expected_X.shape or not np.allclose(X_bad, expected_X)


def test_imblearn_backend_gives_the_same_output(imbalanced):
    X, y = imbalanced
    a = Resampler("adasyn", random_state=0).fit_resample(X, y)
    r = Resampler("adasyn", random_state=0, backend="imblearn")
    b = r.fit_resample(X, y)
    assert r.backend_ == "imblearn"
    np.testing.assert_allclose(a[0], b[0])


def test_provenance_of_rows(imbalanced):
    X, y = imbalanced
    over = Resampler("smote", random_state=0)
    X_res, y_res = over.fit_resample(X, y)
    n = len(y)
    np.testing.assert_array_equal(over.source_indices_[:n], np.arange(n))
    assert over.is_synthetic_[n:].all() and not over.is_synthetic_[:n].any()
    under = Resampler("random_under_sampler", random_state=0)
    X_u, y_u = under.fit_resample(X, y)
    np.testing.assert_array_equal(X_u, X[under.source_indices_])
    np.testing.assert_array_equal(under.sample_indices_, under.source_indices_)
    copies = Resampler("random_over_sampler", random_state=0)
    X_c, _ = copies.fit_resample(X, y)
    assert not copies.is_synthetic_.any()
    np.testing.assert_array_equal(X_c, X[copies.source_indices_])
    combined = Resampler("smoteenn", random_state=0)
    X_se, _ = combined.fit_resample(X, y)
    real = ~combined.is_synthetic_
    np.testing.assert_array_equal(X_se[real], X[combined.source_indices_[real]])
    centroids = Resampler("cluster_centroids", random_state=0, params={"estimator": KMeans(n_init=1, random_state=0)})
    centroids.fit_resample(X, y)
    assert centroids.is_synthetic_.any()


def test_smoteenn_equals_imblearn(imbalanced):
    from imblearn.combine import SMOTEENN

    X, y = imbalanced
    expected = SMOTEENN(random_state=0).fit_resample(X, y)
    got = Resampler("SMOTEENN", random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_every_imblearn_sampler_is_reachable_by_name():
    import imblearn.combine
    import imblearn.over_sampling
    import imblearn.under_sampling

    names = {n for m in (imblearn.over_sampling, imblearn.under_sampling, imblearn.combine) for n in m.__all__}
    assert len(available_resamplers()) == len(names) + 2  # and the two regression over-samplers
    for name in names:
        assert SAMPLERS[resolve_method(name)].__name__ == name


def test_a_class_left_with_one_sample_after_cleaning_does_not_crash():
    """cleanlab finds issues, they are dropped, one class keeps a single sample, SMOTE runs."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(4, 1, (3, 3)), rng.normal(-4, 1, (1, 3))])
    y = np.array([0] * 40 + [1] * 3 + [2])
    with pytest.raises(ValueError):
        SMOTE(random_state=0).fit_resample(X, y)  # what the hand-made pipeline hits
    r = Resampler("smote", random_state=0)
    with pytest.warns(DatafixWarning, match=r"\{1: 2\}.*\[2\] have one sample"):
        X_res, y_res = r.fit_resample(X, y)
    np.testing.assert_array_equal(np.bincount(y_res), [40, 40, 40])
    np.testing.assert_array_equal(X_res[y_res == 2], np.repeat(X[-1:], 40, axis=0))
    assert r.adapted_ == {"k_neighbors": {1: 2}, "single_sample_classes": [2]}
    # class 1's new rows lie between its own samples (k adapted to 2, not copied)
    new1 = X_res[(y_res == 1) & r.is_synthetic_]
    assert len(new1) == 37 and len(np.unique(new1, axis=0)) > 30


@pytest.mark.parametrize("method", ["adasyn", "borderline_smote", "svmsmote"])
def test_small_classes_do_not_crash_other_smote_variants(method):
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(0.5, 1, (4, 2))])
    y = np.array([0] * 60 + [1] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        X_res, y_res = Resampler(method, random_state=0).fit_resample(X, y)
    assert (y_res == 1).sum() > 4 and len(X_res) == len(y_res)


def test_enough_samples_means_no_adaptation_and_no_warning(imbalanced):
    X, y = imbalanced
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatafixWarning)
        got = Resampler("smote", random_state=0).fit_resample(X, y)
    expected = SMOTE(random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(got[0], expected[0])


def test_clone_get_params_and_dataframes(imbalanced):
    X, y = imbalanced
    r = Resampler("smote", sampling_strategy={1: 300}, params={"k_neighbors": 3}, random_state=1)
    assert clone(r).get_params() == r.get_params()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    before = checksum(frame)
    X_res, y_res = r.fit_resample(frame, pd.Series(y, name="target"))
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(frame.columns)
    assert (y_res == 1).sum() == 300 and y_res.name == "target"
    assert checksum(frame) == before


def test_smotenc_on_a_mixed_frame():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "colour": rng.choice(["red", "blue"], size=50)})
    y = np.array([0] * 45 + [1] * 5)
    X_res, y_res = Resampler("smotenc", params={"categorical_features": ["colour"]}, random_state=0).fit_resample(frame, y)
    assert (y_res == 1).sum() == 45 and set(X_res["colour"]) <= {"red", "blue"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "smoot"}, "method"),
        ({"method": "smote", "params": {"k": 3}}, "does not take"),
    ],
)
def test_bad_resampler_arguments(imbalanced, kwargs, match):
    X, y = imbalanced
    with pytest.raises(InvalidInputError, match=match):
        Resampler(**kwargs).fit_resample(X, y)


def test_one_class_raises_a_clear_error():
    with pytest.raises(ValueError, match="class"):
        Resampler("smote").fit_resample(np.zeros((5, 2)), np.zeros(5))


def test_index_level_views_copy_nothing():
    data = torch.utils.data.TensorDataset(torch.arange(10.0)[:, None], torch.tensor([0] * 8 + [1] * 2))
    labels = [0] * 8 + [1] * 2
    up = oversample(data, labels, random_state=0)
    assert len(up) == 16 and isinstance(up, ResampledDataset) and up.dataset is data
    assert sorted(int(data.tensors[1][i]) for i in up.indices).count(1) == 8
    x, label = up[len(up) - 1]
    assert x.data_ptr() == data.tensors[0][up.indices[-1]].data_ptr() or torch.equal(x, data.tensors[0][up.indices[-1]])
    down = undersample(data, labels, random_state=0)
    assert len(down) == 4 and sorted(np.asarray(labels)[down.indices].tolist()) == [0, 0, 1, 1]
    with pytest.raises(ValueError):
        down.indices[0] = 3  # read-only


def test_views_read_labels_from_the_dataset_or_a_view():
    class Targets(torch.utils.data.Dataset):
        targets = [0, 0, 0, 1]

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i

    assert len(oversample(Targets())) == 6
    view = from_arrays(np.zeros((6, 1)), [0, 0, 0, 1, 1, 1]).with_broken({5: "unreadable"})
    down = undersample(list(range(6)), view, random_state=0)
    assert 5 not in down.indices and len(down) == 4
    with pytest.raises(InvalidInputError, match="labels"):
        oversample(list(range(3)), [0, 1])
    with pytest.raises(InvalidInputError, match="indices"):
        ResampledDataset([1, 2], [0, 2])
