"""DataView: one read-only view over any labelled data source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from datafix._tensors import shared_tensor
from datafix.data.items import ImageItems
from datafix.data.labels import decode_labels


@dataclass(frozen=True, eq=False)
class DataView:
    """A read-only view over a labelled data source.

    Adapters build it (see :func:`datafix.data.as_view`); signals and checks read it. It never
    copies or modifies the source: ``source`` is the user's object, untouched.

    Parameters
    ----------
    index : pandas.Index
        The source's own sample identifiers (a DataFrame's index, an image's relative path, or
        positions). Every datafix output is indexed by it.
    codes : numpy.ndarray of int64 or None
        Label codes ``0..K-1``; ``-1`` where a sample's label is unknown (it could not be read).
    classes : numpy.ndarray or None
        The user's label values; ``classes[codes]`` are the labels.
    features : numpy.ndarray of float64 or None
        One row of numeric features per sample (rows of broken samples are NaN).
    feature_names : list of str or None
        Column names of ``features``.
    broken : Mapping[int, str]
        Positions of samples that could not be read, with the reason.
    hashes : numpy.ndarray of uint64 or None
        A content hash per sample (row values, image file bytes, item tensor bytes): equal
        hashes mean exact duplicates.
    table : pandas.DataFrame or None
        The raw feature columns of tabular sources (for data-quality checks).
    image_stats : pandas.DataFrame or None
        Per-image statistics of image folders, one row per sample (see
        ``datafix.data.image_folder.image_statistics``).
    image_shape : tuple of int or None
        (C, H, W) when the samples are images of one size (an image folder's thumbnails, an
        image array or tensor): :meth:`images` then gives them as a batch.
    targets : numpy.ndarray of float64 or None
        A regression target per sample (``codes`` and ``classes`` are then None).
    image_rule : str or None
        How a torch Dataset's images were turned into 8-bit pixels (e.g. normalised tensors
        scaled back), for the report.
    id_columns : tuple
        Columns of ``table`` that identify rows (keys, row numbers): left out of ``features``
        and ``hashes``.
    kind : str
        The source type: ``"arrays"``, ``"frame"``, ``"torch"`` or ``"images"``.
    source : object
        The user's data object.

    Examples
    --------
    >>> import numpy as np
    >>> from datafix.data import as_view
    >>> view = as_view(np.eye(4), labels=["a", "b", "a", "b"])
    >>> len(view), view.classes.tolist(), view.labels.tolist()
    (4, ['a', 'b'], ['a', 'b', 'a', 'b'])
    """

    index: pd.Index
    codes: np.ndarray | None
    classes: np.ndarray | None
    features: np.ndarray | None = None
    feature_names: list[str] | None = None
    broken: Mapping[int, str] = field(default_factory=dict)
    kind: str = "arrays"
    source: Any = None
    hashes: np.ndarray | None = None
    table: pd.DataFrame | None = None
    image_stats: pd.DataFrame | None = None
    image_shape: tuple[int, int, int] | None = None
    targets: np.ndarray | None = None
    image_rule: str | None = None
    id_columns: tuple[Any, ...] = ()

    def __len__(self) -> int:
        return len(self.index)

    @property
    def n_classes(self) -> int:
        """Number of classes (0 when the view has no labels)."""
        return 0 if self.classes is None else len(self.classes)

    @property
    def labels(self) -> np.ndarray | None:
        """The labels in the user's values (None where unknown); a regression's targets."""
        if self.targets is not None:
            return self.targets
        if self.codes is None or self.classes is None:
            return None
        return decode_labels(self.codes, self.classes)

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the samples that could be read (not broken)."""
        mask = np.ones(len(self), dtype=bool)
        if self.broken:
            mask[np.fromiter(self.broken, dtype=np.int64)] = False
        return mask

    def item(self, position: int) -> Any:
        """Return the source's sample at ``position`` (a row, a DataFrame row, a Dataset item, a path)."""
        if self.kind == "frame":
            return self.source.iloc[position]
        if self.kind == "images":
            return self.source.samples[position][0]
        if _is_image_items(self.source):
            return self.source.dataset[position]
        return self.source[position]

    def images(self) -> Any:
        """The samples as an image batch (N, C, H, W): uint8 for uint8 sources and image folders'
        thumbnails, float32 otherwise; None when the samples are not images of one size."""
        import torch

        if self.image_shape is None:
            return None
        if self.kind == "images" or _is_image_items(self.source):  # thumbnails: the features are their pixels
            pixels = np.nan_to_num(np.asarray(self.features) * 255.0).round().clip(0, 255).astype(np.uint8)
            return torch.from_numpy(pixels.reshape(len(self), *self.image_shape))
        data = self.source.detach().cpu() if isinstance(self.source, torch.Tensor) else shared_tensor(
            np.asarray(self.source))
        data = data.reshape(len(self), *self.image_shape)
        return data if data.dtype == torch.uint8 else data.to(torch.float32)

    @property
    def has_images(self) -> bool:
        """Whether items are images (an image folder, or a torch Dataset of images or tensors)."""
        return self.kind in ("images", "torch")

    def training_x(self, position: int, image_size: tuple[int, int] | None = None) -> Any:
        """The sample at ``position`` as a model reads it.

        A table row: its features as the audit encoded them (float32 tensor); an array row:
        float32 tensor; an image file: RGB uint8 tensor (3, H, W), resized to ``image_size``
        (H, W) when given; a torch Dataset item: its first element as the Dataset returns it.
        """
        import torch

        if self.kind == "frame":
            return torch.from_numpy(np.asarray(self.features[position], dtype=np.float32))
        if self.kind == "arrays":
            return shared_tensor(np.asarray(self.source[position], dtype=np.float32))
        if self.kind == "images":
            from datafix.data.decode import read_image

            return read_image(self.source.samples[position][0], image_size)
        item = self.item(position)
        if _is_image_items(self.source):
            return self.source.image_of(item)
        return item[0] if isinstance(item, tuple) else item

    def as_table(self) -> pd.DataFrame | None:
        """The source as a table (a copy): a DataFrame's own, an array's columns; None for other sources."""
        if self.kind == "frame":
            return self.source.copy()
        if self.kind == "arrays":
            return pd.DataFrame(np.asarray(self.source), index=self.index)
        return None

    def shown_values(self, width: int = 6) -> pd.DataFrame | None:
        """The first ``width`` columns of a table (or feature columns of an array), by index, for reports."""
        if self.kind == "frame" and self.table is not None and self.table.shape[1]:
            return self.table.iloc[:, :width]
        if self.kind == "arrays" and self.features is not None:
            names = self.feature_names or [f"x{j}" for j in range(self.features.shape[1])]
            width = min(width, self.features.shape[1])
            return pd.DataFrame(np.asarray(self.features)[:, :width], index=self.index, columns=names[:width])
        return None

    def label_dtype(self, label_column: Any = None) -> Any:
        """The dtype of the user's labels: a DataFrame's label column (categories included), else the classes'."""
        if self.kind == "frame" and isinstance(label_column, str) and label_column in self.source.columns:
            return self.source[label_column].dtype
        return object if self.classes is None else self.classes.dtype

    def with_broken(self, reasons: Mapping[int, str]) -> DataView:
        """Return a new view in which the samples at the given positions are also broken."""
        merged = dict(self.broken)
        for pos, why in reasons.items():
            merged.setdefault(int(pos), why)
        return replace(self, broken=merged)

    def with_features(self, features: np.ndarray | None, names: list[str] | None = None) -> DataView:
        """Return a new view with other features (the source stays as it is)."""
        return replace(self, features=_readonly(features), feature_names=names)


def _is_image_items(source: Any) -> bool:
    return isinstance(source, ImageItems)


def hash_rows(values: np.ndarray | pd.DataFrame) -> np.ndarray:
    """One uint64 content hash per row (pandas' vectorised row hashing).

    Examples
    --------
    >>> import numpy as np
    >>> h = hash_rows(np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0]]))
    >>> bool(h[0] == h[1]), bool(h[0] == h[2])
    (True, False)
    """
    frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(np.asarray(values))
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


def _readonly(arr: np.ndarray | None) -> np.ndarray | None:
    """A read-only *view* of ``arr``; the caller's array keeps its own flags."""
    if arr is None:
        return None
    out = arr.view()
    out.flags.writeable = False
    return out
