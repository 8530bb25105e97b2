"""Read a held-out set so that its features line up with the audited (training) data's."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from datafix.data.adapt import as_view
from datafix.data.encoding import encode_like
from datafix.data.frame import check_unique_index, from_frame
from datafix.data.view import DataView
from datafix.errors import InvalidInputError, InvalidTypeError


def as_test_view(train: DataView, test: Any, *, features: Any = None, test_features: Any = None,
                 **read: Any) -> DataView:
    """A :class:`DataView` over ``test`` with the training view's feature layout.

    A DataFrame needs the training table's feature columns, and its one-hot columns follow the
    training table's (categories unseen in training are dropped); an array needs the same
    number of columns; a torch Dataset or an image folder is read like the training data
    (``features``: the same extractor, or ``test_features`` when the training features were an
    array). ``read``: :func:`as_view`'s reading options (``batch_size``, ``image_size``, ...).

    Parameters
    ----------
    train : DataView
        The training view (its feature layout is followed).
    test : DataFrame, array, torch Dataset or image folder
        The test data.
    features, test_features : optional
        The feature extractor of the training data, or the test features as an array.
    **read
        :func:`as_view`'s reading options.

    Examples
    --------
    >>> import pandas as pd
    >>> train = as_view(pd.DataFrame({"c": ["x", "y", "x"], "y": [0, 1, 0]}), labels="y")
    >>> as_test_view(train, pd.DataFrame({"c": ["y", "z"]})).features.tolist()
    [[0.0, 1.0], [0.0, 0.0]]
    """
    if train.kind == "frame":
        if not isinstance(test, pd.DataFrame):
            raise InvalidTypeError("The training data is a DataFrame, so 'test' must be one too.")
        check_unique_index(test.index, name="test")
        missing = [c for c in train.table.columns if c not in test.columns]
        if missing:
            raise InvalidInputError(f"The 'test' DataFrame lacks the training feature columns {missing}.")
        columns = test[list(train.table.columns)]
        names = list(train.feature_names or [])
        return from_frame(columns, ids=list(train.id_columns)).with_features(encode_like(columns, names), names)
    extractor = features if isinstance(features, torch.nn.Module) or callable(features) else None
    if train.kind in ("torch", "images"):
        if features is not None and extractor is None and test_features is None:
            raise InvalidInputError("The training features were given as an array; pass test_features= as well.")
        view = as_view(test, features=extractor if test_features is None else test_features,
                       **{k: v for k, v in read.items() if k != "label_fn"})
    else:  # an array: the training extractor reads its images too, unless test_features are given
        view = as_view(test, features=test_features if test_features is not None or extractor is None else extractor)
    if train.features is not None and (view.features is None or view.features.shape[1] != train.features.shape[1]):
        width = None if view.features is None else view.features.shape[1]
        raise InvalidInputError(
            f"The 'test' data has {width} feature columns but the training data has {train.features.shape[1]}."
        )
    return view
