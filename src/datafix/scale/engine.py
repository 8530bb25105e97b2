"""The Ray engine (``datafix.audit(..., engine="ray")``, :func:`audit_ray`): the audit on Ray Data,
for tables larger than one machine's memory, behind the same flow as the local audit
(:func:`datafix.engines.run_audit`).

Passes over the data (each a Ray Data job over blocks of rows; the driver never holds the
features or the neighbour graph):

1. **Row ids**: the blocks are materialised once in the object store (spilled to disk when they
   do not fit) and every row gets its position in the dataset's order (:mod:`~datafix.scale.ingest`).
2. **Profile**: schema, label values, text categories and dates per block, merged on the driver;
   the layout (the single-machine audit's encoding) is broadcast (:mod:`~datafix.scale.layout`).
3. **Encode**: features, label codes, row hashes and the null check's per-row columns per block;
   column means and variances merged (Chan's update) for the standardisation.
4. **Predictions**: given (a column, or an array on the driver), or a K-fold probe on a sample of
   at most ``probe_rows`` rows, its model predicting the other rows (:mod:`~datafix.scale.probe`).
5. **Neighbour index**: exact (up to 30,000 rows by default) or IVF, the rows spread over
   ``n_shards`` actors; the graph stays on the cluster (:mod:`~datafix.scale.search`).
6. **Checks**: run once by the shared flow; the label votes and neighbour medians are computed on
   the cluster, the thresholds on the driver over per-row numbers only (labels, pred_probs, the
   nearest distances, hashes): ``O(n (K + 20))`` numbers, about 1 GB at n = 5,000,000 and K = 10.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import RandomState, check_int, seed_from
from datafix.checks.null import column_quality, null_rule
from datafix.checks.registry import CheckResult
from datafix.data.annotations import Annotations
from datafix.data.target import (
    Annotated,
    Classes,
    MultiLabel,
    Regression,
    Target,
    check_task_arguments,
)
from datafix.data.torch_dataset import embed_images
from datafix.data.view import DataView
from datafix.engines.base import AuditRequest, Capabilities, Prepared
from datafix.engines.run import run_audit
from datafix.errors import InvalidInputError, InvalidTypeError
from datafix.report import Report
from datafix.scale import blocks as B
from datafix.scale import probe as P
from datafix.scale import search as S
from datafix.scale.ingest import (
    Passes,
    connect,
    import_ray,
    is_image_folder,
    read_dataset,
    usable,
)
from datafix.scale.layout import Columns, table_layout
from datafix.signals import Signals, check_pred_probs
from datafix.signals.image_default import (
    PIXEL_VIEW_MAX,
    default_extractor,
    default_image_model,
    describe_default,
    describe_two_views,
    two_view_pred_probs,
)
from datafix.signals.neighbors import APPROX_AUTO_MIN_N
from datafix.signals.pred_probs import fold_count
from datafix.signals.predictions import check_predictions
from datafix.signals.pretrained import PretrainedExtractor, pretrained_extractor


def _is_column_list(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value))


def _not_array(value: Any) -> bool:
    return isinstance(value, str) or callable(value) or isinstance(value, (list, tuple))


#: What the Ray engine cannot do, refused before any cluster work (see :class:`~datafix.engines.Capabilities`).
RAY_CAPABILITIES = Capabilities(
    "ray",
    refused=("nan_policy", "test_features", "unlabelled", "classes", "label_fn", "num_workers", "batch_size",
             "vote_features"),
    columns=("multilabel", "annotators"),
    forms={
        "labels": (lambda v: isinstance(v, str), "With engine='ray' the labels are a column: pass labels= the "
                   "column's name (an image folder's labels are its subfolders: leave labels out)."),
        "features": (_not_array, "With engine='ray' the 'features' argument is a function of a batch, a module "
                     "class or a model's name, and feature_columns= names columns; arrays stay on one machine: "
                     "use engine='local'."),
        "model": (lambda v: not (isinstance(v, str) and v == "cnn"), "model='cnn' trains a network per fold on one "
                  "machine (datafix.audit); on Ray, embed the images with a pretrained network "
                  "(features='resnet18', weights=...) or your module class, and the probe learns from those "
                  "embeddings (model=None)."),
    },
    knn_backends=("auto", "exact", "ivf"),
)


def audit_ray(
    data: Any,
    labels: str | None = None,
    *,
    features: Callable[[pd.DataFrame], Any] | type | str | None = None,
    feature_columns: Sequence[str] | None = None,
    weights: str | os.PathLike | None = None,
    pred_probs: Any = None,
    task: str | None = None,
    predictions: Any = None,
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

    ``datafix.audit(data, ..., engine=RayEngine(...))`` with the engine's options as arguments, and
    ``output``. The result equals the single-machine :func:`datafix.audit` of the same table with
    ``knn_backend="exact"`` (every check and label kind: ``tests/scale/test_engine_parity.py``),
    while the driver holds only a few numbers per row; see ``datafix.scale.engine`` for the passes
    and ``docs/scale.md`` for the limits.

    Parameters
    ----------
    data : ray.data.Dataset, pandas.DataFrame, str or os.PathLike
        The rows, a ``.parquet`` / ``.csv`` file or folder of them, or an image folder with one
        subfolder per class.
    labels : str, optional
        The label column (default: ``"label"``, unless ``multilabel`` or ``annotators`` is given).
        Missing values mark unlabelled rows (left out of the label check).
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
        ``datafix.data.encoding.encode_features``, a column of equal-length vectors, such as a
        model's embeddings, side by side).
    weights : str or os.PathLike, optional
        With ``features=`` a model name: the local checkpoint file (nothing is downloaded); every
        node of the cluster reads it at this path.
    pred_probs : str, list of str or array-like, optional
        Out-of-sample predicted probabilities: one list column, or one column per class in the
        order of the sorted classes, or an (n, K) array on the driver in the rows' order. Default:
        a ``cv``-fold probe (``model``) on a sample.
    task : {"classification", "regression"}, optional
        What the label column holds; default: inferred from its values as :func:`datafix.audit`
        infers it (numbers with many distinct values are a regression target, with a warning).
        A regression target is audited for wrong values against out-of-sample predictions and
        its neighbours' targets, as on one machine.
    predictions : str or array-like, optional
        For a regression target: the column of your model's out-of-sample predictions (or an
        array of them in the rows' order); default:
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
        As in :func:`datafix.audit`.
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

    engine = RayEngine(address=address, n_shards=n_shards, probe_rows=probe_rows, batch_size=batch_size)
    request = AuditRequest.of(data, labels=labels, features=features, feature_columns=feature_columns,
                              weights=weights, pred_probs=pred_probs, task=task, predictions=predictions,
                              multilabel=multilabel, annotators=annotators, test=test, checks=checks,
                              check_params=check_params, k_neighbors=k_neighbors, knn_backend=knn_backend,
                              model=model, cv=cv, image_size=image_size, random_state=random_state, verbose=verbose)
    report = run_audit(request, engine)
    if output is not None:
        report.to_parquet_dataset(output)
    return report


class RayEngine:
    """The audit on a Ray cluster (``engine="ray"``): the engine's own options; the rest are
    :func:`datafix.audit`'s arguments, less what :data:`RAY_CAPABILITIES` refuses.

    Parameters
    ----------
    address : str, optional
        A running cluster's address (``"host:port"`` or ``"ray://host:port"``); default: the
        cluster this process is connected to, else a new local one.
    n_shards : int, optional
        Index shards (actors); default: the cluster's CPUs.
    probe_rows : int, default 200,000
        The most rows the prediction probe trains on (with ``model="lda"``: every row).
    batch_size : int, default 4096
        Rows per batch of the block functions.

    Examples
    --------
    >>> import datafix as dfx
    >>> from sklearn.datasets import load_iris
    >>> frame = load_iris(as_frame=True).frame
    >>> report = dfx.audit(frame, labels="target", engine=RayEngine(n_shards=2), verbose=False)  # doctest: +SKIP
    >>> report.params["engine"], report.params["n_shards"]  # doctest: +SKIP
    ('ray', 2)
    """

    capabilities = RAY_CAPABILITIES

    def __init__(self, *, address: str | None = None, n_shards: int | None = None, probe_rows: int = 200_000,
                 batch_size: int = 4096) -> None:
        self.address = address
        self.n_shards = n_shards
        self.probe_rows = probe_rows
        self.batch_size = batch_size
        self._restore: Callable[[], None] | None = None
        self._index: S.Index | None = None
        self._passes: Passes | None = None

    def prepare(self, request: AuditRequest) -> Prepared:
        """The passes over the data on the cluster, then the signals on the driver."""
        probe_rows = check_int(self.probe_rows, "probe_rows", minimum=2)
        batch_size = check_int(self.batch_size, "batch_size", minimum=1)
        if self.n_shards is not None:
            check_int(self.n_shards, "n_shards", minimum=1)
        job = _Job.of(request, probe_rows)  # every argument checked: Ray is not even imported before this
        ray = import_ray()
        connect(ray, self.address)
        context = ray.data.DataContext.get_current()
        kept_order, kept_progress = context.execution_options.preserve_order, context.enable_progress_bars

        def restore() -> None:
            context.execution_options.preserve_order = kept_order
            context.enable_progress_bars = kept_progress

        self._restore = restore
        context.execution_options.preserve_order = True  # block order = row order, in every pass
        context.enable_progress_bars = request.verbose
        self._passes = job.passes = Passes(ray, batch_size, request.verbose)
        read = job.read()
        predicted = job.predict(read)
        shards = self.n_shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._index = index = job.index(read, shards)
        return job.prepared(read, predicted, index, shards)

    def close(self) -> None:
        """Stop the shard actors and give the user's Ray Data context back its settings."""
        if self._index is not None:
            S.release(self._passes, self._index)
            self._index = None
        if self._restore is not None:
            self._restore()
            self._restore = None


