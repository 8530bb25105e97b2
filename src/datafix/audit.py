"""``audit()``: read the data, compute shared signals once, run every check, return a Report."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from datafix import scale
from datafix._validation import (
    RandomState,
    check_choice,
    check_int,
    check_random_state,
    py_value,
)
from datafix.checks.registry import check_options, graph_neighbors, resolve_checks
from datafix.data import as_test_view, as_view
from datafix.data.annotations import Annotations, read_annotations
from datafix.data.classes import class_codes
from datafix.data.labels import check_audit_labels
from datafix.data.multilabel import check_multilabel_targets
from datafix.data.targets import LABEL_TASKS, infer_task
from datafix.errors import InvalidInputError, InvalidTypeError, warn_user
from datafix.report import Report, library_versions
from datafix.report.assemble import run_checks
from datafix.scale.ray_audit import is_image_folder
from datafix.signals import (
    HeldOutSet,
    Signals,
    align_pred_probs,
    check_pred_probs,
    handle_non_finite,
)
from datafix.signals.cnn import cnn_cross_val, fold_graph
from datafix.signals.features import NAN_POLICIES, describe_features
from datafix.signals.image_default import (
    PIXEL_VIEW_MAX,
    default_extractor,
    default_image_model,
    describe_default,
    embed_valid,
    two_view_pred_probs,
)
from datafix.signals.neighbors import BACKENDS
from datafix.signals.pred_probs import fold_count, folds_described
from datafix.signals.predictions import check_predictions, make_regressor
from datafix.signals.pretrained import pretrained_extractor


def audit(
    data: Any,
    labels: Any = None,
    features: Any = None,
    pred_probs: Any = None,
    *,
    feature_columns: list[str] | None = None,
    model: Any = None,
    cv: int = 5,
    k_neighbors: int = 40,
    checks: str | list[str] | None = None,
    check_params: Mapping[str, Mapping[str, Any]] | None = None,
    nan_policy: str = "raise",
    test: Any = None,
    test_features: Any = None,
    multilabel: Any = None,
    annotators: Any = None,
    unlabelled: Any = None,
    classes: Any = None,
    task: str | None = None,
    predictions: Any = None,
    knn_backend: str = "auto",
    weights: Any = None,
    label_fn: Callable[[Any], Any] | None = None,
    batch_size: int = 256,
    image_size: int = 32,
    num_workers: int | None = None,
    random_state: RandomState = 0,
    verbose: bool = True,
    engine: str = "local",
) -> Report:
    """Find what is wrong with a labelled dataset.

    Parameters
    ----------
    data : array-like, pandas.DataFrame, torch Dataset, str or os.PathLike, or DataView
        The samples (see :func:`datafix.data.as_view`).
    labels : str or array-like, optional
        One label per sample, or a DataFrame's label column name; a pandas Series is matched to
        a DataFrame's rows by its index, as pandas aligns. torch Datasets and image folders bring
        their own. With ``task="regression"``: one number per sample.
    features : array-like, torch.nn.Module, callable or str, optional
        Features per sample, or a feature extractor for torch Datasets, image folders and
        (N, C, H, W) image arrays: a module, a per-item function, or the name of a torchvision or
        timm model (``"resnet18"``, ``"timm/convnext_tiny"``) with ``weights=`` its local
        checkpoint, run with the model's own preprocessing in batches on the device (see
        :func:`datafix.signals.pretrained_extractor`). A string is always a model's name; a
        DataFrame's columns go through ``feature_columns``.
    pred_probs : array-like of shape (n, K), optional
        Out-of-sample predicted probabilities from your own model, columns in the order of the
        sorted classes. Computed by cross-validation on ``features`` when not given. With
        ``multilabel``: shape (n, L), each label's probability (sigmoid outputs).
    feature_columns : list of str, optional
        For a DataFrame (or, with ``engine="ray"``, a table on the cluster): the columns that
        are the features and that the duplicate and null checks compare (default: every column
        but the labels), instead of ``features``.
    model : None, "cnn", "logistic", "lda", "linear", "mlp" or a scikit-learn classifier
        The cross-validation model (see :func:`datafix.signals.make_model`). ``"cnn"``, for
        images (an image folder, an (N, C, H, W) array or tensor, a torch Dataset of image
        tensors or PIL images): a small ResNet trained by K-fold cross-validation gives
        out-of-sample ``pred_probs`` and embeddings, and the embeddings become the features of
        the kNN graph (see :func:`datafix.signals.cnn_cross_val`). ``"logistic"`` on images
        reads their pixels. Default: for images given neither ``features`` nor ``pred_probs``,
        the embeddings of ImageNet-pretrained EfficientNet-Lite0 when ``datafix[pretrained]``
        is installed and the images' side is 16 pixels or more (read by logistic regression and
        kNN votes), else ``"cnn"`` from 1,000
        labelled images (see ``datafix.signals.image_default``); logistic regression otherwise.
    cv : int, default 5
        Cross-validation folds.
    k_neighbors : int, default 40
        Neighbours in the shared kNN graph.
    checks : str or list of str, optional
        The checks to run (default: all; see :func:`datafix.checks.list_checks`). With ``test``,
        the checks on the test set (``leakage``) run too.
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
    multilabel : array-like or DataFrame of shape (n, L), or list of str, optional
        For multilabel data, instead of ``labels``: a 0/1 indicator per sample and label (a
        DataFrame's columns name the labels), or the names of those columns in ``data`` (a
        DataFrame; they are then no features). The report gets a ``label_imbalance`` check
        (samples carrying a rare label), a per-label ``labels`` table (counts, IRLbl, SCUMBLE)
        and advice; the single-label checks are skipped.
    annotators : pandas.DataFrame or array-like, optional
        Several annotators' labels, instead of ``labels``: a long table with columns ``sample``
        (the data's index values), ``annotator``, ``label``, or a wide one with one column per
        annotator (or those columns' names in ``data``, a DataFrame), missing where an annotator
        did not label a sample (see
        ``datafix.data.annotations.read_annotations``). The audit's labels are then the
        majority vote; the ``annotators`` check gives each sample a consensus label (CROWDLAB on
        the pred_probs pooled with the neighbours' votes) and a score, and the ``annotators``
        table rates each annotator. The :class:`~datafix.fix.Consensus` step trains on the
        consensus.
    unlabelled : label value, optional
        A label value that marks an unlabelled sample (such as -1), besides None / NaN, which
        always do (for arrays and DataFrames). Unlabelled samples are audited like the others
        (outliers, duplicates, leakage, quality) but take no part in the label check; the
        ``unlabelled`` check proposes a pseudo-label for each (label spreading over the kNN graph
        with the model trained on the labelled samples), and the
        :class:`~datafix.fix.PseudoLabel` step adds the confident ones to the training set.
    classes : array-like, optional
        Every class, in the order of ``pred_probs``' columns, when the labels may miss some (a
        subset of a larger dataset): a listed class may have no sample, a label that is not
        listed is refused. Default: the label values present, sorted.
    task : {"classification", "regression"}, optional
        What the labels are. Default: ``"regression"`` (with a note) for float labels with many
        distinct non-integral values (see ``datafix.data.targets.infer_task``), else
        ``"classification"``. For a regression target the ``label`` check compares each target
        with out-of-sample predictions pooled with its neighbours' targets, in units of the
        local spread (see ``datafix.checks.regression.find_target_issues``);
        ``suggested_label`` is the pooled prediction, and the outlier, duplicate, quality and
        leakage checks run as for classes.
    predictions : array-like of shape (n,), optional
        For a regression target: out-of-sample predictions from your own model. Computed by
        cross-validation on ``features`` when not given (``model`` then names the regressor:
        see ``datafix.signals.predictions.make_regressor``).
    knn_backend : {"auto", "exact", "ivf", "faiss"}, default "auto"
        Search backend of the shared kNN graph (see :func:`datafix.signals.knn_graph`).
    weights : str or os.PathLike, optional
        The local checkpoint of the model named by ``features`` (a state dict saved with
        ``torch.save(model.state_dict(), path)``); datafix never downloads weights.
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
    engine : {"local", "ray"}, default "local"
        ``"ray"``: run on a Ray cluster, streaming (:func:`datafix.scale.audit_ray`, with the
        extra ``datafix[ray]``), for a DataFrame, a Parquet / CSV path or a ``ray.data.Dataset``
        (which always runs there) with a label column; ``feature_columns`` then names the
        feature columns, ``features`` a function of a batch or a model's name, and
        ``pred_probs`` the probability column(s).

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
    k_neighbors = check_int(k_neighbors, "k_neighbors", minimum=1)
    check_choice(engine, "engine", ("local", "ray"))
    if engine == "ray" or type(data).__module__.startswith("ray.data"):
        return _audit_on_ray(data, labels, features, pred_probs, test, feature_columns=feature_columns, model=model, cv=cv, k_neighbors=k_neighbors,
                             checks=checks, check_params=check_params, random_state=random_state, verbose=verbose,
                             weights=weights, image_size=image_size,
                             multilabel=_columns(multilabel, "multilabel"),
                             annotators=_columns(annotators, "annotators"),
                             others={"nan_policy": nan_policy != "raise", "test_features": test_features is not None,
                                     "unlabelled": unlabelled is not None, "task": task == "regression",
                                     "predictions": predictions is not None, "label_fn": label_fn is not None})
    check_choice(nan_policy, "nan_policy", NAN_POLICIES)
    check_choice(knn_backend, "knn_backend", BACKENDS)
    rng = check_random_state(random_state)
    source = data
    data, multilabel = _label_columns(data, multilabel, "multilabel")
    data, annotators = _label_columns(data, annotators, "annotators")
    if feature_columns is not None:
        data = _feature_columns(data, labels, features, feature_columns)
    given = [name for name, value in (("labels", labels), ("multilabel", multilabel), ("annotators", annotators))
             if value is not None]
    if len(given) > 1:
        raise InvalidInputError(f"Give one of 'labels' (one class per sample), 'multilabel' (an indicator matrix) and "
                                f"'annotators' (several annotators' labels); got {' and '.join(map(repr, given))}.")
    if task is not None:
        check_choice(task, "task", LABEL_TASKS)
    if task is None and given == ["labels"]:
        task = infer_task(data[labels] if isinstance(labels, str) and isinstance(data, pd.DataFrame)
                          and labels in data.columns else labels)
        if task == "regression":
            warn_user("The labels are numbers with many distinct values, so the audit treats them as a regression "
                      "target (task='regression'); pass task='classification' if they are classes.")
    regression = task == "regression"
    if regression:
        _check_regression_arguments(given, unlabelled, pred_probs, model,
                                    own_labels=isinstance(data, (str, os.PathLike, torch.utils.data.Dataset)))
    elif predictions is not None:
        raise InvalidInputError("The 'predictions' argument holds predictions of a regression target "
                                "(task='regression'); for classes pass pred_probs=.")
    task = "regression" if regression else "single" if multilabel is None else "multilabel"
    specs = resolve_checks(checks)
    if test is not None:  # a test set is audited by the test-set checks whatever ``checks`` names
        specs += [s for s in resolve_checks(None) if s.target == "test" and s not in specs]
    options = check_options(check_params, specs)
    read = {"label_fn": label_fn, "batch_size": batch_size, "image_size": image_size,
            "num_workers": num_workers, "verbose": verbose}

    if isinstance(features, str):
        features = pretrained_extractor(features, weights)
        # an image folder or Dataset: thumbnails at the network's input size (a Dataset's own
        # images when they are smaller: the network resizes them itself)
        read["image_size"] = max(image_size, features.resize)
    elif weights is not None:
        raise InvalidInputError("The 'weights' argument is the checkpoint of the model that features= names (e.g. "
                                "features='resnet18', weights='resnet18.pth'); features is not a model name.")
    view = as_view(data, labels, features=features, unlabelled=True if unlabelled is None else unlabelled,
                   task="regression" if regression else "classification", **read)
    if len(view) == 0:
        raise InvalidInputError("The 'data' argument is empty: there are no samples to audit.")
    if classes is not None:
        view = _with_classes(view, classes, given)
    names, Y = (None, None) if multilabel is None else check_multilabel_targets(multilabel, len(view))
    annotations = None
    if annotators is not None:  # the audit's labels are the majority vote; the annotators check finds the consensus
        annotations = read_annotations(annotators, view.index)
        view = replace(view, codes=annotations.majority_vote(), classes=annotations.classes)
    if pred_probs is not None and Y is not None:  # one probability per label
        given, pred_probs = pred_probs, np.full(Y.shape, np.nan)
        pred_probs[view.valid] = check_pred_probs(np.asarray(given)[view.valid] if len(given) == len(view) else given,
                                                  n=int(view.valid.sum()), n_classes=Y.shape[1], multilabel=True)
    elif pred_probs is not None:
        pred_probs = align_pred_probs(view, pred_probs)
    if predictions is not None:
        predictions = check_predictions(predictions, len(view))
    view = handle_non_finite(view, nan_policy)
    valid = view.valid
    if not valid.any():
        raise InvalidInputError("No sample could be used: every sample is broken.")
    check_audit_labels(view)
    n_unlabelled = 0 if view.codes is None else int((view.codes[valid] < 0).sum())
    if n_unlabelled:
        warn_user(f"{n_unlabelled} of {int(valid.sum())} samples have no label: they are audited for outliers, "
                  "duplicates and quality, left out of the label check, and the 'unlabelled' check proposes "
                  "pseudo-labels for them.")
    use_cnn = _uses_cnn(model, view, given=features is not None or pred_probs is not None,
                        test=test is not None, multilabel=Y is not None or n_unlabelled > 0)
    image_signals, default_features, pixel_view = None, None, 0
    if (not use_cnn and model is None and features is None and pred_probs is None and view.image_shape is not None
            and default_image_model(int(valid.sum()), view.image_shape) == "pretrained"):
        features = default_features = default_extractor(view.image_shape)  # the test set's images too
        embedded, pixels = embed_valid(features, view.images(), valid), view.features
        view = view.with_features(embedded, [f"pretrained{j}" for j in range(embedded.shape[1])])
        if (view.codes is not None and Y is None and not regression and pixels is not None
                and pixels.shape[1] <= PIXEL_VIEW_MAX):  # the pixels: a second view for the label check
            pred_probs = np.full((len(view), view.n_classes), np.nan)
            pred_probs[valid] = two_view_pred_probs(embedded[valid], np.asarray(pixels, np.float64)[valid],
                                                    view.codes[valid], n_classes=view.n_classes, cv=cv,
                                                    random_state=rng, classes=view.classes)
            pixel_view = pixels.shape[1]
    if use_cnn:
        images = view.images()[torch.from_numpy(valid)]
        image_signals = cnn_cross_val(images, view.codes[valid], n_classes=view.n_classes, cv=cv, random_state=rng,
                                      verbose=verbose, classes=view.classes)
        pred_probs = np.full((len(view), view.n_classes), np.nan)
        pred_probs[valid] = image_signals.pred_probs
        embeddings = np.full((len(view), image_signals.embeddings.shape[1]), np.nan)
        embeddings[valid] = image_signals.embeddings
        view = view.with_features(embeddings, [f"cnn{j}" for j in range(embeddings.shape[1])])
        model = "cnn"
    test_set, test_view = None, None
    if test is not None:
        test_view = handle_non_finite(as_test_view(view, test, features=features, test_features=test_features, **read),
                                      nan_policy)
        test_set = HeldOutSet(*(None if a is None else np.asarray(a)[test_view.valid]
                             for a in (test_view.features, test_view.hashes)))
    signals = Signals(
        None if view.codes is None else view.codes[valid], view.n_classes,
        features=None if view.features is None else np.asarray(view.features)[valid],
        pred_probs=None if pred_probs is None else pred_probs[valid], classes=view.classes,
        hashes=None if view.hashes is None else view.hashes[valid],
        table=None if view.table is None else view.table.iloc[np.flatnonzero(valid)],
        image_stats=None if view.image_stats is None else view.image_stats.iloc[np.flatnonzero(valid)].reset_index(drop=True),
        multilabel=None if Y is None else Y[valid], label_names=names, test=test_set,
        annotations=None if annotations is None else Annotations(annotations.codes[valid], annotations.classes,
                                                                 annotations.annotators),
        targets=None if view.targets is None else view.targets[valid],
        predictions=None if predictions is None else predictions[valid],
        model=model, cv=cv, k_neighbors=graph_neighbors(specs, options, k_neighbors), knn_backend=knn_backend,
        random_state=rng, verbose=verbose,
        vote_neighbors=None if image_signals is None else fold_graph(
            image_signals.held_out_embeddings, image_signals.folds, k_neighbors, knn_backend=knn_backend),
        margins=None if image_signals is None else image_signals.margins,
    )
    if annotations is not None:
        signals.provenance["labels"] = f"majority vote of {len(annotations.annotators)} annotators"
    if n_unlabelled:
        signals.provenance["labels"] = f"given for {int(valid.sum()) - n_unlabelled} samples, {n_unlabelled} unlabelled"
    if image_signals is not None:
        signals.provenance["features"] = (f"CNN embeddings ({view.features.shape[1]} columns: every sample through "
                                          f"each fold's network; label votes among each fold's held-out samples)")
        signals.folds = fold_count(view.codes[valid], cv)
        signals.provenance["pred_probs"] = image_signals.describe(signals.folds)
    elif default_features is not None:
        signals.provenance["features"] = describe_default(default_features, view.features.shape[1], view.image_rule)
        if pixel_view:
            signals.folds = fold_count(view.codes[valid], cv)
            signals.provenance["pred_probs"] = (f"{folds_described(signals.folds, cv)}: the mean of logistic "
                                                f"regressions on the embeddings and on the {pixel_view} pixel "
                                                "values, two views of each image")
    elif view.features is not None:
        signals.provenance["features"] = describe_features(features, view)
    issues, outcomes, tables, test_issues = run_checks(specs, signals, options, task, view, test_view)
    params = {
        "n_samples": len(view), "n_classes": view.n_classes, "source": view.kind, "k_neighbors": k_neighbors,
        "cv": cv if signals.folds is None else signals.folds,  # the folds that ran: at most the largest class
        "model": model if model is None or isinstance(model, str) else type(model).__name__,
        "task": "regression" if regression else "classification",
        "nan_policy": nan_policy, "checks": [s.name for s in specs if s.target == "train"], "knn_backend": knn_backend,
        "n_test_samples": None if test_view is None else len(test_view),
        "check_params": {name: dict(p) for name, p in options.items()},
        "unlabelled": py_value(unlabelled) if unlabelled is not None else None,
        "random_state": random_state if random_state is None or isinstance(random_state, int) else "Generator",
        "classes": [py_value(c) for c in (view.classes if view.classes is not None else [])],
    }
    return Report(issues, outcomes, params, dict(signals.provenance), library_versions(), tables, test_issues,
                  audited=(source, labels, view))


def _label_columns(data: Any, given: Any, name: str) -> tuple[Any, Any]:
    """``multilabel`` / ``annotators`` given as column names of the DataFrame ``data`` (as the Ray
    engine takes them): the data without those columns, and those columns."""
    if not (isinstance(given, (list, tuple)) and given and all(isinstance(c, str) for c in given)):
        return data, given
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"The {name!r} argument names columns, but the data is a {type(data).__name__}, not "
                                f"a DataFrame; pass the {name} as a table or a matrix.")
    missing = [c for c in given if c not in data.columns]
    if missing:
        raise InvalidInputError(f"The {name!r} argument names columns {missing} that the DataFrame does not have; its "
                                f"columns are {list(map(str, data.columns))}.")
    return data.drop(columns=list(given)), data[list(given)]


def _feature_columns(data: Any, labels: Any, features: Any, feature_columns: Any) -> pd.DataFrame:
    """The DataFrame ``data`` cut to ``feature_columns`` and its label column (``audit(feature_columns=)``)."""
    if features is not None:
        raise InvalidInputError("Give one of 'features' (computed features or a model's name) and 'feature_columns' "
                                "(columns of the DataFrame), not both.")
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"The 'feature_columns' argument names columns of a DataFrame; the data is a "
                                f"{type(data).__name__}: pass features= an array instead.")
    if isinstance(feature_columns, str) or not all(isinstance(c, str) for c in feature_columns):
        raise InvalidTypeError(f"The 'feature_columns' argument must be a list of column names; got "
                               f"{feature_columns!r}.")
    missing = [c for c in feature_columns if c not in data.columns]
    if missing or not feature_columns:
        raise InvalidInputError(f"The 'feature_columns' argument names columns {missing} that the DataFrame does not "
                                f"have; its columns are {list(map(str, data.columns))}.")
    label = [labels] if isinstance(labels, str) and labels in data.columns and labels not in feature_columns else []
    return data[[*feature_columns, *label]]


