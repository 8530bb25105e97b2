"""``audit_ray``: the audit on Ray Data, for tables larger than one machine's memory.

Passes over the data (each a Ray Data job over blocks of rows; the driver never holds the
features or the neighbour graph):

1. **Row ids**: the blocks are materialised once in the object store (spilled to disk when they
   do not fit) and every row gets its position in the dataset's order.
2. **Profile**: schema, label values, text categories per block, merged on the driver; the
   encoding (the single-machine audit's: numbers as they are, text one-hot) is broadcast.
3. **Encode**: features, label codes, row hashes and the null check's per-row columns per block;
   column means and variances merged (Chan's update) for the standardisation.
4. **pred_probs**: a column the user gives, or a K-fold probe on a sample of at most
   ``probe_rows`` rows (all rows when there are fewer: then the single-machine cross-validation
   exactly), its model predicting the other rows block by block.
5. **Neighbour index**: exact (up to 30,000 rows by default): the rows spread over ``n_shards``
   actors (row r in shard r % n_shards), every block searched against every shard and the
   candidates merged. IVF (above): the single-machine IVF search spread out: k-means centroids
   trained on the same sample, each row sent once to the shard of its cell, and search tasks that
   fetch a group of cells' pools from the shards and run one matrix product per cell
   (:mod:`datafix.scale.shards`); the encoded blocks are freed before the search. The graph stays
   on the cluster, in the search tasks' outputs.
6. **Checks**: the label check's kNN votes are computed block by block on the graph (each round's
   votes broadcast through the object store); the thresholds (confident learning's per-class
   counts, the outlier fence, the duplicate distance) are global and run on the driver over
   per-row numbers only (labels, pred_probs, the nearest distances, hashes): ``O(n (K + 20))``
   numbers, about 1 GB at n = 5,000,000 and K = 10.
"""

from __future__ import annotations

import os
import pickle
import socket
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from datafix._validation import (
    RandomState,
    check_choice,
    check_int,
    check_random_state,
    py_value,
    seed_from,
)
from datafix.checks.null import column_quality, null_rule
from datafix.checks.registry import check_options, graph_neighbors, resolve_checks
from datafix.data.annotations import Annotations
from datafix.data.image_folder import IMAGE_EXTENSIONS, ImageFolderDataset
from datafix.data.labels import encode_labels
from datafix.data.targets import LABEL_TASKS, infer_task
from datafix.data.view import DataView
from datafix.errors import InvalidInputError, InvalidTypeError, warn_user
from datafix.report import Report, library_versions
from datafix.report.assemble import one_label_story, run_checks
from datafix.report.shared import CheckOutcome
from datafix.scale import blocks as B
from datafix.scale import lda as L
from datafix.scale.sharded_graph import ShardedGraph
from datafix.scale.shards import (
    INDEXES,
    CellShard,
    NeighborShard,
    ivf_pools,
    merge_candidates,
    search_cells,
)
from datafix.signals import Signals
from datafix.signals.bundle import HeldOutSet
from datafix.signals.neighbors import (
    _EXTRA_CANDIDATES,
    APPROX_AUTO_MIN_N,
    KNNGraph,
    ivf_cells,
    ivf_centroids,
    ivf_n_probe,
    nearest_centroid,
)
from datafix.signals.pred_probs import make_model
from datafix.signals.predictions import make_regressor
from datafix.signals.pretrained import pretrained_extractor

#: The checks the Ray engine runs; the others are listed in the report as not run, with the reason.
SUPPORTED_CHECKS = ("label", "label_values", "unlabelled", "annotators", "label_imbalance", "outlier", "duplicate",
                    "null", "class_imbalance", "leakage", "dark", "overexposed", "low_information", "blurry",
                    "odd_size", "odd_aspect_ratio", "odd_mode")
#: Seconds to wait for a cluster at ``address`` before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0


