"""Several annotators' labels: a long or wide table read into one (n, annotators) matrix of label codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import describe_positions, py_value
from datafix.data.labels import encode_labels
from datafix.errors import InvalidInputError, InvalidTypeError

#: The columns of a long annotation table: one row per (sample, annotator) label.
LONG_COLUMNS = ("sample", "annotator", "label")


@dataclass(frozen=True)
class Annotations:
    """Every annotator's label of every sample, as codes into ``classes``.

    Attributes
    ----------
    codes : numpy.ndarray of int64, shape (n, A)
        ``codes[i, a]``: annotator ``a``'s label of sample ``i`` (a code into ``classes``), -1
        where ``a`` did not label ``i``.
    classes : numpy.ndarray
        The label values any annotator used, sorted.
    annotators : list
        The annotators' names (the wide table's columns, the long table's ``annotator`` values).
    """

    codes: np.ndarray
    classes: np.ndarray
    annotators: list[Any]

    @property
    def counts(self) -> np.ndarray:
        """(n, K) how many annotators gave each class to each sample."""
        n, _ = self.codes.shape
        out = np.zeros((n, len(self.classes)))
        rows, cols = np.nonzero(self.codes >= 0)
        np.add.at(out, (rows, self.codes[rows, cols]), 1.0)
        return out

    def majority_vote(self, tie_break: np.ndarray | None = None) -> np.ndarray:
        """Each sample's most frequent label code; ties go to the class ``tie_break`` (n, K) rates
        highest, else to the class most frequent overall.

        Examples
        --------
        >>> a = Annotations(np.array([[0, 1, 1], [0, 1, -1]]), np.array(["a", "b"]), ["x", "y", "z"])
        >>> a.majority_vote().tolist()
        [1, 1]
        """
        counts = self.counts
        top = counts == counts.max(axis=1, keepdims=True)
        prior = counts.sum(axis=0) / counts.sum() if tie_break is None else np.asarray(tie_break, dtype=float)
        return np.where(top, 1.0 + prior, 0.0).argmax(axis=1).astype(np.int64)

    def wide(self) -> pd.DataFrame:
        """The codes as cleanlab's ``labels_multiannotator``: one float column per annotator, NaN where none."""
        return pd.DataFrame(np.where(self.codes >= 0, self.codes, np.nan), columns=[str(a) for a in self.annotators])


