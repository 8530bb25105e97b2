"""Embedded datasets with injected label noise, imbalance, duplicates and outliers, and their truth."""

from datafix.datasets.fashion_mnist import LabelledImages, load_fashion_mnist
from datafix.datasets.inject import InjectedData, long_tail_subset, make_noisy
from datafix.datasets.load import NAMES, load_noisy
from datafix.datasets.noise import flip_labels, noise_matrix

__all__ = ["NAMES", "InjectedData", "LabelledImages", "flip_labels", "load_fashion_mnist", "load_noisy",
           "long_tail_subset", "make_noisy", "noise_matrix"]
