"""How the columns of a table become features: one :class:`FeatureLayout`, fitted on a profile of
the table and applied to its rows, the same on one machine (the whole table is one block) and on
the Ray engine (the blocks' profiles merged, the layout broadcast to every block).

Numbers and booleans enter as they are, dates (datetime columns, and text columns that parse as
dates, see :func:`as_dates`) as seconds since 1970-01-01, other text and categories one-hot (a
missing or unseen category is an all-zero row), vectors (an embedding per row) side by side.
Columns with no value at all, and text columns with more than :data:`MAX_CATEGORIES` values, are
left out with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from datafix.errors import DatafixWarning, InvalidInputError, warn_user

#: Text columns with more distinct values than this are left out of the features (IDs, free text).
MAX_CATEGORIES = 50
#: The share of a text column's values that must parse as dates for it to count as dates.
DATE_SHARE = 0.95
#: The years a text date may have (those of pandas' nanosecond timestamps): "T0001" is no date.
DATE_YEARS = (1678, 2261)
#: A feature column of dates in a layout: seconds since 1970-01-01.
DATES = "dates"


def as_dates(column: pd.Series) -> pd.Series | None:
    """The column as datetimes when it holds dates (datetime dtype, or text that parses), else None.

    Text counts as dates when at least ``DATE_SHARE`` of its values parse with one format
    (pandas infers it from the first value) into a year from ``DATE_YEARS``, and every value
    holds a digit: identifiers such as ``"T0001"``, which pandas reads as the year 1, are text.

    Examples
    --------
    >>> as_dates(pd.Series(["2024-01-31", "2024-02-01", None])).dt.month.tolist()
    [1.0, 2.0, nan]
    >>> as_dates(pd.Series(["red", "green"])) is None, as_dates(pd.Series([1, 2])) is None
    (True, True)
    >>> as_dates(pd.Series(["T0001", "T0002", "T0003"])) is None
    True
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    if column.dtype != object and not pd.api.types.is_string_dtype(column):
        return None
    present = column.dropna()
    if not len(present) or not all(isinstance(v, str) for v in present.iloc[:100]):
        return None
    if not present.astype(str).str.contains(r"\d", regex=True).all():
        return None
    allowed = (1.0 - DATE_SHARE) * len(present)  # values that may fail to parse
    head = present.iloc[: int(2 * allowed) + 1000]  # pandas infers the format from the first value, as below
    if len(head) - _parse_dates(head).notna().sum() > allowed:
        return None  # the head alone fails too often: parsing every value (slow for IDs, free text) cannot pass
    parsed = _parse_dates(column)
    return parsed if parsed.notna().sum() >= DATE_SHARE * len(present) else None


def date_values(column: pd.Series) -> pd.Series:
    """A date column (one :func:`as_dates` accepts) as datetimes, NaT where a value does not parse.

    Examples
    --------
    >>> date_values(pd.Series(["2024-01-31", "soon"])).isna().tolist()
    [False, True]
    """
    return column if pd.api.types.is_datetime64_any_dtype(column) else _parse_dates(column)


