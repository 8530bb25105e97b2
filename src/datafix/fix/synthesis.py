"""What a Synthesize step adds to a plan: new samples with their provenance.

Each source kind has a builder (a table from method to function): arrays get TorchSMOTE rows,
DataFrames rows from a class-conditional generator, images virtual augmented copies (recipes,
nothing stored). Every builder turns its generator's own provenance into one schema: a table
with one row per synthetic sample, its ``label``, ``parents`` (source indices), ``method`` and
``seed``, indexed ``synthetic-k``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import ConcatDataset, Dataset

from datafix._validation import py_value, sampling_targets
from datafix.data.encoding import encode_like
from datafix.data.labels import encode_labels, label_codes
from datafix.errors import InvalidInputError

COLUMNS = ["label", "parents", "method", "seed"]
#: The source kinds each method applies to; "auto" picks the first method listing the kind.
METHOD_KINDS = {"smote": ("arrays",), "copula": ("frame",), "vae": ("frame",), "augment": ("images", "torch")}


@dataclass(frozen=True)
class Synthesis:
    """``table``: one row per synthetic sample (index ``synthetic-k``, columns :data:`COLUMNS`);
    ``rows``: their data (an array for array sources, a DataFrame for frames, the oversampling
    view for images); ``step``: the name of the step that made them."""

    table: pd.DataFrame
    rows: Any
    step: str = "synthesize"


def _index(n: int) -> pd.Index:
    return pd.Index([f"synthetic-{k}" for k in range(n)], name="synthetic")


def _table(labels: Any, parents: list, method: Any, seed: Any) -> pd.DataFrame:
    """The one provenance schema of every builder."""
    n = len(labels)
    return pd.DataFrame({"label": list(labels), "parents": parents, "method": method, "seed": seed}, index=_index(n))


def method_for(step: Any, kind: str) -> str:
    """The step's method for a source kind (``"auto"`` resolved), or an error naming the kinds it needs."""
    if step.method == "auto":
        return next(m for m, kinds in METHOD_KINDS.items() if kind in kinds)
    if kind not in METHOD_KINDS[step.method]:
        kinds = " or ".join(repr(k) for k in METHOD_KINDS[step.method])
        raise InvalidInputError(f"Synthesize(method={step.method!r}) needs a source of kind {kinds}; this one "
                                f"is {kind!r}.")
    return step.method


def _smote(plan: Any, step: Any, dataset: Any) -> Synthesis:
    from datafix.synth import TorchSMOTE

    source_index = plan.view.index[plan.kept]
    X = np.asarray(plan.view.source, dtype=np.float32)[plan.kept]
    rows = TorchSMOTE(step.sampling_strategy, random_state=step.random_state).sample(X, plan.labels)
    prov = rows.provenance
    parents = [(py_value(source_index[p]), py_value(source_index[q]))
               for p, q in zip(prov["parent"], prov["neighbour"], strict=True)]
    return Synthesis(_table(rows.y, parents, "smote", prov["seed"].to_numpy()), np.asarray(rows.X), step.name)


def _generator(plan: Any, step: Any, dataset: Any) -> Synthesis:
    from datafix.synth import ConditionalVAEGenerator, GaussianCopulaGenerator

    method = method_for(step, plan.view.kind)
    labels = plan.labels
    frame = plan.view.source.iloc[plan.kept].drop(columns=[plan.label_column], errors="ignore").copy()
    frame[plan.label_column] = labels
    cls = GaussianCopulaGenerator if method == "copula" else ConditionalVAEGenerator
    generator = cls(random_state=step.random_state).fit(frame, labels=plan.label_column)
    codes, classes = encode_labels(labels)
    add = sampling_targets(step.sampling_strategy, codes, "over")
    parts = [generator.sample(int(add[c]), label=classes[c]).assign(**{plan.label_column: classes[c]})
             for c in np.flatnonzero(add)]
    rows = pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0].copy()
    table = _table(rows[plan.label_column].to_numpy(object), [()] * len(rows), method, step.random_state)
    rows.index = table.index
    return Synthesis(table, rows, step.name)


def _augmented(plan: Any, step: Any, dataset: Any) -> Synthesis:
    from datafix.synth import AugmentedOversampler, KeyedOversampler

    augmentation = next((a for s in plan.pipeline.steps if (a := s.augmentation()) is not None), None)
    if augmentation is None:
        raise InvalidInputError("Synthesize(method='augment') needs an Augment step in the pipeline: the virtual "
                                "samples are augmented copies.")
    pipeline, on = augmentation
    per_sample = pipeline if on == "sample" else None
    labels, source_index = plan.labels, plan.view.index[plan.kept]
    if per_sample is None:
        oversampler = KeyedOversampler(dataset, labels, sampling_strategy=step.sampling_strategy,
                                       seed=step.random_state)
    else:
        oversampler = AugmentedOversampler(dataset, labels, per_sample, sampling_strategy=step.sampling_strategy,
                                           seed=step.random_state)
    prov = oversampler.provenance
    table = _table([py_value(labels[s]) for s in prov["source"]], [(py_value(source_index[s]),) for s in prov["source"]],
                   prov["method"].to_numpy(object), prov["seed"].to_numpy())
    return Synthesis(table, oversampler, step.name)


#: One builder per method.
BUILDERS: dict[str, Callable[[Any, Any, Any], Synthesis]] = {
    "smote": _smote, "copula": _generator, "vae": _generator, "augment": _augmented,
}


def synthesize(plan: Any, step: Any, dataset: Any) -> Synthesis:
    """Synthetic samples for ``plan``'s kept data (``dataset``: the kept samples' training items)."""
    return BUILDERS[method_for(step, plan.view.kind)](plan, step, dataset)


def with_synthetic(dataset: Dataset, plan: Any, step: Any) -> Dataset:
    """``dataset`` (the kept samples' items) followed by the plan's synthetic samples as items alike."""
    synthesis = plan.synthesis
    if synthesis is None or synthesis.step != step.name:
        return dataset
    if isinstance(synthesis.rows, Dataset):  # virtual copies: recipes over this very dataset
        return synthesize(plan, step, dataset).rows
    return ConcatDataset([dataset, _Rows(plan, synthesis)])


class _Rows(Dataset):
    """Synthetic table rows as ``(x, y)`` items like the kept samples' (features encoded alike)."""

    def __init__(self, plan: Any, synthesis: Synthesis) -> None:
        rows = synthesis.rows
        if isinstance(rows, pd.DataFrame):
            table = rows.drop(columns=[plan.label_column], errors="ignore")
            self.x = encode_like(table, plan.view.feature_names or []).astype(np.float32)
        else:
            self.x = np.asarray(rows, dtype=np.float32)
        self.y = label_codes(synthesis.table["label"].to_numpy(object), plan.classes)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.x[i]), int(self.y[i])
