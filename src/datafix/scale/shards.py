"""The neighbour index spread over a Ray cluster, in one of two layouts.

- ``"exact"`` (:class:`NeighborShard`): row ``r`` lives in shard ``r % n_shards``, in float64;
  every block of queries is searched against every shard with datafix's exact search (float32
  candidates re-ranked in float64, :mod:`datafix.signals.neighbors`) and the per-shard candidates
  are merged (:func:`merge_candidates`): the merged graph is the single-machine exact graph, ties
  broken by row id as there by position.
- ``"ivf"`` (:class:`CellShard` and :func:`search_cells`): the single-machine IVF search
  (``datafix.signals.neighbors``) spread out. The rows are put in k-means cells (centroids
  trained as there, on the same sample of rows); cell ``c`` lives in shard ``c % n_shards``, in
  float32. A search task takes a group of cells, fetches the rows of the cells they probe from
  the shards, and searches each cell's rows against its pool as one matrix product: the work is
  the single machine's, and no query row travels to a shard.

This module is imported inside Ray workers; it imports Ray only where it is called there.
"""

from __future__ import annotations

import numpy as np
import torch

from datafix.scale.blocks import DISTANCES, NEIGHBORS, ROW
from datafix.signals.neighbors import (
    _EXTRA_CANDIDATES,
    _augmented,
    _augmented_pool,
    _exact_search,
    _ScoreBuffer,
    ivf_probes,
    search_pool,
)

INDEXES = ("exact", "ivf")


