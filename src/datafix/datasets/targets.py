"""Corrupted regression targets with their truth, for benchmarks and tests."""

from __future__ import annotations

import numpy as np

from datafix._validation import RandomState, check_choice, check_random_state

#: The kinds of target corruption :func:`corrupt_targets` injects.
CORRUPTIONS = ("outlying", "swapped", "mixed")


def corrupt_targets(
    targets: np.ndarray, rate: float, *, kind: str = "mixed", shift: tuple[float, float] = (2.0, 4.0),
    random_state: RandomState = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``targets`` with a share ``rate`` of them corrupted, and the mask of corrupted ones.

    Parameters
    ----------
    targets : array-like of shape (n,)
        Clean regression targets (not modified).
    rate : float in (0, 1)
        Share of the samples to corrupt.
    kind : {"outlying", "swapped", "mixed"}, default "mixed"
        ``"outlying"``: the target moves up or down by ``shift`` standard deviations of the
        targets (drawn uniformly); ``"swapped"``: the chosen samples' targets are permuted among
        them (a cycle, so each gets another's; a swap between equal values is no corruption and
        is not counted); ``"mixed"``: half of each.
    shift : (float, float), default (2.0, 4.0)
        Range of an outlying shift, in standard deviations.
    random_state : int, numpy.random.Generator or None, default 0
        Seed.

    Returns
    -------
    corrupted : numpy.ndarray of float64
    is_corrupted : numpy.ndarray of bool

    Examples
    --------
    >>> y = np.arange(100, dtype=float)
    >>> y2, bad = corrupt_targets(y, 0.1, random_state=0)
    >>> int(bad.sum()), bool((y2[~bad] == y[~bad]).all()), bool((y2[bad] != y[bad]).all())
    (10, True, True)
    """
    check_choice(kind, "kind", CORRUPTIONS)
    if not 0 < rate < 1:
        raise ValueError(f"rate must be in (0, 1); got {rate}.")
    rng = check_random_state(random_state)
    y = np.asarray(targets, dtype=np.float64).copy()
    n = len(y)
    chosen = rng.choice(n, size=max(int(round(rate * n)), 2), replace=False)
    n_out = len(chosen) if kind == "outlying" else 0 if kind == "swapped" else len(chosen) // 2
    out, swap = chosen[:n_out], chosen[n_out:]
    y[out] += rng.choice([-1.0, 1.0], len(out)) * rng.uniform(*shift, len(out)) * y.std()
    if len(swap) > 1:
        y[swap] = np.asarray(targets, dtype=np.float64)[np.roll(swap, 1)]
    return y, y != np.asarray(targets, dtype=np.float64)
