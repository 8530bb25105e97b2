"""Class-balanced samplers for ``torch.utils.data.DataLoader``, single-process or distributed.

Both samplers draw one epoch at a time, vectorised in NumPy (no per-sample Python), from a
generator seeded with ``(seed, epoch)``; under distributed training every rank computes the
same epoch and keeps its own strided share, so the shares are disjoint, equally long, and
together equal the single-process draw (with replacement, of ``num_samples`` rounded up to a
multiple of the number of ranks; without, padded with the epoch's first draws, as
``DistributedSampler`` pads). The class is drawn first and then a sample within it,
so the number of samples is not limited the way ``torch.multinomial`` (and so
``WeightedRandomSampler``) is, which refuses more than 2**24 categories.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler

from datafix._validation import check_choice, check_int
from datafix.balance.schedules import Schedule, check_schedule, mixed_weights
from datafix.balance.weights import METHODS, per_class_weights
from datafix.data.classes import class_codes, class_counts
from datafix.errors import InvalidInputError, InvalidTypeError, warn_user


def replicas(num_replicas: int | None = None, rank: int | None = None) -> tuple[int, int]:
    """``(num_replicas, rank)``: the given values, else ``torch.distributed``'s when it is
    initialised, else ``(1, 0)``.

    Examples
    --------
    >>> replicas(4, 1)
    (4, 1)
    """
    initialised = dist.is_available() and dist.is_initialized()
    if num_replicas is None:
        num_replicas = dist.get_world_size() if initialised else 1
    if rank is None:
        rank = dist.get_rank() if initialised else 0
    num_replicas = check_int(num_replicas, "num_replicas", minimum=1)
    rank = check_int(rank, "rank", minimum=0)
    if rank >= num_replicas:
        raise InvalidInputError(
            f"The 'rank' parameter must be in [0, {num_replicas - 1}] for num_replicas={num_replicas}; got {rank}."
        )
    return num_replicas, rank


class _EpochSampler:
    """Epoch bookkeeping shared by the samplers: a pass is ``indices()`` of the current epoch,
    ``_per_rank`` items long (a batch sampler overrides ``__iter__``)."""

    seed: int
    epoch: int = 0
    _per_rank: int
    _last_pass: int | None = None
    _warned_stale: bool = False

    def __len__(self) -> int:
        return self._per_rank

    def __iter__(self) -> Iterator[Any]:
        return self._pass(lambda: self.indices().tolist())

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; call it at the start of every epoch, as with ``DistributedSampler``.

        Without it every pass repeats epoch 0's draw and a schedule never moves; the second
        pass over the same epoch warns once.
        """
        self.epoch = check_int(epoch, "epoch", minimum=0)

    def _pass(self, draw: Callable[[], list[Any]]) -> Iterator[Any]:
        """One pass as a generator: the pass counts when its first item is asked for.

        A DataLoader with workers calls ``iter`` twice per epoch and reads one of them only, so
        an iterator that is never read must not count as a pass (it would warn at once).
        """
        self._note_pass()
        yield from draw()

    def _note_pass(self) -> None:
        if self._last_pass == self.epoch and not self._warned_stale:
            self._warned_stale = True
            warn_user(
                f"{type(self).__name__} is iterated again at epoch {self.epoch}: set_epoch(epoch) was not called, "
                "so this pass repeats the last draw" + (" and the schedule does not move" if getattr(self, "schedule", None)
                                                         else "") + ".")
        self._last_pass = self.epoch

    def _rng(self, epoch: int | None) -> np.random.Generator:
        epoch = self.epoch if epoch is None else check_int(epoch, "epoch", minimum=0)
        return np.random.default_rng([self.seed, epoch])