@dataclass
class _Read:
    """What the reading passes leave: the encoded blocks, the rows' per-row columns on the driver,
    the target, the usable rows and the probe's sample."""

    source: Any
    index: pd.Index
    images: bool
    n: int
    kind: str
    layout: B.Layout
    encoded: Any
    rows: dict[str, np.ndarray]
    target: Target
    valid: np.ndarray
    row_ids: np.ndarray
    sample: np.ndarray
    table: pd.DataFrame | None = None
    mean: Any = None
    std: Any = None


@dataclass
class _Job:
    """One audit's arguments as the Ray engine reads them."""

    request: AuditRequest
    probe_rows: int
    columns: Columns
    images: bool
    features: Any = None
    described: str = "features= run on the cluster"
    image_size: int = 32
    default: PretrainedExtractor | None = None  # the image default's network (images given no features)
    folds: int | None = None  # the folds that ran, when the engine cross-validated itself
    passes: Passes | None = None
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def of(cls, request: AuditRequest, probe_rows: int) -> _Job:
        """The job of ``request``, refusing (before any cluster work) what does not fit the engine."""
        r = request
        images = isinstance(r.data, (str, os.PathLike)) and is_image_folder(Path(r.data))
        _check_label_columns(r, images)
        if r.task is not None:  # else once the profile has told a regression target from classes
            check_task_arguments(r.task == "regression", r.label_argument or "labels", pred_probs=r.pred_probs,
                                 predictions=r.predictions, model=r.model)
        feature_columns = _feature_columns(r.features, r.feature_columns)
        features = r.features if feature_columns is None else feature_columns
        job = cls(r, probe_rows, Columns(r.labels or "label", features, _probs_columns(r.pred_probs),
                                         r.predictions if isinstance(r.predictions, str) else None,
                                         _list(r.multilabel), _list(r.annotators), r.task), images,
                  features=features, image_size=r.image_size)
        job.check_features()
        _check_test(r.test, images)
        return job

    def check_features(self) -> None:
        """Refuse features that do not fit the data; a model's name built once here (a bad name or
        file refused now), then once per actor."""
        r, features = self.request, self.request.features
        if isinstance(features, str):
            if not self.images:
                raise InvalidInputError(f"features={features!r} names a pretrained network, which embeds images: "
                                        "audit an image folder, or for a table pass feature_columns= a list of "
                                        "columns.")
            extractor = pretrained_extractor(features, r.weights, device="cpu")
            self.image_size = max(self.image_size, extractor.resize)
            self.features = partial(pretrained_extractor, features, r.weights)  # built once per actor
            self.described = f"{extractor.name} embeddings, weights from {str(extractor.weights)!r}, run on the cluster"
        elif r.weights is not None:
            raise InvalidInputError("The 'weights' argument is the checkpoint of the model that features= names (e.g. "
                                    "features='resnet18', weights='resnet18.pth'); features is not a model name.")
        elif self.images and r.feature_columns is not None:
            raise InvalidInputError("An image folder has no columns: leave feature_columns= out (features= embeds "
                                    "the images).")
        elif self.images and features is None and r.model is None and default_image_model(
                1, (3, self.image_size, self.image_size)) == "pretrained":  # the single-machine default
            shape = (3, self.image_size, self.image_size)
            self.default = default_extractor(shape, device="cpu")
            self.features = partial(default_extractor, shape)  # built once per actor
            width = embed_images(self.default, np.zeros((1, *shape), np.uint8)).shape[1]
            self.described = f"{describe_default(self.default, width)}, run on the cluster"
        elif self.images and features is not None and not (isinstance(features, type) or hasattr(features, "forward")):
            raise InvalidInputError("For an image folder, features= is a torch module (run in Ray tasks), a "
                                    "module class (built once per actor of a pool, on a GPU when the cluster has "
                                    "them), given the float thumbnails in [0, 255], or a pretrained model's name "
                                    "with weights=.")

    def read(self) -> _Read:
        """Rows numbered, profiled, encoded; the per-row columns and the target on the driver."""
        passes, r = self.passes, self.request
        source, index = _source(passes.ray, r.data)
        ds, n = passes.with_row_ids(source.rows(passes.ray) if self.images else source)
        kind = r.knn_backend if r.knn_backend != "auto" else "exact" if n <= APPROX_AUTO_MIN_N else "ivf"
        dtype = np.float64 if kind == "exact" else np.float32
        if self.images:
            layout = source.layout(dtype, self.features)
            encoded = source.encode(passes.ray, ds, layout, self.image_size, passes.batch_size,
                                    pixels=self.default is not None)
            index = source.index
        else:
            layout = table_layout(passes, ds, dtype, self.columns)
            check_task_arguments(layout.regression, r.label_argument or "labels", pred_probs=r.pred_probs,
                                 predictions=r.predictions)
            encoded = passes.encode(ds, layout)
            index = pd.RangeIndex(n) if index is None else index
        extra = [*B.STAT_COLUMNS, B.BROKEN] if self.images else ["is_null", "null_score", "n_missing"]
        extra += [B.PROBS] if layout.probs is not None else []
        extra += ([B.TARGET] if layout.regression else []) + ([B.PREDICTION] if layout.predictions else [])
        extra += ([B.LABELSET] if layout.multilabel else []) + ([B.ANNOTATIONS] if layout.annotators else [])
        rows = passes.collect(encoded, [B.CODE, B.HASH, *extra])
        target = _target(rows, layout, self.columns.label)
        valid = rows[B.BROKEN] == "" if self.images else np.ones(n, bool)
        if not valid.any():
            raise InvalidInputError(f"No sample could be used: every image is broken (first: {rows[B.BROKEN][0]}).")
        row_ids = rows[B.ROW][valid]  # the usable rows' ids: the graph and the checks are over these
        sample = row_ids[P.sample_rows(len(row_ids), self.probe_rows, r.rng)]
        read = _Read(source, index, self.images, n, kind, layout, encoded, rows, target, valid, row_ids, sample)
        if self.images:
            read.encoded = encoded.map_batches(usable, batch_format="numpy", batch_size=passes.batch_size
                                               ).materialize()
        elif any(s.name == "null" for s in r.specs):
            read.table = passes.sample_table(ds, layout, sample)
        del ds  # the raw rows are no longer needed: Ray frees their blocks
        _, read.mean, read.std = passes.moments(read.encoded)
        return read

    def predict(self, read: _Read) -> tuple[np.ndarray, str | None]:
        """The prediction signal the target needs over the usable rows: given, or probed; and the
        model that made it (None: given)."""
        r, passes, target, valid = self.request, self.passes, read.target, read.valid
        given = r.predictions if isinstance(target, Regression) else r.pred_probs
        if given is not None and read.layout.probs is None and read.layout.predictions is None:  # an array
            return _given(given, target, read.n)[valid], None
        if isinstance(target, Regression):
            if read.layout.predictions is not None:
                return read.rows[B.PREDICTION][valid], None
            return P.regression_probe(passes, read.encoded, read.row_ids, target.values[valid], read.sample, r.model,
                                      r.cv, r.random_state)
        if read.layout.probs is not None:
            probs = read.rows[B.PROBS][valid]
            if isinstance(target, MultiLabel) and probs.shape[1] != target.indicators.shape[1]:
                raise InvalidInputError(f"The 'pred_probs' columns hold {probs.shape[1]} probabilities per row for "
                                        f"{target.indicators.shape[1]} multilabel columns; give one per label, in "
                                        "their order.")
            return probs, None
        if isinstance(target, MultiLabel):
            return P.multilabel_probe(passes, read.encoded, read.row_ids, target.indicators[valid], read.sample,
                                      r.model, r.cv, r.random_state)
        if self.default is not None and 3 * self.image_size**2 <= PIXEL_VIEW_MAX and len(read.sample) == len(read.row_ids):
            return self.two_views(read)
        if isinstance(r.model, str) and r.model == "lda":
            return P.lda_probe(passes, read.encoded, read.layout, r.cv, int(seed_from(r.rng)), read.mean)
        return P.probe(passes, read.encoded, read.row_ids, target.codes[valid], read.layout, read.sample,
                       r.model, r.cv, r.random_state)

    def two_views(self, read: _Read) -> tuple[np.ndarray, str]:
        """The image default's pred_probs, as on one machine: the mean of cross-validated logistic
        regressions on the network's embeddings and on the pixels."""
        r, target = self.request, read.target
        views = self.passes.collect(read.encoded, [B.FEATURES, B.PIXELS])
        codes = target.codes[read.valid]
        P = two_view_pred_probs(np.asarray(views[B.FEATURES], np.float64), np.asarray(views[B.PIXELS], np.float64),
                                codes, n_classes=len(target.classes), cv=r.cv, random_state=r.rng,
                                classes=target.classes)
        self.folds = fold_count(codes, r.cv)
        return P, describe_two_views(self.folds, r.cv, views[B.PIXELS].shape[1])

    def index(self, read: _Read, shards: int) -> S.Index:
        """The usable rows spread over ``shards`` actors (the encoded blocks freed)."""
        k = min(self.request.graph_k, len(read.row_ids) - 1)
        index = S.build_index(self.passes, read.encoded, read.row_ids, read.mean, read.std, k, read.kind, shards)
        read.encoded = None  # the IVF shards hold the rows now: the encoded blocks are freed before the search
        return index

    def prepared(self, read: _Read, predicted: tuple[np.ndarray, str | None], index: S.Index, shards: int
                 ) -> Prepared:
        """The graph and the test set's queries on the cluster; the signals and the views."""
        r, passes, target, valid, rows = self.request, self.passes, read.target, read.valid, read.rows
        k = min(r.graph_k, len(read.row_ids) - 1)
        graph = S.sharded_graph(passes, index, read.row_ids, read.n, k)
        held_out, test_view = None, None
        if r.test is not None:
            test, test_index = _source(passes.ray, r.test, "test")
            held_out, test_view = S.held_out(passes, test, read.layout, index, read.row_ids, self.image_size,
                                             test_index)
        regression = isinstance(target, Regression)
        signals = Signals(**target.signal_fields(valid), pred_probs=None if regression else predicted[0],
                          predictions=predicted[0] if regression else None, hashes=rows[B.HASH][valid],
                          neighbors=graph, image_stats=_image_stats(rows, valid) if read.images else None,
                          k_neighbors=k, test=held_out, random_state=r.random_state, verbose=r.verbose)
        signals.provenance["features"] = (f"{len(read.layout.feature_names)} columns"
                                          if read.layout.features_fn is None else self.described)
        signals.folds = self.folds
        signals.provenance[target.prediction] = "given" if predicted[1] is None else predicted[1]
        signals.provenance["neighbors"] = (f"{read.kind} euclidean kNN graph, k={k}, standardised features, over "
                                           f"{shards} Ray actors")
        broken = {int(i): str(rows[B.BROKEN][i]) for i in np.flatnonzero(~valid)} if read.images else {}
        classes = isinstance(target, Classes)
        view = DataView(index=read.index, codes=target.codes if classes else None,
                        classes=target.classes if classes else None, broken=broken,
                        kind="images" if read.images else "ray")
        params = {"engine": "ray", "knn_backend": read.kind, "n_shards": shards, "probe_rows": self.probe_rows,
                  "seconds": round(time.perf_counter() - self.started, 1)}
        return Prepared(view, target, signals, test_view, _computed(r, read), params)


