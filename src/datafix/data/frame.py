"""Adapter for a pandas DataFrame with a label column."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from datafix.data.arrays import _labels_for
from datafix.data.view import DataView, _readonly, hash_rows
from datafix.errors import DatafixWarning, InvalidInputError

#: Text columns with more distinct values than this are left out of the features (IDs, free text).
MAX_CATEGORIES = 50


def from_frame(frame: pd.DataFrame, labels: Any = None) -> DataView:
    """Build a :class:`DataView` over a DataFrame.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table. Its index becomes the index of every datafix output.
    labels : str or array-like, optional
        The name of the label column, or the labels themselves (one per row).

    Returns
    -------
    DataView
        Features are the other columns: numbers and booleans as they are, datetimes as seconds,
        categorical and text columns one-hot encoded (a text column with more than
        ``MAX_CATEGORIES`` distinct values is left out with a warning).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"size": [1.0, 2.0, 3.0], "colour": ["r", "g", "r"], "y": ["a", "b", "a"]})
    >>> view = from_frame(df, labels="y")
    >>> view.feature_names
    ['size', 'colour=g', 'colour=r']
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"from_frame needs a pandas DataFrame; got {type(frame).__name__}.")
    if not frame.columns.is_unique:
        dupes = frame.columns[frame.columns.duplicated()].tolist()
        raise InvalidInputError(f"The DataFrame has duplicate column names {dupes}; rename them.")
    feature_frame = frame
    if isinstance(labels, str):
        if labels not in frame.columns:
            raise InvalidInputError(
                f"The 'labels' argument names column {labels!r}, which the DataFrame does not have; "
                f"its columns are {list(map(str, frame.columns))}."
            )
        label_values = frame[labels]
        feature_frame = frame.drop(columns=[labels])
    else:
        label_values = labels
    codes, classes = _labels_for(label_values, frame.index)
    features, names = encode_features(feature_frame)
    return DataView(
        index=frame.index,
        codes=codes,
        classes=classes,
        features=_readonly(features),
        feature_names=names,
        kind="frame",
        source=frame,
        hashes=hash_rows(feature_frame) if feature_frame.shape[1] else None,
        table=feature_frame,
    )


def encode_features(frame: pd.DataFrame) -> tuple[np.ndarray | None, list[str]]:
    """Encode a DataFrame's columns as a float64 matrix and return it with the column names.

    Missing numbers stay NaN. A missing category is an all-zero one-hot row. Columns with no
    value at all, and text columns with more than ``MAX_CATEGORIES`` values, are left out with a
    warning.

    Examples
    --------
    >>> import pandas as pd
    >>> X, names = encode_features(pd.DataFrame({"a": [1, 2], "c": ["x", "y"]}))
    >>> X.tolist(), names
    ([[1.0, 1.0, 0.0], [2.0, 0.0, 1.0]], ['a', 'c=x', 'c=y'])
    """
    blocks: list[np.ndarray] = []
    names: list[str] = []
    skipped: list[str] = []
    empty: list[str] = []
    for col in frame.columns:
        s = frame[col]
        if len(s) and s.isna().all():
            empty.append(str(col))
            continue
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            blocks.append(s.to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
            names.append(str(col))
        elif pd.api.types.is_datetime64_any_dtype(s):
            secs = (s - pd.Timestamp(0, tz=getattr(s.dt, "tz", None))).dt.total_seconds()
            blocks.append(secs.to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
            names.append(str(col))
        else:
            cat = s.astype("category")
            if len(cat.cat.categories) > MAX_CATEGORIES:
                skipped.append(str(col))
                continue
            onehot = pd.get_dummies(cat, prefix=str(col), prefix_sep="=", dtype=np.float64)
            blocks.append(onehot.to_numpy())
            names.extend(map(str, onehot.columns))
    if empty:
        warnings.warn(
            f"Columns {empty} hold no value at all and were left out of the features.",
            DatafixWarning,
            stacklevel=3,
        )
    if skipped:
        warnings.warn(
            f"Columns {skipped} have more than {MAX_CATEGORIES} distinct text values (IDs or free "
            "text?) and were left out of the features.",
            DatafixWarning,
            stacklevel=3,
        )
    if not blocks:
        return None, []
    return np.hstack(blocks), names
