"""Resampling re-drawn every epoch: a Sampler for over/under-sampling and a lazy SMOTE Dataset.

A subset frozen for the whole training throws away the same majority samples every epoch; these
draw a new one from ``(seed, epoch)`` at each :meth:`set_epoch`. Nothing is copied: the sampler
yields source indices, and :class:`LazySMOTE` keeps one ``(row, neighbour, step)`` triple per
synthetic sample (12 bytes, whatever the number of features) and builds the row when it is read.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from datafix._tensors import shared_tensor
from datafix._validation import check_choice, check_int, py_value, sampling_targets
from datafix.balance.samplers import (
    _EpochSampler,
    _stable_class_order,
    lowest_keys_per_class,
    rank_share,
    replicas,
)
from datafix.data.classes import class_codes, class_counts
from datafix.errors import InvalidInputError, warn_user
from datafix.signals.neighbors import knn_graph


class EpochResampler(_EpochSampler, Sampler[int]):
    """Random over- or under-sampling as a Sampler, re-drawn every epoch.

    Parameters
    ----------
    labels : DataView, labelled torch Dataset, or array-like of shape (n,)
    kind : {"under", "over"}, default "under"
        ``"under"`` keeps a fresh random subset of the large classes every epoch; ``"over"``
        keeps every sample and adds fresh random repeats of the small ones.
    sampling_strategy : float, str, dict or callable, default "auto"
        As in imbalanced-learn's ``RandomUnderSampler`` / ``RandomOverSampler``.
    num_replicas, rank : int, optional
        Distributed training, as in :class:`~datafix.balance.ClassBalancedSampler`.
    seed : int, default 0

    Examples
    --------
    >>> sampler = EpochResampler([0] * 8 + [1] * 2, kind="under")
    >>> first, second = sampler.indices(0), sampler.indices(1)
    >>> len(first), sorted(first[first >= 8].tolist())
    (4, [8, 9])
    """

    def __init__(self, labels: Any, kind: str = "under", *, sampling_strategy: Any = "auto",
                 num_replicas: int | None = None, rank: int | None = None, seed: int = 0) -> None:
        self.kind = check_choice(kind, "kind", ("under", "over"))
        self.seed = check_int(seed, "seed", minimum=0)
        self.num_replicas, self.rank = replicas(num_replicas, rank)
        codes, self.classes = class_codes(labels, None)
        counts = class_counts(codes, self.classes, warn_empty=False)
        labelled = codes >= 0
        self._order = np.flatnonzero(labelled)[_stable_class_order(codes[labelled], len(self.classes))]
        self._counts = counts
        self._starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
        self._change = sampling_targets(sampling_strategy, codes, self.kind)
        self.num_samples = int(self._change.sum() if self.kind == "under" else counts.sum() + self._change.sum())
        self._per_rank = math.ceil(self.num_samples / self.num_replicas)

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one)."""
        rng = self._rng(epoch)
        if self.kind == "under":
            drawn = lowest_keys_per_class(self._order, self._counts, self._starts, self._change,
                                          rng.random(len(self._order)))
        else:
            extra_cls = np.repeat(np.arange(len(self._counts)), self._change)
            pos = self._starts[extra_cls] + (rng.random(len(extra_cls)) * self._counts[extra_cls]).astype(np.int64)
            drawn = np.concatenate([self._order, self._order[pos]])
        drawn = drawn[rng.permutation(len(drawn))]
        return rank_share(drawn, self._per_rank * self.num_replicas, self.rank, self.num_replicas)