class NeighborShard:
    """One shard of the rows for the exact search (run as a Ray actor: ``ray.remote(NeighborShard)``).

    Examples
    --------
    >>> shard = NeighborShard()
    >>> shard.add(np.array([0, 2, 4]), np.array([[0.0], [1.0], [3.0]]))
    3
    >>> shard.seal()
    3
    >>> ids, dist = shard.search(np.array([[0.9]]), 2)
    >>> ids.tolist(), np.round(dist, 3).tolist()
    ([[2, 0]], [[0.1, 0.9]])
    """

    def __init__(self) -> None:
        self.parts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.ids = np.empty(0, np.int64)
        self.rows = np.empty((0, 0))

    def add(self, ids: np.ndarray, features: np.ndarray) -> int:
        """Keep rows ``ids`` (keyed by their first id, so that a retried task replaces its rows
        instead of adding them twice); returns the rows held."""
        if len(ids):
            self.parts[int(ids[0])] = (np.asarray(ids, np.int64), np.asarray(features))
        return sum(len(i) for i, _ in self.parts.values())

    def seal(self) -> int:
        """Put the rows added in one array; returns the number of rows."""
        keys = sorted(self.parts)
        self.ids = np.concatenate([self.parts[k][0] for k in keys]) if keys else np.empty(0, np.int64)
        rows = np.concatenate([self.parts[k][1] for k in keys]) if keys else np.empty((0, 0))
        self.parts = {}
        self.rows = np.ascontiguousarray(rows, dtype=np.float64)
        return len(self.ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows of this shard to each query: (row ids, euclidean distances), ``(q, k)``,
        padded with id -1 and distance inf where the shard has fewer rows."""
        q = len(queries)
        ids = np.full((q, k), -1, np.int64)
        dist = np.full((q, k), np.inf)
        if len(self.ids) == 0 or q == 0:
            return ids, dist
        m = min(k, len(self.ids))
        idx, d = _exact_search(self.rows, np.asarray(queries, np.float64), m, "euclidean", torch.device("cpu"),
                               exclude_self=False, verbose=False)
        ids[:, :m] = self.ids[idx]
        dist[:, :m] = d
        return ids, dist


def merge_candidates(row_ids: np.ndarray, candidates: list[tuple[np.ndarray, np.ndarray]], k: int, *,
                     exclude_self: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ``k`` nearest among the shards' candidates, itself left out (unless the
    queries are not indexed rows: ``exclude_self=False``), nearest first and ties by row id (as
    the single-machine graph breaks them by position).

    Examples
    --------
    >>> a = (np.array([[0, 2]]), np.array([[0.0, 1.0]]))
    >>> b = (np.array([[1, 3]]), np.array([[1.0, 2.0]]))
    >>> ids, dist = merge_candidates(np.array([0]), [a, b], 2)
    >>> ids.tolist(), dist.tolist()
    ([[1, 2]], [[1.0, 1.0]])
    """
    ids = np.concatenate([c[0] for c in candidates], axis=1)
    dist = np.concatenate([c[1] for c in candidates], axis=1)
    dist = np.where(((ids == row_ids[:, None]) & exclude_self) | (ids < 0), np.inf, dist)
    order = np.lexsort((ids, dist), axis=-1)[:, :k]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(dist, order, axis=1)


class CellShard:
    """The rows of some IVF cells (run as a Ray actor: ``ray.remote(CellShard)``), float32, sorted
    by cell and, within a cell, by row id.

    Examples
    --------
    >>> shard = CellShard()
    >>> shard.add(0, np.array([0, 1, 2]), np.array([5, 3, 5]), np.array([[0.0], [1.0], [2.0]]))
    3
    >>> shard.seal()
    {3: 1, 5: 2}
    >>> ids, rows, counts = shard.cells(np.array([5, 3]))
    >>> ids.tolist(), rows.ravel().tolist(), counts.tolist()
    ([0, 2, 1], [0.0, 2.0, 1.0], [2, 1])
    """

    def __init__(self) -> None:
        self.parts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.ids = np.empty(0, np.int64)
        self.rows = np.empty((0, 0), np.float32)
        self.starts: dict[int, tuple[int, int]] = {}

    def add(self, key: int, ids: np.ndarray, cells: np.ndarray, rows: np.ndarray) -> int:
        """Keep rows ``ids`` of cells ``cells`` under ``key`` (a retried task replaces its rows
        instead of adding them twice); returns the rows held."""
        self.parts[int(key)] = (np.asarray(ids, np.int64), np.asarray(cells, np.int64), np.asarray(rows, np.float32))
        return sum(len(i) for i, _, _ in self.parts.values())

    def seal(self) -> dict[int, int]:
        """Sort the rows added by (cell, row id), one part at a time into one array (so the shard
        never holds its rows twice); returns each cell's number of rows."""
        keys = sorted(self.parts)
        ids = np.concatenate([self.parts[k][0] for k in keys]) if keys else np.empty(0, np.int64)
        cells = np.concatenate([self.parts[k][1] for k in keys]) if keys else np.empty(0, np.int64)
        width = self.parts[keys[0]][2].shape[1] if keys else 0
        order = np.lexsort((ids, cells))
        target = np.empty_like(order)
        target[order] = np.arange(len(order))
        self.rows = np.empty((len(ids), width), np.float32)
        offset = 0
        for key in keys:
            part = self.parts.pop(key)[2]
            self.rows[target[offset : offset + len(part)]] = part
            offset += len(part)
        self.ids, cells = ids[order], cells[order]
        present, first, counts = np.unique(cells, return_index=True, return_counts=True)
        self.starts = {int(c): (int(f), int(f + n)) for c, f, n in zip(present, first, counts, strict=True)}
        return {int(c): int(n) for c, n in zip(present, counts, strict=True)}

    def cells(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows of ``cells``, cell after cell in the order given: (row ids, rows, rows per cell)."""
        spans = [self.starts.get(int(c), (0, 0)) for c in cells]
        counts = np.array([b - a for a, b in spans], np.int64)
        if not spans:
            return np.empty(0, np.int64), np.empty((0, self.rows.shape[1]), np.float32), counts
        return (np.concatenate([self.ids[a:b] for a, b in spans]),
                np.concatenate([self.rows[a:b] for a, b in spans]), counts)


def search_cells(cells: np.ndarray, pools: list[np.ndarray], shards: list, k: int, *, queries: list | None = None
                 ) -> dict[str, np.ndarray]:
    """The ``k`` nearest rows of every row of ``cells`` (a group of IVF cells), each cell's rows
    searched against the rows of its pool of cells (its own first, :func:`ivf_pools`), fetched
    from the :class:`CellShard` actors ``shards`` (cell ``c`` in shard ``c % len(shards)``).
    ``queries``: other :class:`CellShard` actors holding the query rows by cell in the same way
    (a test set's rows, searched against the indexed rows; none is left out as itself).
    Returns the query rows' ids, their neighbours' ids and their euclidean distances (float32),
    nearest first, ties by row id, as the single-machine IVF search gives them. Runs in a Ray task.
    """
    where = _fetch_cells(shards, np.unique(np.concatenate(pools)))
    asked = where if queries is None else _fetch_cells(queries, np.asarray(cells))
    out_ids, out_nbr, out_dist = [], [], []
    scores = _ScoreBuffer()
    augmented = {c: _augmented(rows, padded=False) for c, (_, rows) in where.items()}  # once per cell, not per pool
    for cell, pool in zip(cells, pools, strict=True):
        own, own_rows = asked[int(cell)]
        if len(own) == 0:
            continue
        pool_ids = torch.from_numpy(np.concatenate([where[int(c)][0] for c in pool]))
        pool_rows = _augmented_pool([augmented[int(c)] for c in pool])
        nbr, dist = search_pool(pool_rows[: len(own), :-1] if queries is None else torch.from_numpy(own_rows),
                                pool_rows, pool_ids, k, k + _EXTRA_CANDIDATES, "euclidean",
                                self_first=queries is None, scores=scores, augmented=True)
        out_ids.append(own)
        out_nbr.append(nbr.numpy().astype(np.int32) if int(pool_ids.max()) < 2**31 else nbr.numpy())  # half the bytes
        out_dist.append(dist.numpy())
    if not out_ids:
        return {ROW: np.empty(0, np.int64), NEIGHBORS: np.empty((0, k), np.int64),
                DISTANCES: np.empty((0, k), np.float32)}
    return {ROW: np.concatenate(out_ids), NEIGHBORS: np.concatenate(out_nbr), DISTANCES: np.concatenate(out_dist)}


def _fetch_cells(shards: list, wanted: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The rows of cells ``wanted`` from the :class:`CellShard` actors: cell -> (row ids, rows)."""
    import ray

    owner = wanted % len(shards)
    asked = [s for s in range(len(shards)) if (owner == s).any()]
    fetched = ray.get([shards[s].cells.remote(wanted[owner == s]) for s in asked])
    where: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for s, (ids, rows, counts) in zip(asked, fetched, strict=True):
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for c, a, b in zip(wanted[owner == s], bounds[:-1], bounds[1:], strict=True):
            where[int(c)] = (ids[a:b], rows[a:b])
    return where


def ivf_pools(centroids: torch.Tensor, counts: np.ndarray, n_probe: int, least: int) -> list[np.ndarray]:
    """Each cell's pool of cells: its own, then the nearest by centroid distance, ``n_probe`` of
    them (:func:`datafix.signals.neighbors.ivf_probes`), and more while the pool holds fewer than
    ``least`` rows (``counts``: rows per cell), so every row finds its neighbours in its pool.

    Examples
    --------
    >>> pools = ivf_pools(torch.tensor([[0.0], [1.0], [5.0]]), np.array([5, 1, 1]), 1, 3)
    >>> [p.tolist() for p in pools]
    [[0], [1, 0], [2, 1, 0]]
    """
    order = ivf_probes(centroids, len(counts)).numpy()  # every cell, in the single machine's probe order
    sizes = np.cumsum(counts[order], axis=1)
    reach = np.maximum(n_probe, np.argmax(sizes >= least, axis=1) + 1)
    reach[sizes[:, -1] < least] = len(counts)
    return [order[c, : reach[c]] for c in range(len(counts))]
