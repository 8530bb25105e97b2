"""Tone batch transforms of the augmentation policies (PIL's ImageOps family), per sample.

Posterize, Solarize, AutoContrast, Equalize and Sharpness: the colour operations RandAugment,
TrivialAugment and AutoAugment draw from, batched (no per-sample Python loop) on float images in
[0, 1]. Each follows the definition torchvision and PIL use, so an 8-bit image gives PIL's
output within one grey level (``tests/augment/test_tone.py`` compares them). Levels are read at
8 bits (``round(x * 255)``) where the definition is about levels (posterize, equalize).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from datafix._validation import check_int
from datafix.augment import _policy_image
from datafix.augment._checks import check_range
from datafix.augment._tensor import where_sample
from datafix.augment.base import ColorTransform, Draw, applied
from datafix.errors import InvalidInputError

Params = dict[str, Tensor]


def _levels(x: Tensor) -> Tensor:
    """Float images in [0, 1] as 8-bit levels 0..255 (int64)."""
    return (x.clamp(0.0, 1.0) * 255.0).round().to(torch.int64)


def posterize(images: Tensor, bits: Tensor) -> Tensor:
    """Keep the top ``bits`` (per sample, 1-8) of each 8-bit level.

    Examples
    --------
    >>> round(posterize(torch.full((1, 1, 1, 1), 200 / 255), torch.tensor([2]))[0, 0, 0, 0].item() * 255)
    192
    """
    mask = (255 - (2 ** (8 - bits.to(torch.int64)) - 1)).view(-1, 1, 1, 1)
    return (_levels(images) & mask).to(images.dtype) / 255.0


def solarize(images: Tensor, threshold: Tensor) -> Tensor:
    """Invert every value at or above ``threshold`` (per sample, in [0, 1]).

    Examples
    --------
    >>> solarize(torch.tensor([0.2, 0.8]).view(1, 1, 1, 2), torch.tensor([0.5])).flatten().tolist()
    [0.20000000298023224, 0.19999998807907104]
    """
    return torch.where(images >= threshold.view(-1, 1, 1, 1).to(images.dtype), 1.0 - images, images)


def autocontrast(images: Tensor) -> Tensor:
    """Stretch each channel of each image to the full [0, 1] range (flat channels unchanged).

    Examples
    --------
    >>> autocontrast(torch.tensor([0.25, 0.5, 0.75]).view(1, 1, 1, 3)).flatten().tolist()
    [0.0, 0.5, 1.0]
    """
    low = images.amin(dim=(2, 3), keepdim=True)
    high = images.amax(dim=(2, 3), keepdim=True)
    flat = high <= low
    scale = torch.where(flat, torch.ones_like(high), 1.0 / (high - low).clamp_min(1e-12))
    low = torch.where(flat, torch.zeros_like(low), low)
    return ((images - low) * scale).clamp(0.0, 1.0)


def equalize(images: Tensor) -> Tensor:
    """Histogram equalisation of each channel of each image at 8 bits (PIL's ImageOps.equalize).

    Per channel: ``step = (n - count of the last used level) // 255``; level ``v`` maps to
    ``(cdf(v - 1) + step // 2) // step``; a channel with ``step == 0`` is unchanged.

    Examples
    --------
    >>> x = (torch.arange(1024) % 64).float().view(1, 1, 32, 32) / 255  # levels 0-63, 16 pixels each
    >>> out = (equalize(x) * 255).round()
    >>> out.min().item(), out.max().item()  # spread over the full range, as PIL does it
    (0.0, 255.0)
    """
    b, c, h, w = images.shape
    levels = _levels(images).reshape(b * c, h * w)
    hist = torch.zeros(b * c, 256, dtype=torch.int64, device=images.device).scatter_add_(
        1, levels, torch.ones_like(levels))
    used = hist > 0
    last = 255 - used.flip(1).to(torch.int64).argmax(dim=1)  # the highest level present
    step = (h * w - hist.gather(1, last[:, None])[:, 0]) // 255
    cdf = hist.cumsum(1) - hist  # counts below each level
    safe = step.clamp_min(1)[:, None]
    lut = ((cdf + safe // 2) // safe).clamp(max=255)
    out = torch.where((step > 0)[:, None], lut.gather(1, levels), levels)
    return out.view(b, c, h, w).to(images.dtype) / 255.0


def sharpness(images: Tensor, factor: Tensor) -> Tensor:
    """Blend each image with its smoothed version: ``factor`` 0 smooths, 1 keeps, above 1 sharpens
    (PIL's ImageEnhance.Sharpness: the 3 x 3 SMOOTH kernel, border pixels unsmoothed).

    Examples
    --------
    >>> x = torch.zeros(1, 1, 5, 5); x[0, 0, 2, 2] = 1.0
    >>> round(sharpness(x, torch.tensor([0.0]))[0, 0, 2, 2].item(), 4)  # 5 / 13
    0.3846
    """
    degenerate = images.clone()
    if min(images.shape[-2:]) >= 3:  # SMOOTH = (the 3 x 3 sum + 4 x the centre) / 13, on inner pixels
        inner = images[..., 1:-1, 1:-1]
        degenerate[..., 1:-1, 1:-1] = F.avg_pool2d(images, 3, stride=1) * (9.0 / 13.0) + inner * (4.0 / 13.0)
    f = factor.view(-1, 1, 1, 1).to(images.dtype)
    return (f * images + (1.0 - f) * degenerate).clamp(0.0, 1.0)


def _drawn(op: ColorTransform, draw: Draw, active: Tensor | None, bounds: tuple[float, float], *,
           neutral: float) -> Tensor:
    """A value per sample, uniform in ``bounds`` where ``op`` applies (probability ``p``), else ``neutral``."""
    u = draw.uniform(op, 2)
    value = bounds[0] + (bounds[1] - bounds[0]) * u[:, 1]
    return torch.where(applied(u[:, 0], op.p, active), value, torch.full_like(value, neutral))


class _WholeImage(ColorTransform):
    """An op without a magnitude (``kernel(images)``), on a share ``p`` of the samples."""

    kernel = staticmethod(lambda images: images)
    image_kernel = staticmethod(lambda image: image)  # the same on one uint8 image (OpenCV)

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        return {"on": applied(draw.uniform(self, 1)[:, 0], self.p, active)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return where_sample(params["on"], self.kernel(images), images)

    def apply_image(self, image: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        return _policy_image.on_image(image, self.image_kernel, self.kernel) if params["on"] else image


class Posterize(ColorTransform):
    """Reduce each channel to ``bits`` bits, drawn per sample (an integer in the range).

    Parameters
    ----------
    bits : int or (int, int), default (4, 8)
        Bits kept, 1 to 8 (8: unchanged).
    p : float, default 0.5
        Per-sample probability.

    Examples
    --------
    >>> from datafix.augment import Posterize
    >>> out = Posterize(bits=1, p=1.0)(torch.rand(2, 3, 4, 4))
    >>> sorted(set((out * 255).round().flatten().tolist())) <= [0.0, 128.0]
    True
    """

    slots = 2

    def __init__(self, bits: int | Sequence[int] = (4, 8), p: float = 0.5) -> None:
        super().__init__(p)
        pair = (bits, bits) if isinstance(bits, int) else tuple(bits) if isinstance(bits, Sequence) else (bits,)
        if len(pair) != 2:
            raise InvalidInputError(f"The 'bits' parameter must be an int or (low, high) within 1..8; got {bits!r}.")
        self.bits = (check_int(pair[0], "bits", minimum=1), check_int(pair[1], "bits", minimum=1))
        if self.bits[1] > 8 or self.bits[0] > self.bits[1]:
            raise InvalidInputError(f"The 'bits' parameter must be an int or (low, high) within 1..8; got {bits!r}.")

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active)
        low, high = self.bits
        bits = (low + (u[:, 1] * (high - low + 1)).floor().clamp(max=high - low)).to(torch.int64)
        return {"bits": torch.where(on, bits, torch.full_like(bits, 8))}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return where_sample(params["bits"] < 8, posterize(images, params["bits"]), images)

    def apply_image(self, image: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        bits = int(params["bits"])
        if bits >= 8:
            return image
        return _policy_image.on_image(image, lambda x: _policy_image.posterize(x, bits),
                                      lambda x: posterize(x, torch.tensor([bits])))


class Solarize(ColorTransform):
    """Invert the values at or above a threshold drawn per sample.

    Parameters
    ----------
    threshold : float or (float, float), default (0.5, 1.0)
        In [0, 1]; 1.0 leaves all but white unchanged.
    p : float, default 0.5

    Examples
    --------
    >>> from datafix.augment import Solarize
    >>> Solarize(threshold=0.5, p=1.0)(torch.full((1, 3, 2, 2), 0.75)).mean().item()
    0.25
    """

    slots = 2

    def __init__(self, threshold: float | Sequence[float] = (0.5, 1.0), p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold = check_range(threshold, "threshold", low=0.0, high=1.0)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        return {"threshold": _drawn(self, draw, active, self.threshold, neutral=2.0)}  # 2: nothing reaches it

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return solarize(images, params["threshold"])

    def apply_image(self, image: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        threshold = float(params["threshold"])
        return _policy_image.on_image(image, lambda x: _policy_image.solarize(x, threshold),
                                      lambda x: solarize(x, torch.tensor([threshold])))


class AutoContrast(_WholeImage):
    """Stretch each channel to the full range, on a share ``p`` of the samples.

    Parameters
    ----------
    p : float, default 0.5
        Per-sample probability.

    Examples
    --------
    >>> from datafix.augment import AutoContrast
    >>> x = torch.linspace(0.25, 0.75, 16).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    >>> out = AutoContrast(p=1.0)(x)
    >>> round(out.min().item(), 3), round(out.max().item(), 3)
    (0.0, 1.0)
    """

    kernel = staticmethod(autocontrast)
    image_kernel = staticmethod(_policy_image.autocontrast)


class Equalize(_WholeImage):
    """Histogram-equalise each channel (at 8 bits), on a share ``p`` of the samples.

    Parameters
    ----------
    p : float, default 0.5
        Per-sample probability.

    Examples
    --------
    >>> from datafix.augment import Equalize
    >>> x = (torch.arange(1024) % 64).float().view(1, 1, 32, 32).expand(1, 3, 32, 32) / 255
    >>> out = Equalize(p=1.0)(x)
    >>> round(out.max().item(), 2)  # levels 0-63 spread over the full range
    1.0
    """

    kernel = staticmethod(equalize)
    image_kernel = staticmethod(_policy_image.equalize)


class Sharpness(ColorTransform):
    """Sharpen (factor > 1) or soften (factor < 1) with a factor drawn per sample.

    Parameters
    ----------
    factor : float or (float, float), default (0.1, 1.9)
        0 gives the smoothed image, 1 the image, 2 twice as sharp (PIL's ImageEnhance scale).
    p : float, default 0.5

    Examples
    --------
    >>> from datafix.augment import Sharpness
    >>> x = torch.rand(2, 3, 6, 6)
    >>> bool(torch.allclose(Sharpness(factor=1.0, p=1.0)(x), x, atol=1e-6))
    True
    """

    slots = 2

    def __init__(self, factor: float | Sequence[float] = (0.1, 1.9), p: float = 0.5) -> None:
        super().__init__(p)
        self.factor = check_range(factor, "factor", low=0.0)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        return {"factor": _drawn(self, draw, active, self.factor, neutral=1.0)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return sharpness(images, params["factor"])

    def apply_image(self, image: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        factor = float(params["factor"])
        if factor == 1.0:
            return image
        return _policy_image.on_image(image, lambda x: _policy_image.sharpness(x, factor),
                                      lambda x: sharpness(x, torch.tensor([factor])))
