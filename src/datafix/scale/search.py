"""The Ray engine's neighbour search: the rows spread over shard actors (by row for the exact
search, by IVF cell for the approximate one, :mod:`datafix.scale.shards`), the graph kept on the
cluster in the search tasks' outputs, and the test set's queries against the same shards."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from datafix.data.view import DataView
from datafix.errors import InvalidInputError
from datafix.scale import blocks as B
from datafix.scale.ingest import ImageFolder, Passes, usable
from datafix.scale.sharded_graph import ShardedGraph
from datafix.scale.shards import (
    CellShard,
    NeighborShard,
    ivf_pools,
    merge_candidates,
    search_cells,
)
from datafix.signals.bundle import HeldOutSet
from datafix.signals.neighbors import (
    _EXTRA_CANDIDATES,
    KNNGraph,
    ivf_cells,
    ivf_centroids,
    ivf_n_probe,
    nearest_centroid,
)


@dataclass(frozen=True)
class Index:
    """The rows spread over the shard actors: by row (``"exact"``; the query pass reads ``encoded``)
    or by IVF cell (``"ivf"``; ``pools``: each cell's pool of cells, ``counts``: rows per cell)."""

    kind: str
    shards: list
    encoded: Any = None
    mean: Any = None
    std: Any = None
    pools: list | None = None
    counts: Any = None
    centroids: Any = None


def build_index(passes: Passes, encoded: Any, row_ids: np.ndarray, mean: np.ndarray, std: np.ndarray, k: int, kind: str,
          n_shards: int) -> Index:
    """The rows spread over ``n_shards`` actors (:mod:`datafix.scale.shards`): by row for the exact
    search, by IVF cell for ``"ivf"`` (the centroids the single-machine IVF trains on the same
    rows, from the same sample and seed)."""
    ray = passes.ray
    if kind == "exact":
        Shard = ray.remote(num_cpus=0)(NeighborShard)
        shards = [Shard.remote() for _ in range(n_shards)]
        encoded.map_batches(_ingest_batch, fn_kwargs={"shards": shards, "mean": mean, "std": std},
                            batch_format="numpy", batch_size=passes.batch_size).take_all()
        ray.get([s.seal.remote() for s in shards])
        return Index(kind, shards, encoded=encoded, mean=mean, std=std)
    n, m = len(row_ids), k + _EXTRA_CANDIDATES
    n_cells = ivf_cells(n)

    def rows_at(positions: Any) -> Any:
        import torch

        wanted = row_ids[positions.numpy()]
        got = passes.collect(encoded, [B.FEATURES], np.unique(wanted))
        at = np.searchsorted(got[B.ROW], wanted)
        return torch.from_numpy(B.standardize(got[B.FEATURES][at].astype(np.float64), mean, std).astype(np.float32))

    centroids = ivf_centroids(rows_at, n, n_cells)
    shards, counts = cell_shards(passes, encoded, mean, std, centroids.numpy(), n_shards)
    pools = ivf_pools(centroids, counts, ivf_n_probe(n, n_cells, m), m + 1)
    return Index(kind, shards, mean=mean, std=std, pools=pools, counts=counts, centroids=centroids.numpy())


def cell_shards(passes: Passes, encoded: Any, mean: np.ndarray, std: np.ndarray, centroids: np.ndarray, n_shards: int
                ) -> tuple[list, np.ndarray]:
    """``n_shards`` :class:`~datafix.scale.shards.CellShard` actors holding the rows of
    ``encoded`` by their nearest centroid, sealed; and the rows per cell."""
    Shard = passes.ray.remote(num_cpus=0)(CellShard)
    shards = [Shard.remote() for _ in range(n_shards)]
    encoded.map_batches(_ingest_cells, fn_kwargs={"shards": shards, "mean": mean, "std": std,
                        "centroids": centroids}, batch_format="numpy", batch_size=passes.batch_size).take_all()
    counts = np.zeros(len(centroids), np.int64)
    for held in passes.ray.get([s.seal.remote() for s in shards]):
        for cell, rows in held.items():
            counts[cell] += rows
    return shards, counts


def sharded_graph(passes: Passes, index: Index, row_ids: np.ndarray, n_rows: int, k: int) -> ShardedGraph:
    """The graph over the usable rows, kept on the cluster in parts; what comes to the driver
    (arrays, votes, medians, pairs) by position among ``row_ids``."""
    ray = passes.ray
    if index.kind == "exact":
        parts = index.encoded.map_batches(_query_batch, fn_kwargs={"shards": index.shards, "mean": index.mean,
                                          "std": index.std, "k": k}, batch_format="numpy",
                                          batch_size=passes.batch_size).materialize().to_numpy_refs()
    else:
        search = ray.remote(num_cpus=1)(search_cells)
        parts = [search.remote(group, [index.pools[c] for c in group], index.shards, k)
                 for group in _cell_groups(index.pools, index.counts, passes.batch_size * 8)]
        ray.wait(parts, num_returns=len(parts), fetch_local=False)
    return ShardedGraph(k, "euclidean", index.kind, fetch=partial(_nearest_graph, passes, parts, row_ids, index.kind),
                        votes=lambda v, smoothing: _votes(passes, parts, row_ids, n_rows, v, smoothing),
                        median=lambda *args: _medians(passes, parts, row_ids, n_rows, *args),
                        pairs=partial(_close_pairs, passes, parts, row_ids))


def _nearest_graph(passes: Passes, parts: list, row_ids: np.ndarray, kind: str, k: int) -> KNNGraph:
    """Each row's ``k`` nearest neighbours, brought to the driver."""
    task = passes.ray.remote(_nearest)
    near = _by_row(passes.ray.get([task.remote(part, k) for part in parts]))
    return KNNGraph(np.searchsorted(row_ids, near[B.NEIGHBORS]), near[B.DISTANCES].astype(np.float64),
                    "euclidean", kind)


def _close_pairs(passes: Passes, parts: list, row_ids: np.ndarray, radius: float) -> np.ndarray:
    """:meth:`KNNGraph.close_pairs` over the whole graph, part by part."""
    task = passes.ray.remote(B.close_pairs_block)
    found = passes.ray.get([task.remote(part, radius) for part in parts])
    return np.stack([np.searchsorted(row_ids, np.concatenate([f[name] for f in found]))
                     for name in (B.ROW, B.NEIGHBORS)], axis=1).astype(np.int64)


def held_out(passes: Passes, source: Any, layout: B.Layout, index: Index, row_ids: np.ndarray, image_size: int,
             rows_index: pd.Index | None = None) -> tuple[HeldOutSet, DataView]:
    """The test set's usable rows (hashes, and each one's nearest indexed row: position among
    ``row_ids``, distance on the training set's standardised features) and its view (indexed by
    ``rows_index``, default the rows' positions, or an image folder's paths)."""
    ray = passes.ray
    images = isinstance(source, ImageFolder)
    ds, n = passes.with_row_ids(source.rows(ray) if images else source, name="test")
    if images:
        encoded = source.encode(ray, ds, layout, image_size, passes.batch_size)
        broken = passes.collect(encoded, [B.BROKEN])[B.BROKEN]
        encoded = encoded.map_batches(usable, batch_format="numpy", batch_size=passes.batch_size).materialize()
        view = DataView(index=source.index, codes=None, classes=None, broken={int(i): str(broken[i])
                        for i in np.flatnonzero(broken != "")}, kind="images")
    else:
        columns = set(ds.schema().names)
        missing = [c for c in layout.table_columns if c not in columns]
        if missing:
            raise InvalidInputError(f"The 'test' dataset lacks the training feature columns {missing}.")
        encoded = passes.encode(ds, replace(layout, label=None, probs=None, regression=False, predictions=None,
                                          multilabel=None, annotators=None))  # the test rows' features only
        view = DataView(index=pd.RangeIndex(n) if rows_index is None else rows_index, codes=None, classes=None,
                        kind="ray")
    if not view.valid.any():
        return HeldOutSet(None, np.empty(0, np.uint64)), view
    passes.moments(encoded, name="test")  # refuses missing or infinite feature values, naming the rows
    if index.kind == "exact":
        parts = encoded.map_batches(_query_batch, fn_kwargs={"shards": index.shards, "mean": index.mean,
                                    "std": index.std, "k": 1, "exclude_self": False}, batch_format="numpy",
                                    batch_size=passes.batch_size)
        search = passes.collect(parts, [B.NEIGHBORS, B.DISTANCES])
    else:
        queries, counts = cell_shards(passes, encoded, index.mean, index.std, index.centroids, len(index.shards))
        groups = [g[counts[g] > 0] for g in _cell_groups(index.pools, counts, passes.batch_size * 8)]
        task = ray.remote(num_cpus=1)(search_cells)
        search = _by_row(ray.get([task.remote(g, [index.pools[c] for c in g], index.shards, 1, queries=queries)
                                  for g in groups if len(g)]))
        for shard in queries:
            ray.kill(shard)
    hashes = passes.collect(encoded, [B.HASH])[B.HASH]
    nearest = KNNGraph(np.searchsorted(row_ids, np.asarray(search[B.NEIGHBORS], np.int64)),
                       np.asarray(search[B.DISTANCES], np.float64), "euclidean", index.kind)
    return HeldOutSet(None, hashes, nearest), view


def release(passes: Passes, index: Index) -> None:
    """Stop the shard actors (their rows are freed)."""
    for shard in index.shards:
        passes.ray.kill(shard)


def _votes(passes: Passes, parts: list, row_ids: np.ndarray, n_rows: int, votes: np.ndarray, smoothing: float) -> np.ndarray:
    by_id = np.zeros((n_rows, votes.shape[1]))
    by_id[row_ids] = votes
    ref = passes.ray.put(by_id)
    cast = passes.ray.remote(B.votes_block)
    return _by_row(passes.ray.get([cast.remote(part, ref, smoothing) for part in parts]))[B.PROBS]


def _medians(passes: Passes, parts: list, row_ids: np.ndarray, n_rows: int, values: np.ndarray, skip: np.ndarray | None,
            fallback: np.ndarray) -> np.ndarray:
    """:func:`~datafix.checks.regression.neighbor_median` over the whole graph, part by part."""
    spread = []
    for given, dtype in ((values, np.float64), (skip, bool), (fallback, np.float64)):
        by_id = np.zeros(n_rows, dtype)
        if given is not None:
            by_id[row_ids] = given
        spread.append(passes.ray.put(by_id))
    task = passes.ray.remote(B.median_block)
    return _by_row(passes.ray.get([task.remote(part, *spread) for part in parts]))[B.VALUE]


def _ingest_batch(batch: dict[str, np.ndarray], shards: list, mean: np.ndarray, std: np.ndarray
                  ) -> dict[str, np.ndarray]:
    import ray

    ids = batch[B.ROW]
    X = B.standardize(np.asarray(batch[B.FEATURES], np.float64), mean, std)
    owner = ids % len(shards)
    ray.get([shard.add.remote(ids[owner == s], X[owner == s]) for s, shard in enumerate(shards) if (owner == s).any()])
    return {"rows": np.array([len(ids)])}


def _query_batch(batch: dict[str, np.ndarray], shards: list, mean: np.ndarray, std: np.ndarray, k: int,
                 exclude_self: bool = True) -> dict[str, np.ndarray]:
    import ray

    ids = batch[B.ROW]
    Q = B.standardize(np.asarray(batch[B.FEATURES], np.float64), mean, std)
    found = ray.get([shard.search.remote(Q, k + 1) for shard in shards])
    nbr, dist = merge_candidates(ids, found, k, exclude_self=exclude_self)
    return {B.ROW: ids, B.NEIGHBORS: nbr, B.DISTANCES: dist}


def _ingest_cells(batch: dict[str, np.ndarray], shards: list, mean: np.ndarray, std: np.ndarray,
                  centroids: np.ndarray) -> dict[str, np.ndarray]:
    import ray
    import torch

    ids = batch[B.ROW]
    X = B.standardize(np.asarray(batch[B.FEATURES], np.float64), mean, std).astype(np.float32)
    cells = nearest_centroid(torch.from_numpy(X), torch.from_numpy(centroids)).numpy()
    owner = cells % len(shards)
    ray.get([shard.add.remote(int(ids[0]), ids[owner == s], cells[owner == s], X[owner == s])
             for s, shard in enumerate(shards) if (owner == s).any()])
    return {"rows": np.array([len(ids)])}


def _cell_groups(pools: list[np.ndarray], counts: np.ndarray, rows: int) -> list[np.ndarray]:
    """The IVF cells in groups of about ``rows`` rows for the search tasks: each group a cell and
    the nearest cells of its pool not yet taken, so that a group's pools overlap (fewer rows
    fetched per task)."""
    taken = np.zeros(len(pools), bool)
    groups = []
    for cell in range(len(pools)):
        if taken[cell]:
            continue
        group, held = [], 0
        for c in pools[cell]:
            if not taken[c] and (not group or held + counts[c] <= rows):
                group.append(c)
                taken[c] = True
                held += counts[c]
        groups.append(np.array(group, np.int64))
    return groups


def _by_row(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Parts of per-row results, joined and in row order."""
    merged = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    order = np.argsort(merged[B.ROW], kind="stable")
    return {name: values[order] for name, values in merged.items()}


def _nearest(part: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    return {B.ROW: part[B.ROW], B.NEIGHBORS: np.asarray(part[B.NEIGHBORS])[:, :k],
            B.DISTANCES: np.asarray(part[B.DISTANCES])[:, :k]}

