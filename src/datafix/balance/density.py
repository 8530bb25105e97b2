"""Imbalanced regression: the smoothed density of a target, weights against it, and a sampler drawing by it.

A regression target is imbalanced when some ranges of it are rare (house prices above a million,
extreme ages). The levers mirror the class-balancing ones:

- :func:`target_density`: label distribution smoothing (Yang et al., "Delving into Deep
  Imbalanced Regression", ICML 2021): a histogram of the targets convolved with a Gaussian
  kernel, read at each sample's bin;
- :func:`density_weights`: per-sample loss weights, ``"inverse"`` (LDS weights
  ``density ** -alpha``; ``alpha=0.5`` is Yang et al.'s square-root inverse) or ``"dense"``
  (DenseWeight, Steininger et al., Machine Learning 2021: ``max(1 - alpha * p', eps)`` with
  ``p'`` the density scaled to [0, 1]), normalised to mean 1 like :func:`class_weights`;
- :class:`DensitySampler`: draws samples with probability proportional to those weights, re-drawn
  every epoch, DDP-aware, like :class:`~datafix.balance.ClassBalancedSampler`;
- ``Resampler("smoter")`` / ``Resampler("gaussian_noise")`` (:mod:`datafix.balance.smoter`): new
  rows in the rare ranges.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from torch.utils.data import Sampler

from datafix._validation import check_choice, check_int
from datafix.balance.samplers import _EpochSampler, rank_share, replicas
from datafix.data.targets import read_targets
from datafix.errors import InvalidInputError

#: The weighting rules of :func:`density_weights`.
DENSITY_METHODS = ("inverse", "dense", "none")


def target_density(targets: Any, *, bins: int = 100, sigma: float = 2.0) -> np.ndarray:
    """Each sample's smoothed target density (label distribution smoothing).

    The targets' range is cut into equal bins, ``bins`` of them but no more than one per ten
    samples (at least 10), so that a small sample does not leave most bins empty; the histogram
    is convolved with a Gaussian kernel of ``sigma`` bins (reflecting at the ends) and normalised
    to sum to 1; each sample gets its bin's value, so a sample in a rare range, or beside an
    empty one, has a small density.

    Parameters
    ----------
    targets : array-like of shape (n,)
        Finite numbers.
    bins : int, default 100
        Histogram bins over the targets' range (at most ``max(n // 10, 10)``).
    sigma : float, default 2.0
        The smoothing kernel's standard deviation, in bins (Yang et al. use 2).

    Returns
    -------
    numpy.ndarray of float64, shape (n,)

    Examples
    --------
    >>> d = target_density(np.r_[np.zeros(90), np.full(10, 5.0)])
    >>> bool(d[0] > 5 * d[-1])
    True
    """
    y = read_targets(targets, name="targets")
    bins = check_int(bins, "bins", minimum=1)
    if not sigma >= 0:
        raise InvalidInputError(f"The 'sigma' parameter must be >= 0; got {sigma!r}.")
    bins = min(bins, max(len(y) // 10, 10))
    edges = np.linspace(y.min(), y.max(), bins + 1)
    which = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(np.float64)
    smooth = gaussian_filter1d(counts, sigma, mode="reflect") if sigma > 0 else counts
    smooth = np.maximum(smooth, 1e-12) / smooth.sum()
    return smooth[which]


def density_weights(
    targets: Any,
    method: str = "inverse",
    *,
    alpha: float = 0.5,
    bins: int = 100,
    sigma: float = 2.0,
    min_weight: float = 1e-6,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Per-sample loss weights against a regression target's density, mean 1.

    The regression counterpart of :func:`~datafix.balance.class_weights`: multiply each sample's
    loss by its weight (``(loss_fn(out, y, reduction="none") * w[idx]).mean()``).

    Parameters
    ----------
    targets : array-like of shape (n,)
        The training targets.
    method : {"inverse", "dense", "none"}, default "inverse"
        ``"inverse"``: ``density ** -alpha`` (LDS; ``alpha=1`` inverse, ``0.5`` square-root
        inverse). ``"dense"``: DenseWeight, ``max(1 - alpha * p', min_weight)`` with ``p'`` the
        density min-max scaled to [0, 1] (``alpha`` from 0, no weighting, up; at 1 the most
        common target gets ``min_weight``). ``"none"``: all ones.
    alpha : float, default 0.5
        Strength of the weighting.
    bins : int, default 100
        Histogram bins (see :func:`target_density`).
    sigma : float, default 2.0
        Smoothing kernel's standard deviation, in bins (see :func:`target_density`).
    min_weight : float, default 1e-6
        Floor of a weight before normalisation.
    dtype, device
        Of the returned tensor.

    Returns
    -------
    torch.Tensor of shape (n,)

    Examples
    --------
    >>> y = np.r_[np.zeros(90), np.full(10, 5.0)]
    >>> w = density_weights(y, alpha=1.0)
    >>> round(float(w.mean()), 3), round(float(w[-1] / w[0]), 1)
    (1.0, 9.0)
    """
    check_choice(method, "method", DENSITY_METHODS)
    if not (isinstance(alpha, (int, float)) and alpha >= 0):
        raise InvalidInputError(f"The 'alpha' parameter must be a number >= 0; got {alpha!r}.")
    density = target_density(targets, bins=bins, sigma=sigma)
    if method == "none":
        w = np.ones_like(density)
    elif method == "inverse":
        w = np.maximum(density ** -float(alpha), min_weight)
    else:
        span = density.max() - density.min()
        scaled = (density - density.min()) / span if span > 0 else np.zeros_like(density)
        w = np.maximum(1.0 - float(alpha) * scaled, min_weight)
    return torch.as_tensor(w / w.mean(), dtype=dtype, device=device)


