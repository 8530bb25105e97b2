"""Column handling shared by the tabular generators: which columns are numeric, checks, output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datafix.data.encoding import as_dates, date_seconds
from datafix.errors import InvalidInputError, InvalidTypeError


@dataclass(frozen=True)
class Roles:
    """Columns the generators do not model as they are.

    ``ids``: ID-like columns (the audit's rule, :func:`datafix.checks.column_quality`): a
    synthetic row gets a missing value there, never a copy of a real key. ``dates``: date
    columns (datetime, or text that parses as dates) modelled as numbers (seconds since 1970)
    and written back as dates: generated, not copied; text dates come back as ISO text.
    """

    ids: tuple[Any, ...] = ()
    dates: tuple[Any, ...] = ()
    whole_days: tuple[Any, ...] = ()


def table_roles(df: pd.DataFrame, label: Any) -> Roles:
    """Find the ID-like and date columns of ``df`` (besides ``label``).

    Examples
    --------
    >>> df = pd.DataFrame({"id": [f"c{i}" for i in range(30)], "day": ["2024-01-02"] * 30, "y": [0, 1] * 15})
    >>> table_roles(df, "y")
    Roles(ids=('id',), dates=('day',), whole_days=('day',))
    """
    from datafix.checks.null import column_quality

    if not isinstance(df, pd.DataFrame) or label not in df.columns:
        return Roles()  # split_frame says what is wrong
    X = df.drop(columns=[label])
    quality = column_quality(X)
    kinds = dict(zip(X.columns, quality["kind"], strict=True))
    ids = dict(zip(X.columns, quality["is_id_like"], strict=True))
    dates = tuple(c for c in X.columns if kinds[c] == "date")
    whole = []
    for c in dates:
        stamps = as_dates(X[c]).dropna()
        if (stamps == stamps.dt.normalize()).all():
            whole.append(c)
    return Roles(ids=tuple(c for c in X.columns if ids[c]), dates=dates, whole_days=tuple(whole))


def split_frame(df: Any, label: Any, roles: Roles | None = None) -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    """Check the frame and the label column; return features, labels, numeric and categorical names.

    With ``roles``, ID-like columns are left out of the features and date columns become
    numbers (seconds since 1970-01-01).
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidTypeError(f"The 'df' argument must be a pandas DataFrame; got {type(df).__name__}.")
    if label not in df.columns:
        raise InvalidInputError(f"The label column {label!r} is not in the frame; its columns are {list(df.columns)[:20]}.")
    y = df[label]
    if y.isna().any():
        raise InvalidInputError(f"The label column {label!r} has {int(y.isna().sum())} missing values.")
    X = df.drop(columns=[label])
    if X.shape[1] == 0:
        raise InvalidInputError("The frame has no feature columns besides the label.")
    if roles is not None:
        X = X.drop(columns=[c for c in roles.ids if c in X.columns])
        for c in roles.dates:
            if c in X.columns:
                dates = as_dates(X[c])
                X[c] = date_seconds(dates) if dates is not None else pd.to_numeric(X[c], errors="coerce")
    numeric = [c for c in X.columns if X[c].dtype.kind in "iuf"]
    categorical = [c for c in X.columns if c not in numeric]
    return X, y, numeric, categorical


def restore_dtypes(frame: pd.DataFrame, like: pd.DataFrame, roles: Roles | None = None) -> pd.DataFrame:
    """Give generated columns the original dtypes (integers rounded; NaN keeps a float/nullable type).

    With ``roles``: ID-like columns are all missing, date columns turn from seconds back into
    dates (datetime columns keep their dtype and time zone; text dates become ISO text).
    """
    roles = roles or Roles()
    out = {}
    for c in like.columns:
        dtype = like[c].dtype
        if c in roles.ids:
            out[c] = _missing(len(frame), dtype)
            continue
        col = frame[c]
        if c in roles.dates:
            tz = getattr(dtype, "tz", None)
            stamps = pd.to_datetime(pd.to_numeric(col, errors="coerce"), unit="s")
            stamps = stamps.dt.round("D" if c in roles.whole_days else "s")
            stamps = stamps.dt.tz_localize(tz) if tz is not None else stamps
            if pd.api.types.is_datetime64_any_dtype(dtype):
                out[c] = stamps.astype(dtype)
            else:
                out[c] = _iso(stamps)
            continue
        if dtype.kind in "iu":
            col = col.round()
            out[c] = col.astype(dtype) if not col.isna().any() else col.astype(_nullable_int(dtype))
        elif isinstance(dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(col, categories=dtype.categories)
        elif dtype.kind == "b":
            out[c] = col.astype(bool) if not col.isna().any() else col.astype("boolean")
        else:
            try:
                out[c] = col.astype(dtype)
            except (TypeError, ValueError):
                out[c] = col
    return pd.DataFrame(out, index=frame.index)


def _missing(n: int, dtype: Any) -> pd.Series:
    """An all-missing column that keeps the dtype (integers as pandas' nullable integers of the same
    width, text as its own string dtype, None for object columns)."""
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pd.Series(pd.array([pd.NA] * n, dtype=_nullable_int(dtype)))
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return pd.Series(np.full(n, np.nan, dtype=dtype))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pd.Series(pd.NaT, index=range(n), dtype=dtype)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):  # StringDtype, Int64, categories, ...: kept
        try:
            return pd.Series(pd.array([None] * n, dtype=dtype))
        except (TypeError, ValueError):
            pass
    return pd.Series([None] * n, dtype=object)


def _nullable_int(dtype: np.dtype) -> str:
    """pandas' nullable integer dtype of a NumPy integer dtype: int32 -> 'Int32', uint8 -> 'UInt8'."""
    return f"{'UInt' if dtype.kind == 'u' else 'Int'}{dtype.itemsize * 8}"


def _iso(stamps: pd.Series) -> pd.Series:
    """Timestamps as ISO text: the date alone when no value has a time of day."""
    whole_days = (stamps.dropna() == stamps.dropna().dt.normalize()).all()
    text = stamps.dt.strftime("%Y-%m-%d" if whole_days else "%Y-%m-%dT%H:%M:%S")
    return text.astype(object).where(stamps.notna(), None)


def rank_scores(values: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks of the observed values (ties averaged); NaN where missing.

    Examples
    --------
    >>> rank_scores(np.array([3.0, np.nan, 1.0])).round(3).tolist()
    [0.674, nan, -0.674]
    """
    from scipy.stats import norm

    ok = ~np.isnan(values)
    z = np.full(len(values), np.nan)
    if ok.any():
        z[ok] = norm.ppf((pd.Series(values[ok]).rank(method="average").to_numpy() - 0.5) / ok.sum())
    return z


def from_quantiles(u: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """The inverse of the empirical distribution of ``sorted_values`` at ``u`` in [0, 1], interpolated.

    Examples
    --------
    >>> from_quantiles(np.array([0.0, 0.5, 1.0]), np.array([1.0, 2.0, 4.0])).tolist()
    [1.0, 2.0, 4.0]
    """
    return np.interp(u * (len(sorted_values) - 1), np.arange(len(sorted_values)), sorted_values)


def provenance(n: int, method: str, seed: int) -> pd.DataFrame:
    """Provenance rows for generated samples that have no parent rows."""
    return pd.DataFrame({"is_synthetic": np.ones(n, bool), "parents": [()] * n, "method": method, "seed": seed})
