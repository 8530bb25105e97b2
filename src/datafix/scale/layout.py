"""The Ray engine's feature layout: decided once from the blocks' merged profile (the columns, the
label values, the text categories, which text is dates) and broadcast to every block, so that
each block is encoded as the single-machine audit encodes the whole table
(the same :class:`~datafix.data.encoding.FeatureLayout`, fitted on the merged profile: numbers as
they are, dates as seconds since 1970-01-01, other text one-hot, vectors side by side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datafix.data.encoding import FeatureLayout
from datafix.data.labels import encode_labels
from datafix.data.target import regression_inferred
from datafix.data.targets import infer_task
from datafix.errors import InvalidInputError
from datafix.scale import blocks as B
from datafix.scale.ingest import Passes


@dataclass(frozen=True)
class Columns:
    """Which columns of a table hold what: the label column (or ``multilabel`` / ``annotators``
    columns), given ``probs`` / ``predictions``, and the features (column names, or a function or
    class of a batch); ``task`` as given."""

    label: str
    features: Any = None
    probs: list[str] | None = None
    predictions: str | None = None
    multilabel: list[str] | None = None
    annotators: list[str] | None = None
    task: str | None = None

    @property
    def labels(self) -> list[str]:
        """The columns the labels are read from."""
        return self.multilabel or self.annotators or [self.label]


def table_layout(passes: Passes, ds: Any, dtype: Any, columns: Columns) -> B.Layout:
    """The layout of the table ``ds`` (rows numbered), from one profiling pass over its blocks."""
    names = [c for c in ds.schema().names if c != B.ROW]
    _check_named(columns, names)
    skip = [*columns.labels, *(columns.probs or []), *([columns.predictions] if columns.predictions else [])]
    read = [] if columns.multilabel else columns.labels  # the label values (classes) come from these columns
    profile = _profile(passes, ds, read, skip)
    regression = _regression(columns, profile)
    classes = np.empty(0) if regression or columns.multilabel else _classes(profile, columns.label)
    table_columns = [c for c in names if c not in skip]
    if columns.features is not None and not callable(columns.features):
        unknown = [c for c in columns.features if c not in table_columns]
        if unknown:
            raise InvalidInputError(f"The 'feature_columns' argument names columns {unknown} that the dataset does not "
                                    f"have (or that hold labels / pred_probs); its columns are {names}.")
        table_columns = list(columns.features)
    features = FeatureLayout.fit(profile.features, table_columns)
    if not features.encoding and not callable(columns.features):
        raise InvalidInputError("The dataset has no feature columns besides the labels: pass feature_columns= "
                                "(column names) or features= (a function of a batch).")
    return B.Layout(columns.label if columns.labels == [columns.label] else None, classes, table_columns, features,
                    columns.probs, columns.features if callable(columns.features) else None,
                    np.dtype(dtype), regression, columns.predictions, columns.multilabel, columns.annotators)


def _check_named(columns: Columns, names: list[str]) -> None:
    """Refuse label, pred_probs and predictions columns the table does not have."""
    for argument, given in (("multilabel", columns.multilabel), ("annotators", columns.annotators),
                            ("pred_probs", columns.probs), ("predictions", [columns.predictions]
                                                            if columns.predictions else None)):
        missing = [c for c in given or [] if c not in names]
        if missing:
            raise InvalidInputError(f"The {argument!r} argument names columns {missing} that the dataset does not "
                                    f"have; its columns are {names}.")
    if columns.labels == [columns.label] and columns.label not in names:
        raise InvalidInputError(f"The 'labels' argument (--label) names column {columns.label!r}, which the dataset "
                                f"does not have; its columns are {names}.")


def _profile(passes: Passes, ds: Any, read: list[str], skip: list[str]) -> B.Profile:
    """The blocks' profiles merged, refusing blocks whose schemas differ."""
    ray = passes.ray
    parts = ray.get([ray.remote(_profile_ref).remote(r, read, skip) for r in ds.to_arrow_refs()])
    profile = B.Profile()
    for part in parts:
        profile = profile.merge(part)
    shapes = {tuple(sorted(s.items())) for s in profile.schemas if s}
    if len(shapes) > 1:
        first, other, *_ = [dict(s) for s in shapes]
        differ = sorted(set(first.items()) ^ set(other.items()))
        raise InvalidInputError(
            f"The dataset's blocks have different schemas (columns or types): {differ[:6]}. Give every block "
            "the same columns and types (ds.select_columns / map_batches casting them) before the audit.")
    return profile


def _regression(columns: Columns, profile: B.Profile) -> bool:
    """Whether the label column is a regression target (``task``, else inferred as on one machine)."""
    regression = columns.task == "regression"
    if (columns.task is None and columns.labels == [columns.label]
            and infer_task(pd.Series(list(profile.labels)), n=profile.rows) == "regression"):
        regression = True
        regression_inferred()
    return regression


def _classes(profile: B.Profile, label: str) -> np.ndarray:
    """The label values, sorted as the single-machine audit sorts them."""
    values = sorted(profile.labels, key=_sort_key)
    try:
        return encode_labels(pd.Series(values, dtype=None if len({type(v) for v in values}) == 1 else object),
                             name="labels", unlabelled=True)[1]
    except InvalidInputError as err:
        raise InvalidInputError(f"{err} (the label column {label!r})") from None


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _profile_ref(table: Any, label: list[str], skip: list[str]) -> B.Profile:
    return B.profile_block(table.to_pandas(), label, skip)
