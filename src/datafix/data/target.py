"""The audit's target: what the labels are (classes, multilabel indicators, several annotators' labels
or a regression target), read once, whatever the engine.

The arguments that name it (``labels``, ``multilabel``, ``annotators``, ``task``) are checked once by
:func:`label_argument` and :func:`check_task_arguments`; an engine reads the values and builds one
:class:`Target`. The rest of the audit reads the target's ``task``, the prediction signal it needs
and how it is cross-validated (:meth:`Target.cross_validate`, which :class:`~datafix.signals.Signals`
calls), the ``Signals`` fields it fills and its provenance, never which argument was set. A new
label kind is one subclass plus the checks that read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from datafix._validation import check_choice
from datafix.data.annotations import Annotations
from datafix.data.targets import LABEL_TASKS
from datafix.errors import InvalidInputError, warn_user

#: The arguments that can carry the labels, one at a time.
LABEL_ARGUMENTS = ("labels", "multilabel", "annotators")


def label_argument(labels: Any, multilabel: Any, annotators: Any, task: str | None) -> str | None:
    """Which argument carries the labels (None: the data bring their own, or there are none),
    refusing more than one and an unknown ``task``.

    Examples
    --------
    >>> label_argument("y", None, None, None)
    'labels'
    >>> label_argument("y", ["a", "b"], None, None)
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: Give one of 'labels' (one class per sample), 'multilabel' (an indicator matrix or columns) and 'annotators' (several annotators' labels), not both: got 'labels' and 'multilabel'.
    """
    given = [name for name, value in zip(LABEL_ARGUMENTS, (labels, multilabel, annotators), strict=True)
             if value is not None]
    if len(given) > 1:
        raise InvalidInputError(f"Give one of 'labels' (one class per sample), 'multilabel' (an indicator matrix or "
                                f"columns) and 'annotators' (several annotators' labels), not both: got "
                                f"{' and '.join(map(repr, given))}.")
    if task is not None:
        check_choice(task, "task", LABEL_TASKS)
    return given[0] if given else None


def regression_inferred() -> None:
    """Say that labels were taken for a regression target (``task`` not given)."""
    warn_user("The labels are numbers with many distinct values, so the audit treats them as a regression "
              "target (task='regression'); pass task='classification' if they are classes.")


def check_task_arguments(regression: bool, given: str | None, *, pred_probs: Any = None, predictions: Any = None,
                         unlabelled: Any = None, model: Any = None, own_labels: bool = False) -> None:
    """Refuse the arguments that have no meaning for the task, naming each (``own_labels``: the
    data bring their labels, as a torch Dataset or an image folder does).

    Examples
    --------
    >>> check_task_arguments(False, "labels", predictions=[1.0])
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: The 'predictions' argument holds predictions of a regression target (task='regression'); for classes pass pred_probs=.
    """
    if not regression:
        if predictions is not None:
            raise InvalidInputError("The 'predictions' argument holds predictions of a regression target "
                                    "(task='regression'); for classes pass pred_probs=.")
        return
    if given not in (None, "labels"):
        raise InvalidInputError(f"task='regression' reads one number per sample from 'labels'; {given!r} is for "
                                "classes.")
    if given is None and not own_labels:
        raise InvalidInputError("task='regression' needs the targets: pass labels= (an array, or a DataFrame's "
                                "column name).")
    if unlabelled is not None:
        raise InvalidInputError("The 'unlabelled' argument applies to class labels; a regression target must have a "
                                "value for every sample.")
    if pred_probs is not None:
        raise InvalidInputError("For a regression target pass your model's out-of-sample predictions as "
                                "predictions=, not pred_probs=.")
    if isinstance(model, str) and model == "cnn":
        raise InvalidInputError("model='cnn' trains a classifier; for a regression target pass model=None, a "
                                "regressor name or a scikit-learn regressor.")


@dataclass(frozen=True)
class Predicted:
    """A target's out-of-sample prediction signal: its ``values``, the cross-validation ``folds``
    that ran, how it was made (``described``, for the report) and, for a regression target, the
    regressor chosen (``model``, what ``make_regressor`` builds again)."""

    values: np.ndarray
    folds: int
    described: str
    model: Any = None


@dataclass(frozen=True)
class Target:
    """The labels of every sample of the data (broken ones too), of one kind.

    Subclasses say the check ``task`` they are for, the ``prediction`` signal their label check
    compares with, and which :class:`~datafix.signals.Signals` fields they fill.
    """

    task: ClassVar[str]
    prediction: ClassVar[str] = "pred_probs"

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def classes(self) -> np.ndarray:
        """The class values (empty when the target has no classes)."""
        return np.empty(0)

    def signal_fields(self, rows: np.ndarray) -> dict[str, Any]:
        """The :class:`~datafix.signals.Signals` keyword arguments of the audited ``rows`` (a mask)."""
        raise NotImplementedError

    def n_unlabelled(self, rows: np.ndarray) -> int:
        """How many of ``rows`` have no label."""
        return 0

    def described(self, rows: np.ndarray) -> str | None:
        """Where the labels came from, for the report's provenance (None: as the signals say)."""
        n = self.n_unlabelled(rows)
        return f"given for {int(rows.sum()) - n} samples, {n} unlabelled" if n else None

    def unpredictable(self) -> str | None:
        """Why the prediction signal cannot be cross-validated from features (None: it can)."""
        return None

    def cross_validate(self, features: np.ndarray, *, model: Any, cv: int, random_state: Any, verbose: bool
                       ) -> Predicted:
        """The out-of-sample :attr:`prediction` signal of every sample, by ``cv``-fold
        cross-validation of ``model`` on ``features``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Classes(Target):
    """One class per sample: ``codes`` into ``values`` (-1: unlabelled).

    Examples
    --------
    >>> t = Classes(np.array([0, 1, -1]), np.array(["cat", "dog"]))
    >>> t.task, t.n_unlabelled(np.ones(3, bool)), t.described(np.ones(3, bool))
    ('single', 1, 'given for 2 samples, 1 unlabelled')
    """

    codes: np.ndarray
    values: np.ndarray
    task: ClassVar[str] = "single"

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def classes(self) -> np.ndarray:
        return self.values

    def signal_fields(self, rows: np.ndarray) -> dict[str, Any]:
        return {"labels": self.codes[rows], "n_classes": len(self.values), "classes": self.values}

    def n_unlabelled(self, rows: np.ndarray) -> int:
        return int((self.codes[rows] < 0).sum())

    def cross_validate(self, features: np.ndarray, *, model: Any, cv: int, random_state: Any, verbose: bool
                       ) -> Predicted:
        """pred_probs (n, K); an unlabelled sample is predicted by models trained on the labelled ones.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat([0, 1], 20)
        >>> got = Classes(y, np.array(["a", "b"])).cross_validate(
        ...     rng.normal(size=(40, 2)) + y[:, None], model=None, cv=3, random_state=0, verbose=False)
        >>> got.values.shape, got.described
        ((40, 2), '3-fold cross-validation of logistic regression')
        """
        from datafix.signals.pred_probs import (
            cross_val_pred_probs,
            describe_model,
            fold_count,
            folds_described,
        )

        P = cross_val_pred_probs(features, self.codes, n_classes=len(self.values), model=model, cv=cv,
                                 random_state=random_state, verbose=verbose, classes=self.values)
        folds = fold_count(self.codes, cv)
        return Predicted(P, folds, f"{folds_described(folds, cv)} of {describe_model(model)}")


@dataclass(frozen=True)
class Annotated(Classes):
    """Several annotators' labels; ``codes`` are their majority vote.

    Examples
    --------
    >>> a = Annotations(np.array([[0, 1, 1], [0, 0, -1]]), np.array(["a", "b"]), ["x", "y", "z"])
    >>> t = Annotated.of(a)
    >>> t.codes.tolist(), t.described(np.ones(2, bool))
    ([1, 0], 'majority vote of 3 annotators')
    """

    annotations: Annotations | None = None

    @classmethod
    def of(cls, annotations: Annotations) -> Annotated:
        """The target of ``annotations``: their majority vote, and the annotations themselves."""
        return cls(annotations.majority_vote(), annotations.classes, annotations)

    def signal_fields(self, rows: np.ndarray) -> dict[str, Any]:
        a = self.annotations
        return {**super().signal_fields(rows), "annotations": Annotations(a.codes[rows], a.classes, a.annotators)}

    def described(self, rows: np.ndarray) -> str | None:
        return super().described(rows) or f"majority vote of {len(self.annotations.annotators)} annotators"


@dataclass(frozen=True)
class MultiLabel(Target):
    """Several labels per sample: a boolean ``indicators`` matrix (n, L), its columns ``names``.

    Examples
    --------
    >>> t = MultiLabel(np.array([[True, False], [True, True]]), ["cat", "dog"])
    >>> t.task, sorted(t.signal_fields(np.ones(2, bool)))
    ('multilabel', ['label_names', 'labels', 'multilabel', 'n_classes'])
    """

    indicators: np.ndarray
    names: list[Any] | None = None
    task: ClassVar[str] = "multilabel"

    def __len__(self) -> int:
        return len(self.indicators)

    def signal_fields(self, rows: np.ndarray) -> dict[str, Any]:
        return {"labels": None, "n_classes": 0, "multilabel": self.indicators[rows], "label_names": self.names}

    def cross_validate(self, features: np.ndarray, *, model: Any, cv: int, random_state: Any, verbose: bool
                       ) -> Predicted:
        """Each label's probability (n, L), one binary model per label and fold."""
        from datafix.signals.pred_probs import describe_model, multilabel_pred_probs

        P = multilabel_pred_probs(features, self.indicators, model=model, cv=cv, random_state=random_state,
                                  verbose=verbose)
        return Predicted(P, cv, f"{cv}-fold cross-validation of {describe_model(model)}, one model per label")


@dataclass(frozen=True)
class Regression(Target):
    """One number per sample: ``values`` (float64), compared with out-of-sample ``predictions``.

    Examples
    --------
    >>> t = Regression(np.array([1.5, 2.0]))
    >>> t.task, t.prediction, t.signal_fields(np.ones(2, bool))["targets"].tolist()
    ('regression', 'predictions', [1.5, 2.0])
    """

    values: np.ndarray
    task: ClassVar[str] = "regression"
    prediction: ClassVar[str] = "predictions"

    def __len__(self) -> int:
        return len(self.values)

    def signal_fields(self, rows: np.ndarray) -> dict[str, Any]:
        return {"labels": None, "n_classes": 0, "targets": self.values[rows]}

    def cross_validate(self, features: np.ndarray, *, model: Any, cv: int, random_state: Any, verbose: bool
                       ) -> Predicted:
        """Predictions (n,); with ``model=None`` the first fold chooses the regressor."""
        from datafix.signals.predictions import cross_val_predictions

        predictions, name = cross_val_predictions(features, self.values, model=model, cv=cv,
                                                  random_state=random_state, verbose=verbose)
        chosen = " (chosen on the first fold by median absolute error)" if model is None else ""
        return Predicted(predictions, cv, f"{cv}-fold cross-validation of {name}{chosen}",
                         name if model is None else model)


@dataclass(frozen=True)
class NoTarget(Target):
    """No labels (a data set audited for its samples only: outliers, duplicates, quality)."""

    n: int = 0
    task: ClassVar[str] = "single"

    def __len__(self) -> int:
        return self.n

    def signal_fields(self, rows: np.ndarray) -> dict[str, Any]:
        return {"labels": None, "n_classes": 0}

    def unpredictable(self) -> str | None:
        return "no labels to cross-validate: pass labels="


def target_of(labels: np.ndarray | None, classes: np.ndarray, *, multilabel: np.ndarray | None = None,
              label_names: list[Any] | None = None, annotations: Annotations | None = None,
              targets: np.ndarray | None = None) -> Target:
    """The target that :class:`~datafix.signals.Signals`' label fields describe (what
    :meth:`Target.signal_fields` gave, read back).

    Examples
    --------
    >>> type(target_of(np.array([0, 1]), np.array(["a", "b"]))).__name__
    'Classes'
    >>> target_of(None, np.empty(0), targets=np.array([1.5])).prediction
    'predictions'
    """
    if targets is not None:
        return Regression(np.asarray(targets, np.float64))
    if multilabel is not None:
        return MultiLabel(multilabel, label_names)
    if labels is None:
        return NoTarget(0)
    if annotations is not None:
        return Annotated(labels, classes, annotations)
    return Classes(labels, classes)
