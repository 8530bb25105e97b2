"""Rebalancing when a sample has several labels (a binary indicator matrix ``Y`` of shape (n, L)).

- :func:`multilabel_imbalance`: per-label counts and the imbalance measures of Charte et al.
  (IRLbl, MeanIR, CVIR, SCUMBLE for the co-occurrence of rare and frequent labels).
- :func:`pos_weight`: ``n_negative / n_positive`` per label, for ``BCEWithLogitsLoss``.
- :class:`MultilabelBalancedSampler`: draw a label by a rebalancing rule, then a sample that has
  it; a sample's chance is the sum over its labels, so co-occurrence is accounted for.
- :func:`mlsmote`: synthetic samples for rare labels (MLSMOTE, Charte et al. 2015).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

from datafix._validation import check_int, check_random_state
from datafix.balance.samplers import ClassBalancedSampler
from datafix.balance.schedules import Schedule, check_schedule
from datafix.data.multilabel import check_multilabel, multilabel_imbalance
from datafix.errors import DatafixWarning, InvalidInputError
from datafix.signals.neighbors import knn_graph


def pos_weight(Y: Any, *, dtype: torch.dtype = torch.float32, device: Any = None) -> torch.Tensor:
    """``n_negative / n_positive`` per label, for ``BCEWithLogitsLoss(pos_weight=...)``.

    A label that is never present gets 1.0 (it has no positive to weight) with a warning.

    Parameters
    ----------
    Y : array-like of shape (n, L)
        The 0/1 label matrix.
    dtype : torch.dtype, default torch.float32
        Dtype of the returned tensor.
    device : str or torch.device, optional
        Device of the returned tensor.

    Examples
    --------
    >>> [round(w, 2) for w in pos_weight([[1, 0], [0, 1], [0, 1], [0, 1]]).tolist()]
    [3.0, 0.33]
    >>> loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight([[1, 0], [0, 1]]))
    """
    Y = check_multilabel(Y)
    positives = Y.sum(axis=0).astype(np.float64)
    w = np.where(positives > 0, (len(Y) - positives) / np.maximum(positives, 1), 1.0)
    return torch.as_tensor(w, dtype=dtype, device=device)


class MultilabelBalancedSampler(Sampler[int]):
    """Label-first sampling for multilabel data: draw a label by a rebalancing rule, then one of
    the samples that carry it (uniformly).

    It is a :class:`ClassBalancedSampler` over (sample, label) pairs, so it takes the same
    ``weighting``, ``num_samples``, distributed and seeding arguments; a sample's chance is the
    sum of its labels' shares divided by their counts. Samples without a label are never drawn
    by label (a warning says how many).

    With a ``schedule``, the draw at an epoch is a mixture (progressively-balanced sampling,
    Kang et al. 2020): each position is a plain draw (every sample equally likely, unlabelled
    ones included) with chance ``1 - mix`` and a label-first draw with chance ``mix``; so a
    :class:`~datafix.balance.Deferred` schedule samples exactly as a shuffled loader until its
    switch. The default ``num_samples`` is then the number of samples, not of labelled ones.

    Parameters
    ----------
    Y : array-like of shape (n, L)
        The 0/1 label matrix.
    weighting : str, default "inverse"
        How labels are drawn, as in :class:`ClassBalancedSampler`.
    num_samples : int, optional
        Draws per epoch (default: n).
    schedule : Deferred or Progressive, optional
        Mixes plain and label-first draws by epoch (see above).
    **kwargs
        ``num_replicas``, ``rank``, ``drop_last``, ``seed`` and the other arguments of
        :class:`ClassBalancedSampler`.

    Examples
    --------
    >>> Y = np.array([[1, 0]] * 95 + [[1, 1]] * 5)
    >>> sampler = MultilabelBalancedSampler(Y, num_samples=2000)
    >>> drawn = sampler.indices()
    >>> bool(abs(Y[drawn, 1].mean() - 0.5) < 0.06)  # label 1 in about half the draws, not 5 %
    True
    """

    def __init__(self, Y: Any, *, weighting: str = "inverse", num_samples: int | None = None,
                 schedule: Schedule | None = None, **kwargs: Any) -> None:
        Y = check_multilabel(Y)
        self.schedule = check_schedule(schedule)
        if self.schedule is not None and not kwargs.get("replacement", True):
            raise InvalidInputError("MultilabelBalancedSampler takes a 'schedule' only with replacement=True: its "
                                    "plain part draws every sample with replacement.")
        rows, labels = np.nonzero(Y)
        self._pair_sample = rows
        self._n = len(Y)
        if num_samples is None:
            num_samples = self._n if self.schedule is not None else int(Y.any(axis=1).sum())
        with warnings.catch_warnings():  # absent labels were reported above, as labels
            warnings.filterwarnings("ignore", message="Classes .* have no samples", category=DatafixWarning)
            self._pairs = ClassBalancedSampler(labels, classes=np.arange(Y.shape[1]), weighting=weighting,
                                               num_samples=num_samples, **kwargs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self):
        return self._pairs._pass(lambda: self.indices().tolist())

    def set_epoch(self, epoch: int) -> None:
        """As in :class:`ClassBalancedSampler`."""
        self._pairs.set_epoch(epoch)

    @property
    def label_shares(self) -> np.ndarray:
        """Each label's share of the label-first draws (the whole draw without a schedule)."""
        return self._pairs.class_shares

    def mix(self, epoch: int | None = None) -> float:
        """The share of label-first draws at ``epoch`` (1 without a schedule)."""
        epoch = self._pairs.epoch if epoch is None else check_int(epoch, "epoch", minimum=0)
        return 1.0 if self.schedule is None else float(self.schedule.mix(epoch))

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's sample indices for ``epoch``."""
        epoch = self._pairs.epoch if epoch is None else check_int(epoch, "epoch", minimum=0)
        drawn = self._pair_sample[self._pairs.indices(epoch)]
        mix = self.mix(epoch)
        if mix >= 1.0:
            return drawn
        # the whole epoch's plain draws from (seed, epoch), then this rank's stride of them, so
        # the ranks' shares make up the single-process draw as the label-first part's do
        pairs = self._pairs
        total = pairs._per_rank * pairs.num_replicas
        rng = np.random.default_rng([pairs.seed, epoch, 0x706C61696E])
        plain = (rng.random(total) >= mix)[pairs.rank : total : pairs.num_replicas]
        uniform = rng.integers(0, self._n, total)[pairs.rank : total : pairs.num_replicas]
        return np.where(plain, uniform, drawn)


