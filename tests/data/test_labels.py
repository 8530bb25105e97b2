import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from datafix.data import decode_labels, encode_labels
from datafix.errors import InvalidInputError


def test_strings_are_sorted_and_round_trip():
    codes, classes = encode_labels(["dog", "cat", "dog", "bird"])
    assert classes.tolist() == ["bird", "cat", "dog"]
    assert codes.tolist() == [2, 1, 2, 0]
    assert codes.dtype == np.int64


def test_categorical_keeps_category_order_and_drops_empty_categories():
    s = pd.Series(pd.Categorical(["lo", "hi", "lo"], categories=["hi", "mid", "lo"]))
    codes, classes = encode_labels(s)
    assert classes.tolist() == ["hi", "lo"]
    assert codes.tolist() == [1, 0, 1]


def test_integral_floats_and_tensors_become_ints():
    codes, classes = encode_labels(np.array([2.0, 5.0, 2.0]))
    assert classes.tolist() == [2, 5] and codes.tolist() == [0, 1, 0]
    codes, classes = encode_labels(torch.tensor([1, 0, 1]))
    assert classes.tolist() == [0, 1] and codes.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0, None, 1], "missing labels"),
        ([0.0, np.nan, 1.0], "missing labels"),
        ([1.5, 2.0, 1.0], "non-integer floats such as 1.5"),
        ([3, 3, 3], "single class"),
        ([[0, 1], [1, 0]], "must be 1-D"),
        ([1, "a", 1], "mixes label types"),
    ],
)
def test_bad_labels_raise_naming_the_problem(labels, message):
    with pytest.raises(InvalidInputError, match=message):
        encode_labels(labels)


def test_missing_labels_are_named_by_the_source_index():
    with pytest.raises(InvalidInputError, match=r"\['b'\]"):
        encode_labels([0, None, 1], index=pd.Index(["a", "b", "c"]))


def test_decode_marks_unknown_codes_as_none():
    assert decode_labels(np.array([0, -1, 1]), np.array([10, 20])).tolist() == [10, None, 20]


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2).filter(lambda v: len(set(v)) > 1))
def test_round_trip_for_any_string_labels(values):
    codes, classes = encode_labels(values)
    assert classes[codes].tolist() == values
    assert list(classes) == sorted(set(values))


@given(st.lists(st.integers(-1000, 1000), min_size=2).filter(lambda v: len(set(v)) > 1))
def test_round_trip_for_any_int_labels(values):
    codes, classes = encode_labels(np.array(values))
    assert classes[codes].tolist() == values
    assert codes.min() == 0 and codes.max() == len(classes) - 1
