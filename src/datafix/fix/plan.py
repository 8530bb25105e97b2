"""The Plan: what a Pipeline decided for every sample, and the training-ready views it gives."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from datafix._io import atomic_write
from datafix._validation import check_int, py_value
from datafix.data.labels import label_codes
from datafix.data.view import DataView
from datafix.errors import InvalidInputError

#: The columns of :meth:`Plan.summary`: the actions a step can take, and synthetic samples added.
SUMMARY_COLUMNS = ("drop", "relabel", "reweight", "kept (cap)", "added")


@dataclass(frozen=True)
class Plan:
    """The outcome of :meth:`Pipeline.fit`; nothing in the source is changed.

    Attributes
    ----------
    changes : pandas.DataFrame
        One row per change, indexed like the source: ``step``, ``action`` (drop, relabel,
        reweight, or ``kept (cap)`` when a safety cap stopped a drop), ``reason``, ``score``,
        ``threshold``, ``old_label``, ``new_label``, ``weight``.
    samples : pandas.DataFrame
        One row per input sample: ``kept``, ``label`` (after relabels), ``weight``,
        ``dropped_by``. A broken sample stays kept unless a DropBroken step drops it.
    caps : list of str
        Where a safety cap stopped drops, in words.
    synthetic : pandas.DataFrame
        One row per synthetic sample a Synthesize step added (index ``synthetic-k``): ``label``,
        ``parents`` (source indices), ``method``, ``seed``. Empty without that step.
    """

    changes: pd.DataFrame
    samples: pd.DataFrame
    caps: list[str]
    view: DataView = field(repr=False)
    pipeline: Any = field(repr=False)
    report: Any = field(repr=False)
    label_column: Any = "label"

    @property
    def kept(self) -> np.ndarray:
        """Positions of the kept samples."""
        return np.flatnonzero(self.samples["kept"].to_numpy(bool))

    @property
    def labels(self) -> np.ndarray:
        """Labels of the kept samples, relabels applied, in the user's values."""
        return self.samples["label"].to_numpy(object)[self.kept]

    @property
    def weights(self) -> np.ndarray:
        """Sample weights of the kept samples (1 unless a Reweight step lowered them)."""
        return self.samples["weight"].to_numpy(float)[self.kept]

    def _first(self, hook: str, *args: Any) -> Any:
        """The first non-None answer of the steps' ``hook``, in pipeline order."""
        return next((out for s in self.pipeline.steps if (out := getattr(s, hook)(*args)) is not None), None)

    @cached_property
    def synthesis(self) -> Any:
        """The synthetic samples a step made (``Synthesis``), or None."""
        return self._first("synthesize", self, PlanDataset(self))

    @property
    def synthetic(self) -> pd.DataFrame:
        """The synthetic samples' provenance (see the class docstring)."""
        from datafix.fix.synthesis import COLUMNS

        return pd.DataFrame(columns=COLUMNS) if self.synthesis is None else self.synthesis.table

    @property
    def training_labels(self) -> np.ndarray:
        """Labels of :attr:`dataset`'s items: the kept samples', then the synthetic ones'."""
        return np.concatenate([self.labels, self.synthetic["label"].to_numpy(object)])

    @cached_property
    def transform(self) -> Any:
        """The batch transform a step declares (``Augment(on="batch")``: a :class:`datafix.augment.Compose`), or None.

        With a Synthesize step on images, :attr:`dataset` items end with their index: pass
        ``with_ids=True`` to :class:`~datafix.augment.DeviceLoader` so each virtual sample gets
        its own, reproducible augmentation.
        """
        return self._first("transform", self)

    @cached_property
    def loss(self) -> torch.nn.Module:
        """The training loss a step declares (:class:`~datafix.fix.AdjustLogits`: a logit-adjusted
        cross-entropy over the plan's class priors), else plain ``torch.nn.CrossEntropyLoss()``.

        It takes the model's logits (columns in the order of :attr:`classes`) and the class codes
        ``y`` of :attr:`dataset`'s items.
        """
        return self._first("loss", self) or torch.nn.CrossEntropyLoss()

    def summary(self) -> pd.DataFrame:
        """One row per step, in pipeline order (steps that changed nothing too): how many samples
        each action touched, and how many synthetic samples a step ``added``; then an
        ``unlabelled`` row when samples still without a label were left out of the plan, so the
        drops add up to every sample the plan does not keep.

        Examples
        --------
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> plan = dfx.fix.Pipeline([dfx.fix.DropLabelIssues()]).fit(data.X, data.y, verbose=False)
        >>> int(plan.summary().loc["drop_label_issues", "drop"]) == len(data.y) - len(plan.kept)
        True
        """
        steps = [s.name for s in self.pipeline.steps]
        steps += [name for name in pd.unique(self.changes["step"]) if name not in steps]
        counts = pd.DataFrame(0, index=pd.Index(steps, name="step"), columns=list(SUMMARY_COLUMNS))
        if not self.changes.empty:
            seen = self.changes.groupby(["step", "action"]).size()
            for (step, action), count in seen.items():
                counts.loc[step, action] = int(count)
        if self.synthesis is not None:
            counts.loc[self.synthesis.step, "added"] = len(self.synthetic)
        return counts

    def html_section(self) -> list[str]:
        """The plan's blocks of the HTML report (``report.to_html(plan=plan)`` places them)."""
        from datafix.fix.html import plan_section

        return plan_section(self)

    def class_counts(self) -> pd.DataFrame:
        """Samples per class before and after the plan (classes only: a regression target has none)."""
        if self.view.targets is not None:
            raise InvalidInputError("class_counts counts classes; this plan is for a regression target. Compare "
                                    "plan.samples['label'] with plan.training_labels (e.g. their describe()).")
        before = pd.Series(self.view.labels[self.view.valid]).value_counts()
        after = pd.Series(self.training_labels).value_counts()
        counts = {"before": before, "after": after}
        if len(self.synthetic):
            counts["synthetic"] = self.synthetic["label"].value_counts()
        return pd.DataFrame(counts).fillna(0).astype(int)

    def explain(self, index: Any) -> str:
        """What happened to the sample with source index ``index``, and why, in words."""
        if index in self.synthetic.index:
            row = self.synthetic.loc[index]
            parents = ", ".join(repr(p) for p in row["parents"]) or "the class model"
            return (f"sample {py_value(index)!r}: synthetic, label {row['label']!r}, made by {row['method']} "
                    f"(seed {row['seed']}) from {parents}")
        if index not in self.samples.index:
            raise InvalidInputError(f"No sample with index {index!r} in this plan.")
        row = self.samples.loc[index]
        lines = [f"sample {py_value(index)!r}: {'kept' if row['kept'] else 'dropped'}, label {py_value(row['label'])!r}, "
                 f"weight {row['weight']:g}"]
        for _, c in self.changes[self.changes.index == index].iterrows():
            detail = f"score {c['score']:.3g}" + (f", threshold {c['threshold']:.3g}" if pd.notna(c["threshold"]) else "")
            change = f" -> {py_value(c['new_label'])!r}" if c["action"] == "relabel" else ""
            lines.append(f"  {c['step']}: {c['action']}{change} ({c['reason']}; {detail})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The audit's page with this plan's changes, in an isolated frame (Jupyter, the docs)."""
        from datafix.report.html import framed

        return framed(self.report.to_html(plan=self))

    def undo(self, step: str) -> Plan:
        """A new plan without ``step`` (by name), refit from the same report; this plan is unchanged.

        Write ``plan = plan.undo("relabel")`` to go on with the new one.

        Examples
        --------
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> plan = dfx.fix.Pipeline([dfx.fix.Relabel(), dfx.fix.DropLabelIssues()]).fit(data.X, data.y, verbose=False)
        >>> undone = plan.undo("relabel")
        >>> list(undone.summary().index), list(plan.summary().index)
        (['drop_label_issues'], ['relabel', 'drop_label_issues'])
        """
        names = [s.name for s in self.pipeline.steps]
        if step not in names:
            raise InvalidInputError(f"The pipeline has no step {step!r}; its steps are {names}.")
        rest = type(self.pipeline)([s for s in self.pipeline.steps if s.name != step],
                                   max_drop_share=self.pipeline.max_drop_share)
        return rest._plan(self.view, self.report, self.label_column)

    @property
    def classes(self) -> np.ndarray:
        """The user's label values; the label ``y`` of a :attr:`dataset` item is a code into it."""
        return self.view.classes

    @cached_property
    def dataset(self) -> Dataset:
        """A training-ready torch Dataset: the kept samples (relabels applied), then the synthetic ones.

        Items are ``(x, y)`` with ``y`` the int class code (``plan.classes[y]`` is the user's
        value; for a regression target: the target, a float32 scalar tensor) and ``x``:

        - tables (DataFrames): the row's features as the audit encoded them, a float32 tensor
          (numbers as they are, dates as seconds, categories one-hot; see ``view.feature_names``);
        - arrays: the row, a float32 tensor;
        - image folders: the decoded image, a uint8 tensor (3, H, W) in RGB; images of several
          sizes are resized to the most common size (see :meth:`image_dataset` for another);
        - torch Datasets: the first element of the source's item, as the source returns it.

        So ``DataLoader(plan.dataset, sampler=plan.sampler, batch_size=..., num_workers=...)``
        works as it is. With an ``Augment(on="sample")`` step, images go through its
        albumentations pipeline, seeded per (epoch, index) (call ``plan.dataset.set_epoch``);
        with a Synthesize step on images and ``Augment(on="batch")``, items end with their index
        for :attr:`transform` (``DeviceLoader(..., with_ids=True)``).
        """
        return self._training_dataset(None)

    def image_dataset(self, image_size: int | tuple[int, int] | None = None) -> Dataset:
        """:attr:`dataset` for an image folder with its images resized to ``image_size`` (side or (H, W))."""
        if self.view.kind != "images":
            raise InvalidInputError(f"image_dataset needs an image folder source; this one is {self.view.kind!r}.")
        return self._training_dataset(image_size)

    def _training_dataset(self, image_size: Any) -> Dataset:
        if self.view.kind == "frame" and self.view.features is None:
            raise InvalidInputError("The table has no feature columns besides the label, so its rows have no "
                                    "features to train on.")
        data: Dataset = PlanDataset(self, image_size=image_size)
        for step in self.pipeline.steps:  # Synthesize appends its samples, Augment(on="sample") augments items
            data = step.wrap_dataset(data, self)
        return data

    @cached_property
    def sampler(self):
        """The Sampler over :attr:`dataset` a step declares (Rebalance: a ClassBalancedSampler; for a
        regression target a :class:`~datafix.balance.DensitySampler`), or None.

        Built once per plan, so ``plan.sampler.set_epoch(e)`` reaches the sampler the loader holds.
        """
        return self._first("sampler", self)

    # -- tables ---------------------------------------------------------------------------------

    @property
    def label_dtype(self) -> Any:
        """The dtype of the user's labels (a DataFrame's label column, categories included)."""
        return self.samples["label"].dtype

    def to_frame(self, *, actions: bool = False) -> pd.DataFrame:
        """The cleaned table (tabular sources): kept rows, relabels applied, then the synthetic rows.

        Every column keeps its dtype, the label column too (categories and unused levels
        included), and the index keeps its name. Synthetic rows get fresh index values that
        cannot collide with the source's (integers after the largest one for an integer index,
        else ``"synthetic-k"``) and a ``datafix_source`` column is added: ``"real"``, or the
        row's key in :attr:`synthetic`. With ``actions=True`` every input row is kept, with a
        ``datafix_action`` column (``kept``, the dropping step, or ``synthetic``).
        """
        frame = self.view.as_table()
        if frame is None:
            raise InvalidInputError(f"to_frame needs a table or array source; this one is {self.view.kind!r} "
                                    "(use plan.samples for the index lists).")
        frame[self.label_column] = self.samples["label"].array
        if not actions:
            frame = frame[self.samples["kept"].to_numpy(bool)]
        else:
            frame["datafix_action"] = self.samples["dropped_by"].fillna("kept").to_numpy(object)
        rows = self._synthetic_rows(frame)
        if rows is None:
            return frame
        out = pd.concat([frame.assign(datafix_source="real"), rows])
        out.index.name = frame.index.name
        for col in frame.columns:  # concat widens a dtype only where the synthetic rows need it
            if out[col].dtype != frame[col].dtype and not rows[col].isna().any():
                out[col] = out[col].astype(frame[col].dtype)
        out[self.label_column] = out[self.label_column].astype(self.label_dtype)
        return out

    def _synthetic_rows(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        synthesis = self.synthesis
        if synthesis is None or not len(synthesis.table):
            return None
        rows = synthesis.rows
        if not isinstance(rows, pd.DataFrame):
            columns = [c for c in frame.columns if c not in (self.label_column, "datafix_action")]
            rows = pd.DataFrame(np.asarray(rows), columns=columns)
        else:
            rows = rows.reset_index(drop=True)
        rows[self.label_column] = _typed(synthesis.table["label"].to_numpy(object), self.label_dtype)
        if "datafix_action" in frame.columns:
            rows["datafix_action"] = "synthetic"
        rows["datafix_source"] = synthesis.table.index.to_numpy(object)
        rows.index = _fresh_index(self.view.index, len(rows))
        return rows[[*frame.columns, "datafix_source"]]

    def to_csv(self, path: str | os.PathLike, *, actions: bool = False, index: bool = True) -> Path:
        """Write :meth:`to_frame` as CSV, atomically; ``index=False`` for a table read without one."""
        table = self.to_frame(actions=actions)
        return atomic_write(path, lambda tmp: table.to_csv(tmp, index=index))

    def to_parquet(self, path: str | os.PathLike, *, actions: bool = False) -> Path:
        """Write :meth:`to_frame` as Parquet (index and dtypes included), atomically."""
        table = self.to_frame(actions=actions)
        return atomic_write(path, lambda tmp: table.to_parquet(tmp, index=True))

    def counts(self) -> dict[str, int]:
        """Rows in, kept, dropped and added (synthetic), and rows out.

        Examples
        --------
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> plan = dfx.fix.Pipeline([dfx.fix.DropLabelIssues()]).fit(data.X, data.y, verbose=False)
        >>> c = plan.counts()
        >>> c["input"] == c["kept"] + c["dropped"], c["output"] == c["kept"] + c["added"]
        (True, True)
        """
        kept, added = len(self.kept), len(self.synthetic)
        return {"input": len(self.samples), "kept": kept, "dropped": len(self.samples) - kept, "added": added,
                "output": kept + added}

    def counts_line(self, *, actions: bool = False) -> str:
        """The counts in words (with ``actions=True``: every input row is written, marked)."""
        c = self.counts()
        line = f"{c['kept']} of {c['input']} rows kept, {c['dropped']} dropped, {c['added']} synthetic added"
        if actions:
            line += f"; all {c['input'] + c['added']} rows written, marked in datafix_action"
        return line


class PlanDataset(Dataset):
    """The kept samples of a plan as training items ``(x, y)`` (see :attr:`Plan.dataset`)."""

    def __init__(self, plan: Plan, *, image_size: int | tuple[int, int] | None = None) -> None:
        self.view = plan.view
        self._positions = plan.kept
        self._targets = None if plan.view.targets is None else np.asarray(plan.labels, dtype=np.float32)
        self._codes = label_codes(plan.labels, plan.classes) if self._targets is None else None
        self.image_size = _image_size(plan.view, image_size)

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        x = self.view.training_x(int(self._positions[i]), self.image_size)
        return (x, int(self._codes[i])) if self._targets is None else (x, torch.tensor(self._targets[i]))


def _typed(values: np.ndarray, dtype: Any) -> Any:
    """Label values in the user's dtype (a categorical keeps its categories and order); as they are
    when they do not fit it (None for a broken sample's unknown label)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical(values, dtype=dtype)
    if any(v is None for v in values) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return values  # a numpy dtype has no missing value
    try:
        return pd.array(values, dtype=dtype) if not isinstance(dtype, np.dtype) else np.asarray(values).astype(dtype)
    except (TypeError, ValueError):
        return values


def nullable_labels(values: Any, dtype: Any) -> Any:
    """Label values with gaps (None) in the user's dtype: integers stay integers (pandas' nullable
    ``Int64`` and kin, with <NA> in the gaps) instead of turning into floats."""
    values = np.asarray(values, dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub" and any(v is None for v in values):
        name = "boolean" if dtype.kind == "b" else f"{'UInt' if dtype.kind == 'u' else 'Int'}{dtype.itemsize * 8}"
        return pd.array(values, dtype=name)
    return _typed(values, dtype)


def _fresh_index(index: pd.Index, n: int) -> pd.Index:
    """``n`` index values for synthetic rows that no value of ``index`` equals."""
    if pd.api.types.is_integer_dtype(index.dtype) and len(index):
        start = int(index.max()) + 1
        return pd.RangeIndex(start, start + n, name=index.name)
    names = [f"synthetic-{k}" for k in range(n)]
    taken = set(index.astype(str))
    prefix = "synthetic"
    while any(name in taken for name in names):
        prefix = "datafix-" + prefix
        names = [f"{prefix}-{k}" for k in range(n)]
    return pd.Index(names, name=index.name)


def _image_size(view: DataView, image_size: Any) -> tuple[int, int] | None:
    """The (H, W) images are resized to: the given size, else the most common size when they differ
    (sources without image statistics: None)."""
    if image_size is not None:
        if isinstance(image_size, int):
            return (check_int(image_size, "image_size", minimum=1),) * 2
        h, w = image_size
        return check_int(h, "image_size[0]", minimum=1), check_int(w, "image_size[1]", minimum=1)
    stats = view.image_stats
    if stats is None or not len(stats):
        return None
    sizes = stats[["height", "width"]].dropna().astype(int)
    if len(sizes.drop_duplicates()) <= 1:
        return None
    h, w = sizes.value_counts().index[0]
    return int(h), int(w)
