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

from datafix.checks.null import row_nulls
from datafix.data.encoding import FeatureLayout, FeatureProfile
from datafix.data.labels import label_codes
from datafix.data.view import hash_rows
from datafix.errors import DatafixWarning
from datafix.signals.graph import KNNGraph

#: Column names the engine adds to a block (never a user's: they are dropped from the features).
ROW, FEATURES, CODE, HASH, PROBS, NEIGHBORS, DISTANCES, BROKEN = (
    "_datafix_row", "_datafix_features", "_datafix_code", "_datafix_hash", "_datafix_probs", "_datafix_neighbors",
    "_datafix_distances", "_datafix_broken")
#: A regression target and its out-of-sample prediction (float64); a per-row value computed on the cluster.
TARGET, PREDICTION, VALUE = "_datafix_target", "_datafix_prediction", "_datafix_value"
#: An image's pixels in [0, 1] beside a module's features (the second view of the image default).
PIXELS = "_datafix_pixels"
#: Multilabel indicators (n, L) as given, and several annotators' label codes (n, A; -1: not labelled).
LABELSET, ANNOTATIONS = "_datafix_labelset", "_datafix_annotations"
#: An image's statistics (:func:`datafix.data.image_folder.image_statistics`), one column each.
STAT = "_datafix_stat_"
STAT_NAMES = ("width", "height", "mode", "channels", "brightness", "dark_share", "bright_share", "blur", "entropy")
STAT_COLUMNS = tuple(STAT + name for name in STAT_NAMES)
@dataclass
class Profile:
    """What the first pass learns about the blocks: rows, schema, label values, and the feature
    columns' :class:`~datafix.data.encoding.FeatureProfile`; :meth:`merge` combines two blocks'."""

    rows: int = 0
    schema: dict[str, str] = field(default_factory=dict)
    schemas: list[dict[str, str]] = field(default_factory=list)
    labels: set = field(default_factory=set)
    unlabelled: int = 0
    features: FeatureProfile = field(default_factory=FeatureProfile)

    def merge(self, other: Profile) -> Profile:
        return Profile(self.rows + other.rows, self.schema or other.schema, self.schemas + other.schemas,
                       self.labels | other.labels, self.unlabelled + other.unlabelled,
                       self.features.merge(other.features))


def profile_block(block: pd.DataFrame, label: str | Sequence[str], skip: Sequence[str]) -> Profile:
    """One block's :class:`Profile` (its schema alone when it lacks the label column: the schema
    check then names the difference). ``label``: one column, or several annotators' columns (the
    label values of all; a row is unlabelled when none holds one)."""
    schema = {str(c): str(block[c].dtype) for c in block.columns if c != ROW}
    profile = Profile(len(block), schema, [schema])
    columns = [label] if isinstance(label, str) else list(label)
    if any(c not in block for c in columns):
        return profile
    values = block[columns]
    known = values.notna()
    profile.unlabelled = int((~known.any(axis=1)).sum())
    profile.labels = set().union(*(pd.unique(values[c][known[c]]).tolist() for c in columns))
    profile.features = FeatureProfile.of(block, skip=[*skip, *columns, ROW])
    return profile


def torch_from(array: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))



@dataclass(frozen=True)
class Layout:
    """How a block becomes features, label codes and hashes (decided once from the merged
    :class:`Profile`, broadcast to every block)."""

    label: str | None  # None: a held-out set's rows, whose labels are not read
    classes: np.ndarray
    table_columns: list[str]
    features: FeatureLayout  # how the table columns become features (empty for images)
    probs: list[str] | None = None
    features_fn: Any = None
    dtype: Any = np.float64
    regression: bool = False  # the label column is a regression target (float64 in TARGET, codes -1)
    predictions: str | None = None  # the column of given out-of-sample predictions of the target
    multilabel: list[str] | None = None  # indicator columns, one per label (LABELSET; codes -1)
    annotators: list[str] | None = None  # one label column per annotator (ANNOTATIONS, codes into classes)

    @property
    def feature_names(self) -> list[str]:
        """The names of the table's features (none for images or a function of a batch)."""
        return list(self.features.names)


