"""The local engine: the data read into a :class:`~datafix.data.DataView` on this machine, and
signals computed here on first use (cross-validation, the kNN graph), or by the CNN for images."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from datafix._validation import check_choice
from datafix.data import as_test_view, as_view
from datafix.data.annotations import read_annotations
from datafix.data.classes import class_codes
from datafix.data.labels import check_audit_labels
from datafix.data.multilabel import check_multilabel_targets
from datafix.data.target import (
    Annotated,
    Classes,
    MultiLabel,
    NoTarget,
    Regression,
    Target,
    check_task_arguments,
    regression_inferred,
)
from datafix.data.targets import infer_task
from datafix.engines.base import AuditRequest, Capabilities, Prepared
from datafix.errors import InvalidInputError, InvalidTypeError
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
    DEFAULT_NETWORK,
    PIXEL_VIEW_MAX,
    PRETRAINED_MIN_SIDE,
    default_extractor,
    default_image_model,
    describe_default,
    describe_two_views,
    embed_valid,
    extractor_for,
    pretrained_installed,
    two_view_pred_probs,
)
from datafix.signals.neighbors import knn_graph
from datafix.signals.pred_probs import cross_val_pred_probs, fold_count
from datafix.signals.predictions import check_predictions, make_regressor
from datafix.signals.pretrained import pretrained_extractor


class LocalEngine:
    """The audit on this machine (``engine="local"``): it takes every argument of :func:`datafix.audit`.

    Examples
    --------
    >>> import datafix as dfx
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> dfx.audit(X, labels=y, engine=LocalEngine(), verbose=False).params["n_samples"]
    150
    """

    capabilities = Capabilities("local")

    def prepare(self, request: AuditRequest) -> Prepared:
        """Read the data, then the signals over its usable samples."""
        r = request
        check_choice(r.nan_policy, "nan_policy", NAN_POLICIES)
        data, multilabel, annotators = _arguments(r)
        regression = _regression(r, data)
        read = {"label_fn": r.label_fn, "batch_size": r.batch_size, "image_size": r.image_size,
                "num_workers": r.num_workers, "verbose": r.verbose}
        features = _extractor(r.features, r.weights, read)
        view = as_view(data, r.labels, features=features, unlabelled=True if r.unlabelled is None else r.unlabelled,
                       task="regression" if regression else "classification", **read)
        if len(view) == 0:
            raise InvalidInputError("The 'data' argument is empty: there are no samples to audit.")
        if r.classes is not None:
            view = _with_classes(view, r.classes, r.label_argument)
        view, target = _target(view, multilabel, annotators)
        pred_probs = _pred_probs(view, target, r.pred_probs)
        predictions = None if r.predictions is None else check_predictions(r.predictions, len(view))
        view = handle_non_finite(view, r.nan_policy)
        if not view.valid.any():
            raise InvalidInputError("No sample could be used: every sample is broken.")
        check_audit_labels(view)
        return _signals(r, view, target, features, pred_probs, predictions, read)

    def close(self) -> None:
        """Nothing to free."""


def _arguments(r: AuditRequest) -> tuple[Any, Any, Any]:
    """The data (cut to ``feature_columns``, without label columns named by ``multilabel`` /
    ``annotators``) and those labels."""
    data, multilabel = _label_columns(r.data, r.multilabel, "multilabel")
    data, annotators = _label_columns(data, r.annotators, "annotators")
    if r.feature_columns is not None:
        data = _feature_columns(data, r.labels, r.features, r.feature_columns)
    return data, multilabel, annotators


def _regression(r: AuditRequest, data: Any) -> bool:
    """Whether the labels are a regression target (``task``, else inferred from ``labels``), refusing
    the arguments that do not fit the task."""
    task = r.task
    if task is None and r.label_argument == "labels":
        labels = r.labels
        task = infer_task(data[labels] if isinstance(labels, str) and isinstance(data, pd.DataFrame)
                          and labels in data.columns else labels)
        if task == "regression":
            regression_inferred()
    regression = task == "regression"
    check_task_arguments(regression, r.label_argument, pred_probs=r.pred_probs, predictions=r.predictions,
                         unlabelled=r.unlabelled, model=r.model,
                         own_labels=isinstance(data, (str, os.PathLike, torch.utils.data.Dataset)))
    if regression and r.model is not None and not (isinstance(r.model, str) and r.model == "cnn"):
        make_regressor(r.model)  # a classifier or an unknown name: refused now, before any data is read
    return regression


def _extractor(features: Any, weights: Any, read: dict[str, Any]) -> Any:
    """``features``, a model's name built into its extractor (``read``'s image size raised to its input)."""
    if isinstance(features, str):
        features = pretrained_extractor(features, weights)
        # an image folder or Dataset: thumbnails at the network's input size (a Dataset's own
        # images when they are smaller: the network resizes them itself)
        read["image_size"] = max(read["image_size"], features.resize)
    elif weights is not None:
        raise InvalidInputError("The 'weights' argument is the checkpoint of the model that features= names (e.g. "
                                "features='resnet18', weights='resnet18.pth'); features is not a model name.")
    return features


def _target(view: Any, multilabel: Any, annotators: Any) -> tuple[Any, Target]:
    """The view (its codes the annotators' majority vote, if any) and its target."""
    if multilabel is not None:
        names, Y = check_multilabel_targets(multilabel, len(view))
        return view, MultiLabel(Y, names)
    if annotators is not None:  # the audit's labels are the majority vote; the annotators check finds the consensus
        target = Annotated.of(read_annotations(annotators, view.index))
        return replace(view, codes=target.codes, classes=target.classes), target
    if view.targets is not None:
        return view, Regression(view.targets)
    if view.codes is not None:
        return view, Classes(view.codes, view.classes)
    return view, NoTarget(len(view))


def _pred_probs(view: Any, target: Target, given: Any) -> np.ndarray | None:
    """Given pred_probs, checked against the target and laid out over every sample."""
    if given is None:
        return None
    if isinstance(target, MultiLabel):  # one probability per label
        Y, P = target.indicators, np.full(target.indicators.shape, np.nan)
        P[view.valid] = check_pred_probs(np.asarray(given)[view.valid] if len(given) == len(view) else given,
                                         n=int(view.valid.sum()), n_classes=Y.shape[1], multilabel=True)
        return P
    return align_pred_probs(view, given)


def _signals(r: AuditRequest, view: Any, target: Target, features: Any, pred_probs: Any, predictions: Any,
             read: dict[str, Any]) -> Prepared:
    """The signals over the usable samples (the CNN's or the pretrained network's for images given
    none, see ``datafix.signals.image_default``), and the test set's view."""
    valid, model = view.valid, r.model
    route = _image_route(model, view, given=features is not None or pred_probs is not None, test=r.test is not None,
                         multilabel=isinstance(target, MultiLabel) or target.n_unlabelled(valid) > 0)
    image_signals, default_features, pixel_view = None, None, 0
    if route == "pretrained":
        features = default_features = default_extractor(view.image_shape)  # the test set's images too
        embedded, pixels = embed_valid(features, view.images(), valid), view.features
        view = view.with_features(embedded, [f"pretrained{j}" for j in range(embedded.shape[1])])
        if isinstance(target, Classes) and pixels is not None and pixels.shape[1] <= PIXEL_VIEW_MAX:
            # the pixels: a second view of each image for the label check
            pred_probs = np.full((len(view), view.n_classes), np.nan)
            pred_probs[valid] = two_view_pred_probs(embedded[valid], np.asarray(pixels, np.float64)[valid],
                                                    view.codes[valid], n_classes=view.n_classes, cv=r.cv,
                                                    random_state=r.rng, classes=view.classes)
            pixel_view = pixels.shape[1]
    if route == "cnn":
        image_signals = cnn_cross_val(view.images()[torch.from_numpy(valid)], view.codes[valid],
                                      n_classes=view.n_classes, cv=r.cv, random_state=r.rng, verbose=r.verbose,
                                      classes=view.classes)
        pred_probs = np.full((len(view), view.n_classes), np.nan)
        pred_probs[valid] = image_signals.pred_probs
        embeddings = np.full((len(view), image_signals.embeddings.shape[1]), np.nan)
        embeddings[valid] = image_signals.embeddings
        view = view.with_features(embeddings, [f"cnn{j}" for j in range(embeddings.shape[1])])
        model = "cnn"
    test_set, test_view = None, None
    if r.test is not None:
        test_view = handle_non_finite(as_test_view(view, r.test, features=features, test_features=r.test_features,
                                                   **read), r.nan_policy)
        test_set = HeldOutSet(*(None if a is None else np.asarray(a)[test_view.valid]
                                for a in (test_view.features, test_view.hashes)))
    rows = np.flatnonzero(valid)
    vote_features = _vote_features(r.vote_features, view, cnn=image_signals is not None)
    # the label votes: over a second feature space when there is one, else among each fold's
    # held-out CNN embeddings (so they stay out-of-sample), else the shared graph's
    votes, voted, space, second_view = None, None, None, None
    if vote_features is not None:
        votes, space, second_view = _vote_graph(vote_features, r, view)
        voted = f"the label check's kNN votes over {second_view} (k={votes.k}), a second view beside the model"
    two_models = image_signals is not None and isinstance(vote_features, str)
    if two_models:
        # two architectures: the CNN's probabilities averaged with a K-fold logistic regression's on the
        # pretrained network's embeddings (issue 43: higher label F1 on average, training and held-out cases)
        second = cross_val_pred_probs(space, view.codes[valid], n_classes=view.n_classes, cv=r.cv,
                                      random_state=r.rng, verbose=False, classes=view.classes)
        pred_probs[valid] = (pred_probs[valid] + second) / 2
    if votes is None and image_signals is not None:
        votes = fold_graph(image_signals.held_out_embeddings, image_signals.folds, r.k_neighbors,
                           knn_backend=r.knn_backend)
    signals = Signals(
        **target.signal_fields(valid),
        features=None if view.features is None else np.asarray(view.features)[valid],
        pred_probs=None if pred_probs is None else pred_probs[valid],
        hashes=None if view.hashes is None else view.hashes[valid],
        table=None if view.table is None else view.table.iloc[rows],
        image_stats=None if view.image_stats is None else view.image_stats.iloc[rows].reset_index(drop=True),
        test=test_set, predictions=None if predictions is None else predictions[valid],
        model=model, cv=r.cv, k_neighbors=r.graph_k, knn_backend=r.knn_backend, random_state=r.rng,
        verbose=r.verbose, vote_neighbors=votes, margins=None if image_signals is None else image_signals.margins,
    )
    if voted is not None:
        signals.provenance["vote_neighbors"] = voted
    if image_signals is not None:
        own_votes = "" if voted is not None else "; label votes among each fold's held-out samples"
        signals.provenance["features"] = (f"CNN embeddings ({view.features.shape[1]} columns: every sample through "
                                          f"each fold's network{own_votes})")
        signals.folds = fold_count(view.codes[valid], r.cv)
        signals.provenance["pred_probs"] = image_signals.describe(signals.folds) + (
            f"; averaged with {signals.folds}-fold logistic regression on {second_view}" if two_models else "")
    elif default_features is not None:
        signals.provenance["features"] = describe_default(default_features, view.features.shape[1], view.image_rule)
        if pixel_view:
            signals.folds = fold_count(view.codes[valid], r.cv)
            signals.provenance["pred_probs"] = describe_two_views(signals.folds, r.cv, pixel_view)
    elif view.features is not None:
        signals.provenance["features"] = describe_features(features, view)
    return Prepared(view, target, signals, test_view, params={"model": model}, audited=(r.data, r.labels, view))


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


def _with_classes(view: Any, classes: Any, given: str | None) -> Any:
    """The view with the user's full class list (``audit(classes=)``): its codes re-read into it."""
    if view.codes is None or given not in (None, "labels"):
        raise InvalidInputError("The 'classes' argument lists the classes of labels=; it does not apply to "
                                "regression targets, multilabel= or annotators=.")
    where, listed = class_codes(view.classes, classes, name="labels")
    return replace(view, codes=np.where(view.codes >= 0, where[np.maximum(view.codes, 0)], -1), classes=listed)


def _image_route(model: Any, view: Any, *, given: bool, test: bool, multilabel: bool) -> str | None:
    """How the audit reads images itself: ``"cnn"`` (asked for with model='cnn', or the default for
    enough images without the pretrained network), ``"pretrained"`` (the default network's
    embeddings) or None (the features given, or the pixels)."""
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
        return "cnn"
    if model is not None or not images or given:
        return None
    default = default_image_model(int(view.valid.sum()), view.image_shape)
    if default == "pretrained":
        return default
    cnn = default == "cnn" and not (test or multilabel) and view.codes is not None
    return "cnn" if cnn else None


def _vote_features(given: Any, view: Any, *, cnn: bool) -> Any:
    """``audit(vote_features=)`` resolved: ``"auto"`` is :data:`DEFAULT_NETWORK` for the CNN's
    audit of images the network reads (its packages installed, sides of
    :data:`PRETRAINED_MIN_SIDE` or more), else no second space."""
    if not (isinstance(given, str) and given == "auto"):
        return given
    readable = view.image_shape is not None and min(view.image_shape[1:]) >= PRETRAINED_MIN_SIDE
    return DEFAULT_NETWORK if cnn and readable and pretrained_installed() else None


def _vote_graph(given: Any, r: AuditRequest, view: Any) -> tuple[Any, np.ndarray, str]:
    """The label votes' kNN graph over ``given`` (an array, or a pretrained network's embeddings
    of the images) of the usable samples, that feature space, and what it is, in words."""
    valid = view.valid
    if isinstance(given, str):
        if view.image_shape is None:
            raise InvalidInputError(f"vote_features={given!r} names a pretrained network, which embeds images; "
                                    f"this data is {view.kind!r}: pass vote_features= an array (n, d) instead.")
        extractor = extractor_for(given, view.image_shape)
        X = embed_valid(extractor, view.images(), valid)[valid]
        described = f"{extractor.name} ImageNet embeddings at {extractor.crop} px"
    else:
        X = np.asarray(given, dtype=np.float64) if np.ndim(given) == 2 else None
        if X is None or len(X) != len(view):
            raise InvalidInputError(f"The 'vote_features' argument must be an array of shape ({len(view)}, d), one "
                                    f"row per sample, or a pretrained network's name; got shape {np.shape(given)}.")
        X = X[valid]
        if not np.isfinite(X).all():
            raise InvalidInputError("The 'vote_features' argument holds NaN or infinite values; give finite "
                                    "embeddings.")
        described = f"the given vote_features ({X.shape[1]} columns)"
    graph = knn_graph(X, min(r.k_neighbors, len(X) - 1), knn_backend=r.knn_backend, verbose=r.verbose)
    return graph, X, described
