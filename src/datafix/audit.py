"""``audit()``: read the data, compute shared signals once, run every check, return a Report.

The flow is :func:`datafix.engines.run_audit`; ``engine`` picks where it runs (:mod:`datafix.engines`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from datafix._validation import RandomState, check_choice
from datafix.engines import AuditRequest, Engine, LocalEngine, run_audit
from datafix.report import Report


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
    vote_features: Any = "auto",
    label_fn: Callable[[Any], Any] | None = None,
    batch_size: int = 256,
    image_size: int = 32,
    num_workers: int | None = None,
    random_state: RandomState = 0,
    verbose: bool = True,
    engine: str | Engine = "local",
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
    vote_features : array-like of shape (n, d), str or None, default "auto"
        A second, independent feature space for the label check's kNN votes (your embeddings, or
        a pretrained network's name, e.g. ``"efficientnet_lite0"``, for images), beside the
        model's probabilities. ``"auto"``: with ``model="cnn"``, the default pretrained network's
        (installed, images of side 16 or more: votes that do not share the CNN's errors, and a
        second model: the mean of the CNN's probabilities and a K-fold logistic regression's on
        those embeddings), else the model's own features, as ``None``.
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
    engine : {"local", "ray"} or Engine, default "local"
        Where the audit runs (:mod:`datafix.engines`). ``"ray"``: on a Ray cluster, streaming
        (:class:`datafix.scale.RayEngine`, with the extra ``datafix[ray]``; pass one to set its
        options), for a DataFrame, a Parquet / CSV path, an image folder or a ``ray.data.Dataset``
        (which always runs there); the labels, ``multilabel`` and ``annotators`` are then columns,
        ``features`` a function of a batch or a model's name, ``pred_probs`` columns or an array.
        What it cannot do (``datafix.scale.RAY_CAPABILITIES``) is refused before any work.

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
    arguments = dict(locals())
    data, engine = arguments.pop("data"), arguments.pop("engine")
    if isinstance(engine, str):
        check_choice(engine, "engine", ("local", "ray"))
        if engine == "ray" or type(data).__module__.startswith("ray.data"):
            from datafix.scale.engine import RayEngine

            engine = RayEngine()
        else:
            engine = LocalEngine()
    return run_audit(AuditRequest.of(data, **arguments), engine)
