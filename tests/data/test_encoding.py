"""The one feature encoding of a table (datafix.data.encoding): a layout fitted on a profile and
applied per block gives the whole table's encoding, whatever the blocks (issue 41, point 1)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafix.data.encoding import FeatureLayout, FeatureProfile, encode_features, encode_like
from datafix.errors import DatafixWarning, InvalidInputError


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "flag": rng.random(n) < 0.3,
        "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "colour": rng.choice(["red", "green", "blue"], n).astype(object),
        "day": pd.Series(pd.date_range("2024-01-01", periods=n, freq="D").astype(str)),
        "ids": [f"id{i}" for i in range(n)],
    })
    frame.loc[rng.random(n) < 0.2, "colour"] = None
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    return frame


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 120), seed=st.integers(0, 1000), cuts=st.lists(st.integers(1, 119), max_size=5))
def test_a_layout_fitted_on_merged_block_profiles_encodes_each_block_as_the_whole_table(n, seed, cuts):
    frame = _table(n, seed)
    bounds = sorted({0, n, *[c for c in cuts if c < n]})
    blocks = [frame.iloc[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)  # IDs, or a column all missing in a tiny table
        whole, names = encode_features(frame)
        profile = FeatureProfile()
        for block in blocks:
            profile = profile.merge(FeatureProfile.of(block))
        layout = FeatureLayout.fit(profile, frame.columns)
    assert list(layout.names) == names
    np.testing.assert_array_equal(np.vstack([layout.encode(b) for b in blocks]), whole)


def test_the_encoding_reads_numbers_dates_text_and_leaves_out_ids():
    frame = _table(60, 0)
    with pytest.warns(DatafixWarning, match=r"\['ids'\] have more than 50 distinct text values"):
        X, names = encode_features(frame)
    assert names == ["x", "flag", "count", "colour=blue", "colour=green", "colour=red", "day"]
    assert X[1, names.index("day")] - X[0, names.index("day")] == 86_400.0  # seconds
    missing = frame["colour"].isna().to_numpy()
    assert (X[missing][:, 3:6] == 0).all() and (X[~missing][:, 3:6].sum(axis=1) == 1).all()
    assert np.isnan(X[frame["x"].isna().to_numpy(), 0]).all()


def test_text_of_mixed_types_gets_one_order_whatever_the_order_of_the_rows():
    frame = pd.DataFrame({"c": ["b", 1, "a", 1, "b"]})
    assert encode_features(frame)[1] == encode_features(frame.iloc[::-1])[1] == ["c=1", "c=a", "c=b"]


def test_a_column_the_layout_reads_that_new_rows_lack_is_zeros_and_unseen_categories_are_zero_rows():
    train = pd.DataFrame({"a": [1.0, 2.0], "c": ["x", "y"]})
    layout = FeatureLayout.fit(FeatureProfile.of(train), train.columns)
    assert layout.encode(pd.DataFrame({"c": ["z"]})).tolist() == [[0.0, 0.0, 0.0]]
    assert encode_like(pd.DataFrame({"a": [3.0], "c": ["y"]}), list(layout.names)).tolist() == [[3.0, 0.0, 1.0]]


def test_vector_columns_go_side_by_side_and_lengths_that_differ_are_refused():
    frame = pd.DataFrame({"emb": [np.array([1.0, 2.0]), np.array([3.0, 4.0]), None]})
    layout = FeatureLayout.fit(FeatureProfile.of(frame), frame.columns)
    assert layout.names == ("emb[0]", "emb[1]") and layout.vectors == ["emb"]
    np.testing.assert_array_equal(layout.encode(frame), [[1.0, 2.0], [3.0, 4.0], [np.nan, np.nan]])
    ragged = pd.DataFrame({"emb": [np.zeros(2), np.zeros(3)]})
    with pytest.raises(InvalidInputError, match="Column 'emb' holds vectors of different lengths"):
        FeatureLayout.fit(FeatureProfile.of(ragged), ragged.columns)



def test_a_categorical_column_keeps_its_levels_in_their_order_used_or_not():
    """R factors (mlbench's tables read by pyreadr) and pandas categoricals: the levels' order, as
    the encoding always had it (sorting put '10' before '2'); found by encoding 22 real tables with
    the code before and after the one-layout change."""
    levels = [str(v) for v in range(1, 12)]
    frame = pd.DataFrame({"grade": pd.Categorical(["2", "10", "1", "2"], categories=levels)})
    X, names = encode_features(frame)
    assert names == [f"grade={v}" for v in levels]
    assert X[1].tolist() == [1.0 if v == "10" else 0.0 for v in levels]
    blocks = [frame.iloc[:2], frame.iloc[2:]]
    profile = FeatureProfile.of(blocks[0]).merge(FeatureProfile.of(blocks[1]))
    layout = FeatureLayout.fit(profile, frame.columns)
    np.testing.assert_array_equal(np.vstack([layout.encode(b) for b in blocks]), X)
