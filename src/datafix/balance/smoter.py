"""Over-sampling of rare target ranges for regression: SMOTER and Gaussian noise.

SMOTER (Torgo et al., "SMOTE for Regression", EPIA 2013) and the Gaussian-noise generator
(Branco et al., "SMOGN", 2017): a sample is *rare* when its relevance
``1 - p(y) / max p`` is at least ``threshold``, with ``p`` the smoothed target density
(:func:`~datafix.balance.density.target_density`): its target is at most ``1 - threshold`` as
common as the most common one, so a flat target has no rare range. Rare samples are
split into contiguous ranges of the target (the low tail and the high tail are different
ranges); within each range,

- ``"smoter"``: a new row lies on the segment between a rare seed and one of its ``k_neighbors``
  nearest rare neighbours of the same range (standardised features), and its target is the
  two targets averaged with weights inverse to the new row's distance to each;
- ``"gaussian_noise"``: a new row is a seed plus Gaussian noise of ``perturbation`` x each
  feature's standard deviation (and the same for the target, within the range's standard
  deviation).

A range with a single sample cannot interpolate: SMOTER falls back to Gaussian noise there, with
a warning; when nothing is rare, the data come back unchanged with a warning. Nothing crashes on
a tiny range.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from datafix._validation import check_choice, check_int, check_random_state
from datafix.balance.density import target_density
from datafix.data.targets import read_targets
from datafix.errors import InvalidInputError, warn_user

#: The regression over-samplers, by the names :class:`~datafix.balance.Resampler` accepts.
REGRESSION_METHODS = ("smoter", "gaussian_noise")


def oversample_rare_targets(
    X: Any,
    y: Any,
    method: str = "smoter",
    *,
    threshold: float = 0.8,
    sampling_strategy: float | str = "auto",
    k_neighbors: int = 5,
    perturbation: float = 0.05,
    bins: int = 100,
    sigma: float = 2.0,
    random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New rows in a regression target's rare ranges; the input rows are kept as they are.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Numeric features.
    y : array-like of shape (n,)
        The regression target.
    method : {"smoter", "gaussian_noise"}, default "smoter"
        Interpolation between rare neighbours, or noise around rare seeds.
    threshold : float in (0, 1), default 0.8
        A sample is rare when ``1 - p(y) / max p >= threshold`` (its smoothed density is at
        most ``1 - threshold`` of the most common target's).
    sampling_strategy : "auto" or float, default "auto"
        New rows per rare row: ``"auto"`` adds enough for the rare samples to match the common
        ones in number (at most 10 per rare row); a float ``r`` adds ``round(r x n_rare)``.
    k_neighbors : int, default 5
        SMOTER's neighbours per seed (fewer in a smaller range).
    perturbation : float, default 0.05
        Gaussian noise scale, as a share of each column's standard deviation.
    bins : int, default 100
        Histogram bins of the density (see :func:`~datafix.balance.density.target_density`).
    sigma : float, default 2.0
        Smoothing of the density, in bins.
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    X_resampled : numpy.ndarray of shape (n + m, d)
        The input rows first, then ``m`` new ones.
    y_resampled : numpy.ndarray of shape (n + m,)
    source_indices : numpy.ndarray of int64, shape (n + m,)
        The input row of each output row; -1 for a new row.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = np.r_[rng.normal(0, 1, 190), rng.normal(8, 0.5, 10)]
    >>> X2, y2, src = oversample_rare_targets(X, y, random_state=0)
    >>> new = y2[src < 0]  # in the rare ranges: the cluster near 8 and the low tail of the rest
    >>> bool((src[:200] == np.arange(200)).all()), bool((np.abs(new) > 1.5).all()), int((new > 5).sum())
    (True, True, 100)
    """
    check_choice(method, "method", REGRESSION_METHODS)
    X = np.asarray(X, dtype=np.float64)
    y = read_targets(y, name="y")
    if X.ndim != 2 or len(X) != len(y):
        raise InvalidInputError(f"X must be 2-D with one row per target; got shape {X.shape} for {len(y)} targets.")
    if not 0 < threshold < 1:
        raise InvalidInputError(f"The 'threshold' parameter must be in (0, 1); got {threshold!r}.")
    k_neighbors = check_int(k_neighbors, "k_neighbors", minimum=1)
    rng = check_random_state(random_state)
    n = len(y)
    density = target_density(y, bins=bins, sigma=sigma)
    relevance = 1.0 - density / density.max()
    rare = np.flatnonzero(relevance >= threshold)
    if not len(rare):
        warn_user(f"No target is rare (relevance >= {threshold:g}): the data come back unchanged.")
        return X.copy(), y.copy(), np.arange(n, dtype=np.int64)
    if sampling_strategy == "auto":
        total = min(max(n - 2 * len(rare), 0), 10 * len(rare))
    elif isinstance(sampling_strategy, (int, float)) and sampling_strategy >= 0:
        total = int(round(float(sampling_strategy) * len(rare)))
    else:
        raise InvalidInputError(f"For regression the 'sampling_strategy' must be 'auto' or a number >= 0; got "
                                f"{sampling_strategy!r}.")
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    new_X, new_y, lonely = [], [], []
    for group in _ranges(rare, y):
        count = int(round(total * len(group) / len(rare)))
        if count == 0:
            continue
        local = rng.integers(0, len(group), count)  # the seeds' positions in the range
        seeds = group[local]
        if method == "gaussian_noise" or len(group) == 1:
            if method == "smoter":
                lonely.append(float(y[group[0]]))
            spread = y[group].std() if len(group) > 1 else perturbation * y.std()
            new_X.append(X[seeds] + rng.normal(size=(count, X.shape[1])) * perturbation * scale)
            new_y.append(y[seeds] + rng.normal(size=count) * perturbation * max(spread, 1e-12))
            continue
        Z = X[group] / scale
        k = min(k_neighbors, len(group) - 1)
        d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1) if len(group) <= 4096 else None
        if d2 is not None:
            np.fill_diagonal(d2, np.inf)
            near = np.argsort(d2, axis=1)[:, :k]
        else:
            from datafix.signals.neighbors import knn_graph

            near = knn_graph(Z, k, verbose=False).indices
        partner = near[local, rng.integers(0, k, count)]
        gap = rng.random(count)[:, None]
        a, b = X[group[local]], X[group[partner]]
        new_X.append(a + gap * (b - a))
        da = np.linalg.norm((gap * (b - a)) / scale, axis=1)
        db = np.linalg.norm(((1 - gap) * (b - a)) / scale, axis=1)
        ya, yb = y[group[local]], y[group[partner]]
        both = da + db
        new_y.append(np.where(both > 0, (db * ya + da * yb) / np.where(both > 0, both, 1.0), (ya + yb) / 2))
    if lonely:
        warn_user(f"{len(lonely)} rare target range(s) hold a single sample (y = {lonely[:3]}); SMOTER cannot "
                  "interpolate there and added Gaussian-noise copies instead.")
    if not new_X:
        return X.copy(), y.copy(), np.arange(n, dtype=np.int64)
    X_new, y_new = np.concatenate(new_X), np.concatenate(new_y)
    source = np.r_[np.arange(n, dtype=np.int64), np.full(len(y_new), -1, dtype=np.int64)]
    return np.vstack([X, X_new]), np.r_[y, y_new], source


def _ranges(rare: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The rare samples split into contiguous target ranges (no common sample between them)."""
    order = np.argsort(y, kind="stable")
    is_rare = np.zeros(len(y), dtype=bool)
    is_rare[rare] = True
    flags = is_rare[order]
    cuts = np.flatnonzero(flags[1:] != flags[:-1]) + 1
    return [run for run in np.split(order, cuts) if is_rare[run[0]]]