class ClassBalancedSampler(_EpochSampler, Sampler[int]):
    """Draw sample indices so that classes are balanced by a chosen rule.

    Each class gets a share of the epoch proportional to ``n_c * w_c`` (see
    ``datafix.balance.weights`` for the rules); within a class, samples are drawn uniformly
    or in proportion to ``sample_weights``.

    Parameters
    ----------
    labels : DataView, labelled torch Dataset, or array-like of shape (n,)
        One label per sample of the dataset the loader reads. Samples without a usable label
        (a DataView's broken samples) are never drawn.
    weighting : {"inverse", "sqrt", "power", "effective", "none"}, default "inverse"
        ``"inverse"`` gives every class the same share.
    temperature : float, default 2.0
        For ``"power"``: class shares proportional to ``n_c ** (1 / temperature)``.
    beta : float, default 0.999
        For ``"effective"`` (Cui et al. 2019).
    num_samples : int, optional
        Indices per epoch over all ranks. Default: the number of labelled samples.
    replacement : bool, default True
        With replacement, every draw is independent. Without, each class gets a fixed quota
        (its share of ``num_samples``, capped at its size, the rest spread over the other
        classes) filled with distinct samples, a fresh subset every epoch: per-epoch
        undersampling of the large classes.
    sample_weights : array-like of shape (n,) or Report, optional
        Non-negative per-sample weights inside each class, e.g. to draw samples with a doubtful
        label less often. A :class:`datafix.report.Report` of the same data uses its ``label_score``
        (0 for broken samples). They do not change the class shares.
    classes : array-like, optional
        The full class list; a listed class with no sample is never drawn (with a warning).
    num_replicas, rank : int, optional
        Distributed training: default from ``torch.distributed`` when it is initialised.
    drop_last : bool, default False
        Distributed: drop the tail so that ranks get ``floor(num_samples / num_replicas)``
        indices, instead of padding to ``ceil`` with repeats.
    seed : int, default 0
        The epoch's draw depends only on ``seed`` and the epoch (see ``set_epoch``).
    schedule : Deferred or Progressive, optional
        Move from plain (instance-balanced) sampling to ``weighting`` with the epoch; see
        ``datafix.balance.schedules``. Default: ``weighting`` from the first epoch.

    Examples
    --------
    >>> labels = [0] * 90 + [1] * 10
    >>> sampler = ClassBalancedSampler(labels, num_samples=1000)
    >>> drawn = np.asarray(labels)[sampler.indices()]
    >>> bool(abs(drawn.mean() - 0.5) < 0.05)
    True
    >>> from torch.utils.data import DataLoader
    >>> loader = DataLoader(list(range(100)), sampler=sampler, batch_size=50)
    """

    def __init__(
        self,
        labels: Any,
        *,
        weighting: str = "inverse",
        temperature: float = 2.0,
        beta: float = 0.999,
        num_samples: int | None = None,
        replacement: bool = True,
        sample_weights: Any = None,
        classes: Any = None,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
        seed: int = 0,
        schedule: Schedule | None = None,
    ) -> None:
        check_choice(weighting, "weighting", METHODS)
        self.schedule = check_schedule(schedule)
        self.seed = check_int(seed, "seed", minimum=0)
        self.replacement = bool(replacement)
        self.drop_last = bool(drop_last)
        self.num_replicas, self.rank = replicas(num_replicas, rank)
        codes, self.classes = class_codes(labels, classes)
        counts = class_counts(codes, self.classes)
        weights = _sample_weights(sample_weights, len(codes))
        usable = codes >= 0 if weights is None else (codes >= 0) & (weights > 0)
        self._order = np.flatnonzero(usable)[_stable_class_order(codes[usable], len(self.classes))]
        available = np.bincount(codes[self._order], minlength=len(self.classes))
        self._starts = np.concatenate([[0], np.cumsum(available)])
        silent = (counts > 0) & (available == 0)
        if silent.any():
            warn_user(
                f"Every sample of classes {self.classes[silent].tolist()[:10]} has weight 0; they are never drawn.")
        if not available.any():
            raise InvalidInputError("No sample can be drawn: every labelled sample has weight 0.")
        self._counts = counts
        self._class_weights = per_class_weights(counts, weighting, temperature=temperature, beta=beta)
        self._available = available
        self._aliases: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._weights = self._cum_weights = None
        if weights is not None and not np.all(weights[usable] == weights[usable][0]):
            self._weights = weights[self._order]
            self._cum_weights = np.cumsum(self._weights)
            self._max_weight = np.zeros(len(self.classes))
            np.maximum.at(self._max_weight, codes[self._order], self._weights)
        default = int(available.sum())
        self.num_samples = default if num_samples is None else check_int(num_samples, "num_samples", minimum=1)
        if not self.replacement and self.num_samples > default:
            raise InvalidInputError(
                f"The 'num_samples' parameter ({self.num_samples}) exceeds the {default} samples that can be "
                "drawn without replacement; lower it or set replacement=True."
            )
        per_rank = self.num_samples // self.num_replicas if self.drop_last else math.ceil(self.num_samples / self.num_replicas)
        if per_rank == 0:
            raise InvalidInputError(
                f"num_samples={self.num_samples} with drop_last=True leaves no sample for {self.num_replicas} replicas."
            )
        self._per_rank = per_rank

    @property
    def class_shares(self) -> np.ndarray:
        """Each class's expected share of the current epoch's draw."""
        return self.shares(self.epoch)

    def shares(self, epoch: int) -> np.ndarray:
        """Each class's expected share of the draw at ``epoch`` (it moves only with a schedule)."""
        mix = 1.0 if self.schedule is None else self.schedule.mix(epoch)
        share = self._counts * mixed_weights(self._class_weights, mix)
        share[self._available == 0] = 0.0
        return share / share.sum()

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one) as an int64 array."""
        epoch = self.epoch if epoch is None else check_int(epoch, "epoch", minimum=0)
        rng = self._rng(epoch)
        shares = self.shares(epoch)
        total = self._per_rank * self.num_replicas
        if self.replacement:
            drawn = self._draw_with_replacement(rng, total, shares)
        else:
            drawn = self._draw_without_replacement(rng, shares)
        return rank_share(drawn, total, self.rank, self.num_replicas)

    def _draw_with_replacement(self, rng: np.random.Generator, total: int, shares: np.ndarray) -> np.ndarray:
        # Walker's alias table picks the class in O(1) per draw; chunks that fit in cache keep
        # the temporaries out of main memory (10M draws in about 0.3 s on 2 cores).
        key = shares.tobytes()
        if key not in self._aliases:
            if len(self._aliases) > 64:
                self._aliases.clear()
            self._aliases[key] = _alias_table(shares)
        prob, alias = self._aliases[key]
        n_classes = len(prob)
        out = np.empty(total, dtype=np.int64)
        for s0 in range(0, total, _CHUNK):
            m = min(_CHUNK, total - s0)
            u = rng.random(m) * n_classes
            j = np.minimum(u.astype(np.int64), n_classes - 1)
            cls = np.where(u - j < prob[j], j, alias[j])
            out[s0 : s0 + m] = self._order[self._within_class(rng, cls)]
        return out

    def _within_class(self, rng: np.random.Generator, cls: np.ndarray) -> np.ndarray:
        """A position in ``_order`` inside each given class: uniform, or by sample weight."""
        start, size = self._starts[cls], self._available[cls]
        pos = start + np.minimum((rng.random(len(cls)) * size).astype(np.int64), size - 1)
        if self._weights is None:
            return pos
        # rejection: accept a uniform candidate with probability w / max w of its class
        pending = np.arange(len(cls))
        for _ in range(_REJECTION_ROUNDS):
            accept = rng.random(len(pending)) * self._max_weight[cls[pending]] < self._weights[pos[pending]]
            pending = pending[~accept]
            if not len(pending):
                return pos
            c = cls[pending]
            pos[pending] = self._starts[c] + np.minimum(
                (rng.random(len(pending)) * self._available[c]).astype(np.int64), self._available[c] - 1
            )
        # very uneven weights: the rest by inverting the cumulative weights
        c = cls[pending]
        before = np.concatenate([[0.0], self._cum_weights])
        low, high = before[self._starts[c]], before[self._starts[c] + self._available[c]]
        found = np.searchsorted(self._cum_weights, low + rng.random(len(c)) * (high - low), side="right")
        pos[pending] = np.clip(found, self._starts[c], self._starts[c] + self._available[c] - 1)
        return pos

    def _draw_without_replacement(self, rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
        quota = _quotas(self.num_samples, shares, self._available)
        u = rng.random(len(self._order))
        # Efraimidis-Spirakis: with weights, the largest u ** (1 / w) win
        key = u if self._weights is None else 1.0 - u ** (1.0 / self._weights)
        chosen = lowest_keys_per_class(self._order, self._available, self._starts, quota, key)
        return chosen[rng.permutation(len(chosen))]


class BalancedBatchSampler(_EpochSampler, Sampler[list[int]]):
    """Batches of ``classes_per_batch`` distinct classes x ``samples_per_class`` samples each.

    The usual sampler for metric learning and supervised contrastive training (P x K batches).
    Each class's samples are dealt out in a shuffled cycle, so within an epoch a class's
    samples are used evenly and a batch never repeats a sample of a class that has at least
    ``samples_per_class`` of them.

    Parameters
    ----------
    labels : DataView, labelled torch Dataset, or array-like of shape (n,)
    classes_per_batch : int
        Distinct classes per batch (P).
    samples_per_class : int
        Samples per class in a batch (K).
    num_batches : int, optional
        Batches per epoch over all ranks. Default: labelled samples // batch size (at least 1).
    small_classes : {"repeat", "drop"}, default "repeat"
        Classes with fewer than ``samples_per_class`` samples: ``"repeat"`` cycles their samples
        to fill the slots (a warning names them); ``"drop"`` never picks them.
    classes : array-like, optional
        The full class list (a listed class with no sample is never picked).
    num_replicas, rank : int, optional
        Distributed training: every rank gets its own ``len(sampler)`` batches.
    seed : int, default 0

    Examples
    --------
    >>> sampler = BalancedBatchSampler([0, 0, 0, 1, 1, 1, 2, 2, 2], classes_per_batch=2, samples_per_class=2)
    >>> batch = next(iter(sampler))
    >>> len(batch), len({[0, 0, 0, 1, 1, 1, 2, 2, 2][i] for i in batch})
    (4, 2)
    """

    def __init__(
        self,
        labels: Any,
        classes_per_batch: int,
        samples_per_class: int,
        *,
        num_batches: int | None = None,
        small_classes: str = "repeat",
        classes: Any = None,
        num_replicas: int | None = None,
        rank: int | None = None,
        seed: int = 0,
    ) -> None:
        self.classes_per_batch = check_int(classes_per_batch, "classes_per_batch", minimum=1)
        self.samples_per_class = check_int(samples_per_class, "samples_per_class", minimum=1)
        self.small_classes = check_choice(small_classes, "small_classes", ("repeat", "drop"))
        self.seed = check_int(seed, "seed", minimum=0)
        self.num_replicas, self.rank = replicas(num_replicas, rank)
        codes, self.classes = class_codes(labels, classes)
        counts = class_counts(codes, self.classes)
        m = self.samples_per_class
        small = (counts > 0) & (counts < m)
        if self.small_classes == "drop":
            eligible = counts >= m
            reason = f"at least samples_per_class={m} samples"
        else:
            eligible = counts > 0
            reason = "samples"
            if small.any():
                warn_user(
                    f"Classes {self.classes[small].tolist()[:10]} have fewer than samples_per_class={m} samples; "
                    "their samples repeat within a batch (small_classes='drop' leaves them out).")
        if eligible.sum() < self.classes_per_batch:
            raise InvalidInputError(
                f"The 'classes_per_batch' parameter is {self.classes_per_batch} but only {int(eligible.sum())} "
                f"classes have {reason} (largest class: {int(counts.max())})."
            )
        self._eligible = np.flatnonzero(eligible)
        labelled = codes >= 0
        self._order = np.flatnonzero(labelled)[_stable_class_order(codes[labelled], len(self.classes))]
        self._counts = counts
        self._starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
        batch = self.classes_per_batch * m
        default = max(1, int(counts[eligible].sum()) // batch)
        total = default if num_batches is None else check_int(num_batches, "num_batches", minimum=1)
        self.num_batches = total
        self._per_rank = math.ceil(total / self.num_replicas)

    def __iter__(self) -> Iterator[list[int]]:
        return self._pass(lambda: self.batches().tolist())

    def batches(self, epoch: int | None = None) -> np.ndarray:
        """This rank's batches for ``epoch`` as an int64 array of shape (len(self), P * K)."""
        rng = self._rng(epoch)
        n_batches = self._per_rank * self.num_replicas
        p, m, n_eligible = self.classes_per_batch, self.samples_per_class, len(self._eligible)
        cls = self._eligible[_distinct_choices(rng, n_batches, p, n_eligible).ravel()]
        # the t-th time a class is picked in the epoch, it deals items t*m .. t*m+m-1 of its cycle
        by_class = np.argsort(cls, kind="stable")
        first = np.searchsorted(cls[by_class], cls[by_class], side="left")
        turn = np.empty_like(cls)
        turn[by_class] = np.arange(len(cls)) - first
        size = self._counts[cls]
        item = (turn[:, None] * m + np.arange(m)[None, :]) % size[:, None]
        shuffled = self._shuffled_order(rng)
        out = shuffled[self._starts[cls][:, None] + item].reshape(n_batches, p * m)
        return out[self.rank :: self.num_replicas]

    def _shuffled_order(self, rng: np.random.Generator) -> np.ndarray:
        cls = np.repeat(np.arange(len(self._counts)), self._counts)
        return self._order[_sort_within_classes(cls, rng.random(len(cls)))]