def _check_label_columns(r: AuditRequest, images: bool) -> None:
    """Refuse label arguments that do not fit a table on Ray or an image folder."""
    for name, given in (("multilabel", r.multilabel), ("annotators", r.annotators)):
        if given is not None and (isinstance(given, str) or len(given) < (1 if name == "multilabel" else 2)):
            raise InvalidTypeError(f"The Ray engine reads {name}= from columns: pass a list of column names (at least "
                                   f"{'one' if name == 'multilabel' else 'two annotators'}).")
    if r.annotators is not None and isinstance(r.model, str) and r.model == "lda":
        raise InvalidInputError("model='lda' on Ray reads each row's label in its block, and with annotators= the "
                                "label is the majority vote, known on the driver only: use model=None or another "
                                "classifier (a probe on a sample of probe_rows rows).")
    if not isinstance(r.predictions, (str, type(None))) and np.ndim(r.predictions) != 1:
        raise InvalidTypeError("The Ray engine reads the predictions from a column (its name) or an array of one "
                               "number per row.")
    if images:
        if r.labels is not None:
            raise InvalidInputError("An image folder's labels are its subfolder names: leave out labels=.")
        if r.task == "regression" or r.predictions is not None or r.multilabel or r.annotators:
            raise InvalidInputError("An image folder's labels are its subfolders, one class per image: leave task=, "
                                    "predictions=, multilabel= and annotators= out.")
        if r.pred_probs is not None:
            raise InvalidInputError("For an image folder the Ray engine computes pred_probs itself: leave "
                                    "pred_probs= out.")


