"""What a Synthesize step adds to a plan: new samples with their provenance.

Arrays get TorchSMOTE rows, DataFrames rows from a class-conditional generator, images virtual
augmented copies (recipes, nothing stored). Every synthetic sample is a row of one table: its
label, its parents (source indices), the method and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import py_value
from datafix.errors import InvalidInputError

COLUMNS = ["label", "parents", "method", "seed"]


@dataclass(frozen=True)
class Synthesis:
    """``table``: one row per synthetic sample (index ``synthetic-k``); ``rows``: their data
    (an array for array sources, a DataFrame for frames, the oversampling view for images)."""

    table: pd.DataFrame
    rows: Any


def _index(n: int) -> pd.Index:
    return pd.Index([f"synthetic-{k}" for k in range(n)], name="synthetic")


def _method(step: Any, kind: str) -> str:
    if step.method != "auto":
        wanted = {"smote": ("arrays",), "copula": ("frame",), "vae": ("frame",), "augment": ("images", "torch")}
        if kind not in wanted[step.method]:
            kinds = " or ".join(repr(k) for k in wanted[step.method])
            raise InvalidInputError(f"Synthesize(method={step.method!r}) needs a source of kind {kinds}; this one "
                                    f"is {kind!r}.")
        return step.method
    return {"arrays": "smote", "frame": "copula"}.get(kind, "augment")


def synthesize(plan: Any, step: Any, dataset: Any, augment: Any) -> Synthesis:
    """Synthetic samples for ``plan``'s kept data (``dataset`` is the kept-sample view)."""
    view, kept, labels = plan.view, plan.kept, plan.labels
    method = _method(step, view.kind)
    source_index = view.index[kept]
    if method == "smote":
        from datafix.synth import TorchSMOTE

        X = np.asarray(view.source, dtype=np.float32)[kept]
        rows = TorchSMOTE(step.sampling_strategy, seed=step.seed).sample(X, labels)
        prov = rows.provenance
        parents = [(py_value(source_index[p]), py_value(source_index[q]))
                   for p, q in zip(prov["parent"], prov["neighbour"], strict=True)]
        table = pd.DataFrame({"label": rows.y, "parents": parents, "method": "smote", "seed": prov["seed"].to_numpy()},
                             index=_index(len(rows.y)))
        return Synthesis(table, np.asarray(rows.X))
    if method in ("copula", "vae"):
        from datafix.balance.epoch_resampling import _targets
        from datafix.data.labels import encode_labels
        from datafix.synth import ConditionalVAEGenerator, GaussianCopulaGenerator

        frame = view.source.iloc[kept].drop(columns=[plan.label_column], errors="ignore").copy()
        frame[plan.label_column] = labels
        cls = GaussianCopulaGenerator if method == "copula" else ConditionalVAEGenerator
        generator = cls(seed=step.seed).fit(frame, label=plan.label_column)
        codes, classes = encode_labels(labels)
        add = _targets(step.sampling_strategy, codes, "over")
        parts = [generator.sample(int(add[c]), label=classes[c]).assign(**{plan.label_column: classes[c]})
                 for c in np.flatnonzero(add)]
        rows = pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0].copy()
        rows.index = _index(len(rows))
        table = pd.DataFrame({"label": rows[plan.label_column].to_numpy(object), "parents": [()] * len(rows),
                              "method": method, "seed": step.seed}, index=rows.index)
        return Synthesis(table, rows)
    from datafix.synth import AugmentedOversampler

    if augment is None:
        raise InvalidInputError("Synthesize(method='augment') needs an Augment step in the pipeline: the virtual "
                                "samples are augmented copies.")
    per_sample = augment.albumentations() if augment.on == "sample" else None
    oversampler = AugmentedOversampler(dataset, labels, per_sample, sampling_strategy=step.sampling_strategy,
                                       seed=step.seed, return_index=per_sample is None)
    prov = oversampler.provenance
    table = pd.DataFrame({"label": [py_value(labels[s]) for s in prov["source"]],
                          "parents": [(py_value(source_index[s]),) for s in prov["source"]],
                          "method": prov["method"].to_numpy(object), "seed": prov["seed"].to_numpy()},
                         index=_index(len(prov)))
    return Synthesis(table, oversampler)
