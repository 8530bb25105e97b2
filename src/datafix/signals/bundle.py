"""``Signals``: what checks read, each computed at most once per audit."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from datafix._validation import RandomState, check_random_state, seed_from
from datafix.data.target import Target, target_of
from datafix.errors import DatafixError
from datafix.signals.neighbors import KNNGraph, knn_graph

SIGNAL_NAMES = ("labels", "features", "pred_probs", "neighbors", "hashes", "table", "image_stats", "multilabel",
                "test", "annotations", "unlabelled", "targets", "predictions")


_NOT_REGRESSION = "not a regression target"
_NO_FEATURES = ("no pred_probs were given and there are no features to compute them from: pass features= or "
                "pred_probs=")


class MissingSignalError(DatafixError, LookupError):
    """A check asked for a signal the audit cannot provide."""


#: Signals that only one kind of source has (tables, image folders): a check that needs one of
#: them does not apply to other kinds of data.
KIND_SIGNALS = ("table", "image_stats", "test", "annotations", "unlabelled")


@dataclass(frozen=True)
class HeldOutSet:
    """A held-out set's usable samples, read like the audited data: ``features`` and ``hashes``;
    ``nearest``, each sample's nearest training sample when an engine that holds the features
    elsewhere (the Ray engine) searched it already."""

    features: np.ndarray | None
    hashes: np.ndarray | None
    nearest: KNNGraph | None = None

    def __len__(self) -> int:
        return len(self.features) if self.features is not None else len(self.hashes)


class Signals:
    """The shared inputs of every check, over the audited (non-broken) samples.

    Given signals are used as they are; missing ones are computed on first use and cached:
    ``pred_probs`` by K-fold cross-validation on ``features``, ``neighbors`` as one exact kNN
    graph on ``features``. Checks receive this object and read what they need; none computes
    a signal of its own.

    Parameters
    ----------
    labels : numpy.ndarray of int64 or None
        Label codes of the audited samples; ``-1`` for an unlabelled sample (it is in the
        neighbour graph, and ``pred_probs`` predicts it from models trained on the labelled ones).
    n_classes : int
        Number of classes.
    features : numpy.ndarray or None
        Finite features of the audited samples.
    pred_probs : numpy.ndarray or None
        Validated out-of-sample probabilities.
    classes : numpy.ndarray, optional
        The user's label values (``classes[labels]``), for checks that report per class.
    hashes : numpy.ndarray of uint64, optional
        Content hashes of the samples (exact duplicates share one).
    table : pandas.DataFrame, optional
        Raw feature columns of a tabular source.
    image_stats : pandas.DataFrame, optional
        Per-image statistics (see ``datafix.data.image_folder.image_statistics``).
    multilabel : numpy.ndarray of bool, shape (n, L), optional
        Multilabel targets of the audited samples.
    label_names : list, optional
        The names of the multilabel columns.
    test : HeldOutSet, optional
        A held-out set read like the audited data (features, hashes), for checks on it.
    annotations : Annotations, optional
        Several annotators' labels of the audited samples (``labels`` is then their majority
        vote), for the ``annotators`` check.
    targets : numpy.ndarray of float64, optional
        A regression target per sample, instead of ``labels``.
    predictions : numpy.ndarray of float64, optional
        Given out-of-sample predictions of ``targets``; computed by cross-validation on
        ``features`` when not given (see ``datafix.signals.predictions.cross_val_predictions``).
    model, cv : see :func:`datafix.signals.cross_val_pred_probs`
    k_neighbors : int, default 40
        Neighbours per sample in the shared kNN graph: the audit passes the most that the checks
        it runs read (``datafix.checks.registry.graph_neighbors``), and each check reads its own
        nearest ones of them (``neighbors.nearest(k)``); 0 when none does: then no graph is
        built (``missing("neighbors")`` says why).
    knn_backend : str, default "auto"
        Search backend of the kNN graph (see :func:`datafix.signals.knn_graph`).
    vote_neighbors : KNNGraph, optional
        The graph whose neighbours vote on labels, when it must differ from ``neighbors``: with
        CNN signals, each sample's neighbours among the held-out samples of its own fold
        (``datafix.signals.cnn.fold_graph``), so that the votes stay out-of-sample.
    neighbors : KNNGraph, optional
        The shared kNN graph when it was computed elsewhere (the Ray engine's sharded search,
        :func:`datafix.scale.audit_ray`); otherwise it is computed from ``features`` on first use.
    target : Target, optional
        What the labels are, when they are none of the built-in kinds that ``labels``,
        ``multilabel``, ``annotations`` and ``targets`` describe (see
        ``datafix.data.target.target_of``): a new label kind's ``Target`` subclass, whose
        ``cross_validate`` gives the prediction signal.
    margins : numpy.ndarray of shape (n,), optional
        Training dynamics (``ImageSignals.margins``), for the label check's
        ``score="dynamics"`` or ``"pooled"``.
    random_state : int, numpy.random.Generator or None
        Seed for everything random the signals do.
    verbose : bool
        Show progress bars.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> s = Signals(y, 3, features=X, verbose=False)
    >>> s.missing("pred_probs") is None, s.pred_probs.shape, s.neighbors.k
    (True, (150, 3), 40)
    """

    def __init__(
        self,
        labels: np.ndarray | None,
        n_classes: int,
        *,
        features: np.ndarray | None = None,
        pred_probs: np.ndarray | None = None,
        classes: np.ndarray | None = None,
        hashes: np.ndarray | None = None,
        table: pd.DataFrame | None = None,
        image_stats: pd.DataFrame | None = None,
        multilabel: np.ndarray | None = None,
        label_names: list[Any] | None = None,
        test: HeldOutSet | None = None,
        annotations: Any = None,
        targets: np.ndarray | None = None,
        predictions: np.ndarray | None = None,
        model: Any = None,
        cv: int = 5,
        k_neighbors: int = 40,
        knn_backend: str = "auto",
        vote_neighbors: KNNGraph | None = None,
        neighbors: KNNGraph | None = None,
        margins: np.ndarray | None = None,
        target: Target | None = None,
        random_state: RandomState = 0,
        verbose: bool = True,
    ) -> None:
        self.labels = labels
        self.margins = margins
        self.n_classes = n_classes
        self.classes = classes if classes is not None else np.arange(n_classes)
        self.features = features
        self.hashes = hashes
        self.table = table
        self.image_stats = image_stats
        self.multilabel = multilabel
        self.label_names = label_names if label_names is not None or multilabel is None else list(
            range(multilabel.shape[1]))
        self.test = test
        self.annotations = annotations
        self.targets = targets
        self._given_predictions = predictions
        self.knn_backend = knn_backend
        self.vote_neighbors = vote_neighbors
        self._given_pred_probs = pred_probs
        self.model = model
        self.cv = cv
        self.folds: int | None = None  # the cross-validation folds that ran, once some did
        self.k_neighbors = k_neighbors
        self.verbose = verbose
        rng = check_random_state(random_state)
        self._seeds = {name: seed_from(rng) for name in ("pred_probs", "neighbors")}
        self._seeds["predictions"] = self._seeds["pred_probs"]
        self.provenance: dict[str, str] = {}
        #: What the labels are: it says which prediction signal they need and cross-validates it.
        self.target: Target = target if target is not None else target_of(
            labels, self.classes, multilabel=multilabel, label_names=self.label_names, annotations=annotations,
            targets=targets)
        if neighbors is not None:  # a graph computed elsewhere (the Ray engine's sharded search)
            self.__dict__["neighbors"] = neighbors
        if labels is not None or targets is not None:
            self.provenance["labels"] = "given" if targets is None else "given (a regression target)"
        if features is not None:
            self.provenance["features"] = f"given ({features.shape[1]} columns)"
        if pred_probs is not None:
            self.provenance["pred_probs"] = "given"
        if predictions is not None:
            self.provenance["predictions"] = "given"

    def has(self, name: str) -> bool:
        """Whether signal ``name`` can be had (``"a|b"``: either of them)."""
        return self.missing(name) is None

    def missing(self, name: str) -> str | None:
        """Why signal ``name`` (``"a|b"``: either of them) cannot be had, or None when it can."""
        if name == "labels":
            return None if self.labels is not None else "no labels were given: pass labels="
        if name == "unlabelled":
            return None if self.labels is not None and (self.labels < 0).any() else "every sample has a label"
        if name == "features":
            return None if self.features is not None else "no features were given or derived: pass features="
        if name == "targets":
            return None if self.targets is not None else _NOT_REGRESSION
        if name == "predictions":
            if self.target.prediction != "predictions":
                return _NOT_REGRESSION
            return None if self._given_predictions is not None or self.features is not None else (
                "no predictions were given and there are no features to compute them from: pass features= or "
                "predictions=")
        if name == "pred_probs":
            if self._given_pred_probs is not None:
                return None
            if self.target.prediction != "pred_probs":
                return "a regression target has predictions, not pred_probs"
            why = self.target.unpredictable()
            if why is not None:
                return why
            return None if self.features is not None else _NO_FEATURES
        if name == "neighbors":
            if "neighbors" in self.__dict__:
                return None
            if self.features is None:
                return "no features for a neighbour graph: pass features="
            return None if self.k_neighbors > 0 else "no check reads the neighbour graph (k_neighbors=0)"
        if name in ("hashes", "table", "image_stats", "multilabel", "test", "annotations"):
            what = {"hashes": "no content hashes", "table": "not a tabular source",
                    "image_stats": "not an image folder", "multilabel": "no multilabel targets were given",
                    "test": "no test set was given: pass test=",
                    "annotations": "no annotators' labels were given: pass annotators= to run it"}
            return None if getattr(self, name) is not None else what[name]
        if "|" in name:  # any one of several signals will do
            reasons = [self.missing(part) for part in name.split("|")]
            if None in reasons:
                return None
            told = [r for r in reasons if r != _NOT_REGRESSION] or reasons  # "another task" only when alone
            return "; ".join(told)
        raise KeyError(f"Unknown signal {name!r}; signals are {SIGNAL_NAMES}.")

    @cached_property
    def pred_probs(self) -> np.ndarray:
        """Out-of-sample predicted probabilities (n, K): given, or by cross-validation. For
        multilabel targets (n, L): each label's probability (``Target.cross_validate``)."""
        if self._given_pred_probs is not None:
            return self._given_pred_probs
        self._require("pred_probs")
        return self._cross_validated("pred_probs")

    @cached_property
    def predictions(self) -> np.ndarray:
        """Out-of-sample predictions (n,) of a regression target: given, or by cross-validation."""
        if self._given_predictions is not None:
            return self._given_predictions
        self._require("predictions")
        return self._cross_validated("predictions")

    def _cross_validated(self, name: str) -> np.ndarray:
        """The target's prediction signal by cross-validation on the features (recording the folds
        that ran and the provenance)."""
        got = self.target.cross_validate(self.features, model=self.model, cv=self.cv,
                                         random_state=self._seeds[name], verbose=self.verbose)
        self.folds = got.folds
        self.provenance[name] = got.described
        if got.model is not None:
            self.prediction_model = got.model  # what make_regressor builds again
        return got.values

    @cached_property
    def neighbors(self) -> KNNGraph:
        """The shared kNN graph on standardised features."""
        self._require("neighbors")
        graph = knn_graph(self.features, self.k_neighbors, knn_backend=self.knn_backend, verbose=self.verbose)
        self.provenance["neighbors"] = f"{graph.knn_backend} {graph.metric} kNN graph, k={graph.k}, standardised features"
        return graph

    def _require(self, name: str) -> None:
        why = self.missing(name)
        if why is not None:
            raise MissingSignalError(f"Signal {name!r} is not available: {why}.")