class LazySMOTE(Dataset):
    """SMOTE as a torch Dataset: the original rows, then synthetic rows built when read.

    Each synthetic sample is a triple (base row, neighbour row, step) of its class, drawn as
    SMOTE draws it (a uniform base row, one of its ``k`` nearest same-class rows, a uniform step)
    from ``(seed, epoch)``; :meth:`set_epoch` draws a new set. A class with a single sample is
    oversampled by copies of it (step 0), and ``k`` shrinks for classes with ``k`` or fewer
    samples, with a warning naming them.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Numeric features (not copied if already a float array).
    y : array-like of shape (n,)
    sampling_strategy : float, str, dict or callable, default "auto"
        As in imbalanced-learn's SMOTE.
    k_neighbors : int, default 5
    seed : int, default 0

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    >>> data = LazySMOTE(X, [0, 0, 0, 1, 1], k_neighbors=1)
    >>> len(data), data.is_synthetic(5)
    (6, True)
    >>> x, label = data[5]
    >>> label, bool(10.0 <= float(x[0]) <= 11.0)
    (1, True)
    """

    def __init__(self, X: Any, y: Any, *, sampling_strategy: Any = "auto", k_neighbors: int = 5, seed: int = 0) -> None:
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype.kind not in "fiu":
            raise InvalidInputError(f"The 'X' argument must be a 2-D numeric array; got {X.dtype} {X.shape}.")
        if not np.isfinite(X).all():
            raise InvalidInputError("The 'X' argument has NaN or inf values; impute or drop them first.")
        codes, self.classes = class_codes(y, None, name="y")
        if len(codes) != len(X):
            raise InvalidInputError(f"The 'y' argument has {len(codes)} labels for {len(X)} rows of X.")
        self.X, self.codes = X, codes
        self.seed = check_int(seed, "seed", minimum=0)
        self.epoch = 0
        k = check_int(k_neighbors, "k_neighbors", minimum=1)
        add = sampling_targets(sampling_strategy, codes, "over")
        self._members, self._neighbours, self._add = {}, {}, {}
        lowered = {}
        for c in np.flatnonzero(add):
            members = np.flatnonzero(codes == c)
            k_c = min(k, len(members) - 1)
            if k_c < k:
                lowered[py_value(self.classes[c])] = k_c
            self._members[c] = members
            self._add[c] = int(add[c])
            self._neighbours[c] = (
                members[knn_graph(X[members], k_c, standardize=False, knn_backend="exact").indices] if k_c > 0
                else members[:, None]  # a single sample: its own "neighbour", step 0
            )
        if lowered:
            warn_user(f"LazySMOTE: classes with too few samples for k_neighbors={k} use fewer neighbours "
                          f"(class: k): {lowered}; a one-sample class is copied.")
        self.n_synthetic = int(sum(self._add.values()))
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the synthetic triples of ``epoch`` (call before the epoch's DataLoader iterator)."""
        self.epoch = check_int(epoch, "epoch", minimum=0)
        rng = np.random.default_rng([self.seed, self.epoch])
        base, neighbour, step = [], [], []
        for c, m in self._add.items():
            members, nns = self._members[c], self._neighbours[c]
            rows = rng.integers(0, len(members), size=m)
            cols = rng.integers(0, nns.shape[1], size=m)
            base.append(members[rows])
            neighbour.append(nns[rows, cols])
            step.append(rng.random(m) if nns.shape[1] and len(members) > 1 else np.zeros(m))
        self._base = np.concatenate(base).astype(np.int32) if base else np.zeros(0, np.int32)
        self._neighbour = np.concatenate(neighbour).astype(np.int32) if base else np.zeros(0, np.int32)
        self._step = np.concatenate(step).astype(np.float32) if base else np.zeros(0, np.float32)

    def __len__(self) -> int:
        return len(self.X) + self.n_synthetic

    def is_synthetic(self, i: int) -> bool:
        """Whether item ``i`` is synthetic."""
        return i >= len(self.X)

    def parents(self, i: int) -> tuple[int, int, float]:
        """``(base row, neighbour row, step)`` of synthetic item ``i``."""
        t = i - len(self.X)
        if not 0 <= t < self.n_synthetic:
            raise IndexError(f"item {i} is not synthetic")
        return int(self._base[t]), int(self._neighbour[t]), float(self._step[t])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        if i < 0:
            i += len(self)
        if i < len(self.X):
            row, label = self.X[i], self.classes[self.codes[i]]
        else:
            b, nb, step = self.parents(i)
            row = self.X[b] + step * (self.X[nb] - self.X[b])
            label = self.classes[self.codes[b]]
        return shared_tensor(np.asarray(row, dtype=np.float32)), py_value(label)