def _with_classes(view: Any, classes: Any, given: list[str]) -> Any:
    """The view with the user's full class list (``audit(classes=)``): its codes re-read into it."""
    if view.codes is None or given not in ([], ["labels"]):
        raise InvalidInputError("The 'classes' argument lists the classes of labels=; it does not apply to "
                                "regression targets, multilabel= or annotators=.")
    where, listed = class_codes(view.classes, classes, name="labels")
    return replace(view, codes=np.where(view.codes >= 0, where[np.maximum(view.codes, 0)], -1), classes=listed)


def _columns(given: Any, name: str) -> list[str] | None:
    """With engine='ray', ``multilabel`` / ``annotators`` name columns of the data."""
    if given is None:
        return None
    if isinstance(given, (list, tuple)) and all(isinstance(c, str) for c in given):
        return list(given)
    raise InvalidInputError(f"With engine='ray' the {name!r} argument names columns of the data (a list of column "
                            "names); tables of labels stay on one machine: use engine='local'.")


def _audit_on_ray(data: Any, labels: Any, features: Any, pred_probs: Any, test: Any, *, others: dict[str, bool],
                  **options: Any) -> Report:
    """``audit(..., engine="ray")``: :func:`datafix.scale.audit_ray`, refusing what it does not take."""
    refused = [name for name, given in others.items() if given]
    if refused:
        raise InvalidInputError(f"The {refused[0]!r} argument is not supported by engine='ray' yet; audit with "
                                "engine='local', or leave it out.")
    images = isinstance(data, (str, os.PathLike)) and is_image_folder(Path(data))
    others_labels = options.get("multilabel") is not None or options.get("annotators") is not None
    if not isinstance(labels, str) and not ((images or others_labels) and labels is None):
        raise InvalidInputError("With engine='ray' the labels are a column: pass labels= the column's name (an "
                                "image folder's labels are its subfolders: leave labels out).")
    if features is not None and not (isinstance(features, str) or callable(features)):
        raise InvalidInputError("With engine='ray' the 'features' argument is a function of a batch, a module class "
                                "or a model's name, and feature_columns= names columns; arrays stay on one machine: "
                                "use engine='local'.")
    if pred_probs is not None and not (isinstance(pred_probs, str) or (
            isinstance(pred_probs, (list, tuple)) and all(isinstance(v, str) for v in pred_probs))):
        raise InvalidInputError("With engine='ray' the 'pred_probs' argument names columns of the data; arrays stay "
                                "on one machine: use engine='local'.")
    index, test_index = None, None
    if isinstance(data, pd.DataFrame) or isinstance(test, pd.DataFrame):
        import ray.data

        if isinstance(data, pd.DataFrame):
            index, data = data.index, ray.data.from_pandas(data.reset_index(drop=True))
        if isinstance(test, pd.DataFrame):
            test_index, test = test.index, ray.data.from_pandas(test.reset_index(drop=True))
    report = scale.audit_ray(data, labels or "label", features=features, pred_probs=pred_probs, test=test, **options)
    if index is not None:
        report = replace(report, issues=report.issues.set_axis(index))
    if report.test_issues is not None and (index is not None or test_index is not None):
        leaks = report.test_issues if test_index is None else report.test_issues.set_axis(test_index)
        if index is not None:  # nearest_train: positions of the table's rows, as its index's values
            leaks = leaks.assign(nearest_train=[None if i is None or pd.isna(i) else index[int(i)]
                                                for i in leaks["nearest_train"]])
        report = replace(report, test_issues=leaks)
    return report




