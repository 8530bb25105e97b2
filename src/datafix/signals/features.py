"""Feature checks shared by every signal: what to do with NaN and inf."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from datafix._validation import check_choice, describe_positions
from datafix.data.view import DataView
from datafix.errors import InvalidInputError

NAN_POLICIES = ("raise", "drop", "impute")


def handle_non_finite(view: DataView, nan_policy: str = "raise") -> DataView:
    """Apply ``nan_policy`` to feature rows holding NaN or inf and return the resulting view.

    Parameters
    ----------
    view : DataView
        The data. Rows already broken are ignored.
    nan_policy : {"raise", "drop", "impute"}, default "raise"
        - ``"raise"``: raise an error naming the rows;
        - ``"drop"``: record those rows as broken samples (reported, not audited);
        - ``"impute"``: replace non-finite values by the column median of the finite ones.

    Returns
    -------
    DataView
        ``view`` itself when nothing is non-finite, otherwise a new view (the source is untouched).

    Examples
    --------
    >>> import numpy as np
    >>> from datafix.data import as_view
    >>> view = as_view(np.array([[1.0], [np.nan], [3.0]]), labels=[0, 1, 0])
    >>> handle_non_finite(view, "impute").features.ravel().tolist()
    [1.0, 2.0, 3.0]
    >>> sorted(handle_non_finite(view, "drop").broken)
    [1]
    """
    check_choice(nan_policy, "nan_policy", NAN_POLICIES)
    X = view.features
    if X is None:
        return view
    bad_cells = ~np.isfinite(X)
    bad_cells[~view.valid] = False
    bad_rows = bad_cells.any(axis=1)
    if not bad_rows.any():
        return view
    if nan_policy == "raise":
        cols = np.flatnonzero(bad_cells.any(axis=0))
        names = view.feature_names or [f"x{j}" for j in range(X.shape[1])]
        raise InvalidInputError(
            f"The features have NaN or inf in {int(bad_rows.sum())} rows at "
            f"{describe_positions(view.index[bad_rows])} (columns "
            f"{describe_positions([names[j] for j in cols])}). Pass nan_policy='impute' to fill them with column "
            "medians for the audit (the rows stay, unchanged, in a fixed table), or nan_policy='drop' to mark "
            "those rows broken: they are left out of the audit, and a fix's DropBroken step (in datafix fix's "
            "default pipeline) drops them from the fixed table."
        )
    if nan_policy == "drop":
        return view.with_broken({int(i): "non-finite features" for i in np.flatnonzero(bad_rows)})
    cols = np.flatnonzero(bad_cells.any(axis=0))
    usable = np.isfinite(X[:, cols]) & view.valid[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: median of nothing
        medians = np.nanmedian(np.where(usable, X[:, cols], np.nan), axis=0)
    filled = X.copy()
    block = filled[:, cols]
    block[bad_cells[:, cols]] = np.broadcast_to(np.nan_to_num(medians, nan=0.0), block.shape)[bad_cells[:, cols]]
    filled[:, cols] = block
    return view.with_features(filled, view.feature_names)


def describe_features(features: Any, view: Any) -> str:
    """Where a view's features came from, in words (for the report's signals line).

    Examples
    --------
    >>> from datafix.data import as_view
    >>> describe_features(None, as_view(np.zeros((2, 3)), labels=[0, 1]))
    'the data array (3 columns)'
    """
    import torch

    width = f"{view.features.shape[1]} columns"
    read = f"; {view.image_rule}" if getattr(view, "image_rule", None) else ""
    if isinstance(features, torch.nn.Module):
        name = getattr(features, "name", None)
        if isinstance(name, str) and getattr(features, "weights", None) is not None:  # a PretrainedExtractor
            return f"{name} embeddings, weights from {str(features.weights)!r} ({width}{read})"
        return f"computed by {type(features).__name__} ({width})"
    if callable(features):
        return f"computed by {getattr(features, '__name__', 'a function')} ({width})"
    if features is not None:
        return f"given ({width})"
    if view.image_rule is not None:  # a torch Dataset of images
        c, h, w = view.image_shape
        return f"the images' pixels, {c} x {h} x {w} ({width}{read})"
    sources = {"frame": "the table's columns", "images": "image thumbnails", "arrays": "the data array"}
    return f"{sources.get(view.kind, 'the source')} ({width})"
