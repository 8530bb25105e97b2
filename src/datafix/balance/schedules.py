"""When to rebalance: schedules that move from instance-balanced to class-balanced with the epoch.

Static class balancing from the first epoch often hurts representation learning; deferring it
(DRS / DRW, Cao et al. 2019) or moving to it progressively (Kang et al. 2020) works better.
A schedule maps an epoch to a *mix* in [0, 1]: a class's per-sample weight is ``w_c ** mix``,
so mix 0 is plain instance-balanced training and mix 1 is the full rebalancing rule. Samplers
and :class:`ClassWeightSchedule` read it at every ``set_epoch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from datafix._validation import check_int
from datafix.balance.weights import per_class_weights
from datafix.data.classes import class_codes, class_counts
from datafix.errors import InvalidInputError, InvalidTypeError


@dataclass(frozen=True)
class Deferred:
    """Plain until ``start_epoch``, then fully rebalanced (deferred re-sampling / re-weighting).

    Parameters
    ----------
    start_epoch : int
        First rebalanced epoch (0-based).
    num_epochs : int, optional
        The length of training, to check that the switch happens at all.

    Examples
    --------
    >>> [Deferred(2).mix(e) for e in range(4)]
    [0.0, 0.0, 1.0, 1.0]
    """

    start_epoch: int
    num_epochs: int | None = None

    def __post_init__(self) -> None:
        check_int(self.start_epoch, "start_epoch", minimum=0)
        if self.num_epochs is not None and self.start_epoch >= check_int(self.num_epochs, "num_epochs", minimum=1):
            raise InvalidInputError(
                f"The 'start_epoch' parameter ({self.start_epoch}) is not below num_epochs ({self.num_epochs}): "
                "rebalancing would never start."
            )

    def mix(self, epoch: int) -> float:
        """0 before ``start_epoch``, 1 from it on."""
        return 1.0 if epoch >= self.start_epoch else 0.0


@dataclass(frozen=True)
class Progressive:
    """From plain at ``start_epoch`` to fully rebalanced at ``end_epoch``, linearly in the exponent.

    With inverse-frequency weighting, class shares go as ``n_c ** (1 - t)``, ``t`` moving from 0
    to 1: the power that moves with the epoch.

    Parameters
    ----------
    end_epoch : int
        First fully rebalanced epoch.
    start_epoch : int, default 0
        Last plain epoch.
    num_epochs : int, optional
        The length of training, to check that the schedule completes.

    Examples
    --------
    >>> [Progressive(4).mix(e) for e in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """

    end_epoch: int
    start_epoch: int = 0
    num_epochs: int | None = None

    def __post_init__(self) -> None:
        check_int(self.start_epoch, "start_epoch", minimum=0)
        check_int(self.end_epoch, "end_epoch", minimum=self.start_epoch + 1)
        if self.num_epochs is not None and self.end_epoch > check_int(self.num_epochs, "num_epochs", minimum=1):
            raise InvalidInputError(
                f"The 'end_epoch' parameter ({self.end_epoch}) is beyond num_epochs ({self.num_epochs}): the schedule "
                "would never reach full rebalancing."
            )

    def mix(self, epoch: int) -> float:
        """The share of the way from plain (0) to rebalanced (1) at ``epoch``."""
        return float(np.clip((epoch - self.start_epoch) / (self.end_epoch - self.start_epoch), 0.0, 1.0))


Schedule = Deferred | Progressive


def check_schedule(schedule: Any) -> Schedule | None:
    """Return ``schedule`` if it is None or a schedule, else raise naming the argument."""
    if schedule is None or isinstance(schedule, (Deferred, Progressive)):
        return schedule
    raise InvalidTypeError(f"The 'schedule' argument must be Deferred, Progressive or None; got {type(schedule).__name__}.")


def mixed_weights(weights: np.ndarray, mix: float) -> np.ndarray:
    """``weights ** mix`` where a class has weight, 0 elsewhere (``0 ** 0`` would give 1)."""
    return np.where(weights > 0, np.power(np.where(weights > 0, weights, 1.0), mix), 0.0)


class ClassWeightSchedule:
    """Class weights for a loss that follow a schedule (deferred re-weighting, DRW).

    Parameters
    ----------
    labels : DataView, labelled torch Dataset, or array-like
    weighting : str, default "effective"
        As in :func:`~datafix.balance.class_weights`.
    schedule : Deferred or Progressive
    beta, temperature, classes
        As in :func:`~datafix.balance.class_weights`.

    Examples
    --------
    >>> drw = ClassWeightSchedule([0] * 9 + [1], weighting="inverse", schedule=Deferred(1))
    >>> drw(0).tolist(), [round(w, 2) for w in drw(1).tolist()]
    ([1.0, 1.0], [0.2, 1.8])
    >>> loss_fn = torch.nn.CrossEntropyLoss(weight=drw(1))  # rebuild it at each epoch
    """

    def __init__(self, labels: Any, weighting: str = "effective", *, schedule: Schedule, beta: float = 0.999,
                 temperature: float = 2.0, classes: Any = None) -> None:
        if check_schedule(schedule) is None:
            raise InvalidInputError("The 'schedule' argument is required (Deferred(...) or Progressive(...)).")
        self.schedule = schedule
        codes, self.classes = class_codes(labels, classes)
        self._counts = class_counts(codes, self.classes)
        self._weights = per_class_weights(self._counts, weighting, temperature=temperature, beta=beta)

    def __call__(self, epoch: int, *, dtype: torch.dtype = torch.float32, device: Any = None) -> torch.Tensor:
        """Weights for ``epoch`` (mean 1 over the classes that have samples)."""
        w = mixed_weights(self._weights, self.schedule.mix(check_int(epoch, "epoch", minimum=0)))
        w = w / w[self._counts > 0].mean()
        return torch.as_tensor(w, dtype=dtype, device=device)
