"""What the Ray engine computes on one block of rows: pure functions of a pandas block and the
broadcast global state, so that every block gets the values the whole table would give.

Each function is called by Ray Data's ``map_batches`` inside a worker; none imports Ray.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from datafix.checks.label import knn_label_votes
from datafix.checks.null import row_nulls
from datafix.data.frame import MAX_CATEGORIES
from datafix.data.labels import label_codes
from datafix.data.view import hash_rows
from datafix.errors import DatafixWarning
from datafix.signals.neighbors import KNNGraph

#: Column names the engine adds to a block (never a user's: they are dropped from the features).
ROW, FEATURES, CODE, HASH, PROBS, NEIGHBORS, DISTANCES = (
    "_datafix_row", "_datafix_features", "_datafix_code", "_datafix_hash", "_datafix_probs", "_datafix_neighbors",
    "_datafix_distances")


@dataclass
class Profile:
    """What the first pass learns about the blocks: rows, schema, label values, text categories
    and which columns hold a value at all; :meth:`merge` combines two blocks' profiles."""

    rows: int = 0
    schema: dict[str, str] = field(default_factory=dict)
    schemas: list[dict[str, str]] = field(default_factory=list)
    labels: set = field(default_factory=set)
    unlabelled: int = 0
    categories: dict[str, set] = field(default_factory=dict)
    non_null: dict[str, int] = field(default_factory=dict)

    def merge(self, other: Profile) -> Profile:
        out = Profile(self.rows + other.rows, self.schema or other.schema, self.schemas + other.schemas,
                      self.labels | other.labels, self.unlabelled + other.unlabelled)
        for name in set(self.categories) | set(other.categories):
            values = self.categories.get(name, set()) | other.categories.get(name, set())
            out.categories[name] = values if len(values) <= MAX_CATEGORIES else set(list(values)[: MAX_CATEGORIES + 1])
        for name in set(self.non_null) | set(other.non_null):
            out.non_null[name] = self.non_null.get(name, 0) + other.non_null.get(name, 0)
        return out


def is_number(dtype: Any) -> bool:
    """Whether a column of this dtype enters the features as it is (numbers and booleans)."""
    return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)


def profile_block(block: pd.DataFrame, label: str, skip: Sequence[str]) -> pd.DataFrame:
    """One block's :class:`Profile`, pickled into a one-row frame (``map_batches`` returns tables)."""
    schema = {str(c): str(block[c].dtype) for c in block.columns if c != ROW}
    profile = Profile(len(block), schema, [schema])
    values = block[label]
    known = values.notna()
    profile.unlabelled = int((~known).sum())
    profile.labels = set(pd.unique(values[known]).tolist())
    for name in block.columns:
        if name in skip or name == label or name == ROW:
            continue
        column = block[name]
        profile.non_null[name] = int(column.notna().sum())
        if not is_number(column.dtype):
            profile.categories[name] = set(pd.unique(column.dropna()).tolist()[: MAX_CATEGORIES + 1])
    return pd.DataFrame({"profile": [pickle.dumps(profile)]})


@dataclass(frozen=True)
class Layout:
    """How a block becomes features, label codes and hashes (decided once from the merged
    :class:`Profile`, broadcast to every block)."""

    label: str
    classes: np.ndarray
    table_columns: list[str]
    encoding: list[tuple[str, list | None]]
    feature_names: list[str]
    probs: list[str] | None = None
    features_fn: Any = None
    dtype: Any = np.float64


