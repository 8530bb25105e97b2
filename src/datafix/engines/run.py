"""The one audit flow: the request checked once, any engine driven, every check run once, one report."""

from __future__ import annotations

from typing import Any

from datafix._validation import py_value
from datafix.engines.base import AuditRequest, Engine, Prepared
from datafix.errors import warn_user
from datafix.report import Report, library_versions
from datafix.report.assemble import run_checks


def run_audit(request: AuditRequest, engine: Engine) -> Report:
    """The report of ``request`` audited on ``engine``: its capabilities checked before any work,
    its :class:`~datafix.engines.base.Prepared` signals read by one ``run_checks``.

    Parameters
    ----------
    request : AuditRequest
        The audit's arguments, checked once.
    engine : Engine
        Where it runs (:class:`LocalEngine`, :class:`datafix.scale.RayEngine`); closed at the end.

    Returns
    -------
    Report

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from datafix.engines import LocalEngine
    >>> X, y = load_iris(return_X_y=True)
    >>> report = run_audit(AuditRequest.of(X, labels=y, verbose=False), LocalEngine())
    >>> report.params["n_samples"], report.checks["label"].ran
    (150, True)
    """
    engine.capabilities.check(request)
    try:
        prepared = engine.prepare(request)
    finally:
        engine.close()
    view, target, signals = prepared.view, prepared.target, prepared.signals
    valid = view.valid
    n_unlabelled = target.n_unlabelled(valid)
    if n_unlabelled:
        warn_user(f"{n_unlabelled} of {int(valid.sum())} samples have no label: they are audited for outliers, "
                  "duplicates and quality, left out of the label check, and the 'unlabelled' check proposes "
                  "pseudo-labels for them.")
    described = target.described(valid)
    if described is not None:
        signals.provenance["labels"] = described
    issues, outcomes, tables, test_issues = run_checks(request.specs, signals, request.options, target.task, view,
                                                       prepared.test_view, computed=prepared.computed)
    return Report(issues, outcomes, _params(request, prepared), dict(signals.provenance), library_versions(),
                  tables, test_issues, audited=prepared.audited)


def _params(request: AuditRequest, prepared: Prepared) -> dict[str, Any]:
    """The report's ``params``: what was audited and how (the engine's own entries last)."""
    r, view, target, signals = request, prepared.view, prepared.target, prepared.signals
    engine = dict(prepared.params)
    model = engine.pop("model", r.model)
    random_state = r.random_state
    return {
        "n_samples": len(view), "n_classes": len(target.classes), "source": view.kind, "k_neighbors": r.k_neighbors,
        "cv": r.cv if signals.folds is None else signals.folds,  # the folds that ran: at most the largest class
        "model": model if model is None or isinstance(model, str) else type(model).__name__,
        "task": "regression" if target.task == "regression" else "classification",
        "nan_policy": r.nan_policy, "checks": [s.name for s in r.specs if s.target == "train"],
        "knn_backend": r.knn_backend,
        "n_test_samples": None if prepared.test_view is None else len(prepared.test_view),
        "check_params": {name: dict(p) for name, p in r.options.items()},
        "unlabelled": py_value(r.unlabelled) if r.unlabelled is not None else None,
        "random_state": random_state if random_state is None or isinstance(random_state, int) else "Generator",
        "classes": [py_value(c) for c in target.classes],
        **engine,
    }
