"""Class rebalancing: samplers for DataLoaders, loss-side reweighting, and resampling.

- :class:`ClassBalancedSampler` and :class:`BalancedBatchSampler`: ``torch`` samplers, DDP-aware.
- :func:`class_weights`, :func:`logit_adjustment`, :class:`LogitAdjustedLoss`: the loss side.
- :class:`Resampler`: every imbalanced-learn sampler by name, with small-class guards.
- :func:`oversample`, :func:`undersample`: index-level views (:class:`ResampledDataset`).
"""

from datafix.balance.logit_adjustment import LogitAdjustedLoss, class_priors, logit_adjustment
from datafix.balance.samplers import BalancedBatchSampler, ClassBalancedSampler
from datafix.balance.weights import class_weights

# imbalanced-learn takes about a second to import: load its wrappers on first use
_LAZY = {
    "Resampler": "datafix.balance.resample",
    "available_resamplers": "datafix.balance.resample",
    "ResampledDataset": "datafix.balance.views",
    "oversample": "datafix.balance.views",
    "undersample": "datafix.balance.views",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'datafix.balance' has no attribute {name!r}")

__all__ = [
    "BalancedBatchSampler",
    "ClassBalancedSampler",
    "LogitAdjustedLoss",
    "ResampledDataset",
    "Resampler",
    "available_resamplers",
    "class_priors",
    "class_weights",
    "logit_adjustment",
    "oversample",
    "undersample",
]
