"""The neighbour index spread over a Ray cluster: one actor per shard of the rows.

Row ``r`` lives in shard ``r % n_shards``. Every block of queries is searched against every shard
and the per-shard candidates are merged, so a sample's neighbours are those of the whole data.
Two kinds of shard:

- ``"exact"``: the shard keeps its rows in float64 and answers with datafix's exact search
  (float32 candidates re-ranked in float64, :mod:`datafix.signals.neighbors`): the merged graph
  is the single-machine exact graph, ties broken by row id as there by position.
- ``"ivf"``: a faiss ``IndexIVFFlat`` per shard, all shards sharing one coarse quantiser trained
  on a sample (float32; approximate: the recall is measured in ``benchmarks/scale.py``).

This module is imported inside Ray workers; it imports Ray only where an actor is made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from datafix.signals.neighbors import _exact_search

INDEXES = ("exact", "ivf")


class NeighborShard:
    """One shard of the rows (run as a Ray actor: ``ray.remote(NeighborShard)``).

    Parameters
    ----------
    index : {"exact", "ivf"}
        The kind of search (see the module's docstring).
    trained : bytes, optional
        For ``"ivf"``: the serialised, trained and empty faiss index all shards start from.
    nprobe : int, default 16
        For ``"ivf"``: the inverted lists visited per query.

    Examples
    --------
    >>> shard = NeighborShard("exact")
    >>> shard.add(np.array([0, 2, 4]), np.array([[0.0], [1.0], [3.0]]))
    3
    >>> shard.seal()
    3
    >>> ids, dist = shard.search(np.array([[0.9]]), 2)
    >>> ids.tolist(), np.round(dist, 3).tolist()
    ([[2, 0]], [[0.1, 0.9]])
    """

    def __init__(self, index: str = "exact", trained: bytes | None = None, nprobe: int = 16) -> None:
        if index not in INDEXES:
            raise ValueError(f"index must be one of {INDEXES}; got {index!r}")
        self.kind = index
        self.trained = trained
        self.nprobe = nprobe
        self.parts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.ids = np.empty(0, np.int64)
        self.rows: Any = None

    def add(self, ids: np.ndarray, features: np.ndarray) -> int:
        """Keep rows ``ids`` (keyed by their first id, so that a retried task replaces its rows
        instead of adding them twice); returns the rows held."""
        if len(ids):
            self.parts[int(ids[0])] = (np.asarray(ids, np.int64), np.asarray(features))
        return sum(len(i) for i, _ in self.parts.values())

    def seal(self) -> int:
        """Build the shard's index from the rows added; returns the number of rows."""
        keys = sorted(self.parts)
        self.ids = np.concatenate([self.parts[k][0] for k in keys]) if keys else np.empty(0, np.int64)
        rows = np.concatenate([self.parts[k][1] for k in keys]) if keys else np.empty((0, 0))
        self.parts = {}
        if self.kind == "exact":
            self.rows = np.ascontiguousarray(rows, dtype=np.float64)
        else:
            import faiss

            self.rows = faiss.deserialize_index(np.frombuffer(self.trained, dtype=np.uint8))
            self.rows.nprobe = self.nprobe
            if len(rows):
                self.rows.add(np.ascontiguousarray(rows, dtype=np.float32))
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
        if self.kind == "exact":
            idx, d = _exact_search(self.rows, np.asarray(queries, np.float64), m, "euclidean", torch.device("cpu"),
                                   exclude_self=False, verbose=False)
        else:
            d2, idx = self.rows.search(np.ascontiguousarray(queries, dtype=np.float32), m)
            d = np.sqrt(np.maximum(d2, 0.0)).astype(np.float64)
            d[idx < 0] = np.inf
        found = idx >= 0
        ids[:, :m] = np.where(found, self.ids[np.maximum(idx, 0)], -1)
        dist[:, :m] = np.where(found, d, np.inf)
        return ids, dist


def merge_candidates(row_ids: np.ndarray, candidates: list[tuple[np.ndarray, np.ndarray]], k: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ``k`` nearest among the shards' candidates, itself left out, nearest first and
    ties by row id (as the single-machine graph breaks them by position).

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
    dist = np.where((ids == row_ids[:, None]) | (ids < 0), np.inf, dist)
    order = np.lexsort((ids, dist), axis=-1)[:, :k]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(dist, order, axis=1)


def ivf_lists(n_rows: int, n_sample: int, k: int) -> tuple[int, int]:
    """``(nlist, nprobe)`` for ``n_rows`` rows, a quantiser trained on ``n_sample`` and ``k``
    neighbours: the single-machine IVF's rule (:mod:`datafix.signals.neighbors`): about
    ``sqrt(n_rows)`` lists (at most one per 39 sample rows, faiss's minimum), and enough of them
    probed that a query's candidates are about ``4 (k + 8)`` rows on average, at least 16.

    Examples
    --------
    >>> ivf_lists(1_000_000, 100_000, 40)
    (1000, 16)
    """
    nlist = int(max(1, min(np.sqrt(n_rows), n_sample // 39)))
    return nlist, int(min(nlist, max(16, np.ceil(4 * (k + 8) * nlist / max(n_rows, 1)))))


def train_ivf(sample: np.ndarray, nlist: int, *, seed: int = 0) -> bytes:
    """A trained, empty faiss ``IndexIVFFlat`` with ``nlist`` inverted lists, serialised (the coarse
    quantiser's k-means on ``sample``).

    Examples
    --------
    >>> blob = train_ivf(np.random.default_rng(0).normal(size=(2000, 8)), 40)
    >>> isinstance(blob, bytes)
    True
    """
    import faiss

    sample = np.ascontiguousarray(sample, dtype=np.float32)
    quantizer = faiss.IndexFlatL2(sample.shape[1])
    index = faiss.IndexIVFFlat(quantizer, sample.shape[1], nlist)
    index.cp.seed = seed
    index.train(sample)
    return faiss.serialize_index(index).tobytes()
