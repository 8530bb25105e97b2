"""Class rebalancing: samplers for DataLoaders, loss-side reweighting, and resampling.

- :class:`ClassBalancedSampler` and :class:`BalancedBatchSampler`: ``torch`` samplers, DDP-aware.
- :func:`class_weights`, :func:`logit_adjustment`, :class:`LogitAdjustedLoss`: the loss side.
"""

from datafix.balance.logit_adjustment import LogitAdjustedLoss, class_priors, logit_adjustment
from datafix.balance.samplers import BalancedBatchSampler, ClassBalancedSampler
from datafix.balance.weights import class_weights

__all__ = [
    "BalancedBatchSampler",
    "ClassBalancedSampler",
    "LogitAdjustedLoss",
    "class_priors",
    "class_weights",
    "logit_adjustment",
]
