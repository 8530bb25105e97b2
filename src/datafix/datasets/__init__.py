"""Embedded datasets with injected label noise, imbalance, duplicates and outliers, and their truth."""

from datafix.datasets.inject import InjectedData, long_tail_subset, make_noisy
from datafix.datasets.load import NAMES, load_noisy
from datafix.datasets.noise import flip_labels, noise_matrix

__all__ = ["NAMES", "InjectedData", "flip_labels", "load_noisy", "long_tail_subset", "make_noisy", "noise_matrix"]
