"""Fixes at scale: a :class:`~datafix.fix.Plan` made from a Ray engine's report applied to the Ray
Dataset as a filter, and the kept labels read back from Parquet for the samplers."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from datafix.errors import InvalidInputError
from datafix.scale import blocks as B


def apply_plan(data: Any, plan: Any, labels: str = "label", *, weight_column: str | None = None) -> Any:
    """The rows ``plan`` keeps, its relabels applied, as a Ray Dataset (lazy: it streams when read).

    Rows are matched by position in the dataset's order, as :func:`~datafix.scale.audit_ray`
    numbered them; the user's Dataset is not changed.

    Parameters
    ----------
    data : ray.data.Dataset, str or os.PathLike
        The audited rows (the same Dataset or files the report was made from).
    plan : datafix.fix.Plan
        ``Pipeline(...).fit(None, report=report)`` on the Ray engine's report.
    labels : str, default "label"
        The label column, rewritten where the plan relabels.
    weight_column : str, optional
        Add the plan's sample weights (1 unless a Reweight step lowered them) as this column.

    Returns
    -------
    ray.data.Dataset

    Examples
    --------
    >>> import ray, pandas as pd
    >>> from sklearn.datasets import load_iris
    >>> from datafix.fix import DropLabelIssues, Pipeline
    >>> from datafix.scale import audit_ray
    >>> frame = load_iris(as_frame=True).frame
    >>> report = audit_ray(ray.data.from_pandas(frame), labels="target", verbose=False)  # doctest: +SKIP
    >>> plan = Pipeline([DropLabelIssues()]).fit(None, report=report)  # doctest: +SKIP
    >>> fixed = apply_plan(ray.data.from_pandas(frame), plan, labels="target")  # doctest: +SKIP
    >>> fixed.count() == len(plan.kept)  # doctest: +SKIP
    True
    """
    from datafix.scale.ingest import Passes, import_ray, read_dataset

    ray = import_ray()
    if not hasattr(plan, "samples") or not hasattr(plan, "synthetic"):
        raise InvalidInputError(f"The 'plan' argument must be a datafix Plan; got {type(plan).__name__}.")
    if len(plan.synthetic):
        raise InvalidInputError("The plan adds synthetic rows (a Synthesize step), which apply_plan does not write "
                                "to a Ray Dataset yet; leave Synthesize out of the pipeline.")
    context = ray.data.DataContext.get_current()
    kept_order = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        ds, n = Passes(ray, 4096, False).with_row_ids(read_dataset(ray, data))
    finally:
        context.execution_options.preserve_order = kept_order
    if n != len(plan.samples):
        raise InvalidInputError(f"The plan is for {len(plan.samples)} rows but the data has {n}: apply it to the data "
                                "that was audited.")
    if labels not in ds.schema().names:
        raise InvalidInputError(f"The 'labels' argument names column {labels!r}, which the dataset does not have.")
    samples = plan.samples
    changes = {"kept": samples["kept"].to_numpy(bool), "label": samples["label"].to_numpy(object),
               "weight": samples["weight"].to_numpy(float)}
    return ds.map_batches(_apply_block, fn_kwargs={"plan": changes, "labels": labels, "weight_column": weight_column},
                          batch_format="pyarrow")


def _apply_block(block: Any, plan: dict[str, np.ndarray], labels: str, weight_column: str | None) -> Any:
    """One Arrow block filtered and relabelled; every column keeps its Arrow type."""
    import pyarrow as pa

    rows = block.column(B.ROW).to_numpy()
    keep = plan["kept"][rows]
    out = block.filter(pa.array(keep)).drop_columns([B.ROW])
    where = out.schema.get_field_index(labels)
    kind = out.schema.field(labels).type
    new = plan["label"][rows[keep]]
    try:
        column = pa.array(new.tolist(), type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a relabel to a value the column's type cannot hold
        column = pa.array([str(v) for v in new])
    out = out.set_column(where, labels, column)
    if weight_column is not None:
        out = out.append_column(weight_column, pa.array(plan["weight"][rows[keep]]))
    return out


def read_labels(path: str | os.PathLike, labels: str = "label", *, batch_rows: int = 1 << 20) -> np.ndarray:
    """One column of a Parquet file or folder (a fixed dataset written with ``write_parquet``),
    read in batches of ``batch_rows`` without loading the other columns: the labels a sampler
    (:class:`~datafix.balance.ClassBalancedSampler`, ...) is built from.

    Parameters
    ----------
    path : str or os.PathLike
        A Parquet file or a folder of them.
    labels : str, default "label"
        The column to read.
    batch_rows : int, default 1,048,576
        Rows per read batch.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]}).to_parquet(folder / "part-0.parquet")
    >>> read_labels(folder).tolist()
    ['a', 'b', 'a']
    """
    import pyarrow.dataset as pads

    files = sorted(str(p) for p in ([os.fspath(path)] if os.path.isfile(path) else
                                    [os.path.join(root, f) for root, _, names in os.walk(path) for f in names
                                     if f.endswith(".parquet")]))
    if not files:
        raise InvalidInputError(f"No Parquet files in {str(path)!r}.")
    dataset = pads.dataset(files, format="parquet")
    if labels not in dataset.schema.names:
        raise InvalidInputError(f"The 'labels' argument names column {labels!r}, which {str(path)!r} does not have; "
                                f"its columns are {dataset.schema.names}.")
    parts = [batch.column(0).to_numpy(zero_copy_only=False)
             for batch in dataset.to_batches(columns=[labels], batch_size=batch_rows)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=object)