class DensitySampler(_EpochSampler, Sampler[int]):
    """Draw samples with probability proportional to their :func:`density_weights`.

    The regression counterpart of :class:`~datafix.balance.ClassBalancedSampler`: rare target
    ranges are drawn as often as ``method`` and ``alpha`` say (``method="inverse", alpha=1``: every
    target range about equally often). Each epoch's draw depends only on ``seed`` and the epoch;
    under distributed training each rank keeps its strided share.

    Parameters
    ----------
    targets : array-like of shape (n,)
        One target per sample of the dataset the loader reads.
    method, alpha, bins, sigma : see :func:`density_weights`
        Default ``alpha=1.0`` (inverse density: flat over the target's range).
    num_samples : int, optional
        Indices per epoch over all ranks (default n).
    num_replicas, rank : int, optional
        Distributed training: default from ``torch.distributed`` when it is initialised.
    seed : int, default 0
        Seed of the draws.

    Examples
    --------
    >>> y = np.r_[np.zeros(900), np.full(100, 5.0)]
    >>> drawn = y[DensitySampler(y).indices()]
    >>> bool(0.4 < (drawn == 5.0).mean() < 0.6)
    True
    """

    def __init__(self, targets: Any, *, method: str = "inverse", alpha: float = 1.0, bins: int = 100,
                 sigma: float = 2.0, num_samples: int | None = None, num_replicas: int | None = None,
                 rank: int | None = None, seed: int = 0) -> None:
        self.seed = check_int(seed, "seed", minimum=0)
        self.num_replicas, self.rank = replicas(num_replicas, rank)
        weights = density_weights(targets, method, alpha=alpha, bins=bins, sigma=sigma, dtype=torch.float64).numpy()
        self.weights = weights / weights.sum()
        self._cumulative = np.cumsum(self.weights)
        self.num_samples = len(weights) if num_samples is None else check_int(num_samples, "num_samples", minimum=1)
        self._per_rank = math.ceil(self.num_samples / self.num_replicas)

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one) as an int64 array."""
        rng = self._rng(epoch)
        total = self._per_rank * self.num_replicas
        u = rng.random(total) * self._cumulative[-1]
        drawn = np.minimum(np.searchsorted(self._cumulative, u, side="right"), len(self.weights) - 1)
        return rank_share(drawn.astype(np.int64), total, self.rank, self.num_replicas)
