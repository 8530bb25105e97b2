"""Turn user labels (ints, strings, categories, integral floats) into int64 codes and back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import describe_positions, py_value
from datafix.errors import InvalidInputError, InvalidTypeError


def encode_labels(
    values: Any, *, index: pd.Index | None = None, name: str = "labels", min_classes: int = 2,
    unlabelled: Any = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Encode class labels as int64 codes ``0..K-1`` and return ``(codes, classes)``.

    ``classes[codes]`` gives back the user's values. Classes are sorted, except for a pandas
    Categorical, whose category order is kept (categories with no sample are dropped).

    Parameters
    ----------
    values : array-like of shape (n,)
        Class labels: ints, strings, bools, categories, or floats with integral values.
    index : pandas.Index, optional
        The source's index, used to name bad rows in errors. Defaults to positions.
    name : str, default "labels"
        The argument's name, for error messages.
    min_classes : int, default 2
        Fewer distinct classes than this raise (an audit needs two; a sampler can take one).
    unlabelled : bool or label value, default False
        False: a missing label raises. True: missing labels (None / NaN) mark unlabelled samples,
        coded -1. A label value (such as -1): that value marks unlabelled samples too.

    Returns
    -------
    codes : numpy.ndarray of int64, shape (n,)
    classes : numpy.ndarray, shape (K,)

    Raises
    ------
    InvalidInputError
        Missing labels (None/NaN), non-integral floats, a shape other than 1-D, fewer than two
        classes.

    Examples
    --------
    >>> codes, classes = encode_labels(["cat", "dog", "cat"])
    >>> codes.tolist(), classes.tolist()
    ([0, 1, 0], ['cat', 'dog'])
    """
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
        values = values.detach().cpu().numpy()
    if isinstance(values, (pd.Series, pd.Index)):
        series = pd.Series(values.to_numpy(), copy=False) if isinstance(values, pd.Index) else values
    else:
        shape = np.shape(values) if isinstance(values, np.ndarray) else _shape_of(values)
        if len(shape) != 1:
            raise InvalidInputError(
                f"The {name!r} argument must be 1-D (one class label per sample); got shape {shape}."
            )
        series = pd.Series(values if isinstance(values, np.ndarray) else list(values), copy=False)
    n = len(series)
    where = index if index is not None and len(index) == n else pd.RangeIndex(n)

    missing = series.isna().to_numpy()
    if unlabelled is not False:
        if unlabelled is not True:
            missing = missing | (series == unlabelled).to_numpy(dtype=bool, na_value=False)
        if n and missing.all():
            raise InvalidInputError(f"The {name!r} argument has no label at all ({n} samples, every one missing); "
                                    "label some samples first.")
        if missing.any():
            known, classes = encode_labels(series[~missing].reset_index(drop=True), index=where[~missing], name=name,
                                           min_classes=min_classes)
            codes = np.full(n, -1, dtype=np.int64)
            codes[~missing] = known
            return codes, classes
    if missing.any():
        raise InvalidInputError(
            f"The {name!r} argument has {int(missing.sum())} missing labels (None/NaN) at "
            f"{describe_positions(where[missing])}. Drop those rows or give them a label."
        )

    if isinstance(series.dtype, pd.CategoricalDtype):
        cat_codes = series.cat.codes.to_numpy()
        present = np.unique(cat_codes)
        classes = np.asarray(series.cat.categories)[present]
        codes = np.searchsorted(present, cat_codes).astype(np.int64)
    else:
        data = series.to_numpy()
        if data.dtype.kind == "f":
            bad = data != np.round(data)
            if bad.any():
                raise InvalidInputError(
                    f"The {name!r} argument must hold class labels; found non-integer floats such "
                    f"as {py_value(data[bad][0])!r} at {describe_positions(where[bad])}. Use ints or strings, "
                    "or round the values if they are classes."
                )
            data = data.astype(np.int64)
        elif data.dtype.kind not in "iubUSO":
            raise InvalidTypeError(
                f"The {name!r} argument must hold ints, strings, bools or categories; got dtype "
                f"{data.dtype}."
            )
        if data.dtype.kind == "O":
            kinds = {type(v) for v in data}
            if len(kinds) > 1 and not all(issubclass(k, (int, np.integer)) for k in kinds):
                raise InvalidInputError(
                    f"The {name!r} argument mixes label types {sorted(k.__name__ for k in kinds)}; "
                    "use one type for all labels."
                )
        small_ints = data.dtype.kind == "i" or (data.dtype.kind == "u" and data.dtype.itemsize < 8)
        if small_ints and n and 0 <= data.min() and data.max() < max(4 * n, 1 << 16):
            # small non-negative ints (the usual class ids): a counting pass instead of a sort
            classes = np.flatnonzero(np.bincount(data.astype(np.intp, copy=False))).astype(data.dtype)
            lookup = np.zeros(int(classes[-1]) + 1, dtype=np.int64)
            lookup[classes] = np.arange(len(classes))
            codes = lookup[data]
        else:
            try:
                classes, codes = np.unique(data, return_inverse=True)
            except TypeError as err:  # unorderable objects
                raise InvalidTypeError(f"The {name!r} argument holds labels that cannot be sorted: {err}") from None
        codes = codes.astype(np.int64).reshape(-1)
    if n and len(classes) < min_classes:
        raise InvalidInputError(
            f"The {name!r} argument has a single class ({py_value(classes[0])!r}); a label audit needs at "
            "least 2 classes."
        )
    return codes, classes


