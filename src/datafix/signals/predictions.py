"""Out-of-sample predictions of a regression target: validation of given ones, K-fold computation of new ones."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import HuberRegressor
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from datafix._validation import (
    RandomState,
    check_int,
    check_random_state,
    describe_positions,
    seed_from,
)
from datafix.errors import InvalidInputError, InvalidTypeError
from datafix.signals.probe import TorchProbeRegressor

#: The regression models datafix builds by name; None chooses between the first two.
REGRESSOR_NAMES = ("huber", "gradient_boosting", "linear", "mlp")


def make_regressor(model: Any = "huber", *, random_state: int = 0) -> Any:
    """Turn ``model`` into an unfitted scikit-learn regressor.

    Parameters
    ----------
    model : str or estimator
        ``"huber"``: standardisation + scikit-learn's ``HuberRegressor`` (a linear model that a
        few wrong targets do not drag); ``"gradient_boosting"``: ``HistGradientBoostingRegressor``
        with the absolute-error loss (non-linear, just as robust); ``"linear"`` / ``"mlp"``: a
        :class:`~datafix.signals.probe.TorchProbeRegressor` (on the GPU when there is one); any
        scikit-learn regressor (cloned, never fitted in place).
    random_state : int, default 0
        Seed for the models datafix builds.

    Examples
    --------
    >>> type(make_regressor("gradient_boosting")).__name__
    'HistGradientBoostingRegressor'
    """
    if model == "huber":
        return make_pipeline(StandardScaler(), HuberRegressor(max_iter=1000, alpha=1e-3))
    if model == "gradient_boosting":
        return HistGradientBoostingRegressor(loss="absolute_error", max_iter=150, learning_rate=0.1,
                                             random_state=random_state)
    if model in ("linear", "mlp"):
        return TorchProbeRegressor(hidden=0 if model == "linear" else 256, random_state=random_state)
    if isinstance(model, str) or model is None:
        raise InvalidInputError(f"For a regression target the 'model' parameter must be None, one of "
                                f"{', '.join(map(repr, REGRESSOR_NAMES))} or a scikit-learn regressor; got {model!r}.")
    if not (hasattr(model, "fit") and hasattr(model, "predict")):
        raise InvalidTypeError("For a regression target the 'model' parameter must have fit and predict (a "
                               f"scikit-learn regressor); got {type(model).__name__}.")
    if hasattr(model, "predict_proba"):
        raise InvalidInputError(f"The 'model' parameter is a classifier ({type(model).__name__}); a regression "
                                "target needs a regressor.")
    return clone(model)


def check_predictions(predictions: Any, n: int) -> np.ndarray:
    """Validate user-given out-of-sample predictions of a regression target: float64 (n,).

    Examples
    --------
    >>> check_predictions([1.0, 2.5], n=2).tolist()
    [1.0, 2.5]
    """
    if hasattr(predictions, "detach"):
        predictions = predictions.detach().cpu().numpy()
    try:
        p = np.asarray(predictions, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidTypeError(f"The 'predictions' argument must be numbers, one per sample: {err}") from None
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.shape != (n,):
        raise InvalidInputError(f"The 'predictions' argument must have shape (n_samples,) = ({n},); got {p.shape}.")
    bad = ~np.isfinite(p)
    if bad.any():
        raise InvalidInputError(f"The 'predictions' argument has NaN or inf at {describe_positions(np.flatnonzero(bad))}.")
    return p.copy()


def cross_val_predictions(
    features: np.ndarray,
    targets: np.ndarray,
    *,
    model: Any = None,
    cv: int = 5,
    random_state: RandomState = 0,
    verbose: bool = True,
) -> tuple[np.ndarray, str]:
    """Out-of-sample predictions of a regression target by K-fold cross-validation.

    Each sample's prediction comes from a model that did not see it. With ``model=None`` the
    first fold picks between ``"huber"`` and ``"gradient_boosting"`` (see :func:`make_regressor`)
    by the median absolute error on its held-out samples (a median, so that the wrong targets
    an audit looks for do not decide).

    Parameters
    ----------
    features : numpy.ndarray of shape (n, d)
        Finite numeric features.
    targets : numpy.ndarray of shape (n,)
        The given targets.
    model : None, str or estimator
        See :func:`make_regressor`.
    cv : int, default 5
        Number of folds (at most n).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the fold split and of datafix's models.
    verbose : bool, default True
        Show a progress bar over folds.

    Returns
    -------
    predictions : numpy.ndarray of shape (n,)
    model_name : str
        The model used, for the report.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> p, name = cross_val_predictions(X, y, verbose=False)
    >>> name in ("huber", "gradient_boosting"), bool(np.corrcoef(p, y)[0, 1] > 0.6)
    (True, True)
    """
    cv = check_int(cv, "cv", minimum=2)
    targets = np.asarray(targets, dtype=np.float64)
    n = len(targets)
    if n < 2 * cv:
        raise InvalidInputError(f"A regression audit with cv={cv} folds needs at least {2 * cv} samples; got {n}.")
    seed = seed_from(check_random_state(random_state))
    folds = list(KFold(cv, shuffle=True, random_state=seed).split(features))
    name = model if isinstance(model, str) else None if model is None else type(model).__name__
    if model is None:
        model = name = choose_regressor(features, targets, *folds[0], seed=seed)
    predictions = np.empty(n)
    with warnings.catch_warnings(), one_openmp_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)  # Huber's iterations: the fit is still usable
        for train, test in tqdm(folds, desc="cross-validation", unit="fold", disable=not verbose, leave=False):
            est = make_regressor(model, random_state=seed)
            est.fit(features[train], targets[train])
            predictions[test] = np.asarray(est.predict(features[test]), dtype=np.float64).reshape(-1)
    return predictions, str(name)


def choose_regressor(features: np.ndarray, targets: np.ndarray, train: np.ndarray, test: np.ndarray, *,
                     seed: int = 0) -> str:
    """The default model for ``features``: ``"huber"`` or ``"gradient_boosting"``, whichever has the
    smaller median absolute error on ``test`` when trained on ``train``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-3, 3, size=(600, 2))
    >>> choose_regressor(X, np.sin(2 * X[:, 0]) * 3, np.arange(500), np.arange(500, 600))
    'gradient_boosting'
    """
    errors = {}
    with warnings.catch_warnings(), one_openmp_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name in ("huber", "gradient_boosting"):
            est = make_regressor(name, random_state=seed).fit(features[train], targets[train])
            errors[name] = float(np.median(np.abs(est.predict(features[test]) - targets[test])))
    return min(errors, key=errors.get)


def one_openmp_thread() -> threadpool_limits:
    """A context in which OpenMP (HistGradientBoosting's threads) uses one thread.

    Two processes that each start OpenMP's default of one thread per core (two pytest workers,
    an audit beside a training job) busy-wait against each other: on this project's 2-core
    machine one fit on the 442 diabetes rows took 182 s so, against well under a second alone.
    """
    return threadpool_limits(limits=1, user_api="openmp")
