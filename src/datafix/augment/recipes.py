"""Named augmentation recipes: a batch pipeline and an optional mix, ready for a training loop.

``recipe("limited-data", size=32, num_classes=10)`` is what the audit's advice points to when
classes are small: flips and padded crops, TrivialAugmentWide, random erasing, and CutMix on half
of the samples (soft targets). ``benchmarks/augment_outcome.py`` measures each recipe against
flips and crops on Fashion-MNIST subsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from datafix._validation import check_choice, check_int
from datafix.augment.color import RandomErasing
from datafix.augment.compose import Compose
from datafix.augment.geometry import HorizontalFlip, RandomCrop
from datafix.augment.mix import CutMix, MixUp
from datafix.augment.policies import AugMix, AutoAugment, RandAugment, TrivialAugmentWide

#: The recipe names, from the least to the most augmentation.
RECIPES = ("none", "flips-crops", "randaugment", "trivialaugment", "autoaugment", "augmix", "limited-data")


@dataclass
class Recipe:
    """A batch pipeline (uint8 or float in, float out) and an optional mix producing soft targets.

    Call it on a batch and its labels: ``images, targets = recipe(images, labels)``; ``targets``
    are (B, num_classes) probabilities when the recipe mixes, one-hot otherwise, so one loss
    (``torch.nn.functional.cross_entropy`` with probabilities) fits every recipe.

    Attributes
    ----------
    name : str
    transform : Compose
    mix : MixUp, CutMix or None
    num_classes : int
    """

    name: str
    transform: Compose
    mix: MixUp | CutMix | None
    num_classes: int

    def set_epoch(self, epoch: int) -> None:
        """Key the next draws on ``epoch`` (with ``sample_ids``)."""
        self.transform.set_epoch(epoch)
        if self.mix is not None:
            self.mix.set_epoch(epoch)

    def to(self, device: Any) -> Recipe:
        """Move the pipeline's state to ``device`` (the draws follow the batch's device anyway)."""
        self.transform.to(device)
        return self

    def __call__(self, images: Tensor, labels: Tensor, sample_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = self.transform(images, sample_ids=sample_ids)
        if self.mix is not None:
            return self.mix(x, labels, sample_ids=sample_ids)
        if labels.ndim == 2:
            return x, labels.to(x.device, torch.float32)
        return x, torch.nn.functional.one_hot(labels.to(x.device).long(), self.num_classes).float()


def recipe(name: str, *, size: int, num_classes: int, seed: int | None = None) -> Recipe:
    """The named recipe for images of side ``size``.

    Parameters
    ----------
    name : {"none", "flips-crops", "randaugment", "trivialaugment", "autoaugment", "augmix", "limited-data"}
        ``"flips-crops"``: horizontal flips and random crops after padding by ``size // 8``;
        ``"randaugment"`` / ``"trivialaugment"`` / ``"autoaugment"`` / ``"augmix"``: flips and
        crops, then the policy (:class:`RandAugment` with 2 ops at magnitude 9,
        :class:`TrivialAugmentWide`, :class:`AutoAugment` with the CIFAR-10 policy, or
        :class:`AugMix` with severity 3, width 3);
        ``"limited-data"``: flips and crops, TrivialAugmentWide, random erasing (p 0.25) and CutMix
        on half of the samples.
    size : int
        Image side (the crops keep it).
    num_classes : int
        For the (soft) targets.
    seed : int, optional
        Seeds the draws (see :class:`Compose`).

    Examples
    --------
    >>> import torch
    >>> from datafix.augment.recipes import recipe
    >>> r = recipe("limited-data", size=28, num_classes=10, seed=0)
    >>> x, t = r(torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8), torch.arange(8))
    >>> x.shape, t.shape, bool(torch.allclose(t.sum(1), torch.ones(8)))
    (torch.Size([8, 1, 28, 28]), torch.Size([8, 10]), True)
    """
    check_choice(name, "name", RECIPES)
    size = check_int(size, "size", minimum=4)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    base = [] if name == "none" else [HorizontalFlip(), RandomCrop(size, padding=max(size // 8, 1))]
    extra = {"randaugment": [RandAugment(num_ops=2, magnitude=9)], "trivialaugment": [TrivialAugmentWide()],
             "autoaugment": [AutoAugment("cifar10")], "augmix": [AugMix(severity=3, width=3)],
             "limited-data": [TrivialAugmentWide(), RandomErasing(p=0.25)]}.get(name, [])
    mix = CutMix(alpha=1.0, num_classes=num_classes, p=0.5, seed=None if seed is None else seed + 1) \
        if name == "limited-data" else None
    return Recipe(name, Compose([*base, *extra], seed=seed), mix, num_classes)
