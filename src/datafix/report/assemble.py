"""Run the registered checks on the shared signals and assemble their results into report parts.

Checks work on positions over the audited (usable) samples and on label codes; this module maps
each result onto the source's index, decodes label codes to the user's values, and collects
rules, tables and advice into the checks' outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from datafix.checks.registry import CheckResult, CheckSpec
from datafix.data.labels import decode_labels
from datafix.report.shared import CheckOutcome
from datafix.signals.bundle import KIND_SIGNALS, Signals

_TASK_WORDS = {"single": "single-label data", "multilabel": "multilabel data", "regression": "regression targets"}


def run_checks(
    specs: list[CheckSpec], signals: Signals, options: Mapping[str, Mapping[str, Any]], task: str, view: Any,
    test_view: Any = None, computed: Mapping[str, CheckResult] | None = None,
) -> tuple[pd.DataFrame, dict[str, CheckOutcome], dict[str, pd.DataFrame], pd.DataFrame | None]:
    """``(issues, outcomes, tables, test_issues)`` of the checks ``specs`` on ``signals``.

    A check for another task, or whose required signals are missing, is skipped with the reason;
    ``applies`` is False when it is for another kind of data or task (reports then leave it out
    of their skipped lists). A check on the test set (``target="test"``) fills ``test_issues``.
    ``computed``: results an engine computed itself, by check name (the Ray engine's null check,
    row by row on the cluster), used instead of running those checks.
    """
    computed = computed or {}
    valid = view.valid
    issues = pd.DataFrame(index=view.index)
    issues["is_broken"] = ~valid
    issues["broken_reason"] = pd.Series([view.broken.get(i) for i in range(len(view))], index=view.index,
                                        dtype="string")
    outcomes: dict[str, CheckOutcome] = {}
    tables: dict[str, pd.DataFrame] = {}
    test_issues = None
    for spec in specs:
        if spec.target == "test":
            if signals.test is not None:
                result = spec.func(signals, **options.get(spec.name, {}))
                test_issues = _test_rows(result.columns, view, test_view)
            continue
        if task not in spec.tasks:
            outcomes[spec.name] = CheckOutcome(spec.name, False, spec.flag, spec.score, description=spec.description,
                                               reason=f"for {_TASK_WORDS[spec.tasks[0]]}", applies=False)
            continue
        requires = spec.requirements(options.get(spec.name))
        missing = [why for name in requires if (why := signals.missing(name)) is not None]
        if missing and spec.name not in computed:
            applies = not any(name in KIND_SIGNALS and signals.missing(name) for name in requires)
            outcomes[spec.name] = CheckOutcome(spec.name, False, spec.flag, spec.score, reason="; ".join(missing),
                                               description=spec.description, applies=applies)
            continue
        result = computed.get(spec.name) or spec.func(signals, **options.get(spec.name, {}))
        columns = _to_source(result.columns, spec.label_columns, view, valid)
        issues = issues.join(columns)
        tables.update(result.tables)
        outcomes[spec.name] = CheckOutcome(spec.name, True, spec.flag, spec.score, columns=tuple(columns.columns),
                                           description=spec.description, rule=result.rule, advice=result.advice)
    issues, outcomes = one_label_story(issues, outcomes)
    return issues, outcomes, tables, test_issues


def one_label_story(issues: pd.DataFrame, outcomes: dict[str, CheckOutcome]) -> tuple[pd.DataFrame, dict]:
    """The label check's verdict made to agree with the outlier and label-value checks.

    - An outlier is not judged by the label check: the model only extrapolates that far from
      the other samples, so its probabilities say nothing about the label. It is not flagged,
      and has no suggested label or confidence (NA).
    - A label value that is another class written differently (``label_values``: ``"chrun"``
      for ``"churn"``) is a label issue whose suggested label is that class, the one
      ``suggested_value`` names, with no confidence (NA: a spelling, not the model's verdict).
      It takes precedence over the outlier rule.

    The label check's rule says how many samples each rule changed. Multilabel reports are
    left as they are.

    Examples
    --------
    >>> import datafix as dfx
    >>> X = np.r_[np.random.default_rng(0).normal(size=(200, 2)), [[40.0, 40.0]]]
    >>> report = dfx.audit(X, np.r_[np.arange(200) % 2, 1], verbose=False)
    >>> row = report.issues.loc[200]
    >>> bool(row["is_outlier"]), bool(row["is_label_issue"]), row["suggested_label"]
    (True, False, <NA>)
    """
    label = outcomes.get("label")
    if label is None or not label.ran or "suggested_confidence" not in issues or "suspect_labels" in issues:
        return issues, outcomes
    issues = issues.copy()
    notes = []
    values = np.zeros(len(issues), dtype=bool)
    if outcomes.get("label_values") is not None and outcomes["label_values"].ran:
        values = issues["is_label_value_issue"].fillna(False).to_numpy(bool)
    if outcomes.get("outlier") is not None and outcomes["outlier"].ran:
        outlier = issues["is_outlier"].fillna(False).to_numpy(bool) & ~values
        if outlier.any():
            issues["is_label_issue"] = issues["is_label_issue"].mask(outlier, False)
            issues["suggested_label"] = issues["suggested_label"].mask(outlier)
            issues["suggested_confidence"] = issues["suggested_confidence"].mask(outlier)
            many = int(outlier.sum()) != 1
            notes.append(f"the {int(outlier.sum())} outlier{'s' * many} {'are' if many else 'is'} not judged (the "
                         "model only extrapolates there): not flagged, no suggested label")
    if values.any():
        issues["is_label_issue"] = issues["is_label_issue"].mask(values, True)
        issues["suggested_label"] = issues["suggested_label"].mask(values, issues["suggested_value"])
        issues["suggested_confidence"] = issues["suggested_confidence"].mask(values)
        notes.append(f"the {int(values.sum())} sample{'s' * int(values.sum() != 1)} whose label value is another "
                     "class written differently (label_values) are label issues with that class as the suggested "
                     "label")
    if notes:
        outcomes = {**outcomes, "label": replace(label, rule=f"{label.rule}; {'; '.join(notes)}")}
    return issues, outcomes


def _to_source(result: pd.DataFrame, label_columns: tuple[str, ...], view: Any, valid: np.ndarray) -> pd.DataFrame:
    """Index a check's output like the source and decode label codes to the user's values."""
    out = result.copy()
    label_columns = tuple(c for c in label_columns if c in result and view.classes is not None)  # codes only
    for col in label_columns:
        out[col] = decode_labels(out[col].to_numpy(), view.classes)
    out.index = view.index[valid]
    out = out.reindex(view.index)
    for col in result.columns:
        if result[col].dtype == bool:
            out[col] = out[col].astype("boolean")
        elif col in label_columns and view.classes.dtype.kind in "iu":
            out[col] = out[col].astype("Int64")  # integer labels stay integers beside broken rows
        elif result[col].dtype.kind in "iu" and col not in label_columns:
            out[col] = out[col].astype(_nullable(result[col].dtype))  # counts too (a group's size: 2, not 2.000)
    return out


def _nullable(dtype: np.dtype) -> str:
    """pandas' nullable integer dtype of a NumPy integer dtype: int64 -> 'Int64', uint8 -> 'UInt8'."""
    return f"{'UInt' if dtype.kind == 'u' else 'Int'}{dtype.itemsize * 8}"


def _test_rows(found: pd.DataFrame, train: Any, test: Any) -> pd.DataFrame:
    """A test-set check's rows indexed like the test source.

    A ``nearest_train`` column holds positions among the audited training samples; it becomes
    the training source's index (None where there is none).
    """
    found = found.copy()
    if "nearest_train" in found:
        train_index = train.index[train.valid]
        found["nearest_train"] = [train_index[i] if i >= 0 else None for i in found["nearest_train"]]
    test_valid = test.valid
    found.index = test.index[test_valid]
    out = found.reindex(test.index)
    for col in found.columns:
        if found[col].dtype == bool:
            out[col] = out[col].astype("boolean")
        elif found[col].dtype.kind in "iu":
            out[col] = out[col].astype(_nullable(found[col].dtype))
    out.insert(0, "is_broken", ~test_valid)
    return out
