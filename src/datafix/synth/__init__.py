"""Synthetic samples that are useful, traceable and measured.

- :class:`TorchSMOTE`: SMOTE on CPU or GPU with imbalanced-learn's semantics; for the rest of
  the SMOTE family (BorderlineSMOTE, ADASYN, SMOTENC) use :class:`datafix.balance.Resampler`.
- :class:`GaussianCopulaGenerator` (fast default) and :class:`ConditionalVAEGenerator`:
  class-conditional generators for DataFrames, ``fit(df, labels=...)``, ``sample(n, label=...)``.
- :class:`AugmentedOversampler`: virtual image samples from (source, seed) recipes, with
  optional intra-class mixup.
- :func:`evaluate`: TSTR vs TRTR, column distances, correlation difference, distance to the
  closest real row, real-vs-synthetic AUC.
"""

from datafix.synth.copula import GaussianCopulaGenerator
from datafix.synth.evaluate import SynthQuality, evaluate
from datafix.synth.images import AugmentedOversampler, KeyedOversampler
from datafix.synth.smote import SyntheticRows, TorchSMOTE
from datafix.synth.vae import ConditionalVAEGenerator

__all__ = [
    "AugmentedOversampler",
    "ConditionalVAEGenerator",
    "GaussianCopulaGenerator",
    "KeyedOversampler",
    "SynthQuality",
    "SyntheticRows",
    "TorchSMOTE",
    "evaluate",
]