def _parse_dates(values: pd.Series) -> pd.Series:
    """Text parsed as datetimes; a value that does not parse, or whose year is outside ``DATE_YEARS``, is NaT."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": then it is not a date column
        try:
            parsed = pd.to_datetime(values, errors="coerce")
        except (TypeError, ValueError, OverflowError):
            return pd.Series(pd.NaT, index=values.index)
    if not pd.api.types.is_datetime64_any_dtype(parsed):  # mixed time zones: objects
        return pd.Series(pd.NaT, index=values.index)
    return parsed.where(parsed.dt.year.between(*DATE_YEARS))


def date_seconds(dates: pd.Series) -> np.ndarray:
    """Datetimes as float seconds since 1970-01-01 (in their own time zone); NaT is NaN.

    Any resolution and any year: a datetime64[s] column of the year 1 is -62,135,596,800 s.

    Examples
    --------
    >>> date_seconds(pd.Series(pd.to_datetime(["1970-01-02", None]))).tolist()
    [86400.0, nan]
    """
    epoch = pd.Timestamp(0, tz=getattr(dates.dt, "tz", None)).as_unit(dates.dt.unit)
    secs = (dates - epoch).dt.total_seconds()
    return secs.to_numpy(dtype=np.float64, na_value=np.nan)


def is_number(dtype: Any) -> bool:
    """Whether a column of this dtype enters the features as it is (numbers and booleans).

    Examples
    --------
    >>> is_number(np.dtype(bool)), is_number(np.dtype(object))
    (True, False)
    """
    return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)


@dataclass
class FeatureProfile:
    """What the layout is fitted on: per column, how many values it holds, its text values (up
    to one more than :data:`MAX_CATEGORIES`, in order of appearance; a categorical column's own
    categories, all of them, in their order, with its name in ``levels``), whether its text is
    dates, and a vector column's length (-1: lengths differ). :meth:`merge` combines two blocks'
    profiles."""

    non_null: dict[str, int] = field(default_factory=dict)
    categories: dict[str, dict] = field(default_factory=dict)
    dates: dict[str, bool] = field(default_factory=dict)
    vectors: dict[str, int] = field(default_factory=dict)
    levels: set = field(default_factory=set)

    @classmethod
    def of(cls, frame: pd.DataFrame, skip: Iterable[Any] = ()) -> FeatureProfile:
        """The profile of ``frame``'s columns, but those in ``skip``.

        Examples
        --------
        >>> p = FeatureProfile.of(pd.DataFrame({"a": [1.0, None], "c": ["x", "y"]}))
        >>> p.non_null, list(p.categories["c"])
        ({'a': 1, 'c': 2}, ['x', 'y'])
        """
        skipped, profile = set(skip), cls()
        for name in frame.columns:
            if name in skipped:
                continue
            column = frame[name]
            profile.non_null[name] = int(column.notna().sum())
            if is_number(column.dtype):
                continue
            if isinstance(column.dtype, pd.CategoricalDtype):  # its levels (an R factor's), used or not, in order
                profile.categories[name] = dict.fromkeys(column.cat.categories.tolist()[: MAX_CATEGORIES + 1])
                profile.levels.add(name)
                continue
            present = column.dropna()
            if len(present) and _is_vector(present.iloc[0]):  # an embedding per row (a list, array or Ray tensor)
                lengths = {int(np.size(v)) for v in present}
                profile.vectors[name] = lengths.pop() if len(lengths) == 1 else -1
                continue
            if len(present):
                profile.dates[name] = as_dates(column) is not None
            profile.categories[name] = dict.fromkeys(pd.unique(present).tolist()[: MAX_CATEGORIES + 1])
        return profile

    def merge(self, other: FeatureProfile) -> FeatureProfile:
        """The profile of two blocks' rows together."""
        out = FeatureProfile(levels=self.levels | other.levels)
        for name in set(self.vectors) | set(other.vectors):  # -1: lengths that differ
            lengths = {v for v in (self.vectors.get(name), other.vectors.get(name)) if v is not None}
            out.vectors[name] = lengths.pop() if len(lengths) == 1 else -1
        for name in set(self.categories) | set(other.categories):
            values = {**self.categories.get(name, {}), **other.categories.get(name, {})}
            out.categories[name] = dict.fromkeys(list(values)[: MAX_CATEGORIES + 1])
        for name in set(self.dates) | set(other.dates):  # dates when every block that holds values says so
            out.dates[name] = self.dates.get(name, True) and other.dates.get(name, True)
        for name in set(self.non_null) | set(other.non_null):
            out.non_null[name] = self.non_null.get(name, 0) + other.non_null.get(name, 0)
        return out


