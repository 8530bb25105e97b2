"""Colour batch transforms on float images in [0, 1], with per-sample parameters.

Each draws its parameters in one call and applies them with broadcasting: a sample not drawn by
``p`` gets the neutral value (factor 1, shift 0), so no sample is ever selected by a Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import albucore
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from albumentations.augmentations.pixel import functional as fpixel
from torch import Tensor

from datafix.augment._checks import check_channels, check_range
from datafix.augment._tensor import constant, where_sample
from datafix.augment.base import ColorTransform, Draw, applied

Params = dict[str, Any]

#: ITU-R 601 luma weights of R, G, B (the gray of every colour op).
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def grayscale(x: Tensor) -> Tensor:
    """Luma (ITU-R 601) of RGB images as (B, 1, H, W); a 1-channel image is its own gray."""
    if x.shape[1] == 1:
        return x
    return x[:, 0:1] * GRAY_WEIGHTS[0] + x[:, 1:2] * GRAY_WEIGHTS[1] + x[:, 2:3] * GRAY_WEIGHTS[2]


def _per_sample(values: Tensor) -> Tensor:
    return values.view(-1, 1, 1, 1)


def _span(lo_hi: tuple[float, float], u: Tensor) -> Tensor:
    return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * u


def rgb_to_hsv(x: Tensor) -> Tensor:
    """RGB in [0, 1] to HSV with hue in [0, 1) (torchvision's formulas)."""
    r, g, b = x.unbind(1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    equal = maxc == minc
    cr = maxc - minc
    ones = torch.ones_like(maxc)
    s = cr / torch.where(equal, ones, maxc)
    cr_div = torch.where(equal, ones, cr)
    rc = (maxc - r) / cr_div
    gc = (maxc - g) / cr_div
    bc = (maxc - b) / cr_div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = torch.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return torch.stack((h, s, maxc), dim=1)


def hsv_to_rgb(x: Tensor) -> Tensor:
    """HSV (hue in [0, 1)) to RGB: ``v - v * s * clamp(min(k, 4 - k), 0, 1)`` with
    ``k = (n + 6 h) mod 6`` for n = 5, 3, 1 (the same values as the six-sector formula)."""
    h, s, v = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    n = constant([5.0, 3.0, 1.0], x.device, x.dtype).view(1, 3, 1, 1)
    k = torch.remainder(n + h * 6.0, 6.0)
    return v - v * s * torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)


class ColorJitter(ColorTransform):
    """Brightness, contrast, saturation and hue, each factor drawn per sample.

    Applied in that fixed order (torchvision and albumentations shuffle the order per call).
    Ranges follow torchvision: a number ``v`` means ``(max(0, 1 - v), 1 + v)`` for the first three
    and ``(-v, v)`` for hue (a fraction of the colour circle, at most 0.5).

    Parameters
    ----------
    brightness, contrast, saturation : float or (float, float), default 0.0
        Factor range, drawn per sample (0: unchanged).
    hue : float or (float, float), default 0.0
        Shift range as a fraction of the colour circle, within [-0.5, 0.5].
    p : float, default 1.0
        Per-sample probability of applying the jitter.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import ColorJitter
    >>> x = torch.full((2, 3, 4, 4), 0.5)
    >>> out = ColorJitter(brightness=(1.5, 1.5))(x)
    >>> round(float(out.mean()), 3)
    0.75
    """

    slots = 5

    def __init__(self, brightness: float | Sequence[float] = 0.0, contrast: float | Sequence[float] = 0.0,
                 saturation: float | Sequence[float] = 0.0, hue: float | Sequence[float] = 0.0,
                 p: float = 1.0) -> None:
        super().__init__(p)
        self.brightness = check_range(brightness, "brightness", low=0.0, symmetric_around=1.0)
        self.contrast = check_range(contrast, "contrast", low=0.0, symmetric_around=1.0)
        self.saturation = check_range(saturation, "saturation", low=0.0, symmetric_around=1.0)
        self.hue = check_range(hue, "hue", low=-0.5, high=0.5, symmetric_around=0.0)

    def active_parts(self) -> dict[str, bool]:
        """Which of brightness, contrast, saturation and hue can change an image (not the identity)."""
        return {"brightness": self.brightness != (1.0, 1.0), "contrast": self.contrast != (1.0, 1.0),
                "saturation": self.saturation != (1.0, 1.0), "hue": self.hue != (0.0, 0.0)}

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        used = self.active_parts()
        check_channels(shape, (3,) if used["saturation"] or used["hue"] else (1, 3), "ColorJitter")
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active).to(torch.float32)
        return {"brightness": 1.0 + on * (_span(self.brightness, u[:, 1]) - 1.0),
                "contrast": 1.0 + on * (_span(self.contrast, u[:, 2]) - 1.0),
                "saturation": 1.0 + on * (_span(self.saturation, u[:, 3]) - 1.0),
                "hue": on * _span(self.hue, u[:, 4])}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        used = self.active_parts()
        x = images
        if used["brightness"]:
            x = (x * _per_sample(params["brightness"])).clamp(0.0, 1.0)
        if used["contrast"]:
            factor = _per_sample(params["contrast"])
            mean = grayscale(x).mean(dim=(-3, -2, -1), keepdim=True)
            x = (factor * x + (1.0 - factor) * mean).clamp(0.0, 1.0)
        if used["saturation"]:
            factor = _per_sample(params["saturation"])
            x = (factor * x + (1.0 - factor) * grayscale(x)).clamp(0.0, 1.0)
        if used["hue"]:
            hsv = rgb_to_hsv(x)
            hue = torch.remainder(hsv[:, 0:1] + _per_sample(params["hue"]), 1.0)
            x = hsv_to_rgb(torch.cat([hue, hsv[:, 1:]], dim=1)).clamp(0.0, 1.0)  # rounding can pass 1
        return x

    def apply_image(self, image: np.ndarray, params: Params) -> np.ndarray:
        used = self.active_parts()
        if used["brightness"] and params["brightness"] != 1.0:
            image = fpixel.adjust_brightness_torchvision(image, np.float32(params["brightness"]))
        if used["contrast"] and params["contrast"] != 1.0:
            image = fpixel.adjust_contrast_torchvision(image, float(params["contrast"]))
        if used["saturation"] and params["saturation"] != 1.0:
            image = fpixel.adjust_saturation_torchvision(image, float(params["saturation"]))
        if used["hue"] and params["hue"] != 0.0:
            if image.dtype == np.uint8:  # OpenCV's uint8 HSV has 2-degree hue steps: shift in float
                shifted = fpixel.adjust_hue_torchvision(image.astype(np.float32) * (1 / 255), float(params["hue"]))
                image = np.clip(np.rint(shifted * 255), 0, 255).astype(np.uint8)
            else:
                image = fpixel.adjust_hue_torchvision(image, float(params["hue"]))
        return image


