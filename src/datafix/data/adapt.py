"""``as_view``: pick the adapter for a data source."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from datafix.data.arrays import as_feature_matrix, from_arrays
from datafix.data.frame import from_frame
from datafix.data.image_folder import from_image_folder
from datafix.data.image_items import from_image_items
from datafix.data.items import ImageItems, holds_images
from datafix.data.torch_dataset import embed_images, from_torch_dataset
from datafix.data.view import DataView
from datafix.errors import InvalidInputError, InvalidTypeError


def as_view(
    data: Any,
    labels: Any = None,
    *,
    features: Any = None,
    label_fn: Callable[[Any], Any] | None = None,
    batch_size: int = 256,
    image_size: int = 32,
    num_workers: int | None = None,
    unlabelled: Any = False,
    task: str = "classification",
    verbose: bool = True,
) -> DataView:
    """Wrap any supported data source in a read-only :class:`DataView`.

    Parameters
    ----------
    data : array-like, pandas.DataFrame, torch Dataset, str or os.PathLike, or DataView
        - an array ``X`` of shape (n, d) (or (n, ...), flattened per sample);
        - a DataFrame (pass ``labels`` as the label column's name);
        - a map-style ``torch.utils.data.Dataset``;
        - a folder path with one subfolder of images per class;
        - a DataView, returned as it is.
    labels : str or array-like, optional
        Labels, or a DataFrame's label column name.
    features : array-like, torch.nn.Module or callable, optional
        Features replacing the defaults (array sources: the array itself; DataFrames: the other
        columns; image folders: thumbnails). A module or a per-item function applies to torch
        Datasets and image folders; a module also to (N, C, H, W) image arrays and tensors.
    label_fn : callable, optional
        ``label_fn(item) -> label`` for a torch Dataset.
    batch_size : int, default 256
        Items per batch when running a feature module.
    image_size : int, default 32
        Side of image thumbnails for image folders.
    num_workers : int, optional
        DataLoader worker processes for reading a torch Dataset (default 0) or an image folder
        (default: automatic).
    unlabelled : bool or label value, default False
        For arrays and DataFrames: whether missing labels (None / NaN, and this value when one is
        given) mark unlabelled samples (code -1) instead of raising (see
        :func:`~datafix.data.encode_labels`).
    task : {"classification", "regression"}, default "classification"
        ``"regression"``: the labels of an array or DataFrame are numbers, kept as
        ``view.targets`` (see ``datafix.data.targets.read_targets``).
    verbose : bool, default True
        Show progress bars.

    Returns
    -------
    DataView

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [0.1, 0.2, 0.9], "y": ["x", "x", "z"]}, index=[10, 11, 12])
    >>> view = as_view(df, labels="y")
    >>> list(view.index), view.labels.tolist()
    ([10, 11, 12], ['x', 'x', 'z'])
    """
    if isinstance(data, DataView):
        if labels is not None or features is not None:
            raise InvalidInputError("Pass labels and features when building the DataView, not with it.")
        return data
    is_extractor = isinstance(features, torch.nn.Module) or callable(features)
    if task == "regression" and (isinstance(data, (str, os.PathLike)) or (
            isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor))):
        raise InvalidInputError(
            "task='regression' audits arrays and DataFrames; for a torch Dataset or an image folder audit an "
            "array of its features (your model's embeddings, say) with the targets as labels=.")
    if isinstance(data, (str, os.PathLike)):
        if labels is not None:
            raise InvalidInputError("An image folder's labels are its subfolder names; do not pass labels.")
        return from_image_folder(
            data, features=features, image_size=image_size, batch_size=batch_size, num_workers=num_workers,
            verbose=verbose,
        )
    if isinstance(data, ImageItems) or (isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor)
                                        and holds_images(data)):
        return from_image_items(
            data if isinstance(data, ImageItems) else ImageItems(data), labels, label_fn=label_fn, features=features,
            image_size=image_size, batch_size=batch_size, num_workers=num_workers or 0, unlabelled=unlabelled,
            verbose=verbose,
        )
    if isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor):
        return from_torch_dataset(
            data, labels, label_fn=label_fn, features=features if features is not None else _vectors(data),
            batch_size=batch_size, num_workers=num_workers or 0, unlabelled=unlabelled, verbose=verbose,
        )
    if label_fn is not None:
        raise InvalidInputError("The 'label_fn' argument only applies to torch Datasets.")
    if isinstance(features, torch.nn.Module) and isinstance(data, (np.ndarray, torch.Tensor)):
        view = from_arrays(data, labels, unlabelled=unlabelled, task=task)
        if view.image_shape is not None:  # (N, C, H, W) images: the module embeds them
            return view.with_features(embed_images(features, data, batch_size))
    if is_extractor:
        raise InvalidTypeError(
            "A feature module or function applies to torch Datasets, image folders and (N, C, H, W) image "
            "arrays; for other arrays and DataFrames pass the features as an array."
        )
    if isinstance(data, pd.DataFrame):
        view = from_frame(data, labels, unlabelled=unlabelled, task=task)
    elif isinstance(data, (np.ndarray, torch.Tensor, list, tuple)):
        view = from_arrays(data, labels, unlabelled=unlabelled, task=task)
    else:
        raise InvalidTypeError(
            "The 'data' argument must be an array, a pandas DataFrame, a torch Dataset or an image "
            f"folder path; got {type(data).__name__}."
        )
    if features is not None:
        view = view.with_features(as_feature_matrix(features, name="features", n=len(view)))
    return view


def _vectors(dataset: Any) -> Callable[[Any], np.ndarray] | None:
    """For a Dataset whose items' inputs are vectors (1-D numbers): a function reading them as the
    features, as an array's rows would be; None for other items (no features)."""
    for i in range(min(len(dataset), 5)):
        try:
            item = dataset[i]
        except Exception:  # noqa: BLE001 - an unreadable item: look at the next
            continue
        x = item[0] if isinstance(item, (tuple, list)) else item
        shape = getattr(x, "shape", None)
        numeric = getattr(getattr(x, "dtype", None), "is_floating_point", None) is not None or (
            isinstance(x, np.ndarray) and x.dtype.kind in "fiub")
        return _input_vector if shape is not None and len(shape) == 1 and numeric else None
    return None


def _input_vector(item: Any) -> np.ndarray:
    x = item[0] if isinstance(item, (tuple, list)) else item
    return np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)

