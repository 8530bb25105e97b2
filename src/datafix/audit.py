"""``audit()``: read the data, compute shared signals once, run every check, return a Report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from datafix._validation import RandomState, check_choice, check_int, check_random_state, py_value
from datafix.checks import find_leakage, resolve_checks
from datafix.data import DataView, as_view
from datafix.data.frame import check_unique_index, encode_like, from_frame
from datafix.data.labels import decode_labels
from datafix.errors import InvalidInputError, InvalidTypeError
from datafix.report import CheckOutcome, Report, library_versions
from datafix.signals import Signals, check_pred_probs, handle_non_finite
from datafix.signals.bundle import KIND_SIGNALS
from datafix.signals.features import NAN_POLICIES
from datafix.signals.neighbors import BACKENDS


def audit(
    data: Any,
    labels: Any = None,
    features: Any = None,
    pred_probs: Any = None,
    *,
    model: Any = None,
    cv: int = 5,
    k: int = 40,
    checks: str | list[str] | None = None,
    check_params: Mapping[str, Mapping[str, Any]] | None = None,
    nan_policy: str = "raise",
    test: Any = None,
    test_features: Any = None,
    multilabel: Any = None,
    knn_backend: str = "auto",
    label_fn: Callable[[Any], Any] | None = None,
    batch_size: int = 256,
    image_size: int = 32,
    num_workers: int | None = None,
    random_state: RandomState = 0,
    verbose: bool = True,
) -> Report:
    """Find what is wrong with a labelled dataset.

    Parameters
    ----------
    data : array-like, pandas.DataFrame, torch Dataset, str or os.PathLike, or DataView
        The samples (see :func:`datafix.data.as_view`).
    labels : str or array-like, optional
        One label per sample, or a DataFrame's label column name. torch Datasets and image
        folders bring their own.
    features : array-like, torch.nn.Module or callable, optional
        Features per sample, or a feature extractor for torch Datasets and image folders.
    pred_probs : array-like of shape (n, K), optional
        Out-of-sample predicted probabilities from your own model, columns in the order of the
        sorted classes. Computed by cross-validation on ``features`` when not given.
    model : None, "logistic", "linear", "mlp" or a scikit-learn classifier
        The cross-validation model (see :func:`datafix.signals.make_model`).
    cv : int, default 5
        Cross-validation folds.
    k : int, default 40
        Neighbours in the shared kNN graph.
    checks : str or list of str, optional
        The checks to run (default: all; see :func:`datafix.checks.list_checks`).
    check_params : dict, optional
        Options per check, e.g. ``{"label": {"knn_weight": 0.7}}``.
    nan_policy : {"raise", "drop", "impute"}, default "raise"
        What to do with NaN/inf features (see :func:`datafix.signals.handle_non_finite`).
    test : same kinds as ``data``, optional
        A held-out set: ``Report.test_issues`` flags its samples that copy a training sample
        (leakage). A DataFrame needs the training table's feature columns; an array the same
        number of columns; a torch Dataset or image folder gets features like ``data``.
    test_features : array-like, optional
        The test set's features, when ``features`` was given as an array.
    multilabel : array-like or DataFrame of shape (n, L), optional
        For multilabel data, instead of ``labels``: a 0/1 indicator per sample and label (a
        DataFrame's columns name the labels). The report gets a ``label_imbalance`` check
        (samples carrying a rare label), a per-label ``labels`` table (counts, IRLbl, SCUMBLE)
        and advice; the single-label checks are skipped.
    knn_backend : {"auto", "exact", "ivf", "faiss"}, default "auto"
        Search backend of the shared kNN graph (see :func:`datafix.signals.knn_graph`).
    label_fn : callable, optional
        ``label_fn(item) -> label`` for torch Datasets.
    batch_size : int, default 256
        Batch size for feature modules.
    image_size : int, default 32
        Thumbnail side for image folders.
    num_workers : int, optional
        DataLoader workers reading image folders (default: automatic).
    random_state : int, numpy.random.Generator or None, default 0
        Seed; the same seed gives the same report.
    verbose : bool, default True
        Show progress bars.

    Returns
    -------
    Report

    Raises
    ------
    InvalidInputError, InvalidTypeError
        For bad input, before any long computation.

    Examples
    --------
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("digits", noise=0.1, random_state=0)
    >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
    >>> found = report.issues["is_label_issue"].to_numpy(bool)
    >>> bool((found & data.is_label_error).sum() / found.sum() > 0.8)  # precision
    True
    """
    cv = check_int(cv, "cv", minimum=2)
    k = check_int(k, "k", minimum=1)
    check_choice(nan_policy, "nan_policy", NAN_POLICIES)
    check_choice(knn_backend, "knn_backend", BACKENDS)
    rng = check_random_state(random_state)
    specs = resolve_checks(checks)
    params_by_check = _check_params(check_params, specs)
    read = {"label_fn": label_fn, "batch_size": batch_size, "image_size": image_size,
            "num_workers": num_workers, "verbose": verbose}

    if multilabel is not None and labels is not None:
        raise InvalidInputError("Give either 'labels' (one class per sample) or 'multilabel' (an indicator matrix), not both.")
    view = as_view(data, labels, features=features, **read)
    if len(view) == 0:
        raise InvalidInputError("The 'data' argument is empty: there are no samples to audit.")
    if multilabel is not None:
        multilabel = _check_multilabel_targets(multilabel, len(view))
    if pred_probs is not None:
        view, pred_probs = _align_pred_probs(view, pred_probs)
    view = handle_non_finite(view, nan_policy)
    valid = view.valid
    if pred_probs is not None:
        pred_probs = pred_probs[valid]
    if not valid.any():
        raise InvalidInputError("No sample could be used: every sample is broken.")
    codes = None if view.codes is None else view.codes[valid]
    if codes is not None and len(np.unique(codes)) < 2:
        raise InvalidInputError("The usable samples have a single class; a label audit needs at least 2.")
    if codes is not None and len(codes) > 2 and view.n_classes == len(codes):
        raise InvalidInputError(
            f"The labels have a distinct value for every sample ({len(codes)} values, such as "
            f"{py_value(view.classes[0])!r}): that is an ID column or a continuous target, not class labels. "
            "Pass the class column as labels=."
        )

    test_view = None
    if test is not None:
        test_view = handle_non_finite(_test_view(view, test, features, test_features, read), nan_policy)

    signals = Signals(
        codes, view.n_classes,
        features=None if view.features is None else np.asarray(view.features)[valid],
        pred_probs=pred_probs, classes=view.classes,
        hashes=None if view.hashes is None else view.hashes[valid],
        table=None if view.table is None else view.table.iloc[np.flatnonzero(valid)],
        image_stats=None if view.image_stats is None else view.image_stats.iloc[np.flatnonzero(valid)].reset_index(drop=True),
        model=model, cv=cv, k=k, knn_backend=knn_backend, random_state=rng, verbose=verbose,
    )
    if view.features is not None:
        signals.provenance["features"] = _describe_features(features, view)
    issues = pd.DataFrame(index=view.index)
    issues["is_broken"] = ~valid
    issues["broken_reason"] = pd.Series([view.broken.get(i) for i in range(len(view))], index=view.index, dtype="string")
    outcomes: dict[str, CheckOutcome] = {}
    tables: dict[str, pd.DataFrame] = {}
    for spec in specs:
        missing = [why for name in spec.requires if (why := signals.missing(name)) is not None]
        if missing:
            applies = not any(name in KIND_SIGNALS and signals.missing(name) for name in spec.requires)
            outcomes[spec.name] = CheckOutcome(
                spec.name, False, spec.flag, spec.score, reason="; ".join(missing), description=spec.description,
                applies=applies,
            )
            continue
        result = spec.func(signals, **params_by_check.get(spec.name, {}))
        rule, extra, advice = result.attrs.get("rule", ""), result.attrs.get("tables", {}), result.attrs.get("advice", "")
        result = _to_source(result, spec.label_columns, view, valid)
        result.attrs = {}
        issues = issues.join(result)
        tables.update(extra)
        outcomes[spec.name] = CheckOutcome(
            spec.name, True, spec.flag, spec.score, columns=tuple(result.columns), description=spec.description,
            rule=rule, advice=advice,
        )
    if multilabel is not None:
        names, Y = multilabel
        columns, outcomes["label_imbalance"], tables["labels"] = _label_imbalance(Y, names, valid, view.index)
        issues = issues.join(columns)
    test_issues = None if test_view is None else _leakage(signals, view, valid, test_view, knn_backend)
    params = {
        "n_samples": len(view), "n_classes": view.n_classes, "source": view.kind, "cv": cv, "k": k,
        "model": model if model is None or isinstance(model, str) else type(model).__name__,
        "nan_policy": nan_policy, "checks": [s.name for s in specs], "knn_backend": knn_backend,
        "n_test_samples": None if test_view is None else len(test_view),
        "check_params": {name: dict(p) for name, p in params_by_check.items()},
        "random_state": random_state if random_state is None or isinstance(random_state, int) else "Generator",
        "classes": [py_value(c) for c in (view.classes if view.classes is not None else [])],
    }
    return Report(issues, outcomes, params, dict(signals.provenance), library_versions(), tables, test_issues,
                  audited=(data, labels, view))


def _check_multilabel_targets(multilabel: Any, n: int) -> tuple[list[Any], np.ndarray]:
    from datafix.balance.multilabel import check_multilabel

    names = list(multilabel.columns) if isinstance(multilabel, pd.DataFrame) else None
    Y = check_multilabel(multilabel, name="multilabel", warn=False)
    if len(Y) != n:
        raise InvalidInputError(f"The 'multilabel' argument has {len(Y)} rows for {n} samples.")
    return names if names is not None else list(range(Y.shape[1])), Y


def _label_imbalance(Y: np.ndarray, names: list[Any], valid: np.ndarray, index: pd.Index):
    """Per-sample columns, the outcome and the per-label table of the multilabel imbalance check."""
    from datafix.balance.advice import rebalancing_advice
    from datafix.balance.multilabel import multilabel_imbalance

    table = multilabel_imbalance(Y[valid], label_names=names)
    irlbl = table["irlbl"].to_numpy()
    minority = np.isfinite(irlbl) & (irlbl > table.attrs["mean_ir"])
    table["is_rare"] = minority
    relative = np.where(np.isfinite(irlbl), 1.0 / irlbl, np.nan)
    carried = np.where(Y, relative, np.inf).min(axis=1)
    flag = pd.array(np.where(valid, (Y & minority).any(axis=1), False), dtype="boolean")
    flag[~valid] = pd.NA
    score = np.where(valid & np.isfinite(carried), carried, np.nan)
    columns = pd.DataFrame({"is_rare_label": flag, "rare_label_score": score}, index=index)
    attrs = table.attrs
    outcome = CheckOutcome(
        "label_imbalance", True, "is_rare_label", "rare_label_score", columns=tuple(columns.columns),
        description="samples that carry a rare label (multilabel)",
        rule=(f"a label is rare when its IRLbl (largest label count / its count) is above MeanIR = {attrs['mean_ir']:.3g}; "
              f"CVIR {attrs['cvir']:.3g}, SCUMBLE {attrs['scumble']:.3g}, {attrs['samples_without_label']} samples without "
              "a label"),
        advice=rebalancing_advice(table["count"].to_numpy(), multilabel=True),
    )
    return columns, outcome, table


def _check_params(
    check_params: Mapping[str, Mapping[str, Any]] | None, specs: list[Any]
) -> dict[str, dict[str, Any]]:
    if check_params is None:
        return {}
    if not isinstance(check_params, Mapping):
        raise InvalidTypeError("The 'check_params' parameter must be a dict of check name to options.")
    names = {s.name: s for s in specs}
    out = {}
    for name, opts in check_params.items():
        if name not in names:
            raise InvalidInputError(
                f"The 'check_params' parameter has options for {name!r}, which is not among the checks "
                f"to run {sorted(names)}."
            )
        if names[name].validate is not None:
            try:
                names[name].validate(**opts)
            except TypeError as err:
                raise InvalidTypeError(f"Bad options for check {name!r}: {err}") from None
        out[name] = dict(opts)
    return out


def _align_pred_probs(view: DataView, pred_probs: Any) -> tuple[DataView, np.ndarray]:
    """Validate pred_probs against the view; return it full-length, its usable rows checked.

    Integer labels ``0..K-1`` may leave some of the K classes with no sample; pred_probs then
    still has K columns, and the view's classes are widened to ``0..K-1`` to match.
    """
    if view.codes is None:
        raise InvalidInputError("The 'pred_probs' argument needs labels to compare with.")
    shape = np.shape(pred_probs)
    n_cols = shape[1] if len(shape) == 2 else None
    classes = view.classes
    if (
        n_cols is not None and n_cols > len(classes) and classes.dtype.kind in "iu"
        and classes.min() >= 0 and classes.max() < n_cols
    ):
        codes = np.where(view.codes >= 0, classes[np.maximum(view.codes, 0)], -1).astype(np.int64)
        view = replace(view, codes=codes, classes=np.arange(n_cols))
    if len(shape) != 2 or shape[0] != len(view):
        raise InvalidInputError(
            f"The 'pred_probs' argument must have shape (n_samples, n_classes) = ({len(view)}, "
            f"{view.n_classes}); got {shape}."
        )
    valid = view.valid
    P = np.array(pred_probs, dtype=np.float64) if valid.all() else np.full(shape, np.nan)
    P[valid] = check_pred_probs(np.asarray(pred_probs)[valid], n=int(valid.sum()), n_classes=view.n_classes)
    return view, P


def _to_source(result: pd.DataFrame, label_columns: tuple[str, ...], view: DataView, valid: np.ndarray) -> pd.DataFrame:
    """Index a check's output like the source and decode label codes to the user's values."""
    out = result.copy()
    for col in label_columns:
        out[col] = decode_labels(out[col].to_numpy(), view.classes)
    out.index = view.index[valid]
    out = out.reindex(view.index)
    for col in result.columns:
        if result[col].dtype == bool:
            out[col] = out[col].astype("boolean")
        elif col in label_columns and view.classes.dtype.kind in "iu":
            out[col] = out[col].astype("Int64")  # integer labels stay integers beside broken rows
    return out


def _describe_features(features: Any, view: DataView) -> str:
    width = f"{view.features.shape[1]} columns"
    if isinstance(features, torch.nn.Module):
        return f"computed by {type(features).__name__} ({width})"
    if callable(features):
        return f"computed by {getattr(features, '__name__', 'a function')} ({width})"
    if features is not None:
        return f"given ({width})"
    sources = {"frame": "the table's columns", "images": "image thumbnails", "arrays": "the data array"}
    return f"{sources.get(view.kind, 'the source')} ({width})"


def _test_view(train: DataView, test: Any, features: Any, test_features: Any, read: dict) -> DataView:
    """Read the test set so that its features line up with the training set's."""
    if train.kind == "frame":
        if not isinstance(test, pd.DataFrame):
            raise InvalidTypeError("The training data is a DataFrame, so 'test' must be one too.")
        check_unique_index(test.index, name="test")
        missing = [c for c in train.table.columns if c not in test.columns]
        if missing:
            raise InvalidInputError(f"The 'test' DataFrame lacks the training feature columns {missing}.")
        view = from_frame(test[list(train.table.columns)])
        # one-hot columns follow the training table's: categories unseen in training are dropped
        names = list(train.feature_names or [])
        return view.with_features(encode_like(test[list(train.table.columns)], names), names)
    extractor = features if isinstance(features, torch.nn.Module) or callable(features) else None
    if train.kind in ("torch", "images"):
        if features is not None and extractor is None and test_features is None:
            raise InvalidInputError("The training features were given as an array; pass test_features= as well.")
        test_view = as_view(test, features=extractor if test_features is None else test_features,
                            **{k: v for k, v in read.items() if k != "label_fn"})
    else:
        test_view = as_view(test, features=test_features)
    if train.features is not None and (test_view.features is None or test_view.features.shape[1] != train.features.shape[1]):
        width = None if test_view.features is None else test_view.features.shape[1]
        raise InvalidInputError(
            f"The 'test' data has {width} feature columns but the training data has {train.features.shape[1]}."
        )
    return test_view


def _leakage(signals: Signals, train: DataView, valid: np.ndarray, test: DataView, backend: str) -> pd.DataFrame:
    test_valid = test.valid
    graph = signals.neighbors if signals.computed("neighbors") else None  # else find_leakage builds a 1-NN graph
    found = find_leakage(
        signals.features,
        None if test.features is None else np.asarray(test.features)[test_valid],
        train_hashes=signals.hashes,
        test_hashes=None if test.hashes is None else test.hashes[test_valid],
        train_graph=graph,
        backend=backend,
    )
    train_index = train.index[valid]
    found["nearest_train"] = [train_index[i] if i >= 0 else None for i in found["nearest_train"]]
    found.index = test.index[test_valid]
    out = found.reindex(test.index)
    for col in ("is_leaked", "is_exact_leak"):
        out[col] = out[col].astype("boolean")
    out.insert(0, "is_broken", ~test_valid)
    return out
