import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from datafix.signals import Signals, knn_graph


def brute_force(X, k):
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :k]


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 4)), elements=st.integers(-5, 5).map(float)),
       st.integers(1, 8))
def test_distances_equal_brute_force_and_self_is_never_a_neighbour(X, k):
    g = knn_graph(X, k, standardize=False)
    k_eff = min(k, len(X) - 1)
    assert g.indices.shape == (len(X), k_eff)
    assert not (g.indices == np.arange(len(X))[:, None]).any()
    np.testing.assert_allclose(g.distances, brute_force(X, k_eff), atol=1e-9)


def test_identical_points_are_each_others_neighbours_at_distance_zero():
    X = np.array([[1.0, 1.0]] * 3 + [[5.0, 5.0]])
    g = knn_graph(X, 2, standardize=False)
    assert set(g.indices[0]) == {1, 2}
    assert (g.distances[:3] == 0).all()


def test_signals_compute_each_signal_once_and_say_what_is_missing():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.arange(60) % 2
    s = Signals(y, 2, features=X, verbose=False)
    assert s.pred_probs is s.pred_probs and s.neighbors is s.neighbors
    assert "cross-validation" in s.provenance["pred_probs"]
    bare = Signals(y, 2, verbose=False)
    assert bare.missing("pred_probs") == "no pred_probs were given and there are no features to compute them from"
    assert bare.missing("neighbors") is not None
