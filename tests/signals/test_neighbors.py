import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

from datafix.errors import InvalidInputError
from datafix.signals import Signals, knn_graph, knn_query
from datafix.signals import neighbors as nb


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
    assert bare.missing("pred_probs") == ("no pred_probs were given and there are no features to compute them from: "
                                          "pass features= or pred_probs=")
    assert bare.missing("neighbors") is not None


# ---- backends, dtypes, chunking, queries -------------------------------------------------

def recall(approx, exact):
    return (approx.indices[:, :, None] == exact.indices[:, None, :]).any(2).mean()


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=4000, centers=20, n_features=32, cluster_std=3.0, random_state=0)
    return X


def test_cosine_equals_scikit_learn():
    X = np.random.default_rng(1).normal(size=(300, 8))
    g = knn_graph(X, 5, metric="cosine", standardize=False)
    d, i = NearestNeighbors(n_neighbors=6, metric="cosine").fit(X).kneighbors(X)
    np.testing.assert_allclose(g.distances, d[:, 1:], atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_input_dtypes_give_the_same_graph(blobs, dtype):
    X = blobs[:500].astype(dtype)
    ref = knn_graph(blobs[:500].astype(dtype).astype(np.float64), 10)
    g = knn_graph(X, 10)
    np.testing.assert_array_equal(g.indices, ref.indices)


def test_all_identical_points_tie_break_by_position():
    g = knn_graph(np.ones((6, 3)), 3)
    assert (g.distances == 0).all()
    assert g.indices[0].tolist() == [1, 2, 3] and g.indices[5].tolist() == [0, 1, 2]


def test_n_smaller_than_k_and_a_single_sample():
    assert knn_graph(np.eye(4), 10).k == 3
    assert knn_graph(np.eye(1), 10).indices.shape == (1, 0)


def test_small_chunks_give_the_same_graph(blobs, monkeypatch):
    full = knn_graph(blobs[:700], 8, knn_backend="exact")
    monkeypatch.setattr(nb, "_chunk_rows", lambda n_ref, device: 7)
    chunked = knn_graph(blobs[:700], 8, knn_backend="exact")
    np.testing.assert_array_equal(full.indices, chunked.indices)


def test_ivf_recall_against_exact(blobs):
    exact = knn_graph(blobs, 10, knn_backend="exact")
    ivf = knn_graph(blobs, 10, knn_backend="ivf")
    assert ivf.knn_backend == "ivf"
    assert recall(ivf, exact) > 0.97
    found = ivf.indices == exact.indices
    np.testing.assert_allclose(ivf.distances[found], exact.distances[found], rtol=1e-5)


def test_faiss_recall_against_exact(blobs):
    pytest.importorskip("faiss")
    exact = knn_graph(blobs, 10, knn_backend="exact")
    approx = knn_graph(blobs, 10, knn_backend="faiss")
    assert approx.knn_backend == "faiss"
    assert recall(approx, exact) > 0.9
    assert not (approx.indices == np.arange(len(blobs))[:, None]).any()


def test_auto_picks_ivf_only_for_large_n_on_cpu(monkeypatch, blobs):
    monkeypatch.setattr(nb, "APPROX_AUTO_MIN_N", 1000)
    assert knn_graph(blobs[:900], 5, device="cpu").knn_backend == "exact"
    assert knn_graph(blobs[:1500], 5, device="cpu").knn_backend == "ivf"


def test_query_finds_copies_and_checks_columns(blobs):
    q = knn_query(blobs[:1000], blobs[[5, 17]] + 1e-9, 1)
    assert q.indices.ravel().tolist() == [5, 17]
    with pytest.raises(InvalidInputError, match="32 feature columns but the queries have 3"):
        knn_query(blobs[:10], np.zeros((2, 3)))


@pytest.mark.parametrize(("X", "message"), [(np.zeros((5, 0)), "no feature columns"),
                                             (np.array([[1.0], [np.nan]]), "NaN or inf"),
                                             (np.zeros(5), "must be 2-D")])
def test_bad_features_are_named(X, message):
    with pytest.raises(InvalidInputError, match=message):
        knn_graph(X, 2)


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_gpu_graph_equals_cpu_graph(blobs):
    cpu = knn_graph(blobs, 10, knn_backend="exact", device="cpu")
    gpu = knn_graph(blobs, 10, knn_backend="exact", device="cuda")
    np.testing.assert_array_equal(cpu.indices, gpu.indices)
    np.testing.assert_allclose(cpu.distances, gpu.distances)


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 3000), m=st.integers(1, 12), seed=st.integers(0, 2**16),
       tail_min=st.booleans(), ties=st.sampled_from([1, 3, 50]))
