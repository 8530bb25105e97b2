"""Embedded datasets with injected label noise, corrupted targets, imbalance, duplicates and outliers, and their truth."""

from datafix.datasets.fashion_mnist import LabelledImages, load_fashion_mnist
from datafix.datasets.inject import InjectedData, long_tail_subset, make_noisy
from datafix.datasets.load import NAMES, load_noisy
from datafix.datasets.noise import flip_labels, noise_matrix
from datafix.datasets.targets import CORRUPTIONS, corrupt_targets

__all__ = ["CORRUPTIONS", "NAMES", "InjectedData", "LabelledImages", "corrupt_targets", "flip_labels", "load_fashion_mnist", "load_noisy",
           "long_tail_subset", "make_noisy", "noise_matrix"]