class RandomGamma(ColorTransform):
    """``x ** gamma`` with gamma drawn per sample from ``gamma``.

    Parameters
    ----------
    gamma : (float, float), default (0.8, 1.25)
        Range of the exponent, drawn per sample.
    p : float, default 0.5
        Per-sample probability.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import RandomGamma
    >>> round(float(RandomGamma((2.0, 2.0), p=1.0)(torch.full((1, 3, 2, 2), 0.5)).mean()), 3)
    0.25
    """

    slots = 2

    def __init__(self, gamma: Sequence[float] = (0.8, 1.25), p: float = 0.5) -> None:
        super().__init__(p)
        self.gamma = check_range(gamma, "gamma", low=1e-6)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active).to(torch.float32)
        return {"gamma": 1.0 + on * (_span(self.gamma, u[:, 1]) - 1.0)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return images.clamp_min(0.0) ** _per_sample(params["gamma"])

    def apply_image(self, image: np.ndarray, params: Params) -> np.ndarray:
        return image if params["gamma"] == 1.0 else fpixel.gamma_transform(image, float(params["gamma"]))


class RandomGrayscale(ColorTransform):
    """Replace an RGB image by its gray (kept as 3 channels) with probability ``p``.

    Parameters
    ----------
    p : float, default 0.1
        Per-sample probability.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import RandomGrayscale
    >>> out = RandomGrayscale(p=1.0)(torch.rand(2, 3, 4, 4))
    >>> bool(torch.allclose(out[:, 0], out[:, 1]))
    True
    """

    def __init__(self, p: float = 0.1) -> None:
        super().__init__(p)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        check_channels(shape, (3,), "RandomGrayscale")
        return {"on": applied(draw.uniform(self, 1)[:, 0], self.p, active)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return where_sample(params["on"], grayscale(images).expand_as(images), images)

    def apply_image(self, image: np.ndarray, params: Params) -> np.ndarray:
        return fpixel.to_gray(image, 3, "weighted_average") if params["on"] else image


class GaussianNoise(ColorTransform):
    """Add zero-mean Gaussian noise with a standard deviation drawn per sample, then clip.

    Torch only (no per-image path): the noise is drawn on the batch's device.

    Parameters
    ----------
    std : float or (float, float), default (0.01, 0.05)
        Standard deviation (or its range, drawn per sample), in [0, 1] pixel units.
    p : float, default 0.5
        Per-sample probability.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import GaussianNoise
    >>> out = GaussianNoise(std=(0.1, 0.1), p=1.0)(torch.full((2, 3, 64, 64), 0.5))
    >>> round(float((out - 0.5).std()), 2)
    0.1
    """

    slots = 2

    def __init__(self, std: float | Sequence[float] = (0.01, 0.05), p: float = 0.5) -> None:
        super().__init__(p)
        self.std = check_range(std, "std", low=0.0)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active).to(torch.float32)
        return {"std": on * _span(self.std, u[:, 1]), "noise": draw.normal(self, tuple(shape))}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return (images + _per_sample(params["std"]) * params["noise"]).clamp(0.0, 1.0)


class GaussianBlur(ColorTransform):
    """Blur with a Gaussian whose sigma is drawn per sample (separable, reflect padding).

    Parameters
    ----------
    kernel_size : int, default 5
        Odd kernel width.
    sigma : (float, float), default (0.1, 2.0)
    p : float, default 0.5

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import GaussianBlur
    >>> x = torch.zeros(1, 1, 5, 5)
    >>> x[..., 2, 2] = 1.0
    >>> out = GaussianBlur(3, sigma=(1.0, 1.0), p=1.0)(x)
    >>> round(float(out.sum()), 4), bool(out[0, 0, 2, 2] < 1.0)
    (1.0, True)
    """

    slots = 2

    def __init__(self, kernel_size: int = 5, sigma: Sequence[float] = (0.1, 2.0), p: float = 0.5) -> None:
        super().__init__(p)
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"The 'kernel_size' parameter must be a positive odd int; got {kernel_size!r}.")
        self.kernel_size = kernel_size
        self.sigma = check_range(sigma, "sigma", low=1e-6)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, self.slots)
        return {"on": applied(u[:, 0], self.p, active), "sigma": _span(self.sigma, u[:, 1])}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        half = self.kernel_size // 2
        offsets = torch.arange(-half, half + 1, device=images.device, dtype=images.dtype)
        sigma = params["sigma"].to(images.dtype)
        kernel = torch.exp(-(offsets[None] ** 2) / (2.0 * sigma[:, None] ** 2))
        kernel = kernel / kernel.sum(dim=1, keepdim=True)
        delta = (offsets == 0).to(images.dtype).expand_as(kernel)
        kernel = torch.where(params["on"][:, None], kernel, delta)
        batch, channels, height, width = images.shape
        weight = kernel.repeat_interleave(channels, dim=0)  # (B * C, K)
        mode = "reflect" if min(height, width) > half else "replicate"
        x = images.reshape(1, batch * channels, height, width)
        x = F.conv2d(F.pad(x, (half, half, 0, 0), mode=mode), weight[:, None, None, :], groups=batch * channels)
        x = F.conv2d(F.pad(x, (0, 0, half, half), mode=mode), weight[:, None, :, None], groups=batch * channels)
        return x.view(batch, channels, height, width).clamp(0.0, 1.0)  # float rounding can pass 1

    def apply_image(self, image: np.ndarray, params: Params) -> np.ndarray:
        if not params["on"]:
            return image
        k = self.kernel_size
        out = cv2.GaussianBlur(image, (k, k), sigmaX=float(params["sigma"]), borderType=cv2.BORDER_REFLECT_101)
        return out.reshape(image.shape)


