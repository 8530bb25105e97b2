"""Tabular data quality: missing values per row, and per-column problems.

Per sample (cleanlab Datalab's null issue): ``is_null`` when every feature is missing,
``null_score`` = share of features present, ``n_missing``. Per column, in the ``columns``
table: missing and infinite counts, distinct values, and flags for constant, near-constant
(one value in at least 99 % of the rows), mixed-type (text beside numbers in one column) and
ID-like columns (:func:`datafix.data.frame.id_columns`: a key, not a feature). Each
column's ``kind`` says how it enters the features: ``number``, ``bool``, ``date`` (datetime
columns and text that parses as dates: seconds since 1970-01-01, never called ID-like, with its
``first`` and ``last`` date), ``category`` (one-hot) or ``text`` (left out: too many values).
"""

from __future__ import annotations

import numbers
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from datafix._validation import Interval
from datafix.checks.registry import TASKS, CheckResult, register_check
from datafix.data.encoding import MAX_CATEGORIES, as_dates
from datafix.data.frame import id_columns
from datafix.signals.bundle import Signals


def column_quality(table: pd.DataFrame, *, near_constant: float = 0.99) -> pd.DataFrame:
    """One row per column: ``missing``, ``infinite``, ``distinct``, ``top_share`` and flags.

    Parameters
    ----------
    table : pandas.DataFrame
        The audited table (without the label column).
    near_constant : float, default 0.99
        A column whose most common value fills at least this share of the rows is near-constant.

    Examples
    --------
    >>> t = pd.DataFrame({"k": range(30), "c": [1] * 30, "m": ["a", 1] * 15})
    >>> q = column_quality(t)
    >>> q.loc["k", "is_id_like"], q.loc["c", "is_constant"], q.loc["m", "is_mixed_type"]
    (np.True_, np.True_, np.True_)
    >>> dates = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=30).astype(str)})
    >>> column_quality(dates).loc["day", ["kind", "is_id_like", "first"]].tolist()
    ['date', np.False_, '2024-01-01']
    """
    rows = []
    n = len(table)
    ids = set(id_columns(table))
    numeric_columns = [i for i, (_, s) in enumerate(table.items()) if _is_numeric(s)]
    # numeric columns' counts (a sort each, which releases the GIL) on the machine's cores
    with ThreadPoolExecutor(max(1, min(len(numeric_columns), os.cpu_count() or 1, 8))) as pool:
        summaries = dict(zip(numeric_columns, pool.map(lambda i: _numeric_summary(table.iloc[:, i]), numeric_columns),
                             strict=True))
    for i, col in enumerate(table.columns):
        s = table.iloc[:, i]
        dates = as_dates(s)
        numeric = i in summaries
        if numeric:
            n_present, missing, infinite, distinct, top = summaries[i]
            kinds: set[str] = set()
        else:
            present = s.dropna()
            n_present, missing, infinite = len(present), int(s.isna().sum()), 0
            counts = present.value_counts()
            distinct, top = len(counts), int(counts.iloc[0]) if len(counts) else 0
            kinds = {_kind(v) for v in present} if s.dtype == object else set()
        top_share = float(top / n_present) if distinct else float("nan")
        kind = ("date" if dates is not None else "bool" if pd.api.types.is_bool_dtype(s) else "number" if numeric
                else "category" if distinct <= MAX_CATEGORIES else "text")
        rows.append(
            {
                "column": str(col),
                "kind": kind,
                "first": _day(dates.min()) if dates is not None else None,
                "last": _day(dates.max()) if dates is not None else None,
                "missing": missing,
                "infinite": infinite,
                "distinct": distinct,
                "top_share": top_share,
                "is_empty": n_present == 0 and n > 0,
                "is_constant": distinct == 1,
                "is_near_constant": distinct > 1 and top_share >= near_constant,
                "is_mixed_type": len(kinds) > 1,
                "is_id_like": col in ids,
            }
        )
    columns = ["column", "kind", "first", "last", "missing", "infinite", "distinct", "top_share", "is_empty",
               "is_constant", "is_near_constant", "is_mixed_type", "is_id_like"]
    out = pd.DataFrame(rows, columns=columns).set_index("column")
    flags = [c for c in out.columns if c.startswith("is_")]
    out["has_issue"] = out[flags].any(axis=1).astype(bool)
    return out


def _day(value: object) -> str | None:
    """A timestamp as its date (with the time when it has one), for the columns table."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _numeric_summary(s: pd.Series) -> tuple[int, int, int, int, int]:
    """A numeric column's present, missing and infinite counts, distinct values and the count of
    the most common one, by NumPy (much faster than pandas per column)."""
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    finite_or_inf = values[~np.isnan(values)]
    n_present = len(finite_or_inf)
    distinct, top = _distinct_and_top(finite_or_inf)
    return n_present, len(values) - n_present, int(np.isinf(finite_or_inf).sum()), distinct, top


def _distinct_and_top(values: np.ndarray) -> tuple[int, int]:
    """Number of distinct values and the count of the most common one, by sorted run lengths."""
    if not len(values):
        return 0, 0
    values = np.sort(values)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    runs = np.diff(np.r_[starts, len(values)])
    return len(starts), int(runs.max())


def _kind(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


PARAMS = {"near_constant": Interval(float, 0.5, 1.0)}


@register_check(
    "null",
    requires=("table",),
    flag="is_null",
    score="null_score",
    description="rows with every feature missing (column problems in the columns table)",
    params=PARAMS,
    tasks=TASKS,
)
def null_check(signals: Signals, *, near_constant: float = 0.99) -> CheckResult:
    """Missing values per row; per-column problems in the ``columns`` table.

    Parameters
    ----------
    signals : Signals
        The audit's shared signals (the raw table).
    near_constant : float, default 0.99
        Share of the most common value above which a column is near-constant.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> from datafix.signals import Signals
    >>> t = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [np.nan, np.nan, 1.0]})
    >>> null_check(Signals(None, 0, table=t, verbose=False)).columns["n_missing"].tolist()
    [1, 2, 0]
    """
    table = signals.table.reset_index(drop=True)
    return CheckResult(row_nulls(table), null_rule(near_constant),
                       {"columns": column_quality(table, near_constant=near_constant)})


def row_nulls(table: pd.DataFrame) -> pd.DataFrame:
    """The null check's per-row columns (``is_null``, ``null_score``, ``n_missing``): row by row,
    so that a block of rows gets the same values as the whole table.

    Examples
    --------
    >>> row_nulls(pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, np.nan]}))["is_null"].tolist()
    [False, True]
    """
    n_missing = table.isna().to_numpy().sum(axis=1)
    return pd.DataFrame(
        {
            "is_null": n_missing == table.shape[1] if table.shape[1] else np.zeros(len(table), bool),
            "null_score": 1.0 - n_missing / max(table.shape[1], 1),
            "n_missing": n_missing.astype(np.int64),
        }
    )


def null_rule(near_constant: float) -> str:
    """The null check's rule, in words."""
    return ("a row is null when all its features are missing; columns are flagged when "
            f"empty, constant, near-constant (top value >= {near_constant:.0%}), mixed-type or ID-like; "
            "date columns enter the features as seconds since 1970-01-01")