def _check_test(test: Any, images: bool) -> None:
    """Refuse a test set of another kind than the data, or a path that does not exist."""
    if test is None:
        return
    if isinstance(test, (str, os.PathLike)):
        if not Path(test).exists():
            raise InvalidInputError(f"The 'test' argument {str(test)!r} does not exist.")
        if is_image_folder(Path(test)) == images:
            return
    elif not images:
        return
    raise InvalidInputError("The 'test' argument must be of the training data's kind: "
                            f"{'an image folder' if images else 'a table (a Ray Dataset, Parquet or CSV)'}.")


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


def _probs_columns(pred_probs: Any) -> list[str] | None:
    """The pred_probs columns (None: not given, or an array on the driver)."""
    if isinstance(pred_probs, str):
        return [pred_probs]
    if isinstance(pred_probs, (list, tuple)) and pred_probs and all(isinstance(v, str) for v in pred_probs):
        return list(pred_probs)
    return None


def _list(columns: Any) -> list[str] | None:
    return None if columns is None else list(columns)


def _source(ray: Any, data: Any, name: str = "data") -> tuple[Any, pd.Index | None]:
    """The rows as a Dataset (a DataFrame's rows, by position), and the index they are reported by
    (the DataFrame's; None: their positions, or an image folder's paths)."""
    if isinstance(data, pd.DataFrame):
        return ray.data.from_pandas(data.reset_index(drop=True)), data.index
    source = read_dataset(ray, data, name=name)
    return source, None