class RandomErasing(ColorTransform):
    """Erase one random rectangle per sample (torchvision's draw: ten tries, none if none fits).

    Parameters
    ----------
    scale : (float, float), default (0.02, 0.33)
        Range of the rectangle's share of the image area.
    ratio : (float, float), default (0.3, 3.3)
        Range of its height / width, drawn log-uniformly.
    value : float or sequence of float, default 0
        Fill value in [0, 1] (per channel when a sequence).
    p : float, default 0.5

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import RandomErasing
    >>> out = RandomErasing(scale=(0.25, 0.25), ratio=(1.0, 1.0), p=1.0)(torch.ones(1, 1, 8, 8))
    >>> int((out == 0).sum())
    16
    """

    attempts = 10
    slots = 1 + 4 * attempts

    def __init__(self, scale: Sequence[float] = (0.02, 0.33), ratio: Sequence[float] = (0.3, 3.3),
                 value: float | Sequence[float] = 0.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.scale = check_range(scale, "scale", low=0.0, high=1.0)
        self.ratio = check_range(ratio, "ratio", low=1e-6)
        self.value = tuple(float(v) for v in value) if isinstance(value, Sequence) else float(value)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        _, channels, height, width = shape
        if isinstance(self.value, tuple) and len(self.value) != channels:
            raise ValueError(f"RandomErasing 'value' has {len(self.value)} entries for {channels} channels.")
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active)
        k = self.attempts
        area = height * width * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 1:1 + k])
        lo, hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(lo + (hi - lo) * u[:, 1 + k:1 + 2 * k])
        h = torch.round(torch.sqrt(area * aspect))
        w = torch.round(torch.sqrt(area / aspect))
        fits = (h < height) & (w < width)
        first = torch.argmax(fits.to(torch.uint8), dim=1, keepdim=True)
        on = on & fits.any(dim=1)
        h = h.gather(1, first)[:, 0]
        w = w.gather(1, first)[:, 0]
        top = torch.floor(u[:, 1 + 2 * k:1 + 3 * k].gather(1, first)[:, 0] * (height - h + 1))
        left = torch.floor(u[:, 1 + 3 * k:].gather(1, first)[:, 0] * (width - w + 1))
        box = torch.stack([left, top, left + w, top + h], dim=1)
        return {"box": torch.where(on[:, None], box, torch.zeros_like(box)).to(torch.int64)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        box = params["box"]
        rows = torch.arange(images.shape[2], device=images.device)[None, :]
        cols = torch.arange(images.shape[3], device=images.device)[None, :]
        in_rows = (rows >= box[:, 1:2]) & (rows < box[:, 3:4])  # (B, H)
        in_cols = (cols >= box[:, 0:1]) & (cols < box[:, 2:3])  # (B, W)
        mask = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]
        fill = constant(self.value if isinstance(self.value, tuple) else (self.value,), images.device, images.dtype)
        return torch.where(mask, fill.view(1, -1, 1, 1), images)

    def apply_image(self, image: np.ndarray, params: Params) -> np.ndarray:
        x0, y0, x1, y1 = (int(v) for v in params["box"])
        if x1 > x0 and y1 > y0:
            image = image.copy() if not image.flags.writeable else image
            value = np.asarray(self.value, dtype=np.float32)
            image[y0:y1, x0:x1] = np.round(value * 255) if image.dtype == np.uint8 else value
        return image


