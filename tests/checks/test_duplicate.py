import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import datafix as dfx
from datafix.checks.duplicate import duplicate_check, duplicate_groups, exact_duplicate_pairs
from datafix.data.view import hash_rows
from datafix.signals import Signals


def test_injected_duplicates_are_grouped_with_their_source():
    data = dfx.datasets.load_noisy("digits", n_duplicates=25, random_state=0)
    out = duplicate_check(Signals(None, 0, features=data.X, hashes=hash_rows(data.X), verbose=False)).columns
    copies = np.flatnonzero(data.is_duplicate)
    groups = out["duplicate_group"].to_numpy()
    assert out.loc[copies, "is_exact_duplicate"].all()
    assert (groups[copies] == groups[data.duplicate_of[copies]]).all()
    assert (out.loc[copies, "duplicate_score"] == 0).all()


def test_near_copies_without_hashes_are_found_by_distance():
    X = np.random.default_rng(0).normal(size=(200, 5))
    X = np.vstack([X, X[:5] + 1e-4])
    out = duplicate_check(Signals(None, 0, features=X, verbose=False)).columns
    assert out.loc[200:, "is_duplicate"].all() and out.loc[:4, "is_duplicate"].all()
    assert not out.loc[200:, "is_exact_duplicate"].any()
    assert out["is_duplicate"].sum() == 10


def test_groups_are_transitive_and_sizes_count_members():
    ids, sizes = duplicate_groups(6, np.array([[0, 1], [1, 2], [4, 5]]))
    assert ids[0] == ids[1] == ids[2] != ids[4] == ids[5]
    assert ids[3] == -1 and sizes.tolist() == [3, 3, 3, 1, 2, 2]


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40))
def test_exact_pairs_link_exactly_the_equal_hashes(values):
    h = np.array(values, dtype=np.uint64)
    ids, sizes = duplicate_groups(len(h), exact_duplicate_pairs(h))
    for i in range(len(h)):
        assert sizes[i] == (h == h[i]).sum()
        if sizes[i] > 1:
            assert set(np.flatnonzero(ids == ids[i])) == set(np.flatnonzero(h == h[i]))


def test_audit_finds_duplicate_rows_in_a_dataframe_with_categories():
    df = pd.DataFrame({"x": np.arange(40.0), "c": ["a", "b"] * 20, "y": [0, 1] * 20})
    df = pd.concat([df, df.iloc[[3]]]).reset_index(drop=True)
    report = dfx.audit(df, labels="y", checks=["duplicate"], verbose=False)
    assert report.issues.loc[[3, 40], "is_exact_duplicate"].all()
    assert report.issues["is_exact_duplicate"].sum() == 2
