"""Pipeline: run steps over an audit report, with safety caps, into a Plan."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import check_float
from datafix.audit import audit
from datafix.data.adapt import as_view
from datafix.data.labels import label_codes
from datafix.errors import InvalidInputError, InvalidTypeError
from datafix.fix.plan import Plan, _typed, nullable_labels
from datafix.fix.steps import Step, _proposals, step_from_config
from datafix.report import Report


def _read_config(path: str | os.PathLike) -> Any:
    """A JSON or YAML file's content; a syntax error names the file, line and column."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise InvalidInputError(f"Cannot read the pipeline config {str(path)!r}: {err.strerror or err}.") from None
    try:
        if str(path).endswith((".yaml", ".yml")):
            return yaml.safe_load(text)
        return json.loads(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InvalidInputError(f"The pipeline config {str(path)!r} is not valid YAML{where}: {err.problem}.") from None
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        where = f" at line {err.lineno}, column {err.colno}" if isinstance(err, json.JSONDecodeError) else ""
        kind = "JSON" if isinstance(err, json.JSONDecodeError) else "YAML"
        raise InvalidInputError(f"The pipeline config {str(path)!r} is not valid {kind}{where}: "
                                f"{getattr(err, 'msg', err)}.") from None


def _ray_report_view(report: Any) -> Any:
    """The rows of a Ray engine's report as a view: positions and the given labels (the label
    check's ``given_label`` column); the data stay on the cluster."""
    from datafix.data.view import DataView

    if "given_label" not in report.issues:
        raise InvalidInputError("This Ray report has no given_label column (the label check did not run): audit "
                                "with the label check to plan fixes from the report.")
    classes = np.asarray(report.params["classes"])
    codes = label_codes(report.issues["given_label"].to_numpy(object), classes)
    return DataView(index=report.issues.index, codes=codes, classes=classes, kind="ray")


def _audited_view(report: Any, data: Any, labels: Any) -> Any:
    """The audit's view when ``report`` was made from these very objects, else None."""
    if report.audited is None:
        return None
    audited_data, audited_labels, view = report.audited
    same_labels = audited_labels is labels or (isinstance(labels, str) and audited_labels == labels)
    return view if audited_data is data and same_labels else None


#: The name under which a plan drops the samples still without a label after every step.
UNLABELLED = "unlabelled"


def _record(changes: dict[str, list], index: pd.Index, step: str, proposals: pd.DataFrame, old_label: Any,
            new_label: Any) -> None:
    """Append one step's decisions to the plan's ``changes`` columns."""
    for name, values in (("index", index), ("step", [step] * len(index)), ("action", proposals["action"]),
                         ("reason", proposals["reason"]), ("score", proposals["score"]),
                         ("threshold", proposals["threshold"]), ("old_label", old_label),
                         ("new_label", new_label), ("weight", proposals["weight"])):
        changes.setdefault(name, []).extend(list(values))


class Pipeline:
    """Steps that turn an audit into a :class:`Plan`.

    Parameters
    ----------
    steps : sequence of Step
        Applied in order; a sample dropped by one step is not seen by the next.
    max_drop_share : float, default 0.5
        Never drop more than this share of any class, and never its last sample; the plan
        says where the cap stopped drops (the least doubtful candidates are the ones kept).

    Examples
    --------
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    >>> pipe = dfx.fix.Pipeline([dfx.fix.DropBroken(), dfx.fix.Relabel(0.8), dfx.fix.DropLabelIssues()])
    >>> plan = pipe.fit(data.X, data.y, verbose=False)
    >>> len(plan.kept) < len(data.y), pipe.to_config()["steps"][1]
    (True, {'step': 'relabel', 'min_confidence': 0.8})
    """

    def __init__(self, steps: Sequence[Step], *, max_drop_share: float = 0.5) -> None:
        bad = [s for s in steps if not isinstance(s, Step)]
        if bad:
            raise InvalidTypeError(f"Pipeline steps must be datafix.fix steps; got {[type(s).__name__ for s in bad]}.")
        self.steps = list(steps)
        self.max_drop_share = check_float(max_drop_share, "max_drop_share", low=0.0, high=1.0)

    # -- config ---------------------------------------------------------------------------------

    def to_config(self) -> dict[str, Any]:
        """A plain dict (JSON/YAML-ready)."""
        return {"max_drop_share": self.max_drop_share, "steps": [s.to_config() for s in self.steps]}

    @classmethod
    def from_config(cls, config: dict[str, Any] | str | os.PathLike) -> Pipeline:
        """Build from a dict, or a ``.json`` / ``.yaml`` file (safe loaders only, never pickle)."""
        if isinstance(config, (str, os.PathLike)):
            config = _read_config(config)
        if not isinstance(config, dict) or not isinstance(config.get("steps"), list):
            raise InvalidInputError("A pipeline config must be a dict with a 'steps' list.")
        unknown = sorted(set(config) - {"steps", "max_drop_share"})
        if unknown:
            raise InvalidInputError(f"Unknown pipeline keys {unknown}; the keys are ['max_drop_share', 'steps'].")
        return cls([step_from_config(s) for s in config["steps"]], max_drop_share=config.get("max_drop_share", 0.5))

    @classmethod
    def recommended(cls, report: Any) -> Pipeline:
        """The pipeline datafix recommends for what ``report`` found, the one its advice names.

        The steps of ``datafix.checks.advice.RECOMMENDED_FIX`` (chosen on
        ``benchmarks/outcome.py``) that apply: drop broken samples, drop label issues, keep one of
        each near-duplicate group and, when the classes are imbalanced (largest / smallest at
        least ``BALANCED_RATIO``), train with the logit-adjusted loss (``plan.loss``). Steps
        whose check did not run are left out.

        Parameters
        ----------
        report : Report
            An audit's report.

        Examples
        --------
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
        >>> [s.name for s in Pipeline.recommended(report).steps]
        ['drop_broken', 'drop_label_issues', 'drop_near_duplicates']
        """
        from datafix.checks.advice import recommended_fix

        return cls([step_from_config(dict(s.config)) for s in recommended_fix(report)])

    # -- fitting --------------------------------------------------------------------------------

    def fit(self, data: Any, labels: Any = None, *, report: Any = None, **audit_kwargs: Any) -> Plan:
        """Audit ``data`` (unless ``report`` is given) and fold the steps into a Plan.

        The data are read once: the plan reuses the view the audit built when ``report`` comes
        from these very ``data`` and ``labels``.
        """
        if report is None:
            report = audit(data, labels, **audit_kwargs)
        elif not isinstance(report, Report):
            raise InvalidTypeError(f"The 'report' argument must be a datafix Report; got {type(report).__name__}.")
        view = _audited_view(report, data, labels)
        if view is None and report.params.get("engine") == "ray":
            if data is not None:
                raise InvalidInputError("A report of the Ray engine is planned on its own: call fit(None, "
                                        "report=report), then datafix.scale.apply_plan(dataset, plan).")
            view = _ray_report_view(report)
        if view is None:
            read = {k: audit_kwargs[k] for k in ("features", "label_fn", "verbose") if k in audit_kwargs}
            regression = report.params.get("task") == "regression"
            view = as_view(data, labels, unlabelled=False if regression else report.params.get("unlabelled") or True,
                           task="regression" if regression else "classification", **read)
            if view.codes is None and "majority_label" in report.issues:  # audited with annotators=
                classes = np.asarray(report.params["classes"])
                view = replace(view, codes=label_codes(report.issues["majority_label"].to_numpy(object), classes),
                               classes=classes)
        if len(report.issues) != len(view) or not report.issues.index.equals(view.index):
            raise InvalidInputError(
                f"The report is from other data: it has {len(report.issues)} samples indexed "
                f"{list(report.issues.index[:3])}..., the data {len(view)} indexed {list(view.index[:3])}..."
            )
        self._check_report(report)
        return self._plan(view, report, labels if isinstance(data, pd.DataFrame) and isinstance(labels, str) else "label")

    def _check_report(self, report: Any) -> None:
        """Every step's check ran in the audit, or an error says why it did not and what to give."""
        for step in self.steps:
            outcome = report.checks.get(step.check) if step.check else None
            if step.check and (outcome is None or not outcome.ran):
                why = "it was not run" if outcome is None else f"it was skipped ({outcome.reason})"
                hint = {"label": " Give features= or pred_probs= from your own model, and audit again."}.get(
                    step.check, "")
                raise InvalidInputError(
                    f"Step {step.name!r} acts on the {step.check!r} check's findings, but {why}.{hint} Or leave "
                    f"{type(step).__name__} out of the pipeline."
                )

    def _plan(self, view, report, label_column: Any = None) -> Plan:
        n = len(view)
        codes = view.codes if view.targets is None else np.zeros(n, dtype=np.int64)  # a regression: one group for the cap
        labels = view.labels.astype(object) if view.labels is not None else np.full(n, None, dtype=object)
        alive = np.ones(n, dtype=bool)
        weight = np.ones(n)
        dropped_by = np.full(n, None, dtype=object)
        class_size = np.bincount(codes[codes >= 0], minlength=max(view.n_classes, 1)) if codes is not None else None
        dropped_in_class = np.zeros_like(class_size) if class_size is not None else None
        changes: dict[str, list] = {}
        caps: list[str] = []
        relabelled = np.zeros(n, dtype=bool)
        for step in self.steps:
            proposals = step.propose(report, alive & ~relabelled if step.reads_label_check else alive.copy())
            if proposals.empty:
                continue
            pos = proposals["position"].to_numpy(np.int64)
            action = proposals["action"].to_numpy(object).copy()
            is_drop = action == "drop"
            allowed = self._cap(proposals[is_drop].sort_values("score", kind="stable"), codes, class_size,
                                dropped_in_class, step, caps)
            dropping = is_drop & np.isin(pos, allowed)
            action[is_drop & ~dropping] = "kept (cap)"
            old_label = labels[pos].copy()
            alive[pos[dropping]] = False
            dropped_by[pos[dropping]] = step.name
            relabel = action == "relabel"
            new_label = np.full(len(pos), None, dtype=object)
            new_label[relabel] = proposals["new_label"].to_numpy(object)[relabel]
            labels[pos[relabel]] = new_label[relabel]
            relabelled[pos[relabel]] = True
            reweight = action == "reweight"
            weight[pos[reweight]] = proposals["weight"].to_numpy(float)[reweight]
            _record(changes, view.index[pos], step.name, proposals.assign(action=action), old_label, new_label)
        if view.codes is not None:  # a sample still without a label (unlabelled, no pseudo-label) cannot be trained on
            no_label = np.flatnonzero(alive & (codes < 0) & view.valid & pd.isna(labels))
            alive[no_label] = False
            dropped_by[no_label] = UNLABELLED
            none = np.full(len(no_label), None, dtype=object)
            _record(changes, view.index[no_label], UNLABELLED,
                    _proposals(no_label, "drop", "no label: unlabelled, and no step gave it one", np.nan, np.nan),
                    none, none)
        columns = ["step", "action", "reason", "score", "threshold", "old_label", "new_label", "weight"]
        frame = pd.DataFrame(changes).set_index("index") if changes else pd.DataFrame(columns=columns)
        if changes:  # the user's label dtype, also where a row has no new label (not floats with NaN)
            label_dtype = view.label_dtype(label_column)
            for name in ("old_label", "new_label"):
                frame[name] = nullable_labels(changes[name], label_dtype)
        frame.index.name = view.index.name
        samples = pd.DataFrame({"kept": alive, "label": _typed(labels, view.label_dtype(label_column)),
                                "weight": weight, "dropped_by": dropped_by}, index=view.index)
        plan = Plan(frame, samples, caps, view, self, report, label_column)
        plan.synthesis  # noqa: B018 - made now, so a Synthesize step's errors surface at fit time
        return plan

    def _cap(self, drops, codes, class_size, dropped_in_class, step, caps) -> np.ndarray:
        """Positions of ``drops`` (sorted, most doubtful first) that the per-class caps allow."""
        pos = drops["position"].to_numpy(np.int64)
        if codes is None or not len(pos):
            return pos
        cls = codes[pos]
        known = cls >= 0
        limit = np.minimum(np.floor(self.max_drop_share * class_size).astype(np.int64), class_size - 1)
        turn = pd.Series(cls).groupby(cls).cumcount().to_numpy()  # k-th candidate of its class
        ok = ~known | (turn < (limit - dropped_in_class)[np.maximum(cls, 0)])
        dropped_in_class += np.bincount(cls[ok & known], minlength=len(class_size))
        stopped = int((~ok).sum())
        if stopped:
            caps.append(f"{step.name}: {stopped} drops not made, to keep at least {1 - self.max_drop_share:.0%} of "
                        "each class and never empty one")
        return pos[ok]