def decode_labels(codes: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Map int codes back to the user's label values; code -1 (unknown) becomes None.

    Parameters
    ----------
    codes : numpy.ndarray of int
        Codes ``0..K-1``, or -1 for unknown.
    classes : numpy.ndarray
        The label values the codes index.

    Examples
    --------
    >>> decode_labels(np.array([1, -1]), np.array(["a", "b"])).tolist()
    ['b', None]
    """
    codes = np.asarray(codes)
    out = np.empty(codes.shape, dtype=object)
    known = codes >= 0
    out[known] = classes[codes[known]]
    out[~known] = None
    if known.all() and classes.dtype != object:
        return classes[codes]
    return out


def _shape_of(values: Any) -> tuple[int, ...]:
    try:
        return np.shape(np.asarray(values, dtype=object))
    except ValueError:  # ragged nesting
        return (len(values), -1)


def check_audit_labels(view: Any) -> None:
    """Labels a label audit can use: at least two classes among the usable samples, and not one per sample.

    Examples
    --------
    >>> from datafix.data import as_view
    >>> check_audit_labels(as_view(np.zeros((4, 1)), labels=["a", "b", "c", "d"]))
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: The labels have a distinct value for every sample (4 values, such as 'a'): that is an ID column or a continuous target, not class labels. Pass the class column as labels=.
    """
    if view.codes is None:
        return
    codes = view.codes[view.valid]
    codes = codes[codes >= 0]  # unlabelled samples
    if not len(codes):
        raise InvalidInputError("No usable sample has a label: there is nothing to learn the classes from. Label "
                                "some samples first.")
    if len(np.unique(codes)) < 2:
        raise InvalidInputError("The usable samples have a single class; a label audit needs at least 2.")
    if len(codes) > 2 and view.n_classes == len(codes):
        raise InvalidInputError(
            f"The labels have a distinct value for every sample ({len(codes)} values, such as "
            f"{py_value(view.classes[0])!r}): that is an ID column or a continuous target, not class labels. "
            "Pass the class column as labels=."
        )


def label_codes(labels: Any, classes: np.ndarray) -> np.ndarray:
    """Codes (int64) of the user's label values in ``classes``; -1 for a value not among them.

    Examples
    --------
    >>> label_codes(["b", "a", "z"], np.array(["a", "b"])).tolist()
    [1, 0, -1]
    """
    codes = pd.Index(classes).get_indexer(pd.Index(np.asarray(labels, dtype=object)))
    return codes.astype(np.int64)
