"""Adapter for numpy-style ``(X, y)`` data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datafix.data.labels import encode_labels
from datafix.data.targets import read_targets
from datafix.data.view import DataView, _readonly, hash_rows
from datafix.errors import InvalidInputError, InvalidTypeError


def from_arrays(X: Any, labels: Any = None, *, unlabelled: Any = False, task: str = "classification") -> DataView:
    """Build a :class:`DataView` over a feature array and labels.

    Parameters
    ----------
    X : array-like of shape (n, d) or (n, ...)
        Numeric features. More than two dimensions are flattened per sample; (n, C, H, W) with
        1, 3 or 4 channels are images (``view.images()``, and the audit's CNN signals).
    labels : array-like of shape (n,), optional
        Class labels, or a regression target with ``task="regression"``.
    unlabelled : bool or label value, default False
        Whether missing labels (and this value) mark unlabelled samples (see
        :func:`~datafix.data.encode_labels`).
    task : {"classification", "regression"}, default "classification"
        ``"regression"``: ``labels`` are numbers, kept as ``view.targets`` (see
        ``datafix.data.targets.read_targets``).

    Returns
    -------
    DataView

    Examples
    --------
    >>> import numpy as np
    >>> view = from_arrays(np.zeros((3, 2)), [0, 1, 1])
    >>> view.features.shape, view.codes.tolist()
    ((3, 2), [0, 1, 1])
    """
    features = as_feature_matrix(X, name="data")
    index = pd.RangeIndex(len(features))
    shape = tuple(np.shape(X))
    image_shape = shape[1:] if len(shape) == 4 and shape[1] in (1, 3, 4) else None
    return DataView(
        index=index,
        **_labels_for(labels, index, unlabelled, task),
        features=_readonly(features),
        feature_names=[f"x{j}" for j in range(features.shape[1])],
        kind="arrays",
        source=X,
        hashes=hash_rows(features),
        table=pd.DataFrame(features, columns=[f"x{j}" for j in range(features.shape[1])], copy=False),
        image_shape=image_shape,
    )


def as_feature_matrix(X: Any, *, name: str = "features", n: int | None = None) -> np.ndarray:
    """Return ``X`` as a float64 matrix of shape (n, d), without modifying ``X``.

    Raises a clear error for non-numeric data, a scalar or 1-D input, or a row count other
    than ``n``. Non-finite values are kept; :func:`datafix.signals.handle_non_finite` deals
    with them.
    """
    if hasattr(X, "detach") and hasattr(X, "cpu"):
        X = X.detach().cpu().numpy()
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except ValueError as err:
        _check_sample_shapes(X, name)
        raise InvalidInputError(f"The {name!r} argument must be a rectangular array: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise InvalidTypeError(
            f"The {name!r} argument must be numeric; got dtype {arr.dtype}. Encode text or "
            "categorical columns first, or pass a pandas DataFrame with a label column."
        )
    if arr.ndim < 2:
        raise InvalidInputError(
            f"The {name!r} argument must have one row per sample (2-D or more); got shape {arr.shape}."
        )
    if n is not None and arr.shape[0] != n:
        raise InvalidInputError(
            f"The {name!r} argument has {arr.shape[0]} rows but the data has {n} samples."
        )
    arr = arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))
    if arr.shape[1] == 0 and arr.shape[0] > 0:
        raise InvalidInputError(f"The {name!r} argument has no feature columns (shape {arr.shape[:1] + (0,)}).")
    return arr.astype(np.float64, copy=arr.dtype != np.float64)


def _check_sample_shapes(X: Any, name: str) -> None:
    """A clear error when a list of samples (arrays, tensors, images) mixes shapes."""
    if not isinstance(X, (list, tuple)):
        return
    shapes = [tuple(np.shape(x)) for x in X]
    odd = next((i for i, s in enumerate(shapes) if s != shapes[0]), None)
    if odd is not None:
        raise InvalidInputError(
            f"The {name!r} samples have different shapes: {shapes[0]} at 0 and {shapes[odd]} at {odd}. Give samples "
            "of one shape: for images, resize them to one size, or save them in an image folder (one subfolder per "
            "class), whose images datafix resizes.")


def _labels_for(labels: Any, index: pd.Index, unlabelled: Any = False, task: str = "classification",
                ) -> dict[str, np.ndarray | None]:
    """The view's label fields: ``codes`` and ``classes`` for class labels, ``targets`` for a regression."""
    if labels is None:
        return {"codes": None, "classes": None}
    n_labels = len(labels) if hasattr(labels, "__len__") else None
    if n_labels is not None and n_labels != len(index):
        raise InvalidInputError(
            f"The 'labels' argument has {n_labels} entries but the data has {len(index)} samples."
        )
    if task == "regression":
        return {"codes": None, "classes": None, "targets": read_targets(labels, index=index)}
    codes, classes = encode_labels(labels, index=index, unlabelled=unlabelled)
    return {"codes": codes, "classes": classes}