_KEY_BITS = 40
_CHUNK = 1 << 16
_REJECTION_ROUNDS = 16


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table: draw ``j`` uniformly, keep it with ``prob[j]``, else ``alias[j]``."""
    k = len(p)
    scaled = np.asarray(p, dtype=np.float64) * k / p.sum()
    prob, alias = np.ones(k), np.arange(k)
    small = [i for i in range(k) if scaled[i] < 1.0]
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] += scaled[s] - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    for i in small:  # a leftover from rounding: keep it only if it can be drawn at all
        if p[i] <= 0:
            prob[i], alias[i] = 0.0, int(np.argmax(p))
    return prob, alias


def _sort_within_classes(cls: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Order that groups ``cls`` (ascending) and sorts by ``key`` in [0, 1] inside each group.

    One int64 sort: the class in the high bits, the key quantised to 40 bits in the low ones
    (a float sum ``cls + key`` could round a key near 1 into the next class).
    """
    if len(cls) and cls.max() >= 1 << (62 - _KEY_BITS):
        return np.lexsort((key, cls))
    scale = float(1 << _KEY_BITS)
    quantised = np.minimum((key * scale).astype(np.int64), (1 << _KEY_BITS) - 1)
    return np.argsort((cls.astype(np.int64) << _KEY_BITS) | quantised)


