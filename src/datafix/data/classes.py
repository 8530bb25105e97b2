"""Class codes for the samplers, weights and generators: from a DataView, a labelled Dataset or a sequence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datafix.data.labels import encode_labels
from datafix.data.view import DataView
from datafix.errors import InvalidInputError, InvalidTypeError, warn_user


def class_codes(labels: Any, classes: Any = None, *, name: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """Encode labels as int64 codes into ``classes``; ``-1`` marks a sample that has no usable label.

    Parameters
    ----------
    labels : DataView, torch Dataset, or array-like
        A DataView's broken samples and unknown labels get code -1. A torch Dataset must have a
        ``targets`` or ``labels`` attribute. Anything else is a sequence of class labels (ints,
        strings, bools, or floats with integral values); for a fix Plan pass
        ``plan.training_labels`` (the order of ``plan.dataset``).
    classes : array-like, optional
        The full class list, in order. A listed class may have no sample; a label that is not
        listed raises. Default: the classes present, sorted.
    name : str
        The argument's name, for error messages.

    Returns
    -------
    codes : numpy.ndarray of int64, shape (n,)
    classes : numpy.ndarray, shape (K,)

    Examples
    --------
    >>> codes, classes = class_codes(["b", "a", "b"], classes=["a", "b", "c"])
    >>> codes.tolist(), classes.tolist()
    ([1, 0, 1], ['a', 'b', 'c'])
    """
    view = labels if isinstance(labels, DataView) else None
    if view is not None:
        if view.codes is None or view.classes is None:
            raise InvalidInputError(f"The {name!r} argument is a DataView without labels.")
        codes = np.where(view.valid, view.codes, -1)
        present = view.classes
    else:
        if _is_torch_dataset(labels):
            found = next((getattr(labels, a) for a in ("targets", "labels") if hasattr(labels, a)), None)
            if found is None:
                raise InvalidTypeError(
                    f"The {name!r} argument is a Dataset without a 'targets' or 'labels' attribute; pass "
                    "the labels as a sequence, or a DataView from datafix.data.as_view(dataset, label_fn=...)."
                )
            labels = found
        if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
            raise InvalidTypeError(
                f"The {name!r} argument must be a sequence of class labels, a DataView or a labelled "
                f"Dataset; got {type(labels).__name__}."
            )
        codes, present = encode_labels(labels, name=name, min_classes=1)
    if len(codes) == 0:
        raise InvalidInputError(f"The {name!r} argument is empty.")
    if classes is None:
        return codes, present
    listed = np.asarray(classes)
    if listed.ndim != 1 or len(listed) == 0:
        raise InvalidInputError(f"The 'classes' argument must be a non-empty 1-D list; got shape {listed.shape}.")
    listed_index = pd.Index(listed)
    if not listed_index.is_unique:
        raise InvalidInputError("The 'classes' argument lists a class twice.")
    where = listed_index.get_indexer(pd.Index(present))
    if (where < 0).any():
        raise InvalidInputError(
            f"The {name!r} argument has classes {present[where < 0].tolist()[:5]} that are not in the "
            "'classes' argument."
        )
    return np.where(codes >= 0, where[np.maximum(codes, 0)], -1).astype(np.int64), listed


def class_counts(codes: np.ndarray, classes: np.ndarray, *, warn_empty: bool = True) -> np.ndarray:
    """Samples per class (codes -1 not counted); warn once about listed classes with none.

    Examples
    --------
    >>> class_counts(np.array([0, 0, -1]), np.array(["a", "b"]), warn_empty=False).tolist()
    [2, 0]
    """
    counts = np.bincount(codes[codes >= 0], minlength=len(classes))
    if warn_empty and (counts == 0).any():
        empty = classes[counts == 0].tolist()
        warn_user(
            f"Classes {empty[:10]} have no samples; they get no weight and are never sampled.")
    return counts


def _is_torch_dataset(obj: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.utils.data.Dataset)