def audit_ray(
    data: Any,
    labels: str = "label",
    *,
    features: Callable[[pd.DataFrame], Any] | type | str | None = None,
    feature_columns: Sequence[str] | None = None,
    weights: str | os.PathLike | None = None,
    pred_probs: str | Sequence[str] | None = None,
    task: str | None = None,
    predictions: str | None = None,
    multilabel: Sequence[str] | None = None,
    annotators: Sequence[str] | None = None,
    test: Any = None,
    checks: str | list[str] | None = None,
    check_params: Mapping[str, Mapping[str, Any]] | None = None,
    k_neighbors: int = 40,
    knn_backend: str = "auto",
    n_shards: int | None = None,
    probe_rows: int = 200_000,
    model: Any = None,
    cv: int = 5,
    batch_size: int = 4096,
    image_size: int = 32,
    address: str | None = None,
    output: str | os.PathLike | None = None,
    random_state: RandomState = 0,
    verbose: bool = True,
) -> Report:
    """Audit a Ray Dataset (or a Parquet / CSV path that Ray Data reads) on a Ray cluster.

    The result equals the single-machine :func:`datafix.audit` of the same table with
    ``knn_backend="exact"`` (label issues, outliers, duplicates, nulls, class counts: tested on
    20,000 rows in 4 blocks), while the driver holds only a few numbers per row; see
    ``datafix.scale.ray_audit`` for the passes and ``docs/scale.md`` for the limits.

    Parameters
    ----------
    data : ray.data.Dataset, str or os.PathLike
        The rows, a ``.parquet`` / ``.csv`` file or folder of them, or an image folder with one
        subfolder per class.
    labels : str, default "label"
        The label column. Missing values mark unlabelled rows (left out of the label check).
    features : callable, class or str, optional
        How to compute the features (default: from the columns, see ``feature_columns``). A
        function of a pandas batch returning an ``(rows, d)`` array runs in Ray tasks; a class (built once
        per actor, then called on batches: a torch model's wrapper) runs on an actor pool, one
        GPU per actor when the cluster has GPUs. For an image folder: a torch module (Ray tasks)
        or a module class (an actor pool), given the float thumbnails (B, 3, S, S) in [0, 255]
        as :func:`datafix.audit` gives a feature module, or a pretrained model's name
        (``"resnet18"``, ``"timm/convnext_tiny"``: :func:`datafix.signals.pretrained_extractor`,
        built once per actor from ``weights``, the thumbnails read at the network's resize
        side); default: the thumbnails' pixels. A string is always a model's name.
    feature_columns : list of str, optional
        The feature columns of a table (default: every column but the labels and
        ``pred_probs``; numbers as they are, text one-hot as in
        ``datafix.data.frame.encode_features``, a column of equal-length vectors, such as a
        model's embeddings, side by side).
    weights : str or os.PathLike, optional
        With ``features=`` a model name: the local checkpoint file (nothing is downloaded); every
        node of the cluster reads it at this path.
    pred_probs : str or list of str, optional
        Out-of-sample predicted probabilities: one list column, or one column per class in the
        order of the sorted classes. Default: a ``cv``-fold probe (``model``) on a sample.
    task : {"classification", "regression"}, optional
        What the label column holds; default: inferred from its values as :func:`datafix.audit`
        infers it (numbers with many distinct values are a regression target, with a warning).
        A regression target is audited for wrong values against out-of-sample predictions and
        its neighbours' targets, as on one machine.
    predictions : str, optional
        For a regression target: the column of your model's out-of-sample predictions; default:
        a ``cv``-fold regressor (``model``) on a sample of at most ``probe_rows`` rows.
    multilabel : list of str, optional
        Multilabel data: the indicator columns, one per label (0 / 1 or booleans), instead of
        ``labels``; each label's probability comes from a ``cv``-fold binary probe (or from
        ``pred_probs``, one column per label in this order), and the label check judges each
        label as :func:`datafix.audit` does with ``multilabel=``.
    annotators : list of str, optional
        Several annotators' labels: one column per annotator, missing where that annotator did
        not label the row, instead of ``labels``. The audit's labels are the majority vote; the
        annotators check finds a consensus label and each annotator's quality (CROWDLAB with the
        neighbours' votes), as :func:`datafix.audit` does with ``annotators=``.
    test : ray.data.Dataset, str or os.PathLike, optional
        A held-out set of the same kind (a table with the training feature columns, or an image
        folder): ``Report.test_issues`` flags its rows that copy a training row (the leakage
        check: an equal content hash, or a nearest training row closer than the near-copy
        threshold), searched against the sharded index as the single machine searches it.
    model : None, str or scikit-learn classifier
        The probe's model, as in :func:`datafix.audit`. ``"lda"``: a linear discriminant
        cross-validated on every row without gathering any (each fold's model is fitted from sums
        that the blocks add up on the cluster; ``datafix.scale.lda``); the others are trained on
        a sample of at most ``probe_rows`` rows on the driver.
    checks, check_params, k_neighbors, cv, random_state, verbose
        As in :func:`datafix.audit`; the checks in :data:`SUPPORTED_CHECKS` run.
    knn_backend : {"auto", "exact", "ivf"}, default "auto"
        The sharded neighbour search (the name :func:`datafix.audit` and
        :func:`datafix.signals.knn_graph` give it): ``"exact"`` (the single-machine exact graph) or ``"ivf"``
        (the single-machine IVF search, approximate, and the same graph); ``"auto"``: exact up to
        30,000 rows.
    n_shards : int, optional
        Index shards (actors); default: the cluster's CPUs.
    probe_rows : int, default 200,000
        The most rows the pred_probs probe trains on (with ``model="lda"``: every row).
    batch_size : int, default 4096
        Rows per batch of the block functions.
    image_size : int, default 32
        For an image folder (``root/<class>/<image>``): the side of the thumbnails whose pixels
        are the features, as in :func:`datafix.audit`; the image checks run on each file's
        statistics, and files that do not decode are reported broken.
    address : str, optional
        A running cluster's address (``"host:port"`` or ``"ray://host:port"``); default: the
        cluster this process is connected to, else a new local one.
    output : str or os.PathLike, optional
        A folder to write the report to (:meth:`~datafix.report.Report.to_parquet_dataset`).

    Returns
    -------
    Report

    Examples
    --------
    >>> import ray, pandas as pd
    >>> from sklearn.datasets import load_iris
    >>> frame = load_iris(as_frame=True).frame
    >>> _ = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # doctest: +SKIP
    >>> report = audit_ray(ray.data.from_pandas(frame), labels="target", verbose=False)  # doctest: +SKIP
    >>> len(report.issues) == len(frame)  # doctest: +SKIP
    True
    """
    ray = _import_ray()
    k_neighbors = check_int(k_neighbors, "k_neighbors", minimum=1)
    probe_rows = check_int(probe_rows, "probe_rows", minimum=2)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_choice(knn_backend, "knn_backend", ("auto", *INDEXES))
    if not isinstance(labels, str):
        raise InvalidTypeError("audit_ray reads the labels from a column: pass labels= the column's name.")
    feature_columns = _feature_columns(features, feature_columns)
    if task is not None:
        check_choice(task, "task", LABEL_TASKS)
    if predictions is not None and not isinstance(predictions, str):
        raise InvalidTypeError("audit_ray reads the predictions from a column: pass predictions= the column's name.")
    for name, given in (("multilabel", multilabel), ("annotators", annotators)):
        if given is not None and (isinstance(given, str) or not all(isinstance(c, str) for c in given) or
                                  len(given) < (1 if name == "multilabel" else 2)):
            raise InvalidTypeError(f"audit_ray reads {name}= from columns: pass a list of column names (at least "
                                   f"{'one' if name == 'multilabel' else 'two annotators'}).")
    if multilabel is not None and annotators is not None:
        raise InvalidInputError("Give one of 'multilabel' (label indicator columns) and 'annotators' (one label column "
                                "per annotator), not both.")
    if isinstance(model, str) and model == "cnn":
        raise InvalidInputError("model='cnn' trains a network per fold on one machine (datafix.audit); on Ray, embed "
                                "the images with a pretrained network (features='resnet18', weights=...) or your "
                                "module class, and the probe learns from those embeddings (model=None).")
    if annotators is not None and isinstance(model, str) and model == "lda":
        raise InvalidInputError("model='lda' on Ray reads each row's label in its block, and with annotators= the "
                                "label is the majority vote, known on the driver only: use model=None or another "
                                "classifier (a probe on a sample of probe_rows rows).")
    if (multilabel is not None or annotators is not None) and (task == "regression" or predictions is not None):
        raise InvalidInputError("task='regression' and predictions= are for a regression target; multilabel= and "
                                "annotators= are for classes.")
    _connect(ray, address)
    specs = resolve_checks(checks)
    options = check_options(check_params, specs)
    rng = check_random_state(random_state)
    started = time.perf_counter()
    context = ray.data.DataContext.get_current()
    kept_order, kept_progress = context.execution_options.preserve_order, context.enable_progress_bars
    context.execution_options.preserve_order = True  # block order = row order, in every pass
    context.enable_progress_bars = verbose
    try:
        source = _dataset(ray, data)
        run = _Run(ray, labels, features if feature_columns is None else feature_columns, pred_probs, batch_size, verbose, task=task, predictions=predictions,
                   multilabel=None if multilabel is None else list(multilabel),
                   annotators=None if annotators is None else list(annotators))
        images = isinstance(source, _ImageFolder)
        if images and (task == "regression" or predictions is not None or multilabel or annotators):
            raise InvalidInputError("An image folder's labels are its subfolders, one class per image: leave task=, "
                                    "predictions=, multilabel= and annotators= out.")
        if images and pred_probs is not None:
            raise InvalidInputError("For an image folder the Ray engine computes pred_probs itself: leave "
                                    "pred_probs= out.")
        if isinstance(features, str):
            if not images:
                raise InvalidInputError(f"features={features!r} names a pretrained network, which embeds images: "
                                        "audit an image folder, or for a table pass feature_columns= a list of "
                                        "columns.")
            extractor = pretrained_extractor(features, weights, device="cpu")  # refuses a bad name or file here
            image_size = max(image_size, extractor.resize)
            run.features = partial(pretrained_extractor, features, weights)  # built once per actor
            run.described = f"{extractor.name} embeddings, weights from {str(extractor.weights)!r}, run on the cluster"
            del extractor
        elif weights is not None:
            raise InvalidInputError("The 'weights' argument is the checkpoint of the model that features= names (e.g. "
                                    "features='resnet18', weights='resnet18.pth'); features is not a model name.")
        elif images and feature_columns is not None:
            raise InvalidInputError("An image folder has no columns: leave feature_columns= out (features= embeds "
                                    "the images).")
        elif images and features is not None and not (isinstance(features, type) or hasattr(features, "forward")):
            raise InvalidInputError("For an image folder, features= is a torch module (run in Ray tasks), a "
                                    "module class (built once per actor of a pool, on a GPU when the cluster has "
                                    "them), given the float thumbnails in [0, 255], or a pretrained model's name "
                                    "with weights=.")
        test_source = None if test is None else _dataset(ray, test, name="test")
        if test_source is not None and isinstance(test_source, _ImageFolder) != images:
            raise InvalidInputError("The 'test' argument must be of the training data's kind: "
                                    f"{'an image folder' if images else 'a table (a Ray Dataset, Parquet or CSV)'}.")
        ds, n = run.with_row_ids(source.rows(ray) if images else source)
        kind = knn_backend if knn_backend != "auto" else "exact" if n <= APPROX_AUTO_MIN_N else "ivf"
        dtype = np.float64 if kind == "exact" else np.float32
        table = None
        if images:
            layout = source.layout(dtype, run.features)
            encoded = source.encode(ray, ds, layout, image_size, batch_size)
        else:
            layout, _ = run.layout(ds, dtype)
            encoded = run.encode(ds, layout)
        regression = layout.regression
        extra = [*B.STAT_COLUMNS, B.BROKEN] if images else ["is_null", "null_score", "n_missing"]
        extra += [B.PROBS] if layout.probs is not None else []
        extra += ([B.TARGET] if regression else []) + ([B.PREDICTION] if layout.predictions is not None else [])
        extra += ([B.LABELSET] if layout.multilabel else []) + ([B.ANNOTATIONS] if layout.annotators else [])
        rows = run.collect(encoded, [B.CODE, B.HASH, *extra])
        Y = None if layout.multilabel is None else _indicators(rows[B.LABELSET], layout.multilabel)
        annotations = None
        if layout.annotators is not None:  # the audit's labels are the majority vote, as on one machine
            nobody = np.flatnonzero((rows[B.ANNOTATIONS] < 0).all(axis=1))
            if nobody.size:
                raise InvalidInputError(f"{nobody.size} rows are labelled by no annotator (rows {nobody[:5].tolist()}, "
                                        "by position); filter them out (ds.filter) or audit them without annotators=.")
            annotations = Annotations(rows[B.ANNOTATIONS], layout.classes, list(layout.annotators))
            rows[B.CODE] = annotations.majority_vote()
        if regression:
            _check_numbers(rows[B.TARGET], f"a number in the label column {labels!r} (the regression target)")
            if layout.predictions is not None:
                _check_numbers(rows[B.PREDICTION], f"a number in the predictions column {predictions!r}")
        valid = rows[B.BROKEN] == "" if images else np.ones(n, bool)
        if not valid.any():
            raise InvalidInputError(f"No sample could be used: every image is broken (first: {rows[B.BROKEN][0]}).")
        row_ids = rows[B.ROW][valid]  # the usable rows' ids: the graph and the checks are over these
        sample = row_ids[_sample_rows(len(row_ids), probe_rows, rng)]
        if images:
            encoded = encoded.map_batches(_usable, batch_format="numpy", batch_size=batch_size).materialize()
        elif any(s.name == "null" for s in specs):
            table = run.sample_table(ds, layout, sample)
        del ds  # the raw rows are no longer needed: Ray frees their blocks
        _, mean, std = run.moments(encoded)
        codes, n_classes = rows[B.CODE], len(layout.classes)
        targets = rows[B.TARGET][valid] if regression else None
        if regression:
            P = None
            if layout.predictions is not None:
                fitted, model_name = rows[B.PREDICTION][valid], None
            else:
                fitted, model_name = run.regression_probe(encoded, row_ids, targets, sample, model, cv, random_state)
        elif layout.probs is not None:
            P, model_name = rows[B.PROBS][valid], None
            if Y is not None and P.shape[1] != Y.shape[1]:
                raise InvalidInputError(f"The 'pred_probs' columns hold {P.shape[1]} probabilities per row for "
                                        f"{Y.shape[1]} multilabel columns; give one per label, in their order.")
        elif Y is not None:
            P, model_name = run.multilabel_probe(encoded, row_ids, Y, sample, model, cv, random_state)
        elif isinstance(model, str) and model == "lda":
            P, model_name = run.lda_probe(encoded, layout, check_int(cv, "cv", minimum=2), int(seed_from(rng)), mean)
        else:
            P, model_name = run.probe(encoded, row_ids, codes[valid], layout, sample, model, cv, random_state)
        shards = n_shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
        reading = specs + ([] if test_source is None else [s for s in resolve_checks(None) if s.target == "test"])
        k = min(max(graph_neighbors(reading, options, k_neighbors), 1), len(row_ids) - 1)
        index = run.index(encoded, row_ids, mean, std, k, kind, check_int(shards, "n_shards", minimum=1))
        del encoded  # the IVF shards hold the rows now: the encoded blocks are freed before the search
        graph = run.graph(index, row_ids, n, k)
        held_out = None if test_source is None else run.held_out(test_source, layout, index, row_ids, image_size)
        run.release(index)
    finally:
        context.execution_options.preserve_order = kept_order
        context.enable_progress_bars = kept_progress
    stats = None
    if images:
        stats = pd.DataFrame({name.removeprefix(B.STAT): rows[name] for name in B.STAT_COLUMNS})
        if valid.all():
            stats = stats.astype({c: np.int64 for c in ("width", "height", "channels")})
        stats = stats[valid].reset_index(drop=True)
    signals = Signals(None if regression or Y is not None else codes[valid], n_classes, pred_probs=P,
                      classes=layout.classes, hashes=rows[B.HASH][valid], neighbors=graph, image_stats=stats,
                      k_neighbors=k, targets=targets, predictions=fitted if regression else None,
                      multilabel=None if Y is None else Y[valid], label_names=layout.multilabel,
                      annotations=annotations, random_state=random_state, verbose=verbose)
    if annotations is not None:
        signals.provenance["labels"] = f"majority vote of {len(annotations.annotators)} annotators"
    signals.provenance["features"] = (f"{len(layout.feature_names)} columns" if layout.features_fn is None
                                      else run.described)
    signals.provenance["predictions" if regression else "pred_probs"] = "given" if model_name is None else model_name
    signals.provenance["neighbors"] = (f"{kind} euclidean kNN graph, k={k}, standardised features, over {shards} "
                                       "Ray actors")
    broken = {int(i): str(rows[B.BROKEN][i]) for i in np.flatnonzero(~valid)} if images else {}
    no_classes = regression or Y is not None
    view = DataView(index=source.index if images else pd.RangeIndex(n), codes=None if no_classes else codes,
                    classes=None if no_classes else layout.classes,
                    broken=broken, kind="images" if images else "ray")
    check_task = "regression" if regression else "multilabel" if Y is not None else "single"
    issues, outcomes, tables, _ = run_checks([], signals, options, check_task, view)
    test_issues = None
    if held_out is not None:
        signals.test, test_view = held_out
        leakage = [s for s in resolve_checks(None) if s.target == "test"]
        test_issues = run_checks(leakage, signals, options, check_task, view, test_view)[3]
    for spec in (s for s in specs if s.target == "train"):
        if spec.name == "null" and not images:
            near = options.get("null", {}).get("near_constant", 0.99)
            tables["columns"] = column_quality(table, near_constant=near)
            sampled = "" if len(sample) == n else f"; the columns table from a sample of {len(sample):,} rows"
            nulls = pd.DataFrame({c: rows[c] for c in ("is_null", "null_score", "n_missing")})
            nullable = {c: f"Int{nulls[c].dtype.itemsize * 8}" for c in nulls if nulls[c].dtype.kind == "i"}
            issues = issues.join(nulls.astype({"is_null": "boolean", **nullable}))  # as run_checks types counts
            outcomes["null"] = CheckOutcome("null", True, spec.flag, spec.score, columns=tuple(nulls.columns),
                                            description=spec.description, rule=null_rule(near) + sampled)
            continue
        if spec.name not in SUPPORTED_CHECKS and all(signals.has(name) for name in spec.requires):
            outcomes[spec.name] = CheckOutcome(spec.name, False, spec.flag, spec.score, description=spec.description,
                                               reason="not run by the Ray engine yet (datafix.scale)")
            continue
        found, done, more, _ = run_checks([spec], signals, options, check_task, view)
        issues = issues.join(found.drop(columns=["is_broken", "broken_reason"]))
        outcomes.update(done)
        tables.update(more)
    issues, outcomes = one_label_story(issues, outcomes)  # as run_checks does with every check at once
    params = {"n_samples": n, "n_classes": n_classes, "source": "images" if images else "ray", "engine": "ray",
              "cv": cv,
              "k_neighbors": k_neighbors, "knn_backend": kind, "n_shards": shards, "probe_rows": probe_rows,
              "model": model if model is None or isinstance(model, str) else type(model).__name__,
              "task": "regression" if regression else "classification",
              "checks": [s.name for s in specs if s.target == "train"],
              "check_params": {name: dict(p) for name, p in options.items()},
              "random_state": random_state if random_state is None or isinstance(random_state, int) else "Generator",
              "classes": [py_value(c) for c in layout.classes], "seconds": round(time.perf_counter() - started, 1)}
    if held_out is not None:
        params["n_test_samples"] = len(held_out[1])
    report = Report(issues, outcomes, params, dict(signals.provenance), library_versions(), tables, test_issues)
    if output is not None:
        report.to_parquet_dataset(output)
    return report


