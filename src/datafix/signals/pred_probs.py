"""Out-of-sample predicted probabilities: validation of given ones, K-fold computation of new ones."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from datafix._validation import (
    RandomState,
    check_int,
    check_random_state,
    describe_positions,
    py_value,
    seed_from,
)
from datafix.errors import InvalidInputError, InvalidTypeError, warn_user
from datafix.signals.probe import TorchProbeClassifier

MODEL_NAMES = ("logistic", "lda", "linear", "mlp")


def check_pred_probs(pred_probs: Any, n: int, n_classes: int, *, atol: float = 1e-3,
                     multilabel: bool = False) -> np.ndarray:
    """Validate user-given predicted probabilities and return them as float64 (n, K).

    Raises an error naming ``pred_probs`` for a wrong shape, NaN/inf, negative values, or rows
    that do not sum to 1 (within ``atol``). ``multilabel``: one probability per label, each in
    [0, 1], rows need not sum to 1.

    Parameters
    ----------
    pred_probs : array-like
        The user's probabilities.
    n : int
        Expected rows.
    n_classes : int
        Expected columns.
    atol : float, default 0.001
        Tolerance of the row sums.
    multilabel : bool, default False
        One independent probability per label (rows need not sum to 1).

    Examples
    --------
    >>> check_pred_probs([[0.9, 0.1], [0.2, 0.8]], n=2, n_classes=2).shape
    (2, 2)
    """
    if hasattr(pred_probs, "detach"):
        pred_probs = pred_probs.detach().cpu().numpy()
    try:
        P = np.asarray(pred_probs, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidTypeError(f"The 'pred_probs' argument must be a numeric (n, K) array: {err}") from None
    if P.ndim != 2 or P.shape != (n, n_classes):
        what = "n_labels" if multilabel else "n_classes"
        raise InvalidInputError(
            f"The 'pred_probs' argument must have shape (n_samples, {what}) = ({n}, {n_classes}); "
            f"got {P.shape}."
        )
    bad = ~np.isfinite(P).all(axis=1)
    if bad.any():
        raise InvalidInputError(f"The 'pred_probs' argument has NaN or inf in rows {describe_positions(np.flatnonzero(bad))}.")
    neg = (P < 0).any(axis=1)
    if neg.any():
        raise InvalidInputError(
            f"The 'pred_probs' argument has negative values in rows {describe_positions(np.flatnonzero(neg))}; "
            "pass probabilities (softmax outputs), not logits."
        )
    if multilabel:
        above = (P > 1.0).any(axis=1)
        if above.any():
            raise InvalidInputError(
                f"The 'pred_probs' argument has values above 1 in rows {describe_positions(np.flatnonzero(above))}; "
                "for multilabel targets pass each label's probability (sigmoid outputs), not logits.")
        return P
    off = np.abs(P.sum(axis=1) - 1.0) > atol
    if off.any():
        raise InvalidInputError(
            f"The 'pred_probs' rows must sum to 1; rows {describe_positions(np.flatnonzero(off))} do not "
            f"(first sums to {P[off][0].sum():.4g}). Pass softmax outputs, not logits or scores."
        )
    return P / P.sum(axis=1, keepdims=True)


def make_model(model: Any = None, *, random_state: int = 0, C: float = 1.0) -> Any:
    """Turn ``model`` into an unfitted scikit-learn classifier.

    Parameters
    ----------
    model : None, str or estimator
        None or ``"logistic"``: standardisation + logistic regression (the fast default);
        ``"lda"``: a linear discriminant (scikit-learn's, least-squares solver; the model the Ray
        engine fits from per-fold sums, without gathering the rows);
        ``"linear"`` / ``"mlp"``: a :class:`TorchProbeClassifier` (on the GPU when there is one);
        any scikit-learn classifier with ``predict_proba`` (cloned, never fitted in place).
    random_state : int, default 0
        Seed for the models datafix builds.
    C : float, default 1.0
        Inverse regularisation strength of the logistic regression.

    Examples
    --------
    >>> type(make_model("mlp")).__name__
    'TorchProbeClassifier'
    """
    if model is None or model == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=C))
    if model == "lda":
        return LinearDiscriminantAnalysis(solver="lsqr")
    if model == "linear":
        return TorchProbeClassifier(hidden=0, random_state=random_state)
    if model == "mlp":
        return TorchProbeClassifier(hidden=256, random_state=random_state)
    if isinstance(model, str):
        raise InvalidInputError(
            f"The 'model' parameter must be one of {', '.join(map(repr, MODEL_NAMES))} or a "
            f"scikit-learn classifier; got {model!r}."
        )
    if not (hasattr(model, "fit") and hasattr(model, "predict_proba")):
        raise InvalidTypeError(
            f"The 'model' parameter must have fit and predict_proba (a scikit-learn classifier); "
            f"got {type(model).__name__}."
        )
    return clone(model)


def _classes_with_counts(names: np.ndarray, counts: np.ndarray) -> str:
    """``Class 'fraud' (1 sample) has`` / ``Classes 'a' (1 sample), 'b' (2 samples) have``, values as repr."""
    shown = ", ".join(f"{py_value(v)!r} ({int(c)} sample{'s' * int(c != 1)})"
                      for v, c in zip(names[:10], counts[:10], strict=True))
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return f"Class {shown} has" if len(names) == 1 else f"Classes {shown}{more} have"


def fold_count(labels: np.ndarray, cv: int) -> int:
    """The folds a stratified cross-validation runs: ``min(cv, size of the largest class)``
    (labels -1, unlabelled, not counted).

    Examples
    --------
    >>> fold_count(np.array([0, 0, 0, 1, 1, -1]), 5)
    3
    """
    labels = np.asarray(labels)
    return min(cv, int(np.bincount(labels[labels >= 0]).max()))


def describe_model(model: Any) -> str:
    """The report's words for a cross-validated model (a name, or a scikit-learn estimator).

    Examples
    --------
    >>> describe_model(None), describe_model("mlp")
    ('logistic regression', 'a torch MLP probe')
    """
    names = {None: "logistic regression", "logistic": "logistic regression", "lda": "a linear discriminant",
             "linear": "a torch linear probe", "mlp": "a torch MLP probe"}
    return names.get(model, type(model).__name__) if isinstance(model, (str, type(None))) else type(model).__name__


def folds_described(folds: int, cv: int) -> str:
    """``"5-fold cross-validation"``, saying why when fewer folds ran than ``cv`` asked for.

    Examples
    --------
    >>> folds_described(71, 500)
    '71-fold cross-validation (cv=500 asked; the largest class has 71 samples)'
    """
    why = f" (cv={cv} asked; the largest class has {folds} samples)" if folds < cv else ""
    return f"{folds}-fold cross-validation{why}"


def stratified_folds(labels: np.ndarray, k: int, cv: int, seed: int,
                     classes: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled stratified (train, test) folds, ``min(cv, size of the largest class)`` of them,
    with the small-class rules of :func:`cross_val_pred_probs`: an error when no class has 2
    samples or when a fold would train on one class only, a warning naming the classes (in the
    user's label values ``classes``) that have fewer samples than folds."""
    counts = np.bincount(labels, minlength=k)
    names = np.arange(k) if classes is None else np.asarray(classes)
    n_splits = fold_count(labels, cv)
    if n_splits < 2:
        raise InvalidInputError(
            "Out-of-sample probabilities need at least one class with 2 samples; every class has "
            "one. Pass pred_probs= instead."
        )
    small = np.flatnonzero((counts > 0) & (counts < n_splits))
    if small.size and int((counts >= 2).sum()) < 2:
        # a fold that holds out a tiny class leaves a single class to train on: nothing to learn
        raise InvalidInputError(
            f"{_classes_with_counts(names[small], counts[small])} too few samples for {n_splits}-fold "
            "cross-validation: a fold that holds such a sample out trains on one class only. Add samples "
            "of that class, drop its rows, or pass pred_probs= from your own model."
        )
    if small.size:
        warn_user(
            f"{_classes_with_counts(names[small], counts[small])} fewer samples than the {n_splits} folds; "
            "in folds where such a class is missing from training, its predicted probability is 0.")
    with warnings.catch_warnings():  # scikit-learn's own version of the warning above
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels))