def encode_block(block: pd.DataFrame, layout: Layout) -> dict[str, np.ndarray]:
    """A block's row ids, features (float64), label codes (-1: no label), row hashes, the null
    check's per-row columns and, when given, pred_probs: the values the single-machine audit
    computes for the same rows (its :class:`~datafix.data.encoding.FeatureLayout`, :func:`hash_rows`)."""
    table = block[layout.table_columns]
    out: dict[str, np.ndarray] = {ROW: block[ROW].to_numpy(np.int64)}
    if layout.features_fn is not None:
        features = np.asarray(layout.features_fn(block.drop(columns=[ROW])), dtype=np.float64)
        if features.ndim != 2 or len(features) != len(block):
            raise ValueError(f"features= returned shape {features.shape} for a block of {len(block)} rows; it must "
                             "return one row of features per row, shape (rows, d).")
    else:
        features = layout.features.encode(table)  # the one encoding of a table, as on one machine
    out[FEATURES] = features.astype(layout.dtype, copy=False)  # float32 for the approximate index
    if layout.multilabel is not None:
        out[LABELSET] = np.stack([pd.to_numeric(block[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
                                  for c in layout.multilabel], axis=1)
    if layout.annotators is not None:
        out[ANNOTATIONS] = np.stack([_codes(block[c], layout.classes) for c in layout.annotators], axis=1)
    if layout.label is None or layout.regression:  # a held-out set's labels are not read; a target is no class
        out[CODE] = np.full(len(block), -1, np.int64)
        if layout.label is not None:
            out[TARGET] = pd.to_numeric(block[layout.label], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        if layout.predictions is not None:
            out[PREDICTION] = pd.to_numeric(block[layout.predictions], errors="coerce").to_numpy(
                np.float64, na_value=np.nan)
    else:
        out[CODE] = _codes(block[layout.label], layout.classes)
    vectors = layout.features.vectors
    hashable = table.assign(**{name: [np.asarray(v).tobytes() for v in table[name]] for name in vectors}) \
        if vectors else table
    out[HASH] = hash_rows(hashable) if table.shape[1] else np.zeros(len(block), np.uint64)
    nulls = row_nulls(table.reset_index(drop=True))
    for name in nulls.columns:
        out[name] = nulls[name].to_numpy()
    if layout.probs is not None:
        out[PROBS] = (np.stack(block[layout.probs[0]].to_numpy()) if len(layout.probs) == 1
                      else block[layout.probs].to_numpy(np.float64)).astype(np.float64)
    return out


def _codes(labels: pd.Series, classes: np.ndarray) -> np.ndarray:
    """Label codes into ``classes``, -1 where a label is missing."""
    codes = label_codes(labels.where(labels.notna(), None), classes)
    codes[labels.isna().to_numpy()] = -1
    return codes


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
    """The distance-weighted label votes of each row's neighbours (:meth:`KNNGraph.label_votes` of the
    block's rows of the graph; ``votes`` holds every row's vote, by row id)."""
    return {ROW: batch[ROW], PROBS: _block_graph(batch).label_votes(votes, smoothing=smoothing)}


def median_block(batch: dict[str, np.ndarray], values: np.ndarray, skip: np.ndarray, fallback: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """:meth:`KNNGraph.neighbor_median` over the block's rows of the graph (``values``, ``skip``
    and ``fallback`` hold every row's, by row id)."""
    rows = np.asarray(batch[ROW], np.int64)
    return {ROW: rows, VALUE: _block_graph(batch).neighbor_median(values, skip=skip, fallback=fallback[rows])}


def close_pairs_block(batch: dict[str, np.ndarray], radius: float) -> dict[str, np.ndarray]:
    """:meth:`KNNGraph.close_pairs` over the block's rows of the graph, as row ids (``ROW``: the row,
    ``NEIGHBORS``: its neighbour closer than ``radius``)."""
    pairs = _block_graph(batch).close_pairs(radius)
    return {ROW: np.asarray(batch[ROW], np.int64)[pairs[:, 0]], NEIGHBORS: pairs[:, 1]}


def _block_graph(batch: dict[str, np.ndarray]) -> KNNGraph:
    """The block's rows of the graph (neighbours by row id)."""
    return KNNGraph(np.asarray(batch[NEIGHBORS], np.int64), np.asarray(batch[DISTANCES], np.float64), "euclidean")


def regress_block(batch: dict[str, np.ndarray], model: Any) -> dict[str, np.ndarray]:
    """A fitted regressor's predictions for the block's rows."""
    return {ROW: batch[ROW], PREDICTION: np.asarray(model.predict(batch[FEATURES]), np.float64).reshape(-1)}


def multilabel_predict_block(batch: dict[str, np.ndarray], models: list[Any]) -> dict[str, np.ndarray]:
    """Each label's probability for the block's rows: ``models[j]`` a fitted binary classifier, or
    a number (the label's constant probability where the training rows all had, or lacked, it)."""
    X = batch[FEATURES]
    P = np.zeros((len(batch[ROW]), len(models)))
    for j, model in enumerate(models):
        P[:, j] = model if np.isscalar(model) else model.predict_proba(X)[:, list(model.classes_).index(1)]
    return {ROW: batch[ROW], PROBS: P}


def predict_block(batch: dict[str, np.ndarray], model: Any, n_classes: int, fitted_classes: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """A fitted model's probabilities for the block's rows, in the columns of all classes."""
    P = np.zeros((len(batch[ROW]), n_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        P[:, fitted_classes] = model.predict_proba(batch[FEATURES])
    return {ROW: batch[ROW], PROBS: P}


def encode_images_block(batch: pd.DataFrame, root: str, image_size: int, classes: np.ndarray, dtype: Any,
                        module: Any = None, pixels: bool = False) -> dict[str, np.ndarray]:
    """A block of image files (columns ``path``, relative to ``root``, and ``label``): each file's
    features, digest, label code and statistics, as the single-machine image-folder audit reads
    them (:func:`read_audit_image`). Features: the thumbnail's pixels in [0, 1], or the output of
    ``module`` (a torch module, in eval mode) on the float thumbnails in [0, 255], batched, as
    :func:`datafix.data.image_folder.from_image_folder` runs a feature module. A file that cannot
    be decoded gets its reason in :data:`BROKEN` (empty for the others) and zero features. With
    ``pixels``, the pixels too (:data:`PIXELS`), beside the module's features."""
    from pathlib import Path

    from datafix.data.image_folder import read_audit_image
    from datafix.data.torch_dataset import _module_device, _run_module

    n = len(batch)
    thumbs = np.zeros((n, 3, image_size, image_size), dtype=np.uint8)
    hashes = np.zeros(n, np.uint64)
    broken = np.full(n, "", dtype=object)
    stats: dict[str, list] = {name: [] for name in STAT_NAMES}
    for i, relative in enumerate(batch["path"]):
        try:
            thumb, info = read_audit_image(Path(root) / relative, image_size)
            thumbs[i] = thumb.numpy()
            hashes[i] = info.pop("digest")
        except Exception as err:  # noqa: BLE001 - a file that does not decode is data, not a crash
            broken[i], info = f"{type(err).__name__}: {err}", {}
        for name in STAT_NAMES:
            stats[name].append(info.get(name, np.nan))
    if module is None:
        features = (thumbs.reshape(n, -1) / 255.0).astype(dtype)
    else:
        ok = np.flatnonzero(broken == "")
        rows = _run_module(module.eval(), list(torch_from(thumbs[ok])), _module_device(module)) if len(ok) else None
        features = np.zeros((n, 0 if rows is None else rows.shape[1]), dtype=dtype)
        if rows is not None:
            features[ok] = rows
    out = {ROW: batch[ROW].to_numpy(np.int64), FEATURES: features,
           CODE: label_codes(batch["label"].to_numpy(object), classes), HASH: hashes, BROKEN: broken}
    if pixels and module is not None:
        out[PIXELS] = (thumbs.reshape(n, -1) / 255.0).astype(dtype)
    for name in STAT_NAMES:
        out[STAT + name] = np.array(stats[name], dtype=object if name == "mode" else np.float64)
    return out