@dataclass(frozen=True)
class MLSMOTEResult:
    """New samples from :func:`mlsmote`: features, label rows, and parents (base, neighbour)."""

    X: np.ndarray
    Y: np.ndarray
    parents: np.ndarray
    minority_labels: np.ndarray


def mlsmote(X: Any, Y: Any, *, k_neighbors: int = 5, label_set: str = "ranking",
            random_state: int | np.random.Generator | None = None) -> MLSMOTEResult:
    """MLSMOTE (Charte et al. 2015): one synthetic sample per sample of each minority label.

    Minority labels are those with IRLbl above the mean (see :func:`multilabel_imbalance`). For
    every sample carrying one, a random one of its ``k`` nearest neighbours among the samples
    carrying that label is the second parent; features are interpolated at a uniform step.
    Labels: ``"ranking"`` keeps those carried by more than half of the sample and its
    neighbours, ``"union"`` / ``"intersection"`` of the two parents. ``k`` shrinks for labels
    with few samples; a label with a single sample gets a copy.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Features.
    Y : array-like of shape (n, L)
        The 0/1 label matrix.
    k_neighbors : int, default 5
        Neighbours among the samples carrying the minority label.
    label_set : {"ranking", "union", "intersection"}, default "ranking"
        How a synthetic sample's labels are chosen (see above).
    random_state : int, numpy.random.Generator or None
        Seed of the neighbour and step draws.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> Y = np.zeros((40, 2), dtype=int); Y[:, 0] = 1; Y[:4, 1] = 1
    >>> new = mlsmote(X, Y, k_neighbors=2, random_state=0)
    >>> new.X.shape, new.minority_labels.tolist(), bool(new.Y[:, 1].all())
    ((4, 3), [1], True)
    """
    from datafix._validation import check_choice

    X = np.asarray(X, dtype=np.float64)
    Y = check_multilabel(Y)
    if X.ndim != 2 or len(X) != len(Y):
        raise InvalidInputError(f"The 'X' argument must be (n, d) with n = {len(Y)} rows like Y; got {X.shape}.")
    if not np.isfinite(X).all():
        raise InvalidInputError("The 'X' argument has NaN or inf values.")
    k = check_int(k_neighbors, "k_neighbors", minimum=1)
    check_choice(label_set, "label_set", ("ranking", "union", "intersection"))
    rng = check_random_state(random_state)
    minority = np.flatnonzero(multilabel_imbalance(Y).minority)
    new_X, new_Y, parents = [], [], []
    for label in minority:
        bag = np.flatnonzero(Y[:, label])
        k_l = min(k, len(bag) - 1)
        if k_l == 0:
            new_X.append(X[bag])
            new_Y.append(Y[bag])
            parents.append(np.column_stack([bag, bag]))
            continue
        nns = bag[knn_graph(X[bag], k_l, standardize=False, knn_backend="exact").indices]  # (len(bag), k_l)
        pick = nns[np.arange(len(bag)), rng.integers(0, k_l, size=len(bag))]
        step = rng.random((len(bag), 1))
        new_X.append(X[bag] + step * (X[pick] - X[bag]))
        if label_set == "ranking":
            votes = Y[bag].astype(int) + Y[nns].sum(axis=1)
            labels = votes > (k_l + 1) / 2
        elif label_set == "union":
            labels = Y[bag] | Y[pick]
        else:
            labels = Y[bag] & Y[pick]
        labels[:, label] = True
        new_Y.append(labels)
        parents.append(np.column_stack([bag, pick]))
    d, n_labels = X.shape[1], Y.shape[1]
    return MLSMOTEResult(
        X=np.vstack(new_X) if new_X else np.zeros((0, d)),
        Y=np.vstack(new_Y) if new_Y else np.zeros((0, n_labels), dtype=bool),
        parents=np.vstack(parents) if parents else np.zeros((0, 2), dtype=np.int64),
        minority_labels=minority,
    )