def cross_val_pred_probs(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    n_classes: int | None = None,
    model: Any = None,
    cv: int = 5,
    random_state: RandomState = 0,
    verbose: bool = True,
    classes: Any = None,
) -> np.ndarray:
    """Out-of-sample predicted probabilities by stratified K-fold cross-validation.

    Each sample's probabilities come from a model that did not see it. Rules for small classes:
    the number of folds is ``min(cv, size of the largest class)``; a class with fewer samples
    than folds is absent from some training folds, and in those folds its probability is 0
    (a warning names such classes). At least one class needs 2 samples. On wide tables
    (``WIDE_COLUMNS`` or more columns) the default logistic regression first picks its
    ``C`` on the first fold (``choose_regularization``).

    Parameters
    ----------
    features : numpy.ndarray of shape (n, d)
        Finite numeric features.
    labels : numpy.ndarray of int, shape (n,)
        Label codes ``0..K-1``; ``-1`` marks an unlabelled sample: it takes no part in training,
        and its probabilities are the mean of the fold models' predictions.
    n_classes : int, optional
        K (default: ``labels.max() + 1``).
    model : None, str or estimator
        See :func:`make_model`.
    cv : int, default 5
        Number of folds.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the fold split and of datafix's models.
    verbose : bool, default True
        Show a progress bar over folds.
    classes : array-like of shape (K,), optional
        The user's label values of the codes, for warnings and errors (default: the codes).

    Returns
    -------
    numpy.ndarray of shape (n, K)

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> P = cross_val_pred_probs(X, y, verbose=False)
    >>> P.shape, bool(((P.argmax(1) == y).mean() > 0.9))
    ((150, 3), True)
    """
    cv = check_int(cv, "cv", minimum=2)
    rng = check_random_state(random_state)
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1 if n_classes is None else n_classes
    seed = seed_from(rng)
    labelled = np.flatnonzero(labels >= 0)
    unlabelled = np.flatnonzero(labels < 0)
    if len(unlabelled):  # folds over the labelled samples; every fold model predicts the unlabelled ones
        features, all_features, labels = features[labelled], features, labels[labelled]
        if len(labels) and np.bincount(labels).max() < 2:
            return _one_model_for_unlabelled(features, labels, all_features, labelled, unlabelled, k, model, seed)
    folds = stratified_folds(labels, k, cv, seed, classes)
    P = np.zeros((len(labels), k))
    P_unlabelled = np.zeros((len(unlabelled), k))
    if (model is None or model == "logistic") and features.shape[1] >= WIDE_COLUMNS:
        model = make_model(model, C=choose_regularization(features, labels, *folds[0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        for train, test in tqdm(folds, desc="cross-validation", unit="fold", disable=not verbose, leave=False):
            est = make_model(model, random_state=seed)
            est.fit(features[train], labels[train])
            cols = np.asarray(est.classes_, dtype=np.int64)
            P[np.ix_(test, cols)] = est.predict_proba(features[test])
            if len(unlabelled):
                P_unlabelled[:, cols] += est.predict_proba(all_features[unlabelled]) / len(folds)
    for w in caught:  # scikit-learn's warnings point into scikit-learn: say them once, at the caller
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    converged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    if converged:
        warn_user(f"The cross-validation model did not converge in {converged} of {len(folds)} folds "
                  "(scikit-learn's ConvergenceWarning); its pred_probs may be less sharp. Standardise the "
                  "features, or pass model= with more iterations.")
    if len(unlabelled):
        out = np.empty((len(labelled) + len(unlabelled), k))
        out[labelled], out[unlabelled] = P, P_unlabelled
        return out
    return P


def _one_model_for_unlabelled(features, labels, all_features, labelled, unlabelled, k, model, seed) -> np.ndarray:
    """One label per class: no fold can hold a sample out, so one model trained on every labelled
    sample predicts the unlabelled ones, and the labelled ones get the uniform distribution."""
    warn_user(f"Every class has a single labelled sample ({len(labels)} labels): the labelled samples get no "
              "out-of-sample probabilities (uniform), so their labels cannot be judged; the unlabelled samples are "
              "predicted by a model trained on all the labels.")
    est = make_model(model, random_state=seed).fit(features, labels)
    out = np.full((len(all_features), k), 1.0 / k)
    out[unlabelled] = 0.0
    out[np.ix_(unlabelled, np.asarray(est.classes_, dtype=np.int64))] = est.predict_proba(all_features[unlabelled])
    return out


def multilabel_pred_probs(
    features: np.ndarray,
    Y: np.ndarray,
    *,
    model: Any = None,
    cv: int = 5,
    random_state: RandomState = 0,
    verbose: bool = True,
) -> np.ndarray:
    """Out-of-sample probability of every label of a multilabel matrix, by K-fold cross-validation.

    One binary model per label and fold (:func:`make_model`), each sample's probabilities from
    the fold that held it out. A label that a fold's training part never (or always) carries gets
    that constant probability in the fold. Columns do not sum to 1 (cleanlab's multilabel
    convention).

    Parameters
    ----------
    features : numpy.ndarray of shape (n, d)
        Finite numeric features.
    Y : numpy.ndarray of bool or 0/1, shape (n, L)
        The given label sets, one column per label.
    model, cv, random_state, verbose
        As in :func:`cross_val_pred_probs`.

    Returns
    -------
    numpy.ndarray of shape (n, L)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 3))
    >>> Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1)
    >>> P = multilabel_pred_probs(X, Y, verbose=False)
    >>> P.shape, bool(((P > 0.5) == Y).mean() > 0.9)
    ((120, 2), True)
    """
    from sklearn.model_selection import KFold

    Y = np.asarray(Y).astype(np.int64)
    cv = check_int(cv, "cv", minimum=2)
    if len(Y) < cv:
        raise InvalidInputError(f"{len(Y)} samples are too few for {cv}-fold cross-validation; lower cv= or pass "
                                "pred_probs= from your own model.")
    seed = seed_from(check_random_state(random_state))
    folds = list(KFold(cv, shuffle=True, random_state=seed).split(features))
    P = np.zeros(Y.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for train, test in tqdm(folds, desc="cross-validation", unit="fold", disable=not verbose, leave=False):
            for j in range(Y.shape[1]):
                seen = Y[train, j]
                if seen.min() == seen.max():  # the fold's training part has one value of this label
                    P[test, j] = float(seen[0])
                    continue
                est = make_model(model, random_state=seed).fit(features[train], seen)
                P[test, j] = est.predict_proba(features[test])[:, list(est.classes_).index(1)]
    return P


#: Tables with at least this many feature columns are wide: the default logistic regression picks
#: its regularisation there (``choose_regularization``) instead of using ``C=1``, which
#: overfits and needs many iterations. 20,000 Fashion-MNIST images as 784 pixel columns, 20 %
#: confusable noise, 2 cores (``benchmarks/cnn_signals.py --n 20000 --model logistic``): the
#: audit took 314 s with label F1 0.717 at C=1, 111 s with F1 0.729 with the chosen C. Narrower
#: tables keep C=1 (on the 54 label-benchmark cases, all under 65 columns, choosing C lowered
#: datafix's mean F1 from 0.941 to 0.939).
WIDE_COLUMNS = 128
#: The inverse regularisation strengths the default logistic regression chooses from.
C_GRID = (1.0, 0.1, 0.01, 0.001)
#: How ``choose_regularization`` scores a ``C`` on its held-out part: ``"balanced"``, each class's
#: mean log-loss averaged over the classes, or ``"plain"``, the mean over the samples. The plain
#: mean is ruled by the common classes: on long-tailed images it chose regularisation strong
#: enough to pull a tail class's members towards the common classes, so their true labels looked
#: wrong (``benchmarks/outcome.py``, issue 39). On balanced classes the two agree.
C_SCORE = "balanced"


def choose_regularization(features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    """The ``C`` of :data:`C_GRID` whose logistic regression, fitted on ``train`` (at most 100
    iterations), gives the lowest log-loss on ``test``, averaged per class (:data:`C_SCORE`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 300))
    >>> y = (X[:, 0] > 0).astype(int)  # one useful column among 300
    >>> choose_regularization(X, y, np.arange(150), np.arange(150, 200)) < 1.0
    True
    """
    scaled = StandardScaler().fit(features[train])
    a, b = scaled.transform(features[train]), scaled.transform(features[test])
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for c in C_GRID:
            est = LogisticRegression(max_iter=100, C=c).fit(a, labels[train])
            proba = np.full((len(test), int(labels.max()) + 1), 1e-12)
            proba[:, est.classes_] = np.clip(est.predict_proba(b), 1e-12, None)
            loss = -np.log(proba[np.arange(len(test)), labels[test]])
            if C_SCORE == "balanced":
                per_class = np.bincount(labels[test], weights=loss) / np.maximum(np.bincount(labels[test]), 1)
                losses.append(per_class[np.bincount(labels[test]) > 0].mean())
            else:
                losses.append(loss.mean())
    return C_GRID[int(np.argmin(losses))]


def align_pred_probs(view: Any, pred_probs: Any) -> np.ndarray:
    """Check ``pred_probs`` against a :class:`~datafix.data.DataView`; return them as float64.

    The probabilities come back full-length (NaN rows for broken samples), their usable rows
    validated. They need one column per class of the view, in its order: a model that knows a
    class the data miss needs that class listed (``audit(classes=)``).

    Parameters
    ----------
    view : DataView
        The audited data.
    pred_probs : array-like of shape (n, K)
        One row per sample of the source.

    Examples
    --------
    >>> from datafix.data import as_view
    >>> view = as_view(np.zeros((3, 1)), labels=[0, 1, 0])
    >>> align_pred_probs(view, np.full((3, 2), 0.5)).shape
    (3, 2)
    >>> align_pred_probs(view, np.full((3, 3), 1 / 3))
    Traceback (most recent call last):
    ...
    datafix.errors.InvalidInputError: The 'pred_probs' argument has 3 columns but the labels have 2 classes ([0, 1]): give one column per class, in the order of the sorted classes; when the model knows classes these data miss, list every class in the columns' order with classes= (e.g. classes=[0, 1, 2]).
    """
    if view.codes is None:
        raise InvalidInputError("The 'pred_probs' argument needs labels to compare with.")
    shape = np.shape(pred_probs)
    if len(shape) == 2 and shape[1] != view.n_classes:
        codes_like = view.classes.dtype.kind in "iu" and 0 <= view.classes.min() and view.classes.max() < shape[1]
        example = f" (e.g. classes={list(range(shape[1]))})" if codes_like else ""
        raise InvalidInputError(
            f"The 'pred_probs' argument has {shape[1]} columns but the labels have {view.n_classes} classes "
            f"({describe_positions(view.classes)}): give one column per class, in the order of the sorted classes; "
            "when the model knows classes these data miss, list every class in the columns' order with classes="
            f"{example}.")
    if len(shape) != 2 or shape[0] != len(view):
        raise InvalidInputError(
            f"The 'pred_probs' argument must have shape (n_samples, n_classes) = ({len(view)}, "
            f"{view.n_classes}); got {shape}."
        )
    valid = view.valid
    P = np.array(pred_probs, dtype=np.float64) if valid.all() else np.full(shape, np.nan)
    P[valid] = check_pred_probs(np.asarray(pred_probs)[valid], n=int(valid.sum()), n_classes=view.n_classes)
    return P
