"""Index-level over- and under-sampling: a torch Dataset view over the source, no data copied."""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from torch.utils.data import Dataset

from datafix.data.classes import class_codes
from datafix.errors import InvalidInputError


class ResampledDataset(Dataset):
    """``dataset[indices[i]]`` for every i: repeats and omissions of a source's samples.

    Parameters
    ----------
    dataset : map-style torch Dataset (or any object with ``__getitem__``)
        The source; it is never copied or changed.
    indices : array-like of int
        Source positions, in output order; repeats allowed.

    Examples
    --------
    >>> view = ResampledDataset(["a", "b", "c"], [2, 2, 0])
    >>> len(view), view[1], view.indices.tolist()
    (3, 'c', [2, 2, 0])
    """

    def __init__(self, dataset: Any, indices: Any) -> None:
        idx = np.asarray(indices)
        if idx.ndim != 1 or (len(idx) and idx.dtype.kind not in "iu"):
            raise InvalidInputError(f"The 'indices' argument must be a 1-D array of ints; got {idx.dtype} {idx.shape}.")
        size = len(dataset) if hasattr(dataset, "__len__") else None
        if len(idx) and size is not None and (idx.min() < 0 or idx.max() >= size):
            raise InvalidInputError(f"The 'indices' argument must lie in [0, {size - 1}] for this dataset.")
        self.dataset = dataset
        self._indices = idx.astype(np.int64)
        self._indices.flags.writeable = False

    @property
    def indices(self) -> np.ndarray:
        """Source positions (read-only)."""
        return self._indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[int(self._indices[i])]


def oversample(dataset: Any, labels: Any = None, *, sampling_strategy: Any = "auto",
               random_state: int | None = None) -> ResampledDataset:
    """Repeat samples of small classes (``imblearn``'s ``RandomOverSampler`` on indices).

    Parameters
    ----------
    dataset : map-style torch Dataset
        The source; never copied.
    labels : array-like, DataView or None
        One label per sample; default: the dataset's ``targets`` or ``labels`` attribute.
        Samples without a usable label (a DataView's broken ones) are left out.
    sampling_strategy : float, str, dict or callable, default "auto"
        As in imbalanced-learn: "auto" brings every class up to the largest.
    random_state : int, optional
        Seed of the draw.

    Returns
    -------
    ResampledDataset

    Examples
    --------
    >>> view = oversample(list("aaab"), labels=[0, 0, 0, 1], random_state=0)
    >>> sorted(view[i] for i in range(len(view)))
    ['a', 'a', 'a', 'b', 'b', 'b']
    """
    return _resample(RandomOverSampler, dataset, labels, sampling_strategy, random_state)


def undersample(dataset: Any, labels: Any = None, *, sampling_strategy: Any = "auto",
                random_state: int | None = None) -> ResampledDataset:
    """Keep a random subset of large classes (``imblearn``'s ``RandomUnderSampler`` on indices).

    Parameters
    ----------
    dataset : map-style torch Dataset
        The source; never copied.
    labels : array-like, DataView or None
        One label per sample; default: the dataset's ``targets`` or ``labels`` attribute.
    sampling_strategy : float, str, dict or callable, default "auto"
        As in imbalanced-learn: "auto" brings every class down to the smallest.
    random_state : int, optional
        Seed of the draw.

    Examples
    --------
    >>> view = undersample(list("aaab"), labels=[0, 0, 0, 1], random_state=0)
    >>> sorted(view[i] for i in range(len(view)))
    ['a', 'b']
    """
    return _resample(RandomUnderSampler, dataset, labels, sampling_strategy, random_state)


def _resample(cls, dataset, labels, sampling_strategy, random_state) -> ResampledDataset:
    codes, _ = class_codes(dataset if labels is None else labels)
    if hasattr(dataset, "__len__") and len(codes) != len(dataset):
        raise InvalidInputError(f"The 'labels' argument has {len(codes)} labels for a dataset of {len(dataset)}.")
    usable = np.flatnonzero(codes >= 0)
    if len(np.unique(codes[usable])) < 2:
        raise InvalidInputError("Resampling needs at least 2 classes with samples.")
    sampler = cls(sampling_strategy=sampling_strategy, random_state=random_state)
    sampler.fit_resample(usable.reshape(-1, 1), codes[usable])
    return ResampledDataset(dataset, usable[sampler.sample_indices_])