def _feature_columns(features: Any, feature_columns: Any) -> list[str] | None:
    """``feature_columns`` as a list of column names; a refusal naming the argument for columns
    given to ``features`` (a string there is a model's name) or for both given."""
    if isinstance(features, (list, tuple)):
        raise InvalidTypeError("The 'features' argument computes features (a function, a class or a model's name); "
                               f"pass the columns {list(features)} as feature_columns=.")
    if feature_columns is None:
        return None
    if isinstance(feature_columns, str) or not all(isinstance(c, str) for c in feature_columns):
        raise InvalidTypeError("The 'feature_columns' argument must be a list of column names; got "
                               f"{feature_columns!r}.")
    if features is not None:
        raise InvalidInputError("Give one of 'features' (computed features) and 'feature_columns' (columns), not "
                                "both.")
    return list(feature_columns)


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InvalidInputError("The Ray engine needs Ray Data: pip install 'datafix[ray]'.") from None
    return ray


def _connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address`` (checked to answer within :data:`CONNECT_TIMEOUT`
    seconds), the one this process is connected to, or a new local one."""
    if address is None:
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
        return
    if not isinstance(address, str) or not address:
        raise InvalidInputError("The 'address' argument (--address) is a Ray cluster's 'host:port' or "
                                f"'ray://host:port'; got {address!r}.")
    if address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        if not host or not port.isdigit():
            raise InvalidInputError(f"The 'address' argument (--address) {address!r} is not 'host:port' or "
                                    "'ray://host:port'.")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
        except OSError as err:
            raise InvalidInputError(
                f"Cannot reach a Ray cluster at {address!r} (--address): {err.strerror or err}. Start one with "
                "'ray start --head' there, check the host and port, or leave --address out to run on this "
                "machine.") from None
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address=address, log_to_driver=False)


def _dataset(ray: Any, data: Any, name: str = "data") -> Any:
    """The rows as a Dataset whose blocks come in the order of its rows (``preserve_order``; a
    Dataset keeps the context it was made with, so the user's is copied, never changed)."""
    if isinstance(data, ray.data.Dataset):
        ordered = ray.data.Dataset.copy(data, _deep_copy=True)
        ordered.context.execution_options.preserve_order = True
        return ordered
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise InvalidInputError(f"The {name!r} argument {str(path)!r} does not exist.")
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        suffixes = {p.suffix.lower() for p in files}
        if path.is_dir() and _images_only(suffixes):
            return _ImageFolder.read(path)
        names = [str(p) for p in files]  # sorted: the rows' positions follow the files' names, not the listing
        if suffixes <= {".parquet"} and files:
            return ray.data.read_parquet(names)
        if suffixes <= {".csv"} and files:
            return ray.data.read_csv(names)
        raise InvalidInputError(f"The Ray engine reads Parquet or CSV files or an image folder; {str(path)!r} holds "
                                f"{sorted(suffixes) or 'no files'}.")
    raise InvalidTypeError(f"audit_ray reads {name}= from a ray.data.Dataset, a Parquet / CSV path or an image folder; "
                           f"got {type(data).__name__}.")


def is_image_folder(path: Path) -> bool:
    """Whether the Ray engine reads ``path`` as an image folder: a folder holding image files and
    no Parquet or CSV file."""
    return path.is_dir() and _images_only({p.suffix.lower() for p in path.rglob("*") if p.is_file()})


def _images_only(suffixes: set[str]) -> bool:
    return bool(suffixes & set(IMAGE_EXTENSIONS)) and not suffixes & {".parquet", ".csv"}


@dataclass(frozen=True)
class _ImageFolder:
    """``root/<class>/<image>`` files, listed on the driver in the single-machine audit's order
    (:class:`~datafix.data.image_folder.ImageFolderDataset`); the files are read by Ray tasks."""

    root: Path
    paths: list[str]
    labels: list[str]

    #: Files per block of the listing.
    BLOCK = 500

    @classmethod
    def read(cls, root: Path) -> _ImageFolder:
        listing = ImageFolderDataset(root)
        return cls(listing.root, [p.relative_to(listing.root).as_posix() for p, _ in listing.samples],
                   list(listing.targets))

    @property
    def index(self) -> pd.Index:
        return pd.Index(self.paths)

    def rows(self, ray: Any) -> Any:
        frame = pd.DataFrame({"path": self.paths, "label": self.labels})
        step = max(1, min(self.BLOCK, -(-len(frame) // 4)))  # at least 4 blocks
        return ray.data.from_pandas([frame.iloc[s : s + step] for s in range(0, len(frame), step)])

    def layout(self, dtype: Any, features: Any = None) -> B.Layout:
        _, classes = encode_labels(pd.Series(self.labels), name="labels")
        return B.Layout("label", classes, [], [], [], None, features, np.dtype(dtype))

    def encode(self, ray: Any, ds: Any, layout: B.Layout, image_size: int, batch_size: int) -> Any:
        kwargs = {"root": str(self.root), "image_size": image_size, "classes": layout.classes, "dtype": layout.dtype}
        size = min(batch_size, self.BLOCK)
        if isinstance(layout.features_fn, (type, partial)):  # built once per actor, on its GPU if any
            return ds.map_batches(_ImageEncoder, fn_constructor_args=(layout.features_fn, kwargs),
                                  batch_format="pandas", batch_size=size, **_actor_pool(ray)).materialize()
        return ds.map_batches(B.encode_images_block, fn_kwargs={**kwargs, "module": layout.features_fn},
                              batch_format="pandas", batch_size=size).materialize()


class _ImageEncoder:
    """:func:`blocks.encode_images_block` with the user's module class built once per actor."""

    def __init__(self, module_class: Callable[[], Any], kwargs: dict[str, Any]) -> None:
        import torch

        self.module = module_class()
        if torch.cuda.is_available():
            self.module = self.module.cuda()
        self.kwargs = kwargs

    def __call__(self, block: pd.DataFrame) -> dict[str, np.ndarray]:
        return B.encode_images_block(block, module=self.module, **self.kwargs)


def _usable(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The block's rows whose file decoded."""
    keep = np.asarray(batch[B.BROKEN]) == ""
    return {name: np.asarray(values)[keep] for name, values in batch.items()}


def _indicators(values: np.ndarray, columns: list[str]) -> np.ndarray:
    """The multilabel columns' values as booleans, refusing anything but 0 and 1."""
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        raise InvalidInputError(f"The 'multilabel' columns hold 0 / 1 (or booleans) in every row; column "
                                f"{columns[col]!r} holds {float(values[row, col])} at row {row} (by position), and "
                                f"{int(bad.sum())} values in all are neither.")
    return values.astype(bool)


def _check_numbers(values: np.ndarray, what: str) -> None:
    """Refuse rows without a finite number, naming the first few by position."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InvalidInputError(f"{bad.size} rows lack {what} (rows {bad[:5].tolist()}, by position); filter them "
                                "out (ds.filter) first.")


def _sample_rows(n: int, probe_rows: int, rng: np.random.Generator) -> np.ndarray:
    """The row ids of the probe's sample (sorted): every row when there are at most ``probe_rows``."""
    if n <= probe_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed_from(rng)).choice(n, probe_rows, replace=False))


@dataclass
class _Run:
    """One audit's passes over the data."""

    ray: Any
    label: str
    features: Any
    probs: Any
    batch_size: int
    verbose: bool
    described: str = "features= run on the cluster"
    task: str | None = None
    predictions: str | None = None
    multilabel: list[str] | None = None
    annotators: list[str] | None = None

    def with_row_ids(self, ds: Any, name: str = "data") -> Any:
        """The dataset materialised, with each row's position as :data:`blocks.ROW`."""
        ray = self.ray
        count, add_ids = ray.remote(_num_rows), ray.remote(_add_row_ids)
        refs = ds.to_arrow_refs()
        counts = ray.get([count.remote(r) for r in refs])
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        if sum(counts) == 0:
            raise InvalidInputError(f"The {name!r} argument is empty: there are no rows to audit.")
        ids = ray.data.from_arrow_refs([add_ids.remote(r, int(o)) for r, o in zip(refs, offsets, strict=True)])
        return ids, int(sum(counts))

    def layout(self, ds: Any, dtype: Any) -> tuple[B.Layout, B.Profile]:
        names = [c for c in ds.schema().names if c != B.ROW]
        label_columns = self.multilabel or self.annotators or [self.label]
        for argument, given in (("multilabel", self.multilabel), ("annotators", self.annotators)):
            missing = [c for c in given or [] if c not in names]
            if missing:
                raise InvalidInputError(f"The {argument!r} argument names columns {missing} that the dataset does not "
                                        f"have; its columns are {names}.")
        if label_columns == [self.label] and self.label not in names:
            raise InvalidInputError(f"The 'labels' argument (--label) names column {self.label!r}, which the dataset "
                                    f"does not have; its columns are {names}.")
        probs = None if self.probs is None else [self.probs] if isinstance(self.probs, str) else list(self.probs)
        for argument, given in (("pred_probs", probs or []), ("predictions", [self.predictions] if self.predictions
                                                             else [])):
            missing = [c for c in given if c not in names]
            if missing:
                raise InvalidInputError(f"The {argument!r} argument names columns {missing} that the dataset does "
                                        f"not have; its columns are {names}.")
        skip = [*label_columns, *(probs or []), *([self.predictions] if self.predictions else [])]
        read = [] if self.multilabel else label_columns  # the label values (classes) come from these columns
        parts = self.ray.get([self.ray.remote(_profile_ref).remote(r, read, skip) for r in ds.to_arrow_refs()])
        profile = B.Profile()
        for part in parts:
            profile = profile.merge(part)
        shapes = {tuple(sorted(s.items())) for s in profile.schemas if s}
        if len(shapes) > 1:
            first, *others = [dict(s) for s in shapes]
            other = others[0]
            differ = sorted(set(first.items()) ^ set(other.items()))
            raise InvalidInputError(
                f"The dataset's blocks have different schemas (columns or types): {differ[:6]}. Give every block "
                "the same columns and types (ds.select_columns / map_batches casting them) before the audit.")
        regression = self.task == "regression"
        if (self.task is None and label_columns == [self.label]
                and infer_task(pd.Series(list(profile.labels)), n=profile.rows) == "regression"):
            regression = True
            warn_user("The labels are numbers with many distinct values, so the audit treats them as a regression "
                      "target (task='regression'); pass task='classification' if they are classes.")
        if regression and probs is not None:
            raise InvalidInputError("For a regression target pass your model's out-of-sample predictions as "
                                    "predictions= (a column), not pred_probs=.")
        if not regression and self.predictions is not None:
            raise InvalidInputError("The 'predictions' argument holds predictions of a regression target "
                                    "(task='regression'); for classes pass pred_probs=.")
        try:
            values = sorted(profile.labels, key=_sort_key)
            classes = np.empty(0) if regression or self.multilabel else encode_labels(
                pd.Series(values, dtype=None if len({type(v) for v in values}) == 1 else object), name="labels",
                unlabelled=True)[1]
        except InvalidInputError as err:
            raise InvalidInputError(f"{err} (the label column {self.label!r})") from None
        table_columns = [c for c in names if c not in skip]
        if self.features is not None and not callable(self.features):
            chosen = list(self.features)
            unknown = [c for c in chosen if c not in table_columns]
            if unknown:
                raise InvalidInputError(f"The 'feature_columns' argument names columns {unknown} that the dataset does not "
                                        f"have (or that hold labels / pred_probs); its columns are {names}.")
            table_columns = chosen
        encoding, names_out, empty, wide = [], [], [], []
        for name in table_columns:
            if profile.non_null.get(name, 0) == 0:
                empty.append(name)
            elif name in profile.vectors:
                length = profile.vectors[name]
                if length < 1:
                    raise InvalidInputError(f"Column {name!r} holds vectors of different lengths; every row's "
                                            "embedding must have the same length.")
                encoding.append((name, length))
                names_out.extend(f"{name}[{j}]" for j in range(length))
            elif name not in profile.categories:
                encoding.append((name, None))
                names_out.append(name)
            elif len(profile.categories[name]) > B.MAX_CATEGORIES:
                wide.append(name)
            else:
                values = list(pd.Categorical(list(profile.categories[name])).categories)
                encoding.append((name, values))
                names_out.extend(f"{name}={v}" for v in values)
        if empty:
            warn_user(f"Columns {empty} hold no value at all and were left out of the features.")
        if wide:
            warn_user(f"Columns {wide} have more than {B.MAX_CATEGORIES} distinct text values (IDs or free text?) "
                      "and were left out of the features.")
        if not encoding and not callable(self.features):
            raise InvalidInputError("The dataset has no feature columns besides the labels: pass feature_columns= "
                                    "(column names) or features= (a function of a batch).")
        return B.Layout(self.label if label_columns == [self.label] else None, classes, table_columns, encoding,
                        names_out, probs, self.features if callable(self.features) else None, np.dtype(dtype),
                        regression, self.predictions, self.multilabel, self.annotators), profile

    def encode(self, ds: Any, layout: B.Layout) -> Any:
        if isinstance(layout.features_fn, type):  # a class: built once per actor of a pool
            return ds.map_batches(_Encoder, fn_constructor_args=(layout,), batch_format="pandas",
                                  batch_size=self.batch_size, **_actor_pool(self.ray)).materialize()
        return ds.map_batches(B.encode_block, fn_kwargs={"layout": layout}, batch_format="pandas",
                              batch_size=self.batch_size).materialize()

    def moments(self, encoded: Any, name: str = "data") -> tuple[int, np.ndarray, np.ndarray]:
        parts = [pickle.loads(row["moments"]) for row in
                 encoded.map_batches(B.moments_block, batch_format="numpy", batch_size=self.batch_size).take_all()]
        bad = sum(p[3] for p in parts)
        if bad:
            rows = [r for p in parts for r in p[4]][:5]
            raise InvalidInputError(f"{bad} rows of {name}= have missing or infinite feature values (rows {rows}, by "
                                    "position). The Ray engine does not drop or impute them: filter them out "
                                    "(ds.filter) or fill them (ds.map_batches) first, or audit with "
                                    "datafix.audit(nan_policy=...).")
        return B.merge_moments([p[:3] for p in parts])

    def collect(self, ds: Any, columns: list[str], rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Columns of ``ds`` on the driver, in row order (only the rows ``rows`` when given)."""
        wanted = [B.ROW, *columns]
        out: dict[str, list] = {c: [] for c in wanted}
        for batch in ds.select_columns(wanted).iter_batches(batch_format="numpy", batch_size=65536):
            keep = slice(None) if rows is None else np.isin(batch[B.ROW], rows)
            for c in wanted:
                out[c].append(np.asarray(batch[c])[keep])
        merged = {c: np.concatenate(v) for c, v in out.items()}
        order = np.argsort(merged[B.ROW], kind="stable")
        return {c: v[order] for c, v in merged.items()}

    def probe(self, encoded: Any, row_ids: np.ndarray, codes: np.ndarray, layout: B.Layout, sample: np.ndarray,
              model: Any, cv: int, random_state: RandomState) -> tuple[np.ndarray, str]:
        """Out-of-sample pred_probs of the usable rows ``row_ids`` (``codes`` theirs): cross-validation
        on the ``sample`` of row ids (the single-machine audit's own, on the same seed), the
        sample's model for the other rows."""
        everyone = len(sample) == len(row_ids)
        X = self.collect(encoded, [B.FEATURES], None if everyone else sample)[B.FEATURES]
        at = np.searchsorted(row_ids, sample)
        y = codes[at]
        probe = Signals(y, len(layout.classes), features=np.asarray(X, np.float64), classes=layout.classes,
                        model=model, cv=cv, random_state=random_state, verbose=self.verbose)
        P = np.zeros((len(row_ids), len(layout.classes)))
        P[at] = probe.pred_probs
        described = probe.provenance.get("pred_probs", "cross-validation")
        if everyone:
            return P, described
        labelled = y >= 0
        fitted = make_model(model, random_state=0).fit(X[labelled], y[labelled])
        self.predict_others(P, encoded, row_ids, sample, B.predict_block, B.PROBS, model=fitted,
                            n_classes=len(layout.classes), fitted_classes=np.asarray(fitted.classes_))
        return P, f"{described} on a sample of {len(sample):,} rows; the other rows by its model trained on the sample"

    def predict_others(self, out: np.ndarray, encoded: Any, row_ids: np.ndarray, sample: np.ndarray,
                       block_fn: Callable[..., dict[str, np.ndarray]], column: str, **fn_kwargs: Any) -> None:
        """Fill ``out`` (by position among ``row_ids``) at the rows outside the ``sample`` with
        ``block_fn``'s ``column``: the sample's fitted model predicting them on the cluster."""
        predicted = encoded.map_batches(block_fn, fn_kwargs=fn_kwargs, batch_format="numpy", batch_size=self.batch_size)
        got = self.collect(predicted, [column], np.setdiff1d(row_ids, sample))
        out[np.searchsorted(row_ids, got[B.ROW])] = got[column]

    def regression_probe(self, encoded: Any, row_ids: np.ndarray, targets: np.ndarray, sample: np.ndarray,
                         model: Any, cv: int, random_state: RandomState) -> tuple[np.ndarray, str]:
        """Out-of-sample predictions of the regression target of the usable rows ``row_ids``
        (``targets`` theirs): cross-validation on the ``sample`` of row ids (the single-machine
        audit's own, on the same seed), the sample's model for the other rows."""
        everyone = len(sample) == len(row_ids)
        X = self.collect(encoded, [B.FEATURES], None if everyone else sample)[B.FEATURES]
        at = np.searchsorted(row_ids, sample)
        probe = Signals(None, 0, features=np.asarray(X, np.float64), targets=targets[at], model=model, cv=cv,
                        random_state=random_state, verbose=self.verbose)
        fitted = np.zeros(len(row_ids))
        fitted[at] = probe.predictions
        described = probe.provenance["predictions"]
        if everyone:
            return fitted, described
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # Huber's iterations: the fit is still usable
            regressor = make_regressor(probe.prediction_model).fit(np.asarray(X, np.float64), targets[at])
        self.predict_others(fitted, encoded, row_ids, sample, B.regress_block, B.PREDICTION, model=regressor)
        return fitted, f"{described} on a sample of {len(sample):,} rows; the other rows by its model trained on it"

    def multilabel_probe(self, encoded: Any, row_ids: np.ndarray, Y: np.ndarray, sample: np.ndarray, model: Any,
                         cv: int, random_state: RandomState) -> tuple[np.ndarray, str]:
        """Each label's out-of-sample probability for the usable rows ``row_ids`` (``Y`` their
        indicators): cross-validation on the ``sample`` of row ids, as the single-machine audit
        runs it, and for the other rows one binary model per label trained on the sample."""
        everyone = len(sample) == len(row_ids)
        X = np.asarray(self.collect(encoded, [B.FEATURES], None if everyone else sample)[B.FEATURES], np.float64)
        at = np.searchsorted(row_ids, sample)
        probe = Signals(None, 0, features=X, multilabel=Y[at], model=model, cv=cv, random_state=random_state,
                        verbose=self.verbose)
        P = np.zeros(Y.shape)
        P[at] = probe.pred_probs
        described = probe.provenance.get("pred_probs", "cross-validation")
        if everyone:
            return P, described
        models: list[Any] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for j in range(Y.shape[1]):
                seen = Y[at, j].astype(np.int64)
                models.append(float(seen[0]) if seen.min() == seen.max() else
                              make_model(model, random_state=0).fit(X, seen))
        self.predict_others(P, encoded, row_ids, sample, B.multilabel_predict_block, B.PROBS, models=models)
        return P, f"{described} on a sample of {len(sample):,} rows; the other rows by its models trained on it"

    def lda_probe(self, encoded: Any, layout: B.Layout, cv: int, seed: int, center: np.ndarray
                  ) -> tuple[np.ndarray, str]:
        """Out-of-sample pred_probs of every row from a ``cv``-fold linear discriminant fitted from
        per-fold sums (:mod:`datafix.scale.lda`): no row is gathered on the driver."""
        K = len(layout.classes)
        parts = encoded.map_batches(L.lda_sums_block, fn_kwargs={"n_classes": K, "cv": cv, "seed": seed,
                                    "center": center}, batch_format="numpy", batch_size=self.batch_size).take_all()
        total = pickle.loads(parts[0]["sums"])
        for part in parts[1:]:
            total = total + pickle.loads(part["sums"])
        coef, intercept = L.lda_models(total)
        probs = encoded.map_batches(L.lda_predict_block, fn_kwargs={"coef": coef, "intercept": intercept, "seed": seed,
                                    "center": center}, batch_format="numpy", batch_size=self.batch_size)
        return self.collect(probs, [B.PROBS])[B.PROBS], (
            f"{cv}-fold cross-validation of a linear discriminant on every row, fitted from per-fold sums on "
            "the cluster (no row gathered)")

    def index(self, encoded: Any, row_ids: np.ndarray, mean: np.ndarray, std: np.ndarray, k: int, kind: str,
              n_shards: int) -> _Index:
        """The rows spread over ``n_shards`` actors (:mod:`datafix.scale.shards`): by row for the exact
        search, by IVF cell for ``"ivf"`` (the centroids the single-machine IVF trains on the same
        rows, from the same sample and seed)."""
        ray = self.ray
        if kind == "exact":
            Shard = ray.remote(num_cpus=0)(NeighborShard)
            shards = [Shard.remote() for _ in range(n_shards)]
            encoded.map_batches(_ingest_batch, fn_kwargs={"shards": shards, "mean": mean, "std": std},
                                batch_format="numpy", batch_size=self.batch_size).take_all()
            ray.get([s.seal.remote() for s in shards])
            return _Index(kind, shards, encoded=encoded, mean=mean, std=std)
        n, m = len(row_ids), k + _EXTRA_CANDIDATES
        n_cells = ivf_cells(n)

        def rows_at(positions: Any) -> Any:
            import torch

            wanted = row_ids[positions.numpy()]
            got = self.collect(encoded, [B.FEATURES], np.unique(wanted))
            at = np.searchsorted(got[B.ROW], wanted)
            return torch.from_numpy(B.standardize(got[B.FEATURES][at].astype(np.float64), mean, std).astype(np.float32))

        centroids = ivf_centroids(rows_at, n, n_cells)
        shards, counts = self.cell_shards(encoded, mean, std, centroids.numpy(), n_shards)
        pools = ivf_pools(centroids, counts, ivf_n_probe(n, n_cells, m), m + 1)
        return _Index(kind, shards, mean=mean, std=std, pools=pools, counts=counts, centroids=centroids.numpy())

    def cell_shards(self, encoded: Any, mean: np.ndarray, std: np.ndarray, centroids: np.ndarray, n_shards: int
                    ) -> tuple[list, np.ndarray]:
        """``n_shards`` :class:`~datafix.scale.shards.CellShard` actors holding the rows of
        ``encoded`` by their nearest centroid, sealed; and the rows per cell."""
        Shard = self.ray.remote(num_cpus=0)(CellShard)
        shards = [Shard.remote() for _ in range(n_shards)]
        encoded.map_batches(_ingest_cells, fn_kwargs={"shards": shards, "mean": mean, "std": std,
                            "centroids": centroids}, batch_format="numpy", batch_size=self.batch_size).take_all()
        counts = np.zeros(len(centroids), np.int64)
        for held in self.ray.get([s.seal.remote() for s in shards]):
            for cell, rows in held.items():
                counts[cell] += rows
        return shards, counts

    def graph(self, index: _Index, row_ids: np.ndarray, n_rows: int, k: int) -> ShardedGraph:
        """The graph over the usable rows, kept on the cluster in parts; what comes to the driver
        (arrays, votes, medians, pairs) by position among ``row_ids``."""
        ray = self.ray
        if index.kind == "exact":
            parts = index.encoded.map_batches(_query_batch, fn_kwargs={"shards": index.shards, "mean": index.mean,
                                              "std": index.std, "k": k}, batch_format="numpy",
                                              batch_size=self.batch_size).materialize().to_numpy_refs()
        else:
            search = ray.remote(num_cpus=1)(search_cells)
            parts = [search.remote(group, [index.pools[c] for c in group], index.shards, k)
                     for group in _cell_groups(index.pools, index.counts, self.batch_size * 8)]
            ray.wait(parts, num_returns=len(parts), fetch_local=False)
        return ShardedGraph(k, "euclidean", index.kind, fetch=partial(self.nearest, parts, row_ids, index.kind),
                            votes=lambda v, smoothing: self.votes(parts, row_ids, n_rows, v, smoothing),
                            median=lambda *args: self.medians(parts, row_ids, n_rows, *args),
                            pairs=partial(self.close_pairs, parts, row_ids))

    def nearest(self, parts: list, row_ids: np.ndarray, kind: str, k: int) -> KNNGraph:
        """Each row's ``k`` nearest neighbours, brought to the driver."""
        task = self.ray.remote(_nearest)
        near = _by_row(self.ray.get([task.remote(part, k) for part in parts]))
        return KNNGraph(np.searchsorted(row_ids, near[B.NEIGHBORS]), near[B.DISTANCES].astype(np.float64),
                        "euclidean", kind)

    def close_pairs(self, parts: list, row_ids: np.ndarray, radius: float) -> np.ndarray:
        """:meth:`KNNGraph.close_pairs` over the whole graph, part by part."""
        task = self.ray.remote(B.close_pairs_block)
        found = self.ray.get([task.remote(part, radius) for part in parts])
        return np.stack([np.searchsorted(row_ids, np.concatenate([f[name] for f in found]))
                         for name in (B.ROW, B.NEIGHBORS)], axis=1).astype(np.int64)

    def held_out(self, source: Any, layout: B.Layout, index: _Index, row_ids: np.ndarray, image_size: int
                 ) -> tuple[HeldOutSet, DataView]:
        """The test set's usable rows (hashes, and each one's nearest indexed row: position among
        ``row_ids``, distance on the training set's standardised features) and its view."""
        ray = self.ray
        images = isinstance(source, _ImageFolder)
        ds, n = self.with_row_ids(source.rows(ray) if images else source, name="test")
        if images:
            encoded = source.encode(ray, ds, layout, image_size, self.batch_size)
            broken = self.collect(encoded, [B.BROKEN])[B.BROKEN]
            encoded = encoded.map_batches(_usable, batch_format="numpy", batch_size=self.batch_size).materialize()
            view = DataView(index=source.index, codes=None, classes=None, broken={int(i): str(broken[i])
                            for i in np.flatnonzero(broken != "")}, kind="images")
        else:
            columns = set(ds.schema().names)
            missing = [c for c in layout.table_columns if c not in columns]
            if missing:
                raise InvalidInputError(f"The 'test' dataset lacks the training feature columns {missing}.")
            encoded = self.encode(ds, replace(layout, label=None, probs=None, regression=False, predictions=None,
                                              multilabel=None, annotators=None))  # the test rows' features only
            view = DataView(index=pd.RangeIndex(n), codes=None, classes=None, kind="ray")
        if not view.valid.any():
            return HeldOutSet(None, np.empty(0, np.uint64)), view
        self.moments(encoded, name="test")  # refuses missing or infinite feature values, naming the rows
        if index.kind == "exact":
            parts = encoded.map_batches(_query_batch, fn_kwargs={"shards": index.shards, "mean": index.mean,
                                        "std": index.std, "k": 1, "exclude_self": False}, batch_format="numpy",
                                        batch_size=self.batch_size)
            search = self.collect(parts, [B.NEIGHBORS, B.DISTANCES])
        else:
            queries, counts = self.cell_shards(encoded, index.mean, index.std, index.centroids, len(index.shards))
            groups = [g[counts[g] > 0] for g in _cell_groups(index.pools, counts, self.batch_size * 8)]
            task = ray.remote(num_cpus=1)(search_cells)
            search = _by_row(ray.get([task.remote(g, [index.pools[c] for c in g], index.shards, 1, queries=queries)
                                      for g in groups if len(g)]))
            for shard in queries:
                ray.kill(shard)
        hashes = self.collect(encoded, [B.HASH])[B.HASH]
        nearest = KNNGraph(np.searchsorted(row_ids, np.asarray(search[B.NEIGHBORS], np.int64)),
                           np.asarray(search[B.DISTANCES], np.float64), "euclidean", index.kind)
        return HeldOutSet(None, hashes, nearest), view

    def release(self, index: _Index) -> None:
        """Stop the shard actors (their rows are freed)."""
        for shard in index.shards:
            self.ray.kill(shard)

    def votes(self, parts: list, row_ids: np.ndarray, n_rows: int, votes: np.ndarray, smoothing: float) -> np.ndarray:
        by_id = np.zeros((n_rows, votes.shape[1]))
        by_id[row_ids] = votes
        ref = self.ray.put(by_id)
        cast = self.ray.remote(B.votes_block)
        return _by_row(self.ray.get([cast.remote(part, ref, smoothing) for part in parts]))[B.PROBS]

    def medians(self, parts: list, row_ids: np.ndarray, n_rows: int, values: np.ndarray, skip: np.ndarray | None,
                fallback: np.ndarray) -> np.ndarray:
        """:func:`~datafix.checks.regression.neighbor_median` over the whole graph, part by part."""
        spread = []
        for given, dtype in ((values, np.float64), (skip, bool), (fallback, np.float64)):
            by_id = np.zeros(n_rows, dtype)
            if given is not None:
                by_id[row_ids] = given
            spread.append(self.ray.put(by_id))
        task = self.ray.remote(B.median_block)
        return _by_row(self.ray.get([task.remote(part, *spread) for part in parts]))[B.VALUE]

    def sample_table(self, ds: Any, layout: B.Layout, sample: np.ndarray) -> pd.DataFrame:
        keep = set(sample.tolist()) if len(sample) < 1_000_000 else None
        frames = []
        for batch in ds.select_columns([B.ROW, *layout.table_columns]).iter_batches(batch_format="pandas",
                                                                                    batch_size=65536):
            frames.append(batch if keep is None else batch[batch[B.ROW].isin(keep)])
        table = pd.concat(frames).sort_values(B.ROW)
        return table.drop(columns=[B.ROW]).reset_index(drop=True)


@dataclass(frozen=True)
class _Index:
    """The rows spread over the shard actors: by row (``"exact"``; the query pass reads ``encoded``)
    or by IVF cell (``"ivf"``; ``pools``: each cell's pool of cells, ``counts``: rows per cell)."""

    kind: str
    shards: list
    encoded: Any = None
    mean: Any = None
    std: Any = None
    pools: list | None = None
    counts: Any = None
    centroids: Any = None


class _Encoder:
    """:func:`blocks.encode_block` with the user's feature class built once per actor."""

    def __init__(self, layout: B.Layout) -> None:
        from dataclasses import replace

        self.layout = replace(layout, features_fn=layout.features_fn())

    def __call__(self, block: pd.DataFrame) -> dict[str, np.ndarray]:
        return B.encode_block(block, self.layout)


def _actor_pool(ray: Any) -> dict[str, int]:
    """``map_batches`` options for a class run on an actor pool: one actor per GPU when the cluster
    has GPUs, else one per CPU."""
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    return {"concurrency": max(1, int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1))), "num_gpus": gpus}


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _num_rows(table: Any) -> int:
    return table.num_rows


def _add_row_ids(table: Any, offset: int) -> Any:
    import pyarrow as pa

    if B.ROW in table.column_names:
        table = table.drop_columns([B.ROW])
    return table.append_column(B.ROW, pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64)))


def _profile_ref(table: Any, label: str, skip: list[str]) -> B.Profile:
    return B.profile_block(table.to_pandas(), label, skip)


def _ingest_batch(batch: dict[str, np.ndarray], shards: list, mean: np.ndarray, std: np.ndarray
                  ) -> dict[str, np.ndarray]:
    import ray

    ids = batch[B.ROW]
    X = B.standardize(np.asarray(batch[B.FEATURES], np.float64), mean, std)
    owner = ids % len(shards)
    ray.get([shard.add.remote(ids[owner == s], X[owner == s]) for s, shard in enumerate(shards) if (owner == s).any()])
    return {"rows": np.array([len(ids)])}


def _query_batch(batch: dict[str, np.ndarray], shards: list, mean: np.ndarray, std: np.ndarray, k: int,
                 exclude_self: bool = True) -> dict[str, np.ndarray]:
    import ray

    ids = batch[B.ROW]
    Q = B.standardize(np.asarray(batch[B.FEATURES], np.float64), mean, std)
    found = ray.get([shard.search.remote(Q, k + 1) for shard in shards])
    nbr, dist = merge_candidates(ids, found, k, exclude_self=exclude_self)
    return {B.ROW: ids, B.NEIGHBORS: nbr, B.DISTANCES: dist}


def _ingest_cells(batch: dict[str, np.ndarray], shards: list, mean: np.ndarray, std: np.ndarray,
                  centroids: np.ndarray) -> dict[str, np.ndarray]:
    import ray
    import torch

    ids = batch[B.ROW]
    X = B.standardize(np.asarray(batch[B.FEATURES], np.float64), mean, std).astype(np.float32)
    cells = nearest_centroid(torch.from_numpy(X), torch.from_numpy(centroids)).numpy()
    owner = cells % len(shards)
    ray.get([shard.add.remote(int(ids[0]), ids[owner == s], cells[owner == s], X[owner == s])
             for s, shard in enumerate(shards) if (owner == s).any()])
    return {"rows": np.array([len(ids)])}


def _cell_groups(pools: list[np.ndarray], counts: np.ndarray, rows: int) -> list[np.ndarray]:
    """The IVF cells in groups of about ``rows`` rows for the search tasks: each group a cell and
    the nearest cells of its pool not yet taken, so that a group's pools overlap (fewer rows
    fetched per task)."""
    taken = np.zeros(len(pools), bool)
    groups = []
    for cell in range(len(pools)):
        if taken[cell]:
            continue
        group, held = [], 0
        for c in pools[cell]:
            if not taken[c] and (not group or held + counts[c] <= rows):
                group.append(c)
                taken[c] = True
                held += counts[c]
        groups.append(np.array(group, np.int64))
    return groups


def _by_row(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Parts of per-row results, joined and in row order."""
    merged = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    order = np.argsort(merged[B.ROW], kind="stable")
    return {name: values[order] for name, values in merged.items()}


def _nearest(part: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    return {B.ROW: part[B.ROW], B.NEIGHBORS: np.asarray(part[B.NEIGHBORS])[:, :k],
            B.DISTANCES: np.asarray(part[B.DISTANCES])[:, :k]}

