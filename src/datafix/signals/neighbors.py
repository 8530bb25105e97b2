"""The k-nearest-neighbour search that builds the audit's one graph (:class:`~datafix.signals.graph.KNNGraph`).

Exact search is chunked matrix products with top-k in torch, on CPU or GPU: never an n x n
matrix, the chunk size follows the memory available. Candidates are chosen in float32 and
their distances recomputed in float64, so ties and zero distances (identical points) come out
exact, and ties are broken by position (deterministic).

For large n on a CPU, ``knn_backend="auto"`` switches to ``"ivf"``: an inverted-file search in torch
(k-means cells; each cell's points are searched, as one matrix product, against the points of the
cells nearest to it). ``"faiss"`` (the optional ``faiss`` extra, IVF-Flat) is there too; on the
2-core benchmark machine its per-query scans were several times slower than ``"ivf"``'s batched
products at the same recall.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from datafix._threads import thread_pool
from datafix._validation import check_choice, check_int
from datafix.errors import InvalidInputError
from datafix.signals.graph import KNNGraph

BACKENDS = ("auto", "exact", "ivf", "faiss")
METRICS = ("euclidean", "cosine")
#: Above this many samples, ``knn_backend="auto"`` uses the approximate ``"ivf"`` search on a CPU.
APPROX_AUTO_MIN_N = 30_000
_EXTRA_CANDIDATES = 8


def knn_graph(
    features: np.ndarray,
    k_neighbors: int = 40,
    *,
    metric: str = "euclidean",
    standardize: bool = True,
    knn_backend: str = "auto",
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> KNNGraph:
    """k-nearest-neighbour graph of the rows of ``features``, self excluded.

    Parameters
    ----------
    features : numpy.ndarray or torch.Tensor of shape (n, d)
        Finite features; float16, float32 and float64 are accepted.
    k_neighbors : int, default 40
        Neighbours per sample; capped at n - 1.
    metric : {"euclidean", "cosine"}, default "euclidean"
        Distance between rows.
    standardize : bool, default True
        Z-score each column first (constant columns become 0), so that no column dominates by
        its scale.
    knn_backend : {"auto", "exact", "ivf", "faiss"}, default "auto"
        ``"auto"``: exact, except on a CPU above ``APPROX_AUTO_MIN_N`` samples, where it is
        ``"ivf"``. ``"ivf"`` and ``"faiss"`` are approximate (recall measured in the tests).
    device : str or torch.device, optional
        Where exact search runs (default: CUDA when available, else CPU).
    verbose : bool, default False
        Show a progress bar over chunks.

    Returns
    -------
    KNNGraph

    Examples
    --------
    >>> import numpy as np
    >>> g = knn_graph(np.array([[0.0], [1.0], [3.0]]), k_neighbors=1, standardize=False)
    >>> g.indices.ravel().tolist(), g.distances.ravel().tolist()
    ([1, 0, 1], [1.0, 1.0, 2.0])
    """
    X, k, device = _prepare(features, k_neighbors, metric, knn_backend, device, standardize, name="features")
    n = len(X)
    k = min(k, n - 1)
    if k < 1:
        return KNNGraph(np.empty((n, 0), np.int64), np.empty((n, 0)), metric)
    return _search(X, X, k, metric, _pick_backend(knn_backend, n, device), device, exclude_self=True, verbose=verbose)


def knn_query(
    reference: np.ndarray,
    queries: np.ndarray,
    k_neighbors: int = 1,
    *,
    metric: str = "euclidean",
    standardize: bool = True,
    knn_backend: str = "auto",
    device: str | torch.device | None = None,
    verbose: bool = False,
    self_positions: np.ndarray | None = None,
) -> KNNGraph:
    """The k nearest ``reference`` rows of each row of ``queries`` (for train/test leakage).

    Standardisation uses the reference set's mean and scale for both.

    Parameters
    ----------
    reference, queries : numpy.ndarray of shape (n_ref, d) and (n_query, d)
        Finite features.
    k_neighbors, metric, standardize, knn_backend, device, verbose
        As in :func:`knn_graph`.
    self_positions : array of int, optional
        When the queries are rows of the reference set: ``self_positions[i]`` is query i's own
        row, which is then never its neighbour (exact backend only).

    Examples
    --------
    >>> import numpy as np
    >>> g = knn_query(np.array([[0.0], [5.0]]), np.array([[4.0], [0.0]]), standardize=False)
    >>> g.indices.ravel().tolist(), g.distances.ravel().tolist()
    ([1, 0], [1.0, 0.0])
    """
    R, k, device = _prepare(reference, k_neighbors, metric, knn_backend, device, False, name="reference")
    Q, _, _ = _prepare(queries, 1, metric, knn_backend, device, False, name="queries")
    if R.shape[1] != Q.shape[1]:
        raise InvalidInputError(
            f"The reference set has {R.shape[1]} feature columns but the queries have {Q.shape[1]}."
        )
    if standardize:
        mean, scale = R.mean(axis=0), R.std(axis=0)
        scale[scale == 0] = 1.0
        R, Q = (R - mean) / scale, (Q - mean) / scale
    if self_positions is not None:
        self_positions = np.asarray(self_positions, dtype=np.int64)
        if self_positions.shape != (len(Q),) or knn_backend not in ("auto", "exact"):
            raise InvalidInputError(
                "The 'self_positions' argument needs one reference row per query and knn_backend='exact'."
            )
        k = min(k, len(R) - 1)
        idx, dist = _exact_search(R, Q, k, metric, device, exclude_self=False, verbose=verbose,
                                  self_positions=self_positions)
        return KNNGraph(idx, dist, metric, "exact")
    k = min(k, len(R))
    return _search(R, Q, k, metric, _pick_backend(knn_backend, len(R), device), device, exclude_self=False, verbose=verbose)


def _prepare(features, k, metric, backend, device, standardize, *, name):
    k = check_int(k, "k_neighbors", minimum=1)
    check_choice(metric, "metric", METRICS)
    check_choice(backend, "knn_backend", BACKENDS)
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    X = np.asarray(features)
    if X.ndim != 2:
        raise InvalidInputError(f"The {name!r} argument must be 2-D (n_samples, n_features); got shape {X.shape}.")
    if X.shape[1] == 0:
        raise InvalidInputError(f"The {name!r} argument has no feature columns (shape {X.shape}).")
    X = X.astype(np.float64)  # a copy, standardized in place below
    if not np.isfinite(X).all():
        raise InvalidInputError(f"The {name!r} argument has NaN or inf; see nan_policy in datafix.audit.")
    if standardize and len(X):  # as (X - X.mean(0)) / X.std(0), to the bit, with one temporary less
        X -= X.mean(axis=0)
        scale = np.sqrt(np.square(X).sum(axis=0) / len(X))
        scale[scale == 0] = 1.0
        X /= scale
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return X, k, torch.device(device)


def _pick_backend(backend: str, n: int, device: torch.device) -> str:
    if backend == "faiss":
        _import_faiss(required=True)
    if backend != "auto":
        return backend
    return "ivf" if device.type == "cpu" and n > APPROX_AUTO_MIN_N else "exact"


def _search(R, Q, k, metric, backend, device, *, exclude_self, verbose) -> KNNGraph:
    if backend == "faiss":
        return _faiss_search(R, Q, k, metric, exclude_self=exclude_self)
    if backend == "ivf":
        idx, dist = _ivf_search(R, Q, k, metric, device, exclude_self=exclude_self, verbose=verbose)
    else:
        idx, dist = _exact_search(R, Q, k, metric, device, exclude_self=exclude_self, verbose=verbose)
    return KNNGraph(idx, dist, metric, backend)


def _import_faiss(required: bool):
    try:
        import faiss
    except ImportError:
        if required:
            raise InvalidInputError("knn_backend='faiss' needs faiss: pip install 'datafix[faiss]'.") from None
        return None
    return faiss


def _chunk_rows(n_ref: int, device: torch.device) -> int:
    """Query rows per chunk so that a chunk's distance block fits the memory budget."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = free // 4
    else:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 4 << 30
        budget = min(1 << 30, available // 8)
    return int(max(1, min(65536, budget // (max(n_ref, 1) * 4 * 3))))


def _exact_search(R, Q, k, metric, device, *, exclude_self, verbose, self_positions=None):
    """Exact candidates by chunked products; ``self_positions[i]`` is query i's own row in R, if any."""
    n_ref = len(R)
    if exclude_self:
        self_positions = np.arange(len(Q))
    m = min(k + _EXTRA_CANDIDATES, n_ref - (1 if self_positions is not None else 0))
    if metric == "cosine":
        R_, Q_ = _unit(R), _unit(Q)
    else:
        R_, Q_ = R, Q
    if device.type == "cpu":
        cand = _cpu_candidates(R_, Q_, m, self_positions, verbose)
    else:
        cand = _torch_candidates(R_, Q_, m, self_positions, device, verbose)
    return _refine(R, Q, cand, k, metric)


def _torch_candidates(R, Q, m, self_positions, device, verbose):
    """The m smallest of ``|r|^2 - 2 q.r`` per query, with torch on ``device`` (a GPU)."""
    ref32 = torch.from_numpy(R).to(device, torch.float32)
    ref_sq = (ref32 * ref32).sum(dim=1)
    chunk = _chunk_rows(len(R), device)
    cand = np.empty((len(Q), m), dtype=np.int64)
    with torch.inference_mode():
        for start in tqdm(range(0, len(Q), chunk), desc="kNN graph", unit="chunk", disable=not verbose, leave=False):
            q = torch.from_numpy(Q[start : start + chunk]).to(device, torch.float32)
            # |r|^2 - 2 q.r ranks a row's candidates like the squared distance (|q|^2 is constant
            # per row); exact distances are recomputed in float64 afterwards.
            d2 = torch.addmm(ref_sq[None, :].expand(len(q), -1), q, ref32.T, alpha=-2.0)
            if self_positions is not None:
                rows = torch.arange(len(q), device=device)
                own = torch.from_numpy(self_positions[start : start + len(q)]).to(device)
                d2[rows, own] = float("inf")
            cand[start : start + len(q)] = _smallest(d2, m).cpu().numpy()
    return cand


_BLOCK_BITS = 6  # block and offset of a column by shift and mask, not integer division
_BLOCK = 1 << _BLOCK_BITS


def _smallest(scores: torch.Tensor, m: int) -> torch.Tensor:
    """Column indices of the m smallest scores of each row.

    In two stages when the row is long: the minimum of each block of 64 columns, then a top-m over
    the m blocks with the smallest minima (and the columns after the last whole block), which hold
    the m smallest values (any other block's values are at least as large as m values already
    found). A full-row top-m is the slow part of a search (on a GPU, torch's radix top-k over a
    million columns per row; on a CPU, twice the two stages' time over 30,000 columns).
    """
    n_rows, n_cols = scores.shape
    if n_rows == 0:
        return torch.empty((0, m), dtype=torch.int64, device=scores.device)
    n_blocks = n_cols // _BLOCK
    if n_blocks <= 4 * m:
        return torch.topk(scores, m, dim=1, largest=False, sorted=False).indices
    whole = n_blocks * _BLOCK
    blocks = scores[:, :whole].unflatten(1, (n_blocks, _BLOCK))
    best_minima, best_blocks = torch.topk(blocks.amin(dim=2), m, dim=1, largest=False, sorted=False)
    # the best blocks' columns, copied 64 at a time (a gather by an expanded index, or advanced
    # indexing, was 5x slower on a CPU than whole rows of 64 selected from a contiguous matrix)
    row = torch.arange(n_rows, device=scores.device)[:, None]
    if whole == n_cols:
        runs, first = scores.reshape(-1, _BLOCK), best_blocks + row * n_blocks
    else:  # the windows of 64 columns that start at every element of the (contiguous) rows
        scores = scores.contiguous()
        runs, first = scores.as_strided((scores.numel() - _BLOCK + 1, _BLOCK), (1, 1)), best_blocks * _BLOCK + row * n_cols
    pool = runs.index_select(0, first.reshape(-1)).view(n_rows, m * _BLOCK)
    if whole < n_cols:
        pool = torch.cat([pool, scores[:, whole:]], dim=1)
    if scores.device.type == "cpu":
        top = _smallest_below(pool, m, best_minima.amax(dim=1, keepdim=True))
    else:  # (a GPU's top-k is fast; the compaction below would wait for the device)
        top = torch.topk(pool, m, dim=1, largest=False, sorted=False).indices
    in_blocks = top < m * _BLOCK
    block_col = (best_blocks.gather(1, (top >> _BLOCK_BITS).clamp_(max=m - 1)) << _BLOCK_BITS) | (top & (_BLOCK - 1))
    return torch.where(in_blocks, block_col, top - m * _BLOCK + whole)


def _smallest_below(pool: torch.Tensor, m: int, bound: torch.Tensor) -> torch.Tensor:
    """Column indices of the m smallest of each row of ``pool``, of which at least m are at most
    the row's ``bound``: those columns (about m + 10 per row in a kNN search, where the bound is
    the largest of the m best block minima) are compacted into a narrow matrix first. Half the
    time of a top-m over the 3,072 columns of the best 48 blocks on the benchmark machine."""
    below = pool <= bound
    row, col = below.nonzero(as_tuple=True)
    counts = torch.bincount(row, minlength=len(pool))
    width = int(counts.max())
    if width * 4 > pool.shape[1]:  # wide ties or a flat row: the compaction saves nothing
        return torch.topk(pool, m, dim=1, largest=False, sorted=False).indices
    slot = row * width + torch.arange(len(row)) - (counts.cumsum(0) - counts)[row]
    values = torch.full((len(pool) * width,), float("inf"), dtype=pool.dtype).index_put_((slot,), pool[row, col])
    columns = torch.zeros(len(pool) * width, dtype=torch.int64).index_put_((slot,), col)
    best = torch.topk(values.view(len(pool), width), m, dim=1, largest=False, sorted=False).indices
    return columns.view(len(pool), width).gather(1, best)


def _cpu_candidates(R, Q, m, self_positions, verbose):
    """The m smallest of ``|r|^2 - 2 q.r`` per query, on a CPU: one float32 GEMM per chunk through
    NumPy's BLAS (:func:`_augmented`), then :func:`_smallest`."""
    ref = _augmented(R)
    qry = _augmented_queries(Q)
    chunk = _chunk_rows(len(ref), torch.device("cpu"))
    scores = _ScoreBuffer()
    cand = np.empty((len(Q), m), dtype=np.int64)
    with torch.inference_mode():
        for start in tqdm(range(0, len(Q), chunk), desc="kNN graph", unit="chunk", disable=not verbose, leave=False):
            d2 = scores.product(qry[start : start + chunk], ref)
            if self_positions is not None:
                d2[np.arange(len(d2)), self_positions[start : start + len(d2)]] = np.inf
            cand[start : start + len(d2)] = _smallest(torch.from_numpy(d2), m).numpy()
    return cand


class _ScoreBuffer:
    """The float32 block that a CPU search's products are written into, reused from chunk to chunk
    and from call to call: a fresh block of a hundred megabytes is mapped anew by the allocator and
    page-faulted in on every call, which cost as much as the product itself on the benchmark
    machine (190 ms against 67 ms for a 1,500 x 32,000 block).

    Examples
    --------
    >>> buffer = _ScoreBuffer()
    >>> buffer.product(np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)).shape
    (2, 4)
    """

    def __init__(self) -> None:
        self._flat = np.empty(0, dtype=np.float32)

    def product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a @ b.T`` (float32) in the buffer, which grows to the largest block asked for.

        The rows are split into as many parts as BLAS has threads (aligned to ``_SPLIT_ALIGN``
        rows), each part one single-threaded BLAS call from a thread of its own (the caller's, and kept pool threads): BLAS's own
        threads busy-wait for the next call after each product and took a core from the torch
        selection that follows every product (on the benchmark machine, 2 cores and OpenBLAS, that
        selection ran at half speed so); the split products run as fast as one threaded call. Every
        product thus has the bits of a single-threaded call, whatever the thread count: the Ray
        engine's single-threaded tasks build the same graph.
        """
        size = len(a) * len(b)
        if self._flat.size < size:
            self._flat = np.empty(size, dtype=np.float32)
        out = self._flat[:size].reshape(len(a), len(b))
        blas = _blas()
        n_parts = min(len(a) // 64, max((info["num_threads"] for info in blas.info()), default=1))
        if n_parts < 2:  # one thread: a threaded BLAS call splits the tiles its own way (other bits)
            with blas.limit(limits=1):
                return np.matmul(a, b.T, out=out)
        # parts start at multiples of _SPLIT_ALIGN rows: BLAS computes a row with another kernel
        # (another order of the sums) when it falls in a part's last, partial tile, so only aligned
        # parts give the bits of one call (OpenBLAS 0.3.31's SGEMM works in tiles of 12 rows here)
        step = -(-len(a) // n_parts // _SPLIT_ALIGN) * _SPLIT_ALIGN if len(a) >= n_parts * _SPLIT_ALIGN else len(a)
        bounds = list(range(0, len(a), step)) + [len(a)]
        parts = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        if len(parts) < 2:
            with blas.limit(limits=1):
                return np.matmul(a, b.T, out=out)
        pool = thread_pool("knn", n_parts - 1)
        with blas.limit(limits=1):  # the calling thread multiplies the first part itself
            others = [pool.submit(np.matmul, a[rows], b.T, out=out[rows]) for rows in parts[1:]]
            np.matmul(a[parts[0]], b.T, out=out[parts[0]])
            for part in others:
                part.result()
        return out


#: Split products by rows at multiples of this (the least common multiple of BLAS's usual tile
#: sizes 4, 6, 8, 12, 16, 24, 32 and 48), so the parts give the bits of one BLAS call.
_SPLIT_ALIGN = 96


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded in this process (NumPy's among them), whose thread counts
    :meth:`_ScoreBuffer.product` reads and limits."""
    return ThreadpoolController().select(user_api="blas")


def _augmented(R: np.ndarray, *, padded: bool = True) -> np.ndarray:
    """``[r, |r|^2]`` per reference row (float32), ``padded`` to whole blocks of 64 rows with
    :func:`_padding` rows. Against :func:`_augmented_queries` one GEMM gives ``|r|^2 - 2 q.r``,
    which ranks a query's candidates like the squared distance (``|q|^2`` is constant per query;
    exact distances are recomputed afterwards). NumPy's BLAS on the transposed augmented rows (a
    "T" GEMM) ran 2.5-3.5x torch's CPU ``addmm`` for these shapes on the benchmark machine, the
    added column costing nothing."""
    n, d = R.shape
    out = np.empty((n + ((-n) % _BLOCK if padded else 0), d + 1), dtype=np.float32)
    out[:n, :d] = R
    out[:n, d] = np.einsum("ij,ij->i", out[:n, :d], out[:n, :d])
    out[n:] = _padding(len(out) - n, d)
    return out


def _padding(rows: int, d: int) -> np.ndarray:
    """Augmented rows that score +inf against any query: the products' columns then come in whole
    blocks of 64, which :func:`_smallest` selects from without copying the last, partial one."""
    out = np.zeros((rows, d + 1), dtype=np.float32)
    out[:, d] = np.inf
    return out


def _augmented_pool(parts: list[np.ndarray]) -> torch.Tensor:
    """Blocks of augmented rows (``_augmented(..., padded=False)``, e.g. IVF cells) concatenated
    and padded to whole blocks of 64: a CPU :func:`search_pool`'s ``augmented`` pool."""
    size = sum(len(part) for part in parts)
    return torch.from_numpy(np.concatenate([*parts, _padding((-size) % _BLOCK, parts[0].shape[1] - 1)]))


def _augmented_queries(Q: np.ndarray) -> np.ndarray:
    """``[-2 q, 1]`` per query row (float32; scaling by -2 is exact)."""
    out = np.ones((len(Q), Q.shape[1] + 1), dtype=np.float32)
    np.multiply(Q, -2.0, out=out[:, :-1], casting="unsafe")
    return out


def _ivf_search(R, Q, k, metric, device, *, exclude_self, verbose, n_probe=16, seed=0):
    """Approximate search: k-means cells, each cell's queries against its n_probe nearest cells."""
    n = len(R)
    ref = torch.from_numpy(_unit(R) if metric == "cosine" else R).to(device, torch.float32)
    qry = ref if exclude_self else torch.from_numpy(_unit(Q) if metric == "cosine" else Q).to(device, torch.float32)
    m = min(k + _EXTRA_CANDIDATES, n - (1 if exclude_self else 0))
    n_cells = ivf_cells(n)
    centroids = ivf_centroids(lambda positions: ref[positions.to(device)], n, n_cells, seed=seed)
    ref_cell = nearest_centroid(ref, centroids)
    qry_cell = ref_cell if exclude_self else nearest_centroid(qry, centroids)
    near_cells = ivf_probes(centroids, ivf_n_probe(n, n_cells, m, n_probe))
    ref_order = torch.argsort(ref_cell, stable=True)
    starts = torch.searchsorted(ref_cell[ref_order], torch.arange(n_cells + 1, device=device)).tolist()
    on_cpu = device.type == "cpu"
    # the rows in cell order, once (on a CPU with their squared norms, see _augmented): a cell's pool
    # is then a concatenation of contiguous slices (torch's row gather by index was 4x NumPy's
    # slices on a CPU, 16 s of a 1M-row search)
    by_cell = _augmented(ref.numpy()[ref_order.numpy()], padded=False) if on_cpu else ref[ref_order]
    idx = np.zeros((len(qry), k), dtype=np.int64)
    dist = np.full((len(qry), k), np.inf)
    qry_order = torch.argsort(qry_cell, stable=True)
    qry_starts = torch.searchsorted(qry_cell[qry_order], torch.arange(n_cells + 1, device=device)).tolist()
    scores = _ScoreBuffer()
    for c in tqdm(range(n_cells), desc="kNN graph", unit="cell", disable=not verbose, leave=False):
        queries = qry_order[qry_starts[c] : qry_starts[c + 1]]
        if len(queries) == 0:
            continue
        spans = [(starts[j], starts[j + 1]) for j in near_cells[c].tolist()]
        pool_ids = torch.cat([ref_order[a:b] for a, b in spans])
        if on_cpu:  # a cell's own rows open its pool
            pool = _augmented_pool([by_cell[a:b] for a, b in spans])
            q = pool[: len(queries), :-1] if exclude_self else torch.from_numpy(qry.numpy()[queries.numpy()])
        else:
            pool = torch.cat([by_cell[a:b] for a, b in spans])
            q = pool[: len(queries)] if exclude_self else qry[queries]
        cand, cd = search_pool(q, pool, pool_ids, k, m, metric, self_first=exclude_self, scores=scores,
                               augmented=on_cpu)
        rows_np = queries.cpu().numpy()
        idx[rows_np, : cand.shape[1]] = cand.cpu().numpy()
        dist[rows_np, : cand.shape[1]] = cd.double().cpu().numpy()
    short = np.flatnonzero(~np.isfinite(dist).all(axis=1))
    if short.size:  # a cell pool held fewer than k points: search those rows exactly
        sub_idx, sub_dist = _exact_search(R, Q[short], k, metric, device, exclude_self=False, verbose=False,
                                          self_positions=short if exclude_self else None)
        idx[short], dist[short] = sub_idx, sub_dist
    return idx, dist


def ivf_cells(n: int) -> int:
    """The IVF search's number of k-means cells for ``n`` rows: about ``sqrt(n)``, at most one per
    32 rows.

    Examples
    --------
    >>> ivf_cells(1_000_000), ivf_cells(100)
    (1000, 3)
    """
    return int(max(1, min(np.sqrt(n), n // 32)))


def ivf_n_probe(n: int, n_cells: int, m: int, n_probe: int = 16) -> int:
    """Cells searched per query cell: at least ``n_probe``, and enough that a query's pool holds
    about ``4 m`` rows on average (``m``: the candidates kept per query).

    Examples
    --------
    >>> ivf_n_probe(1_000_000, 1000, 48)
    16
    """
    return int(min(n_cells, max(n_probe, int(np.ceil(4 * m * n_cells / max(n, 1))))))


def ivf_centroids(rows_at, n: int, n_cells: int, *, seed: int = 0) -> torch.Tensor:
    """The IVF cells' centroids: 10 Lloyd iterations on a sample of ``64 n_cells`` of the ``n``
    rows, started from ``n_cells`` of them; ``rows_at(positions)`` returns those rows (float32).
    The sample and the start depend on ``n``, ``n_cells`` and ``seed`` only, so an engine that
    holds the rows elsewhere (the Ray engine) trains the same centroids.

    Examples
    --------
    >>> X = torch.randn(640, 2)
    >>> ivf_centroids(lambda positions: X[positions], 640, 4).shape
    torch.Size([4, 2])
    """
    gen = torch.Generator().manual_seed(seed)
    sample = rows_at(torch.randperm(n, generator=gen)[: min(n, 64 * n_cells)])
    centroids = sample[torch.randperm(len(sample), generator=gen)[:n_cells].to(sample.device)].clone()
    with torch.inference_mode():
        for _ in range(10):  # Lloyd iterations on the sample
            cell = nearest_centroid(sample, centroids)
            sums = torch.zeros_like(centroids).index_add_(0, cell, sample)
            counts = torch.bincount(cell, minlength=n_cells).to(sums.dtype)
            filled = counts > 0
            centroids[filled] = sums[filled] / counts[filled, None]
    return centroids


def ivf_probes(centroids: torch.Tensor, n_probe: int) -> torch.Tensor:
    """For each cell, the ``n_probe`` cells whose points its queries are searched against: its own
    first, then by centroid distance.

    Examples
    --------
    >>> ivf_probes(torch.tensor([[0.0], [1.0], [5.0]]), 2).tolist()
    [[0, 1], [1, 0], [2, 1]]
    """
    cell_dist = torch.cdist(centroids, centroids)
    cell_dist.fill_diagonal_(-1.0)  # a cell's own points come first in its pool
    return torch.topk(cell_dist, n_probe, largest=False).indices


def nearest_centroid(X: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """The nearest centroid of each row of ``X`` (squared euclidean distance, float32 products;
    on a CPU NumPy's GEMM of :func:`_augmented` rows, 2-3x torch's ``addmm`` there)."""
    out = torch.empty(len(X), dtype=torch.int64, device=X.device)
    step = _chunk_rows(len(centroids), X.device)
    on_cpu = X.device.type == "cpu"
    if on_cpu:
        cent_aug, scores = _augmented(centroids.numpy(), padded=False), _ScoreBuffer()
    else:
        c_sq = (centroids * centroids).sum(dim=1)
    with torch.inference_mode():
        for s0 in range(0, len(X), step):
            chunk = X[s0 : s0 + step]
            if on_cpu:
                d2 = torch.from_numpy(scores.product(_augmented_queries(chunk.numpy()), cent_aug))
            else:
                d2 = torch.addmm(c_sq[None, :].expand(len(chunk), -1), chunk, centroids.T, alpha=-2.0)
            out[s0 : s0 + step] = d2.argmin(dim=1)
    return out


def search_pool(queries: torch.Tensor, pool: torch.Tensor, pool_ids: torch.Tensor, k: int, m: int, metric: str, *,
                self_first: bool, scores: _ScoreBuffer | None = None,
                augmented: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest ``pool`` rows of each query, as one matrix product per chunk of queries:
    (their ``pool_ids``, distances in float32), nearest first, ties by id; ``m`` candidates per
    query are ranked. With ``self_first``, query ``i`` is pool row ``i`` and is left out. Fewer
    than ``k`` columns come back when the pool is smaller. ``scores``: the buffer of a CPU
    search's products, kept across the calls of one search. ``augmented``: the (CPU) pool rows
    carry their squared norms as a last column and may end in :func:`_padding` rows after the
    ``len(pool_ids)`` rows that count (:func:`_augmented`); the queries carry no norms.

    Examples
    --------
    >>> pool = torch.tensor([[0.0], [1.0], [3.0]])
    >>> ids, dist = search_pool(pool[:1], pool, torch.tensor([7, 8, 9]), 2, 2, "euclidean", self_first=True)
    >>> ids.tolist(), dist.tolist()
    ([[8, 9]], [[1.0, 3.0]])
    """
    take = min(m, len(pool_ids) - (1 if self_first else 0))
    if take <= 0:
        return pool_ids.new_empty((len(queries), 0)), queries.new_empty((len(queries), 0))
    on_cpu = queries.device.type == "cpu"
    if augmented:
        pool_aug, pool = pool.numpy(), pool[:, :-1]
    elif on_cpu:
        pool_aug = _augmented(pool.numpy())
    else:
        pool_sq = (pool * pool).sum(dim=1)
    rows = _chunk_rows(len(pool), queries.device)
    scores = scores if scores is not None else _ScoreBuffer()
    ids, dists = [], []
    with torch.inference_mode():
        for s0 in range(0, len(queries), rows):
            q = queries[s0 : s0 + rows]
            if on_cpu:  # one NumPy GEMM (see _augmented)
                d2 = torch.from_numpy(scores.product(_augmented_queries(q.numpy()), pool_aug))
            else:
                d2 = torch.addmm(pool_sq[None, :].expand(len(q), -1), q, pool.T, alpha=-2.0)
            if self_first:  # the queries open the pool, in order
                local = torch.arange(len(q), device=q.device)
                d2[local, local + s0] = float("inf")
            top = _smallest(d2, take)
            vals = d2.gather(1, top)
            # squared distances from the product (float32: accurate to ~1e-5 of |q|^2);
            # near-zero ones are recomputed from the difference, so identical rows are at 0
            q_sq = (q * q).sum(dim=1, keepdim=True)
            cd = (vals + q_sq).clamp_(min=0.0)
            tiny = cd <= 1e-4 * (q_sq + 1.0)
            if tiny.any():
                r, c_ = tiny.nonzero(as_tuple=True)
                cd[r, c_] = (pool[top[r, c_]] - q[r]).pow(2).sum(dim=1)
            cand = pool_ids[top]
            cd = cd / 2.0 if metric == "cosine" else cd.sqrt_()
            by_id = torch.argsort(cand, dim=1)
            cand, cd = cand.gather(1, by_id), cd.gather(1, by_id)
            by_dist = torch.argsort(cd, dim=1, stable=True)[:, :k]
            ids.append(cand.gather(1, by_dist))
            dists.append(cd.gather(1, by_dist))
    return torch.cat(ids), torch.cat(dists)


def _refine(R, Q, cand, k, metric, invalid=None, dtype=np.float64):
    """Recompute candidate distances (in ``dtype``), sort by (distance, position), keep k.

    Candidates marked ``invalid`` get an infinite distance and so come last. Identical rows
    get distance exactly 0 in any dtype (their difference is 0).
    """
    if metric == "cosine":
        R, Q = _unit(R), _unit(Q)
    R, Q = R.astype(dtype, copy=False), Q.astype(dtype, copy=False)
    dist = np.empty(cand.shape)
    step = max(1, (4 << 20) // max(cand.shape[1] * R.shape[1] * R.itemsize, 1))  # ~4 MB blocks stay in cache
    for start in range(0, len(Q), step):
        diff = R[cand[start : start + step]] - Q[start : start + step, None, :]
        dist[start : start + step] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    if metric == "cosine":
        dist = dist * dist / 2.0  # |a - b|^2 / 2 = 1 - cos(a, b) for unit vectors
    if invalid is not None:
        dist[invalid] = np.inf
    order = np.lexsort((cand, dist), axis=1)[:, :k]
    return np.take_along_axis(cand, order, 1), np.take_along_axis(dist, order, 1)


def _unit(X: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norm == 0, 1.0, norm)


def _faiss_search(R, Q, k, metric, *, exclude_self):
    faiss = _import_faiss(required=True)
    ref = np.ascontiguousarray(_unit(R) if metric == "cosine" else R, dtype=np.float32)
    qry = np.ascontiguousarray(_unit(Q) if metric == "cosine" else Q, dtype=np.float32)
    n, d = ref.shape
    nlist = int(max(1, min(np.sqrt(n), n // 39)))
    quantizer = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist)
    index.cp.niter = 10
    index.cp.seed = 0
    rng = np.random.default_rng(0)
    train = ref[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
    index.train(train)
    index.add(ref)
    index.nprobe = int(min(nlist, max(8, nlist // 16)))
    extra = 1 if exclude_self else 0
    _, cand = index.search(qry, min(k + extra + _EXTRA_CANDIDATES, n))
    cand = cand.astype(np.int64)
    invalid = cand < 0  # faiss pads with -1 when the probed lists hold too few points
    if exclude_self:
        invalid |= cand == np.arange(len(qry))[:, None]
    idx, dist = _refine(R, Q, np.where(invalid, 0, cand), k, metric, invalid, dtype=np.float32)
    return KNNGraph(idx, dist, metric, "faiss")
