"""The Plan: what a Pipeline decided for every sample, and the training-ready views it gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from datafix.data.view import DataView
from datafix.errors import InvalidInputError


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

    def _step(self, name: str) -> Any:
        return next((s for s in self.pipeline.steps if s.name == name), None)

    @cached_property
    def synthesis(self) -> Any:
        """The Synthesize step's output (table and data), or None without that step."""
        from datafix.fix.synthesis import synthesize

        step = self._step("synthesize")
        return None if step is None else synthesize(self, step, PlanDataset(self), self._step("augment"))

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
        """The Augment step's batch pipeline (a :class:`datafix.augment.Compose`), or None.

        With a Synthesize step on images, :attr:`dataset` items end with their index: pass
        ``with_ids=True`` to :class:`~datafix.augment.DeviceLoader` so each virtual sample gets
        its own, reproducible augmentation.
        """
        from datafix.augment import from_albumentations

        step = self._step("augment")
        if step is None or step.on != "batch":
            return None
        return from_albumentations(step.albumentations(), seed=0)

    def summary(self) -> pd.DataFrame:
        """Counts of each action per step, and the classes before and after.

        Examples
        --------
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> plan = dfx.fix.Pipeline([dfx.fix.DropLabelIssues()]).fit(data.X, data.y, verbose=False)
        >>> int(plan.summary().loc["drop_label_issues", "drop"]) == len(data.y) - len(plan.kept)
        True
        """
        counts = (self.changes.groupby(["step", "action"]).size().unstack(fill_value=0)
                  if not self.changes.empty else pd.DataFrame())
        if len(self.synthetic):
            added = pd.DataFrame({"synthesize": [len(self.synthetic)]}, index=["synthesize"])
            counts = pd.concat([counts, added]).fillna(0).astype(int)
        return counts

    def class_counts(self) -> pd.DataFrame:
        """Samples per class before and after the plan."""
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
            return (f"sample {index!r}: synthetic, label {row['label']!r}, made by {row['method']} "
                    f"(seed {row['seed']}) from {parents}")
        if index not in self.samples.index:
            raise InvalidInputError(f"No sample with index {index!r} in this plan.")
        row = self.samples.loc[index]
        lines = [f"sample {index!r}: {'kept' if row['kept'] else 'dropped'}, label {row['label']!r}, weight {row['weight']:g}"]
        for _, c in self.changes[self.changes.index == index].iterrows():
            detail = f"score {c['score']:.3g}" + (f", threshold {c['threshold']:.3g}" if pd.notna(c["threshold"]) else "")
            change = f" -> {c['new_label']!r}" if c["action"] == "relabel" else ""
            lines.append(f"  {c['step']}: {c['action']}{change} ({c['reason']}; {detail})")
        return "\n".join(lines)

    def undo(self, step: str) -> Plan:
        """The plan without ``step`` (by name), from the same report."""
        names = [s.name for s in self.pipeline.steps]
        if step not in names:
            raise InvalidInputError(f"The pipeline has no step {step!r}; its steps are {names}.")
        rest = type(self.pipeline)([s for s in self.pipeline.steps if s.name != step],
                                   max_drop_share=self.pipeline.max_drop_share)
        return rest._plan(self.view, self.report, self.label_column)

    @cached_property
    def dataset(self) -> Dataset:
        """A torch Dataset over the kept samples (relabels applied), then the synthetic ones.

        With an ``Augment(on="sample")`` step, items go through its albumentations pipeline,
        seeded per (epoch, index) (call ``plan.dataset.set_epoch``).
        """
        from torch.utils.data import ConcatDataset

        from datafix.augment import AlbumentationsDataset

        data: Dataset = PlanDataset(self)
        synthesis = self.synthesis
        if synthesis is not None:
            if isinstance(synthesis.rows, Dataset):
                data = synthesis.rows
            else:
                data = ConcatDataset([data, _Rows(synthesis.rows, synthesis.table["label"].to_numpy(object))])
        step = self._step("augment")
        if step is not None and step.on == "sample":
            data = AlbumentationsDataset(data, step.albumentations())
        return data

    @cached_property
    def sampler(self):
        """A ClassBalancedSampler over :attr:`dataset` when the pipeline has a Rebalance step, else None.

        Built once per plan, so ``plan.sampler.set_epoch(e)`` reaches the sampler the loader holds.
        """
        from datafix.balance import ClassBalancedSampler, Deferred

        step = self._step("rebalance")
        if step is None:
            return None
        schedule = Deferred(step.deferred_epoch) if step.deferred_epoch is not None else None
        weights = np.concatenate([self.weights, np.ones(len(self.synthetic))])
        return ClassBalancedSampler(self.training_labels, weighting=step.weighting, schedule=schedule,
                                    sample_weights=None if np.all(weights == 1) else weights)

    def to_frame(self, *, actions: bool = False) -> pd.DataFrame:
        """The cleaned table (tabular sources): kept rows, relabels applied, optional action column."""
        if self.view.kind not in ("frame", "arrays"):
            raise InvalidInputError(f"to_frame needs a table or array source; this one is {self.view.kind!r} "
                                    "(use plan.samples for the index lists).")
        if self.view.kind == "frame":
            frame = self.view.source.copy()
        else:
            frame = pd.DataFrame(np.asarray(self.view.source), index=self.view.index)
        frame[self.label_column] = self.samples["label"].to_numpy(object)
        rows = self.synthesis.rows if self.synthesis is not None else None
        if rows is not None and not isinstance(rows, pd.DataFrame):
            rows = pd.DataFrame(rows, columns=frame.columns[:-1], index=self.synthetic.index)
            rows[self.label_column] = self.synthetic["label"].to_numpy(object)
        if actions:
            frame["datafix_action"] = self.samples["dropped_by"].fillna("kept").to_numpy(object)
            return frame if rows is None else pd.concat([frame, rows.assign(datafix_action="synthetic")])
        frame = frame[self.samples["kept"].to_numpy(bool)]
        return frame if rows is None else pd.concat([frame, rows[frame.columns]])


class PlanDataset(Dataset):
    """Kept samples of the source, in order, with the plan's labels."""

    def __init__(self, plan: Plan) -> None:
        self.plan, self._positions, self._labels = plan, plan.kept, plan.labels

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, i: int) -> Any:
        pos = int(self._positions[i])
        view, label = self.plan.view, self._labels[i]
        if view.kind == "arrays":
            return torch.as_tensor(np.asarray(view.source[pos], dtype=np.float32)), label
        item = view.item(pos)
        if isinstance(item, tuple) and len(item) >= 2:
            return (item[0], label, *item[2:])
        return item, label


class _Rows(Dataset):
    """Synthetic table rows as (features, label) items, like :class:`PlanDataset`'s."""

    def __init__(self, rows: Any, labels: np.ndarray) -> None:
        self.rows, self.labels = rows, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> Any:
        if isinstance(self.rows, pd.DataFrame):
            return self.rows.iloc[i], self.labels[i]
        return torch.as_tensor(np.asarray(self.rows[i], dtype=np.float32)), self.labels[i]