def lowest_keys_per_class(order: np.ndarray, counts: np.ndarray, starts: np.ndarray, quota: np.ndarray,
                          key: np.ndarray) -> np.ndarray:
    """The entries of a class-grouped ``order`` (``counts[c]`` entries of class c from ``starts[c]``)
    with the ``quota[c]`` smallest ``key`` values of each class c."""
    cls = np.repeat(np.arange(len(counts)), counts)
    ranked = _sort_within_classes(cls, key)
    return order[ranked[np.arange(len(ranked)) - starts[cls] < quota[cls]]]


def rank_share(drawn: np.ndarray, total: int, rank: int, num_replicas: int) -> np.ndarray:
    """This rank's strided share of an epoch's ``drawn`` indices, padded to ``total`` with the
    epoch's first draws (as ``DistributedSampler`` pads)."""
    if total > len(drawn):
        drawn = np.concatenate([drawn, np.resize(drawn, total - len(drawn))])
    return drawn[rank:total:num_replicas]


def _stable_class_order(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Stable argsort of class codes (a radix sort when the codes fit in int16)."""
    return np.argsort(codes.astype(np.int16) if n_classes < 1 << 15 else codes, kind="stable")


def _distinct_choices(rng: np.random.Generator, rows: int, p: int, n: int) -> np.ndarray:
    """``rows`` x ``p`` draws from ``range(n)``, distinct within a row, uniform over such rows."""
    if p * p <= n:  # few collisions: draw with replacement, redraw the rows that collide
        out = rng.integers(0, n, size=(rows, p))
        while True:
            ordered = np.sort(out, axis=1)
            bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
            if not len(bad):
                return out
            out[bad] = rng.integers(0, n, size=(len(bad), p))
    picked = np.empty((rows, p), dtype=np.int64)
    step = max(1, (1 << 22) // n)
    for s in range(0, rows, step):  # the p smallest of a row of random keys
        keys = rng.random((min(step, rows - s), n))
        picked[s : s + step] = np.argpartition(keys, p - 1, axis=1)[:, :p] if p < n else keys.argsort(axis=1)
    return picked


def _never_empty(cls: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Guard against a float edge at a share boundary landing on a class with no samples."""
    bad = available[cls] == 0
    if bad.any():
        cls = cls.copy()
        cls[bad] = np.flatnonzero(available > 0)[0]
    return cls


def _quotas(total: int, share: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Integer quotas summing to ``total``, proportional to ``share``, each capped at ``available``."""
    quota = np.zeros(len(share), dtype=np.int64)
    while (left := total - int(quota.sum())) > 0:
        room = available - quota
        active = (room > 0) & (share > 0)
        if not active.any():
            active = room > 0  # classes with zero share fill what the others cannot
            share = np.where(active, 1.0, 0.0)
        ideal = left * share[active] / share[active].sum()
        add = np.minimum(np.floor(ideal).astype(np.int64), room[active])
        if add.sum() == 0:  # hand out the remainder by the largest fractional parts
            best = np.argsort(-(ideal - np.floor(ideal)), kind="stable")[:left]
            add[best] = 1
        quota[active] += add
    return quota


def _sample_weights(sample_weights: Any, n: int) -> np.ndarray | None:
    if sample_weights is None:
        return None
    from datafix.report import Report

    if isinstance(sample_weights, Report):
        if "label_score" not in sample_weights.issues:
            raise InvalidInputError("The 'sample_weights' report has no 'label_score' column; run the label check.")
        sample_weights = sample_weights.issues["label_score"].fillna(0.0).to_numpy()
    try:
        w = np.asarray(sample_weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidTypeError("The 'sample_weights' argument must be numbers or a datafix Report.") from None
    if w.shape != (n,):
        raise InvalidInputError(f"The 'sample_weights' argument must have shape ({n},) like the labels; got {w.shape}.")
    if not np.isfinite(w).all():
        raise InvalidInputError(f"The 'sample_weights' argument has {int((~np.isfinite(w)).sum())} NaN or inf values.")
    if (w < 0).any():
        raise InvalidInputError(f"The 'sample_weights' argument has {int((w < 0).sum())} negative values.")
    if not (w > 0).any():
        raise InvalidInputError("The 'sample_weights' argument is all zeros; no sample could be drawn.")
    return w
