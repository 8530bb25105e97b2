"""Class rebalancing: samplers for DataLoaders, loss-side reweighting, schedules, resampling.

- :class:`ClassBalancedSampler`, :class:`BalancedBatchSampler`, :class:`EpochResampler`:
  ``torch`` samplers, DDP-aware, re-drawn every epoch; ``schedule=`` :class:`Deferred` or
  :class:`Progressive` moves from plain to balanced sampling.
- :func:`class_weights`, :class:`ClassWeightSchedule`, :func:`logit_adjustment`,
  :class:`LogitAdjustedLoss`: the loss side; :func:`adjust_logits`,
  :func:`tune_logit_adjustment`, :func:`tune_thresholds`: post-hoc fixes of a trained model.
- :class:`Resampler`: every imbalanced-learn sampler by name, with small-class guards;
  :class:`LazySMOTE`: SMOTE rows built on read; :func:`oversample`, :func:`undersample`:
  index-level views (:class:`ResampledDataset`).
- Regression: :func:`target_density`, :func:`density_weights` (LDS, DenseWeight),
  :class:`DensitySampler`; ``Resampler("smoter")`` and ``Resampler("gaussian_noise")``.
- Multilabel: :func:`multilabel_imbalance`, :func:`pos_weight`,
  :class:`MultilabelBalancedSampler`, :func:`mlsmote`.
"""

from datafix.balance.density import DensitySampler, density_weights, target_density
from datafix.balance.epoch_resampling import EpochResampler, LazySMOTE
from datafix.balance.logit_adjustment import LogitAdjustedLoss, class_priors, logit_adjustment
from datafix.balance.multilabel import (
    MultilabelBalancedSampler,
    mlsmote,
    multilabel_imbalance,
    pos_weight,
)
from datafix.balance.posthoc import adjust_logits, tune_logit_adjustment, tune_thresholds
from datafix.balance.samplers import BalancedBatchSampler, ClassBalancedSampler
from datafix.balance.schedules import ClassWeightSchedule, Deferred, Progressive
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
    "ClassWeightSchedule",
    "Deferred",
    "DensitySampler",
    "EpochResampler",
    "LazySMOTE",
    "LogitAdjustedLoss",
    "MultilabelBalancedSampler",
    "Progressive",
    "ResampledDataset",
    "Resampler",
    "adjust_logits",
    "available_resamplers",
    "class_priors",
    "class_weights",
    "density_weights",
    "logit_adjustment",
    "mlsmote",
    "multilabel_imbalance",
    "oversample",
    "pos_weight",
    "target_density",
    "tune_logit_adjustment",
    "tune_thresholds",
    "undersample",
]
