"""Regression targets: read a continuous label column, and tell a regression target from class ids."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import describe_positions
from datafix.errors import InvalidInputError, InvalidTypeError

#: The label tasks a user can name: one class per sample, or a number per sample.
LABEL_TASKS = ("classification", "regression")

#: Float labels with at least this many distinct values (and this share of the samples) are taken
#: for a regression target when ``task`` is not given; floats that are all integral (1.0, 2.0: class
#: ids read from a CSV, say) need the second, larger pair. Integer labels are always classes.
MIN_DISTINCT_TARGETS, MIN_DISTINCT_SHARE = 20, 0.05
MIN_DISTINCT_INTEGRAL, MIN_INTEGRAL_SHARE = 50, 0.2


def read_targets(values: Any, *, index: pd.Index | None = None, name: str = "labels") -> np.ndarray:
    """A regression target as a float64 array, refusing what a regression audit cannot use.

    Parameters
    ----------
    values : array-like of shape (n,)
        Numbers (ints, floats, bools, nullable numeric dtypes).
    index : pandas.Index, optional
        The source's index, used to name bad rows in errors. Defaults to positions.
    name : str, default "labels"
        The argument's name, for error messages.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        A new array; ``values`` is not modified.

    Raises
    ------
    InvalidInputError
        A shape other than 1-D, missing values (None / NaN), infinite values, or a constant target.
    InvalidTypeError
        Values that are not numbers (strings, categories).

    Examples
    --------
    >>> read_targets([1.5, 2, 3.25]).tolist()
    [1.5, 2.0, 3.25]
    >>> read_targets([1.0, float("inf")])
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: The 'labels' argument (a regression target) has 1 infinite value at [1]. Drop those rows or replace the values.
    """
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
        values = values.detach().cpu().numpy()
    series = values if isinstance(values, pd.Series) else pd.Series(
        values if isinstance(values, np.ndarray) and values.ndim == 1 else _one_d(values, name), copy=False)
    n = len(series)
    where = index if index is not None and len(index) == n else pd.RangeIndex(n)
    if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype.kind not in "iufb":
        numbers = pd.to_numeric(series, errors="coerce")
        bad = numbers.isna().to_numpy() & series.notna().to_numpy()
        if bad.any() or series.dtype.kind not in "iufbO":
            first = series[bad].iloc[0] if bad.any() else series.iloc[0] if n else None
            raise InvalidTypeError(
                f"The {name!r} argument must hold numbers for a regression target; found {first!r} at "
                f"{describe_positions(where[bad]) if bad.any() else 'position 0'}. For class labels use "
                "task='classification'.")
        series = numbers
    data = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(data)
    if missing.any():
        raise InvalidInputError(
            f"The {name!r} argument (a regression target) has {int(missing.sum())} missing value"
            f"{'s' if missing.sum() > 1 else ''} (None/NaN) at {describe_positions(where[missing])}. Drop those "
            "rows, or audit them as unlabelled with task='classification'.")
    infinite = np.isinf(data)
    if infinite.any():
        raise InvalidInputError(
            f"The {name!r} argument (a regression target) has {int(infinite.sum())} infinite value"
            f"{'s' if infinite.sum() > 1 else ''} at {describe_positions(where[infinite])}. Drop those rows or "
            "replace the values.")
    if n > 1 and data.min() == data.max():
        raise InvalidInputError(f"The {name!r} argument (a regression target) has the same value {data[0]:g} for "
                                "every sample: there is nothing to audit.")
    return data.copy()


def infer_task(values: Any, *, n: int | None = None) -> str | None:
    """``"regression"`` for labels that look like a continuous target, else None (class labels).

    ``n``: when ``values`` are the distinct values of ``n`` samples (the Ray engine's profile)
    rather than one value per sample.

    A continuous target: floats with at least :data:`MIN_DISTINCT_TARGETS` distinct values that
    are at least :data:`MIN_DISTINCT_SHARE` of the samples; when every value is integral (1.0,
    2.0), at least :data:`MIN_DISTINCT_INTEGRAL` and :data:`MIN_INTEGRAL_SHARE`. Integers, and
    integral floats with fewer distinct values, stay class ids.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> infer_task(rng.normal(size=200)), infer_task([0.0, 1.0, 1.0, 2.0]), infer_task(["a", "b"])
    ('regression', None, None)
    >>> infer_task(pd.Series(np.arange(300) % 100)) is None  # integers are classes, in any container
    True
    """
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    if isinstance(values, pd.Series) and not pd.api.types.is_float_dtype(values):
        return None  # integers (nullable ones too), text, categories: classes, as in an array
    try:
        data = np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan) if isinstance(values, pd.Series)
                          else values)
    except (TypeError, ValueError):
        return None
    if data.ndim != 1 or data.dtype.kind != "f":
        return None
    finite = data[np.isfinite(data)]
    if not len(finite):
        return None
    distinct, n = len(np.unique(finite)), len(data) if n is None else n
    if (finite == np.round(finite)).all():
        return "regression" if distinct >= max(MIN_DISTINCT_INTEGRAL, MIN_INTEGRAL_SHARE * n) else None
    return "regression" if distinct >= max(MIN_DISTINCT_TARGETS, MIN_DISTINCT_SHARE * n) else None


def _one_d(values: Any, name: str) -> Any:
    try:
        arr = np.asarray(values)
    except ValueError:
        arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise InvalidInputError(f"The {name!r} argument must be 1-D (one target value per sample); got shape "
                                f"{arr.shape}.")
    return arr