def _target(rows: dict[str, np.ndarray], layout: B.Layout, label: str) -> Target:
    """The target of the collected rows, refusing values a label audit cannot use."""
    if layout.multilabel is not None:
        return MultiLabel(_indicators(rows[B.LABELSET], layout.multilabel), layout.multilabel)
    if layout.annotators is not None:  # the audit's labels are the majority vote, as on one machine
        nobody = np.flatnonzero((rows[B.ANNOTATIONS] < 0).all(axis=1))
        if nobody.size:
            raise InvalidInputError(f"{nobody.size} rows are labelled by no annotator (rows {nobody[:5].tolist()}, "
                                    "by position); filter them out (ds.filter) or audit them without annotators=.")
        return Annotated.of(Annotations(rows[B.ANNOTATIONS], layout.classes, list(layout.annotators)))
    if layout.regression:
        _check_numbers(rows[B.TARGET], f"a number in the label column {label!r} (the regression target)")
        if layout.predictions is not None:
            _check_numbers(rows[B.PREDICTION], f"a number in the predictions column {layout.predictions!r}")
        return Regression(rows[B.TARGET])
    return Classes(rows[B.CODE], layout.classes)


def _given(values: Any, target: Target, n: int) -> np.ndarray:
    """Predictions given as an array on the driver (one row per row of the data), checked."""
    if isinstance(target, Regression):
        return check_predictions(values, n)
    if isinstance(target, MultiLabel):
        return check_pred_probs(values, n=n, n_classes=target.indicators.shape[1], multilabel=True)
    return check_pred_probs(values, n=n, n_classes=len(target.classes))


def _image_stats(rows: dict[str, np.ndarray], valid: np.ndarray) -> pd.DataFrame:
    stats = pd.DataFrame({name.removeprefix(B.STAT): rows[name] for name in B.STAT_COLUMNS})
    if valid.all():
        stats = stats.astype({c: np.int64 for c in ("width", "height", "channels")})
    return stats[valid].reset_index(drop=True)


def _computed(r: AuditRequest, read: _Read) -> dict[str, CheckResult]:
    """The null check computed row by row on the cluster (its columns table from the sample)."""
    if read.table is None:
        return {}
    near = r.options.get("null", {}).get("near_constant", 0.99)
    sampled = "" if len(read.sample) == read.n else f"; the columns table from a sample of {len(read.sample):,} rows"
    nulls = pd.DataFrame({c: read.rows[c] for c in ("is_null", "null_score", "n_missing")})
    return {"null": CheckResult(nulls, null_rule(near) + sampled,
                                {"columns": column_quality(read.table, near_constant=near)})}


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
