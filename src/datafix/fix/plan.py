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
        if self.changes.empty:
            return pd.DataFrame()
        return self.changes.groupby(["step", "action"]).size().unstack(fill_value=0)

    def class_counts(self) -> pd.DataFrame:
        """Samples per class before and after the plan."""
        before = pd.Series(self.view.labels[self.view.valid]).value_counts()
        after = pd.Series(self.labels).value_counts()
        return pd.DataFrame({"before": before, "after": after}).fillna(0).astype(int)

    def explain(self, index: Any) -> str:
        """What happened to the sample with source index ``index``, and why, in words."""
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
        """A torch Dataset over the kept samples of the source, with relabels applied."""
        return PlanDataset(self)

    @cached_property
    def sampler(self):
        """A ClassBalancedSampler over :attr:`dataset` when the pipeline has a Rebalance step, else None.

        Built once per plan, so ``plan.sampler.set_epoch(e)`` reaches the sampler the loader holds.
        """
        from datafix.balance import ClassBalancedSampler, Deferred

        step = next((s for s in self.pipeline.steps if s.name == "rebalance"), None)
        if step is None:
            return None
        schedule = Deferred(step.deferred_epoch) if step.deferred_epoch is not None else None
        weights = self.weights
        return ClassBalancedSampler(self.labels, weighting=step.weighting, schedule=schedule,
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
        if actions:
            frame["datafix_action"] = self.samples["dropped_by"].fillna("kept").to_numpy(object)
            return frame
        return frame[self.samples["kept"].to_numpy(bool)]


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
