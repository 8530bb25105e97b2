"""Column handling shared by the tabular generators: which columns are numeric, checks, output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datafix.errors import InvalidInputError, InvalidTypeError


def split_frame(df: Any, label: Any) -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    """Check the frame and the label column; return features, labels, numeric and categorical names."""
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
    numeric = [c for c in X.columns if X[c].dtype.kind in "iuf"]
    categorical = [c for c in X.columns if c not in numeric]
    return X, y, numeric, categorical


def restore_dtypes(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Give generated columns the original dtypes (integers rounded; NaN keeps a float/nullable type)."""
    out = {}
    for c in like.columns:
        col, dtype = frame[c], like[c].dtype
        if dtype.kind in "iu":
            col = col.round()
            out[c] = col.astype(dtype) if not col.isna().any() else col.astype("Int64")
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