def test_smallest_selects_the_m_smallest_columns(rows, cols, m, seed, tail_min, ties):
    # the two-stage selection (block minima, then the best blocks and the columns after the last
    # whole block, compacted to those at most the m-th best block minimum) finds the m smallest
    # values, wherever they lie; with no ties, the same columns as a full top-m
    import torch

    from datafix.signals.neighbors import _smallest

    m = min(m, cols)
    scores = torch.from_numpy((np.random.default_rng(seed).permutation(rows * cols).reshape(rows, cols) // ties)
                              .astype(np.float32))
    if tail_min:  # the smallest values in the last columns (past the last whole block of 64)
        scores[:, -min(cols, 5):] -= rows * cols
    got = _smallest(scores, m)
    want = torch.topk(scores, m, dim=1, largest=False).indices
    assert got.shape == (rows, m)
    for r in range(rows):
        assert len(set(got[r].tolist())) == m
        if ties == 1:
            assert set(got[r].tolist()) == set(want[r].tolist())
        else:  # equal values may be taken from other columns
            assert sorted(scores[r, got[r]].tolist()) == sorted(scores[r, want[r]].tolist())


def test_smallest_of_no_rows_is_empty():
    import torch

    from datafix.signals.neighbors import _smallest

    assert _smallest(torch.empty((0, 5000)), 3).shape == (0, 3)


def test_torch_candidates_match_the_cpu_search_and_brute_force():
    # the GPU path's code run on the CPU and the CPU's GEMM: the two-stage selection of the m
    # smallest (312 blocks of 64 and 32 columns after them, for m = 18) gives the brute-force sets
    import torch

    from datafix.signals.neighbors import _cpu_candidates, _torch_candidates

    rng = np.random.default_rng(0)
    R = rng.normal(size=(20_000, 8)).astype(np.float32)
    Q = R[:300]
    own = np.arange(300)
    torch_cand = _torch_candidates(R, Q, 18, own, torch.device("cpu"), False)
    cpu_cand = _cpu_candidates(R, Q, 18, own, False)
    d2 = ((Q[:, None, :].astype(np.float64) - R[None, :, :]) ** 2).sum(-1)
    d2[own, own] = np.inf
    truth = np.argsort(d2, axis=1)[:, :18]
    for row in range(300):
        assert set(torch_cand[row]) == set(cpu_cand[row]) == set(truth[row])
    assert all(own[i] not in torch_cand[i] for i in range(300))  # a query is not its own neighbour


@pytest.mark.parametrize("blas_threads", [1, 2, 3])
def test_score_products_split_over_threads_equal_one_blas_call(blas_threads, monkeypatch):
    # the CPU search's products are split by rows over single-threaded BLAS calls in threads of
    # their own (BLAS's threads busy-wait after a call and slowed the selection that follows):
    # one part per BLAS thread, the product of one BLAS call (to the bit that of a single-threaded
    # one), and BLAS's thread count is left as it was
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    pools, submitted = [], []

    class Pool(ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            submitted.append(args[0])
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(nb, "thread_pool", lambda name, workers: pools.append(workers) or Pool(workers))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(517, 33)).astype(np.float32), rng.normal(size=(1000, 33)).astype(np.float32)
    with threadpool_limits(blas_threads, user_api="blas"):
        split = nb._ScoreBuffer().product(a, b).copy()
        assert {info["num_threads"] for info in nb._blas().info()} == {blas_threads}
    # a pool of one thread fewer than BLAS's, given one part each; one part on the caller's thread
    assert pools == ([] if blas_threads == 1 else [blas_threads - 1]) and len(submitted) == blas_threads - 1
    whole = np.matmul(a, b.T)
    np.testing.assert_allclose(split, whole, rtol=1e-5, atol=1e-4)
    with threadpool_limits(1, user_api="blas"):
        assert np.array_equal(split, np.matmul(a, b.T))  # the same kernel on every row, whatever the split


def test_a_small_product_has_the_bits_of_a_single_threaded_call():
    # too few rows to split: one call, single-threaded, since a threaded BLAS call tiles its own way
    # (OpenBLAS 0.3.31: other bits for 100 x 1,000 x 33), and the Ray engine's tasks run on one thread
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(100, 33)).astype(np.float32), rng.normal(size=(1000, 33)).astype(np.float32)
    with threadpool_limits(2, user_api="blas"):
        product = nb._ScoreBuffer().product(a, b).copy()
    with threadpool_limits(1, user_api="blas"):
        assert np.array_equal(product, np.matmul(a, b.T))