def _uses_cnn(model: Any, view: Any, *, given: bool, test: bool, multilabel: bool) -> bool:
    """Whether the audit trains the CNN: asked for with model='cnn', or the default for enough images."""
    images = view.image_shape is not None
    if model == "cnn":
        if given:
            raise InvalidInputError("model='cnn' computes both the features and the pred_probs; do not pass them too.")
        if not images:
            raise InvalidInputError(
                "model='cnn' needs images: an image folder, an (N, C, H, W) array or tensor, or a torch Dataset of "
                f"images; this data is {view.kind!r} without an image shape. Use model='logistic' or 'mlp'.")
        if test:
            raise InvalidInputError("model='cnn' with test= is not supported yet: the test set would need the "
                                    "embeddings of a model trained on all the training data. Audit without test=, "
                                    "or pass features= from your own model.")
        if multilabel:
            raise InvalidInputError("model='cnn' trains on one label per sample, given for every sample; for "
                                    "multilabel= or unlabelled samples pass features= or pred_probs= from your own "
                                    "model.")
        return True
    return (model is None and images and not (given or test or multilabel) and view.codes is not None
            and default_image_model(int(view.valid.sum()), view.image_shape) == "cnn")


def _check_regression_arguments(given: list[str], unlabelled: Any, pred_probs: Any, model: Any, *,
                                own_labels: bool = False) -> None:
    """Refuse the arguments that have no meaning for a regression target, naming each (``own_labels``:
    a torch Dataset or an image folder, which the adapters refuse with the way out)."""
    if given and given != ["labels"]:
        raise InvalidInputError(f"task='regression' reads one number per sample from 'labels'; {given[-1]!r} is for "
                                "classes.")
    if not given and not own_labels:
        raise InvalidInputError("task='regression' needs the targets: pass labels= (an array, or a DataFrame's "
                                "column name).")
    if unlabelled is not None:
        raise InvalidInputError("The 'unlabelled' argument applies to class labels; a regression target must have a "
                                "value for every sample.")
    if pred_probs is not None:
        raise InvalidInputError("For a regression target pass your model's out-of-sample predictions as "
                                "predictions=, not pred_probs=.")
    if model == "cnn":
        raise InvalidInputError("model='cnn' trains a classifier; for a regression target pass model=None, a "
                                "regressor name or a scikit-learn regressor.")
    if model is not None:
        make_regressor(model)  # a classifier or an unknown name: refused now, before any data is read