class Normalize(ColorTransform):
    """``(x - mean) / std`` per channel; put it last (later colour steps expect [0, 1]).

    Parameters
    ----------
    mean, std : sequence of float, default ImageNet's
        One value per channel (``(0.485, 0.456, 0.406)`` and ``(0.229, 0.224, 0.225)``).

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import Normalize
    >>> Normalize(mean=(0.5,), std=(0.25,))(torch.full((1, 1, 2, 2), 0.75))[0, 0, 0, 0].item()
    1.0
    """

    slots = 0
    image_out_float = True
    last_only = True

    def __init__(self, mean: Sequence[float] = (0.485, 0.456, 0.406),
                 std: Sequence[float] = (0.229, 0.224, 0.225)) -> None:
        super().__init__(1.0)
        if len(mean) != len(std) or any(s <= 0 for s in std):
            raise ValueError(f"The 'mean' and 'std' parameters need one entry per channel and std > 0; "
                             f"got mean={mean!r}, std={std!r}.")
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        check_channels(shape, (len(self.mean),), "Normalize")
        return {}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        mean = constant(self.mean, images.device, images.dtype).view(1, -1, 1, 1)
        scale = constant(tuple(1.0 / s for s in self.std), images.device, images.dtype).view(1, -1, 1, 1)
        return (images - mean) * scale

    def apply_image(self, image: np.ndarray, params: Params) -> np.ndarray:
        scale = 255.0 if image.dtype == np.uint8 else 1.0
        mean = np.asarray(self.mean, dtype=np.float32) * scale
        inv_std = 1.0 / (np.asarray(self.std, dtype=np.float32) * scale)
        return albucore.normalize(image, mean, inv_std)  # a lookup table for uint8
