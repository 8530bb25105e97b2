"""The shard actors' bookkeeping, as plain objects (no cluster): a retried ingest task replaces its
rows, a cell's rows come back in row-id order, and every cell's pool holds enough rows."""

from __future__ import annotations

import numpy as np
import torch

from datafix.scale.shards import CellShard, ivf_pools


def test_a_retried_ingest_replaces_its_rows_and_cells_come_back_sorted_by_row_id():
    shard = CellShard()
    rows = np.arange(12, dtype=np.float32).reshape(6, 2)
    shard.add(10, np.array([10, 11, 12]), np.array([4, 1, 4]), rows[:3])
    shard.add(0, np.array([0, 1, 2]), np.array([1, 4, 4]), rows[3:])
    assert shard.add(10, np.array([10, 11, 12]), np.array([4, 1, 4]), rows[:3]) == 6  # the retry: still 6 rows
    assert shard.seal() == {1: 2, 4: 4}
    ids, got, counts = shard.cells(np.array([4, 7, 1]))
    assert ids.tolist() == [1, 2, 10, 12, 0, 11] and counts.tolist() == [4, 0, 2]
    np.testing.assert_array_equal(got, rows[[4, 5, 0, 2, 3, 1]])
    assert got.dtype == np.float32


def test_every_cells_pool_starts_with_itself_and_holds_at_least_the_rows_asked_for():
    rng = np.random.default_rng(0)
    centroids = torch.from_numpy(rng.normal(size=(30, 3)).astype(np.float32))
    counts = rng.integers(0, 5, 30)
    for least in (1, 20, int(counts.sum())):
        pools = ivf_pools(centroids, counts, 3, least)
        for cell, pool in enumerate(pools):
            assert pool[0] == cell and len(set(pool.tolist())) == len(pool) >= 3
            assert counts[pool].sum() >= least
            assert counts[pool[:-1]].sum() < least or len(pool) == 3  # no more cells than needed
