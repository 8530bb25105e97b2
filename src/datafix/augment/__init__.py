"""Batch augmentation on the batch's device, with per-sample random parameters.

Transforms are ``torch.nn.Module`` s on (B, C, H, W) batches, uint8 (0-255) or float (0-1); a
:class:`Compose` fuses neighbouring geometric transforms into one resampling pass, transforms
masks, boxes and keypoints with the same per-sample geometry, and returns float images. Random
parameters are drawn on the batch's device in one call per transform (no host synchronisation,
no per-sample Python loop); ``sample_ids`` key them on (seed, epoch, sample index).

Examples
--------
>>> import torch
>>> from datafix import augment as A
>>> aug = A.Compose([A.HorizontalFlip(), A.Affine(degrees=10, scale=(0.9, 1.1)),
...                  A.ColorJitter(brightness=0.2), A.Normalize()], seed=0)
>>> aug(torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)).dtype
torch.float32
"""

from datafix.augment.adversarial import Adversarial
from datafix.augment.albumentations_bridge import AlbumentationsDataset, from_albumentations
from datafix.augment.base import ColorTransform, GeometricTransform, Transform
from datafix.augment.color import (
    ColorJitter,
    GaussianBlur,
    GaussianNoise,
    Normalize,
    RandomErasing,
    RandomGamma,
    RandomGrayscale,
)
from datafix.augment.compose import AugmentedBatch, Compose, OneOf, RandomApply
from datafix.augment.files import ImageFileLoader
from datafix.augment.geometry import (
    Affine,
    CenterCrop,
    HorizontalFlip,
    RandomCrop,
    RandomResizedCrop,
    Resize,
    VerticalFlip,
)
from datafix.augment.instances import CopyPaste, InstanceBatch, Mosaic
from datafix.augment.loader import DeviceLoader
from datafix.augment.mix import CutMix, MixUp
from datafix.augment.policies import AugMix, AutoAugment, RandAugment, TrivialAugmentWide
from datafix.augment.tone import AutoContrast, Equalize, Posterize, Sharpness, Solarize

__all__ = [
    "Adversarial",
    "Affine",
    "AlbumentationsDataset",
    "AugMix",
    "AugmentedBatch",
    "AutoAugment",
    "AutoContrast",
    "CenterCrop",
    "ColorJitter",
    "ColorTransform",
    "Compose",
    "CopyPaste",
    "CutMix",
    "DeviceLoader",
    "Equalize",
    "GaussianBlur",
    "GaussianNoise",
    "GeometricTransform",
    "HorizontalFlip",
    "ImageFileLoader",
    "InstanceBatch",
    "MixUp",
    "Mosaic",
    "Normalize",
    "OneOf",
    "Posterize",
    "RandAugment",
    "RandomApply",
    "RandomCrop",
    "RandomErasing",
    "RandomGamma",
    "RandomGrayscale",
    "RandomResizedCrop",
    "Resize",
    "Sharpness",
    "Solarize",
    "Transform",
    "TrivialAugmentWide",
    "VerticalFlip",
    "from_albumentations",
]