def read_annotations(table: Any, index: pd.Index, *, name: str = "annotators") -> Annotations:
    """Read several annotators' labels for the samples of ``index``.

    Parameters
    ----------
    table : pandas.DataFrame or array-like
        Either a **long** table with columns ``sample``, ``annotator``, ``label`` (one row per
        label given; ``sample`` holds the data's index values), or a **wide** one: one column per
        annotator and one row per sample (aligned on the data's index when the table's index
        holds the same values, else by position), missing (NaN / None) where the annotator did
        not label the sample. A 2-D array is read as a wide table.
    index : pandas.Index
        The data's sample index.
    name : str, default "annotators"
        The argument's name, for errors (the CLI passes its flag).

    Returns
    -------
    Annotations

    Raises
    ------
    InvalidInputError
        Fewer than two annotators, a sample labelled by nobody, a long table naming samples that
        are not in the data, one annotator labelling one sample twice with different labels,
        labels that are not class values.

    Examples
    --------
    >>> long = pd.DataFrame({"sample": [0, 0, 1, 1, 1], "annotator": ["ann", "bob", "ann", "bob", "cy"],
    ...                      "label": ["cat", "dog", "dog", "dog", "cat"]})
    >>> a = read_annotations(long, pd.RangeIndex(2))
    >>> a.annotators, a.classes.tolist(), a.codes.tolist()
    (['ann', 'bob', 'cy'], ['cat', 'dog'], [[0, 1, -1], [1, 1, 0]])
    """
    if isinstance(table, pd.DataFrame) and {"annotator", "label"} <= set(table.columns):
        values, annotators = _long_to_wide(table, index, name)
    else:
        if isinstance(table, pd.DataFrame):
            frame = table
        else:
            if isinstance(table, (str, bytes)) or not hasattr(table, "__len__"):
                raise InvalidTypeError(f"The {name!r} argument must be a DataFrame (long: columns sample, annotator, "
                                       f"label; or wide: one column per annotator) or a 2-D array; got "
                                       f"{type(table).__name__}.")
            array = np.asarray(table, dtype=object)
            if array.ndim != 2:
                raise InvalidInputError(f"The {name!r} argument must be 2-D (one column per annotator); got shape "
                                        f"{array.shape}.")
            frame = pd.DataFrame(array)
        positional = len(frame) == len(index) and isinstance(frame.index, pd.RangeIndex)
        if not frame.index.equals(index) and not positional:
            if not (frame.index.is_unique and frame.index.isin(index).all()):
                raise InvalidInputError(
                    f"The wide {name!r} table has {len(frame)} rows for {len(index)} samples, and its index is not "
                    f"the data's. Give one row per sample, or a long table with columns {list(LONG_COLUMNS)}.")
            frame = frame.reindex(index)  # aligned on the data's index; samples it lacks are unlabelled
        values, annotators = frame.to_numpy(dtype=object), list(frame.columns)
    if len(annotators) < 2:
        raise InvalidInputError(
            f"The {name!r} table has {len(annotators)} annotator{'s' if len(annotators) != 1 else ''}; several "
            "annotators are needed for a consensus. With one label per sample, pass it as labels= instead.")
    given = ~pd.isna(pd.DataFrame(values)).to_numpy()
    nobody = ~given.any(axis=1)
    if nobody.any():
        raise InvalidInputError(
            f"{int(nobody.sum())} samples were labelled by no annotator: {describe_positions(index[nobody])}. Drop "
            f"them from the data, or add their labels to the {name!r} table.")
    codes = np.full(values.shape, -1, dtype=np.int64)
    found, classes = encode_labels(pd.Series(values[given]).infer_objects(), name=name, min_classes=1)
    codes[given] = found
    unused = [a for a, col in zip(annotators, given.T, strict=True) if not col.any()]
    if unused:
        raise InvalidInputError(f"Annotators {[py_value(a) for a in unused][:5]} of the {name!r} table labelled no "
                                "sample; drop their columns.")
    return Annotations(codes, classes, [py_value(a) for a in annotators])


def _long_to_wide(table: pd.DataFrame, index: pd.Index, name: str) -> tuple[np.ndarray, list[Any]]:
    """A long table's labels as a wide (n, A) object matrix (None where not labelled) and the annotators."""
    if "sample" in table.columns:
        samples = pd.Index(table["sample"])
    else:  # the table's own index names the samples
        samples = table.index
    table = table.assign(_pos=index.get_indexer(samples) if index.is_unique else -1)
    unknown = table["_pos"].to_numpy() < 0
    if unknown.any():
        missing = pd.Index(samples[unknown]).unique()
        raise InvalidInputError(
            f"The {name!r} table names {len(missing)} samples that are not in the data: "
            f"{describe_positions(missing)}. Its 'sample' column must hold the data's index "
            "values (row positions for arrays).")
    labelled = table.dropna(subset=["label"]).drop_duplicates(["_pos", "annotator", "label"])
    twice = labelled.duplicated(["_pos", "annotator"], keep=False)
    if twice.any():
        first = labelled[twice].iloc[0]
        raise InvalidInputError(
            f"The {name!r} table gives {int(twice.sum())} conflicting labels for the same (sample, annotator) pair, "
            f"e.g. sample {py_value(index[first['_pos']])!r} by annotator {py_value(first['annotator'])!r}: "
            f"{[py_value(v) for v in labelled[twice & (labelled['_pos'] == first['_pos']) & (labelled['annotator'] == first['annotator'])]['label']]}. "
            "Keep one label per annotator and sample.")
    annotators = list(pd.unique(table["annotator"]))
    values = np.full((len(index), len(annotators)), None, dtype=object)
    column = pd.Index(annotators).get_indexer(labelled["annotator"])
    values[labelled["_pos"].to_numpy(), column] = labelled["label"].to_numpy(dtype=object)
    return values, annotators