def encode_block(block: pd.DataFrame, layout: Layout) -> dict[str, np.ndarray]:
    """A block's row ids, features (float64), label codes (-1: no label), row hashes, the null
    check's per-row columns and, when given, pred_probs: the values the single-machine audit
    computes for the same rows (:func:`datafix.data.frame.encode_features`, :func:`hash_rows`)."""
    table = block[layout.table_columns]
    out: dict[str, np.ndarray] = {ROW: block[ROW].to_numpy(np.int64)}
    if layout.features_fn is not None:
        features = np.asarray(layout.features_fn(block.drop(columns=[ROW])), dtype=np.float64)
        if features.ndim != 2 or len(features) != len(block):
            raise ValueError(f"features= returned shape {features.shape} for a block of {len(block)} rows; it must "
                             "return one row of features per row, shape (rows, d).")
    else:
        parts = []
        for name, values in layout.encoding:  # in the table's column order, as encode_features
            if values is None:
                parts.append(table[name].to_numpy(np.float64, na_value=np.nan)[:, None])
                continue
            codes = pd.Categorical(table[name], categories=values).codes
            onehot = np.zeros((len(table), len(values)))
            known = codes >= 0
            onehot[np.flatnonzero(known), codes[known]] = 1.0
            parts.append(onehot)
        features = np.hstack(parts) if parts else np.zeros((len(table), 0))
    out[FEATURES] = features.astype(layout.dtype, copy=False)  # float32 for the approximate index
    labels = block[layout.label]
    codes = label_codes(labels.where(labels.notna(), None), layout.classes)
    codes[labels.isna().to_numpy()] = -1
    out[CODE] = codes
    out[HASH] = hash_rows(table) if table.shape[1] else np.zeros(len(block), np.uint64)
    nulls = row_nulls(table.reset_index(drop=True))
    for name in nulls.columns:
        out[name] = nulls[name].to_numpy()
    if layout.probs is not None:
        out[PROBS] = (np.stack(block[layout.probs[0]].to_numpy()) if len(layout.probs) == 1
                      else block[layout.probs].to_numpy(np.float64)).astype(np.float64)
    return out


def moments_block(batch: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows, column means, squared deviations (for Chan's parallel variance) and the count of
    non-finite feature values of one block of encoded rows."""
    X = np.asarray(batch[FEATURES], dtype=np.float64)
    finite = np.isfinite(X).all(axis=1)
    mean = X.mean(axis=0) if len(X) else np.zeros(X.shape[1])
    m2 = ((X - mean) ** 2).sum(axis=0) if len(X) else np.zeros(X.shape[1])
    bad = batch[ROW][~finite][:5]
    return pd.DataFrame({"moments": [pickle.dumps((len(X), mean, m2, int((~finite).sum()), bad.tolist()))]})


def merge_moments(parts: list[tuple]) -> tuple[int, np.ndarray, np.ndarray]:
    """Rows, mean and population standard deviation of the whole data from the blocks' moments
    (Chan et al.'s pairwise update, as exact as numpy's two-pass formula to rounding).

    Examples
    --------
    >>> X = np.arange(10.0)[:, None] ** 2
    >>> parts = [(len(b), b.mean(0), ((b - b.mean(0)) ** 2).sum(0)) for b in (X[:3], X[3:])]
    >>> n, mean, std = merge_moments(parts)
    >>> bool(np.allclose(std, X.std(0)))
    True
    """
    n, mean, m2 = 0, None, None
    for rows, m, s in parts:
        if rows == 0:
            continue
        if mean is None:
            n, mean, m2 = rows, m.astype(np.float64), s.astype(np.float64)
            continue
        delta = m - mean
        total = n + rows
        mean = mean + delta * rows / total
        m2 = m2 + s + delta**2 * n * rows / total
        n = total
    return n, mean, np.sqrt(m2 / max(n, 1))


def standardize(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Z-scores as :func:`datafix.signals.knn_graph` computes them (constant columns become 0)."""
    scale = np.where(std == 0, 1.0, std)
    return (X - mean) / scale


def votes_block(batch: dict[str, np.ndarray], votes: np.ndarray, smoothing: float) -> dict[str, np.ndarray]:
    """The distance-weighted label votes of each row's neighbours (:func:`knn_label_votes` on the
    block's rows of the graph; ``votes`` holds every row's vote, by row id)."""
    graph = KNNGraph(np.asarray(batch[NEIGHBORS], np.int64), np.asarray(batch[DISTANCES], np.float64), "euclidean")
    return {ROW: batch[ROW], PROBS: knn_label_votes(votes, graph, smoothing=smoothing)}


def predict_block(batch: dict[str, np.ndarray], model: Any, n_classes: int, fitted_classes: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """A fitted model's probabilities for the block's rows, in the columns of all classes."""
    P = np.zeros((len(batch[ROW]), n_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        P[:, fitted_classes] = model.predict_proba(batch[FEATURES])
    return {ROW: batch[ROW], PROBS: P}