@dataclass(frozen=True)
class FeatureLayout:
    """Each feature column's encoding, in the table's column order, and the features' names.

    ``encoding`` holds ``(column, how)``: ``how`` None for a number, :data:`DATES`, an int (a
    vector's length) or a list (its categories, one-hot).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 2], "c": ["x", "y"]})
    >>> layout = FeatureLayout.fit(FeatureProfile.of(frame), frame.columns)
    >>> list(layout.names), layout.encode(pd.DataFrame({"a": [5], "c": ["y"]})).tolist()
    (['a', 'c=x', 'c=y'], [[5.0, 0.0, 1.0]])
    """

    encoding: tuple[tuple[Any, Any], ...]
    names: tuple[str, ...]

    @classmethod
    def fit(cls, profile: FeatureProfile, columns: Iterable[Any]) -> FeatureLayout:
        """The layout of ``columns`` given their ``profile``, warning about the columns left out."""
        encoding, names, empty, wide = [], [], [], []
        for name in columns:
            if profile.non_null.get(name, 0) == 0:
                empty.append(str(name))
            elif name in profile.vectors:
                length = profile.vectors[name]
                if length < 1:
                    raise InvalidInputError(f"Column {name!r} holds vectors of different lengths; every row's "
                                            "embedding must have the same length.")
                encoding.append((name, length))
                names.extend(f"{name}[{j}]" for j in range(length))
            elif profile.dates.get(name, False):
                encoding.append((name, DATES))
                names.append(str(name))
            elif name not in profile.categories:
                encoding.append((name, None))
                names.append(str(name))
            elif len(profile.categories[name]) > MAX_CATEGORIES:
                wide.append(str(name))
            else:
                values = list(profile.categories[name])  # a categorical column's levels keep their order
                values = values if name in profile.levels else list(pd.Categorical(values).categories)
                encoding.append((name, values))
                names.extend(f"{name}={v}" for v in values)
        if empty:
            warn_user(f"Columns {empty} hold no value at all and were left out of the features.")
        if wide:
            warn_user(f"Columns {wide} have more than {MAX_CATEGORIES} distinct text values (IDs or free text?) "
                      "and were left out of the features.")
        return cls(tuple(encoding), tuple(names))

    @property
    def vectors(self) -> list[Any]:
        """The columns that hold a vector per row."""
        return [name for name, how in self.encoding if isinstance(how, int)]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """``frame``'s rows as features (n, len(names)), float64; a column the layout reads that
        ``frame`` lacks is zeros (a test table without one of the training table's columns)."""
        parts = []
        for name, how in self.encoding:
            if name not in frame.columns:
                parts.append(np.zeros((len(frame), len(how) if isinstance(how, list) else
                                       how if isinstance(how, int) else 1)))
            elif how is None:
                parts.append(frame[name].to_numpy(np.float64, na_value=np.nan)[:, None])
            elif isinstance(how, str):  # DATES
                parts.append(date_seconds(date_values(frame[name]))[:, None])
            elif isinstance(how, int):  # a vector column: its values side by side (NaN where missing)
                parts.append(np.stack([np.full(how, np.nan) if v is None or v is pd.NA else
                                       np.asarray(v, np.float64) for v in frame[name]]))
            else:
                codes = pd.Categorical(frame[name], categories=how).codes
                onehot = np.zeros((len(frame), len(how)))
                known = codes >= 0
                onehot[np.flatnonzero(known), codes[known]] = 1.0
                parts.append(onehot)
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))


def encode_features(frame: pd.DataFrame) -> tuple[np.ndarray | None, list[str]]:
    """Encode a DataFrame's columns as a float64 matrix and return it with the features' names
    (the table's own :class:`FeatureLayout`; None when no column is a feature).

    Examples
    --------
    >>> X, names = encode_features(pd.DataFrame({"a": [1, 2], "c": ["x", "y"]}))
    >>> X.tolist(), names
    ([[1.0, 1.0, 0.0], [2.0, 0.0, 1.0]], ['a', 'c=x', 'c=y'])
    """
    layout = FeatureLayout.fit(FeatureProfile.of(frame), frame.columns)
    if not layout.encoding:
        return None, []
    return layout.encode(frame), list(layout.names)


def encode_like(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Encode ``frame`` as :func:`encode_features` does, in the columns ``names`` of another encoding.

    One-hot columns of categories the other table did not have are dropped; categories it had
    and ``frame`` lacks are 0. Used to give new rows (a test table, synthetic rows) the training
    table's feature layout.

    Examples
    --------
    >>> X, names = encode_features(pd.DataFrame({"a": [1, 2], "c": ["x", "y"]}))
    >>> encode_like(pd.DataFrame({"a": [5], "c": ["y"]}), names).tolist()
    [[5.0, 0.0, 1.0]]
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)  # the training encoding already said so
        X, own = encode_features(frame)
    if X is None:
        return np.zeros((len(frame), len(names)))
    aligned = pd.DataFrame(X, columns=own).reindex(columns=list(names), fill_value=0.0)
    return aligned.to_numpy(np.float64)


def _is_vector(value: Any) -> bool:
    return not isinstance(value, (str, bytes)) and np.ndim(value) == 1
