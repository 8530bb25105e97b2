"""MixUp and CutMix with a per-sample mixing weight, returning soft targets.

Each sample ``i`` is mixed with sample ``i - 1`` of the batch (a roll, as torchvision v2 does);
the weight of ``i`` is drawn per sample from Beta(alpha, alpha) on the batch's device.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from datafix._validation import check_float, check_int
from datafix.augment._checks import check_batch, check_images
from datafix.augment._random import GAMMA_SLOTS, RandomSource, beta_from_uniform
from datafix.errors import InvalidInputError, InvalidTypeError


class _Mix(nn.Module):
    def __init__(self, alpha: float, num_classes: int | None, p: float, seed: int | None,
                 generator: torch.Generator | None) -> None:
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise InvalidInputError(f"The 'alpha' parameter must be a positive float; got {alpha!r}.")
        self.alpha = float(alpha)
        self.num_classes = None if num_classes is None else check_int(num_classes, "num_classes", minimum=1)
        self.p = check_float(p, "p", low=0.0, high=1.0)
        self.source = RandomSource(seed, generator)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that keys the draws when ``sample_ids`` are passed."""
        self.epoch = int(epoch)

    def _targets(self, labels: Any, batch: int, device: torch.device) -> Tensor:
        if not isinstance(labels, Tensor):
            raise InvalidTypeError(f"The 'labels' argument must be a torch.Tensor; got {type(labels).__name__}.")
        check_batch(labels, "labels", batch, (1, 2))
        if labels.ndim == 2:
            return labels.to(device=device, dtype=torch.float32)
        if labels.is_floating_point():
            raise InvalidInputError("The 'labels' argument must be class indices (B,) of an int dtype or "
                                    "(B, num_classes) probabilities.")
        if self.num_classes is None:
            raise InvalidInputError("Pass 'num_classes' to mix class-index labels (or give one-hot labels).")
        if labels.device.type == "cpu" and bool(((labels < 0) | (labels >= self.num_classes)).any()):
            raise InvalidInputError(f"The 'labels' argument has class indices outside [0, {self.num_classes}).")
        return F.one_hot(labels.to(device=device, dtype=torch.int64), self.num_classes).to(torch.float32)

    def _weights(self, batch: int, device: torch.device, sample_ids: Tensor | None, extra: int) -> tuple[Tensor, Tensor]:
        """Per-sample weight of the sample itself (1 where not applied) and ``extra`` uniforms."""
        u = self.source.uniform(batch, 1 + 2 * GAMMA_SLOTS + extra, device, key=0, sample_ids=sample_ids,
                                epoch=self.epoch)
        lam = beta_from_uniform(self.alpha, self.alpha, u[:, 1:1 + 2 * GAMMA_SLOTS])
        lam = torch.where(u[:, 0] < self.p, lam, torch.ones_like(lam))
        return lam, u[:, 1 + 2 * GAMMA_SLOTS:]

    def _check(self, images: Any) -> Tensor:
        x = check_images(images)
        if x.dtype == torch.uint8:
            raise InvalidInputError(f"{type(self).__name__} needs float images (mixing uint8 rounds the "
                                    "weights away); run the Compose (uint8 in, float out) first.")
        return x


class MixUp(_Mix):
    """Blend each image with its neighbour in the batch: ``lam * x_i + (1 - lam) * x_(i-1)``.

    Parameters
    ----------
    alpha : float, default 0.2
        Beta(alpha, alpha) shape of the per-sample weight.
    num_classes : int, optional
        Needed when labels are class indices.
    p : float, default 1.0
        Share of samples mixed (the others keep weight 1).
    seed, generator
        As in :class:`~datafix.augment.Compose`.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import MixUp
    >>> images, labels = torch.rand(8, 3, 4, 4), torch.arange(8) % 2
    >>> mixed, targets = MixUp(alpha=0.4, num_classes=2, seed=0)(images, labels)
    >>> mixed.shape, targets.shape, bool(torch.allclose(targets.sum(1), torch.ones(8)))
    (torch.Size([8, 3, 4, 4]), torch.Size([8, 2]), True)
    """

    def __init__(self, alpha: float = 0.2, num_classes: int | None = None, p: float = 1.0,
                 seed: int | None = None, generator: torch.Generator | None = None) -> None:
        super().__init__(alpha, num_classes, p, seed, generator)

    def forward(self, images: Tensor, labels: Tensor, sample_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Mixed images (same dtype) and soft targets (B, num_classes)."""
        x = self._check(images)
        targets = self._targets(labels, x.shape[0], x.device)
        lam, _ = self._weights(x.shape[0], x.device, sample_ids, 0)
        w = lam.to(x.dtype).view(-1, 1, 1, 1)
        mixed = w * x + (1 - w) * x.roll(1, dims=0)
        return mixed, lam[:, None] * targets + (1 - lam[:, None]) * targets.roll(1, dims=0)


class CutMix(_Mix):
    """Paste a box of the neighbour image into each image; the target weight is the area kept.

    The box has area ``(1 - lam) * H * W`` and a uniform centre, clipped to the image; the
    returned targets use the clipped area (as in Yun et al. 2019).

    Parameters
    ----------
    alpha : float, default 1.0
        Beta(alpha, alpha) shape of the kept area ``lam``.
    num_classes : int, optional
        Needed when labels are class indices.
    p : float, default 1.0
        Share of samples mixed (the others keep weight 1).
    seed, generator
        As in :class:`~datafix.augment.Compose`.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import CutMix
    >>> images = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)])
    >>> mixed, targets = CutMix(alpha=1.0, num_classes=2, seed=1)(images, torch.tensor([0, 1]))
    >>> kept = 1 - mixed[0, 0].mean()  # share of image 0 still showing
    >>> bool(torch.isclose(targets[0, 0], kept))
    True
    """

    def __init__(self, alpha: float = 1.0, num_classes: int | None = None, p: float = 1.0,
                 seed: int | None = None, generator: torch.Generator | None = None) -> None:
        super().__init__(alpha, num_classes, p, seed, generator)

    def forward(self, images: Tensor, labels: Tensor, sample_ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Images with pasted boxes and soft targets (B, num_classes)."""
        x = self._check(images)
        batch, _, height, width = x.shape
        targets = self._targets(labels, batch, x.device)
        lam, u = self._weights(batch, x.device, sample_ids, 2)
        cut = torch.sqrt(1.0 - lam)
        cx, cy = u[:, 0] * width, u[:, 1] * height
        half_w, half_h = cut * width / 2, cut * height / 2
        x0 = torch.round(cx - half_w).clamp(0, width)
        x1 = torch.round(cx + half_w).clamp(0, width)
        y0 = torch.round(cy - half_h).clamp(0, height)
        y1 = torch.round(cy + half_h).clamp(0, height)
        rows = torch.arange(height, device=x.device, dtype=torch.float32)[None, :]
        cols = torch.arange(width, device=x.device, dtype=torch.float32)[None, :]
        box = ((rows >= y0[:, None]) & (rows < y1[:, None]))[:, :, None] & \
              ((cols >= x0[:, None]) & (cols < x1[:, None]))[:, None, :]
        mixed = torch.where(box[:, None], x.roll(1, dims=0), x)
        kept = 1.0 - (x1 - x0) * (y1 - y0) / (height * width)
        return mixed, kept[:, None] * targets + (1 - kept[:, None]) * targets.roll(1, dims=0)
