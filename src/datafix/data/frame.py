"""Adapter for a pandas DataFrame with a label column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import describe_positions
from datafix.data.arrays import _labels_for
from datafix.data.encoding import as_dates, encode_features
from datafix.data.view import DataView, _readonly, hash_rows
from datafix.errors import InvalidInputError, warn_user

#: An ID-like column needs at least this many rows to be called one.
ID_MIN_ROWS = 20
#: The name pandas gives the unnamed first column of a CSV written with its index.
INDEX_COLUMN = "Unnamed: 0"


def from_frame(frame: pd.DataFrame, labels: Any = None, *, unlabelled: Any = False,
               task: str = "classification", ids: list[Any] | None = None) -> DataView:
    """Build a :class:`DataView` over a DataFrame.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table. Its index becomes the index of every datafix output.
    labels : str or array-like, optional
        The name of the label column, or the labels themselves (one per row); a pandas Series
        is matched to the rows by its index, as pandas aligns (an index that differs from the
        frame's is refused).
    unlabelled : bool or label value, default False
        Whether missing labels (and this value) mark unlabelled samples (see
        :func:`~datafix.data.encode_labels`).
    task : {"classification", "regression"}, default "classification"
        ``"regression"``: the labels are numbers, kept as ``view.targets``.
    ids : list, optional
        The identifier columns (default: ``id_columns`` finds them, with a warning).

    Returns
    -------
    DataView
        Features are the other columns: numbers and booleans as they are, datetimes as seconds,
        categorical and text columns one-hot encoded (a text column with more than
        ``MAX_CATEGORIES`` distinct values is left out with a warning). Identifier columns
        (``id_columns``) are left out of the features and of the content hashes, so they
        hide no duplicate; ``view.id_columns`` names them.

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
    check_unique_index(frame.index)
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
        label_values = aligned_labels(labels, frame.index)
    if ids is None:
        ids = id_columns(feature_frame)
        if ids:
            warn_user(_id_columns_note(feature_frame, ids))
    described = feature_frame.drop(columns=ids)
    features, names = encode_features(described)
    return DataView(
        index=frame.index,
        **_labels_for(label_values, frame.index, unlabelled, task),
        features=_readonly(features),
        feature_names=names,
        kind="frame",
        source=frame,
        hashes=hash_rows(described) if described.shape[1] else None,
        table=feature_frame,
        id_columns=tuple(ids),
    )


def aligned_labels(labels: Any, index: pd.Index) -> Any:
    """``labels`` in the rows' order: a Series matched by its index, as pandas aligns; anything else
    as it is (by position).

    Examples
    --------
    >>> aligned_labels(pd.Series(["b", "a"], index=[11, 10]), pd.Index([10, 11])).tolist()
    ['a', 'b']
    """
    if not isinstance(labels, pd.Series) or labels.index.equals(index):
        return labels
    check_unique_index(labels.index, name="labels", kind="Series")
    lacking, extra = index.difference(labels.index, sort=False), labels.index.difference(index, sort=False)
    if len(lacking) or len(extra):
        raise InvalidInputError(
            "The 'labels' Series is matched to the data's rows by its index, as pandas aligns, but the indexes "
            f"differ: the data's rows {describe_positions(lacking)} have no label in it and its index values "
            f"{describe_positions(extra)} are no row of the data. Give the labels the data's index "
            "(labels.set_axis(df.index) when they are in the rows' order), or pass labels.to_numpy().")
    return labels.reindex(index)


def id_columns(frame: pd.DataFrame) -> list[Any]:
    """The columns that identify rows instead of describing them (keys, row numbers).

    A column is an identifier when the table has at least ``ID_MIN_ROWS`` rows and the column
    has a distinct value on every distinct row (a row that repeats in every column, identifier
    included, is one sample written twice), no value missing, and it is text (not dates), or
    integers without a gap (1, 2, 3, ... in any order), or pandas' ``INDEX_COLUMN`` (the index
    of a CSV written with it).

    Examples
    --------
    >>> df = pd.DataFrame({"id": range(30), "name": [f"n{i}" for i in range(30)], "x": [0.5] * 30})
    >>> id_columns(df)
    ['id', 'name']
    """
    if len(frame) < ID_MIN_ROWS:
        return []
    plain = frame[[col for col in frame.columns if _hashable(frame[col])]]  # not columns of vectors
    distinct_rows = plain[~pd.Series(hash_rows(plain)).duplicated().to_numpy()] if plain.shape[1] else plain
    return [col for col in plain.columns if _names_rows(distinct_rows[col], col)]


def _hashable(column: pd.Series) -> bool:
    """Whether a column holds scalars (not arrays, lists or dicts, e.g. an embedding per row)."""
    if column.dtype != object:
        return True
    values = column.dropna()
    return values.empty or not isinstance(values.iloc[0], (np.ndarray, list, dict, set, tuple))


def _names_rows(column: pd.Series, name: Any) -> bool:
    """Whether ``column``, over rows that differ, holds one identifier per row."""
    if column.isna().any() or pd.api.types.is_bool_dtype(column) or not column.is_unique:
        return False
    if name == INDEX_COLUMN:
        return True
    if pd.api.types.is_integer_dtype(column):
        return int(column.max()) - int(column.min()) == len(column) - 1
    return not pd.api.types.is_numeric_dtype(column) and as_dates(column) is None


def _id_columns_note(frame: pd.DataFrame, ids: list[Any]) -> str:
    """The warning that names the identifier columns and the way to use one as the index."""
    named = ", ".join(repr(str(c)) for c in ids)
    repeated = [str(c) for c in ids if not frame[c].is_unique]
    first = str(ids[0])
    return (f"Column{'s' * (len(ids) > 1)} {named} hold{'s' * (len(ids) == 1)} one identifier per row (ID-like)"
            + (f"; {', '.join(map(repr, repeated))} repeat{'s' * (len(repeated) == 1)} only where a whole row "
               "repeats (one sample written twice)" if repeated else "")
            + ": left out of the features and of the duplicate comparison, so rows that differ only there are "
            f"duplicates. To identify the samples by it, read it as the index: index_col={first!r} in pd.read_csv, "
            f"or df.set_index({first!r})" + (" once the repeated rows are dropped." if first in repeated else "."))


def check_unique_index(index: pd.Index, *, name: str = "data", kind: str = "DataFrame") -> None:
    """Raise when ``index`` repeats a value: every datafix output has one row per sample, by index.

    Examples
    --------
    >>> check_unique_index(pd.Index([0, 1, 1, 2, 2]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: The 'data' DataFrame's index repeats 2 values ([1, 2]) ...
    """
    if index.is_unique:
        return
    repeated = index[index.duplicated(keep="first")].unique()
    raise InvalidInputError(
        f"The {name!r} {kind}'s index repeats {len(repeated)} values ({describe_positions(repeated)}) "
        f"over {int(index.duplicated(keep=False).sum())} rows; datafix reports one row per sample, by index "
        "(a pd.concat without ignore_index=True gives such an index). Use df.reset_index(drop=True), or set "
        "a column with one value per row as the index."
    )
