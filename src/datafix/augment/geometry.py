"""Geometric batch transforms: each gives one 3x3 matrix per sample; Compose resamples once.

Conventions (albumentations' and OpenCV's): pixel centres lie at integer coordinates, the matrix
maps input coordinates to output coordinates, a positive angle turns the image counter-clockwise
on screen, and rotation, scale and shear act about the image centre ((W - 1) / 2, (H - 1) / 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from datafix.augment._checks import check_range, check_size
from datafix.augment._tensor import constant, identity
from datafix.augment.base import Draw, GeometricTransform, applied


def _affine(a: Tensor, b: Tensor, c: Tensor, d: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    """(B, 3, 3) matrices [[a, b, tx], [c, d, ty], [0, 0, 1]] from (B,) tensors."""
    zeros = torch.zeros_like(a)
    ones = torch.ones_like(a)
    return torch.stack([a, b, tx, c, d, ty, zeros, zeros, ones], dim=-1).view(-1, 3, 3)


def _scale_translate(sx: Tensor, sy: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    zeros = torch.zeros_like(sx)
    return _affine(sx, zeros, zeros, sy, tx, ty)


def crop_resize_matrix(x0: Tensor, y0: Tensor, w: Tensor, h: Tensor, out: tuple[int, int]) -> Tensor:
    """Matrices that take the box [x0, x0 + w) x [y0, y0 + h) (pixel edges) onto an ``out`` image."""
    sx = out[1] / w
    sy = out[0] / h
    return _scale_translate(sx, sy, (0.5 - x0) * sx - 0.5, (0.5 - y0) * sy - 0.5)


class _Sized(GeometricTransform):
    """A geometric transform with a fixed output size."""

    size: tuple[int, int]

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        return self.size


class _Flip(GeometricTransform):
    """Mirror along ``axis`` (1: left-right, 0: top-bottom) with probability ``p`` per sample."""

    exact = True
    slots = 1
    axis = 1

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p)

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        on = applied(draw.uniform(self, 1)[:, 0], self.p, active).float()
        ones, zeros = torch.ones_like(on), torch.zeros_like(on)
        if self.axis == 1:
            return _scale_translate(1.0 - 2.0 * on, ones, on * (size[1] - 1), zeros)
        return _scale_translate(ones, 1.0 - 2.0 * on, zeros, on * (size[0] - 1))


class HorizontalFlip(_Flip):
    """Mirror left-right with probability ``p`` per sample.

    Parameters
    ----------
    p : float, default 0.5
        Per-sample probability of the flip.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import HorizontalFlip
    >>> x = torch.arange(6, dtype=torch.uint8).view(1, 1, 2, 3)
    >>> (HorizontalFlip(p=1.0)(x) * 255).round().to(torch.uint8)[0, 0].tolist()
    [[2, 1, 0], [5, 4, 3]]
    """

    axis = 1


class VerticalFlip(_Flip):
    """Mirror top-bottom with probability ``p`` per sample.

    Parameters
    ----------
    p : float, default 0.5
        Per-sample probability of the flip.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import VerticalFlip
    >>> x = torch.arange(4, dtype=torch.float32).view(1, 1, 2, 2) / 4
    >>> (VerticalFlip(p=1.0)(x) * 4)[0, 0].tolist()
    [[2.0, 3.0], [0.0, 1.0]]
    """

    axis = 0


class Affine(GeometricTransform):
    """Rotation, scale, translation and shear about the image centre, drawn per sample.

    Parameters
    ----------
    degrees : float or (float, float), default 0
        Rotation angle range in degrees (a number ``d`` means ``(-d, d)``); positive turns the image
        counter-clockwise.
    translate : (float or (float, float), float or (float, float)), default (0, 0)
        Shift as a fraction of width and of height: a number ``t`` draws from ``[-t, t]``, a pair
        from ``(min, max)``.
    scale : float or (float, float), default 1
        Zoom factor range (isotropic).
    shear : float or (float, float), default 0
        Horizontal shear angle range in degrees (a number ``s`` means ``(-s, s)``).
    shear_y : float or (float, float), default 0
        Vertical shear angle range in degrees.
    keep_ratio : bool, default True
        One zoom factor for both axes; False draws the vertical one separately (albumentations'
        ``keep_ratio=False``).
    scale_y : float or (float, float), optional
        Range of the vertical zoom when it differs from ``scale`` (then drawn separately).
    p : float, default 1
        Probability per sample.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import Affine
    >>> aug = Affine(degrees=90, p=1.0)
    >>> out = aug(torch.rand(4, 3, 8, 8))
    >>> out.shape, out.dtype
    (torch.Size([4, 3, 8, 8]), torch.float32)
    """

    slots = 8

    def __init__(self, degrees: float | Sequence[float] = 0.0, translate: Sequence[Any] = (0.0, 0.0),
                 scale: float | Sequence[float] = 1.0, shear: float | Sequence[float] = 0.0,
                 shear_y: float | Sequence[float] = 0.0, keep_ratio: bool = True,
                 scale_y: float | Sequence[float] | None = None, p: float = 1.0) -> None:
        super().__init__(p)
        self.degrees = check_range(degrees, "degrees", symmetric_around=0.0)
        if not isinstance(translate, Sequence) or len(translate) != 2:
            raise ValueError(f"The 'translate' parameter must be an (x, y) pair of fractions; got {translate!r}.")
        self.translate = (check_range(translate[0], "translate", low=-1.0, high=1.0, symmetric_around=0.0),
                          check_range(translate[1], "translate", low=-1.0, high=1.0, symmetric_around=0.0))
        self.scale = check_range(scale, "scale", low=1e-6)
        self.shear = check_range(shear, "shear", low=-89.0, high=89.0, symmetric_around=0.0)
        self.shear_y = check_range(shear_y, "shear_y", low=-89.0, high=89.0, symmetric_around=0.0)
        self.keep_ratio = bool(keep_ratio) and scale_y is None
        self.scale_y = self.scale if scale_y is None else check_range(scale_y, "scale_y", low=1e-6)

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active)

        def span(lo_hi: tuple[float, float], col: int) -> Tensor:
            return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * u[:, col]

        h, w = size
        angle = torch.deg2rad(span(self.degrees, 1))
        tx = span(self.translate[0], 2) * w
        ty = span(self.translate[1], 3) * h
        sx = span(self.scale, 4)
        sy = sx if self.keep_ratio else span(self.scale_y, 7)
        shx = torch.tan(torch.deg2rad(-span(self.shear, 5)))  # albumentations' sign
        shy = torch.tan(torch.deg2rad(-span(self.shear_y, 6)))
        cos, sin = torch.cos(angle), torch.sin(angle)
        # A = Shear @ Rotation @ Scale, with Rotation = [[cos, sin], [-sin, cos]] (albumentations)
        a = (cos - shx * sin) * sx
        b = (sin + shx * cos) * sy
        c = (shy * cos - sin) * sx
        d = (shy * sin + cos) * sy
        cx, cy = w / 2 - 0.5, h / 2 - 0.5
        m = _affine(a, b, c, d, cx + tx - a * cx - b * cy, cy + ty - c * cx - d * cy)
        return torch.where(on.view(-1, 1, 1), m, identity(len(on), m.device))


class RandomResizedCrop(_Sized):
    """Crop a random area and aspect ratio, resize it to ``size`` (torchvision's draw, per sample).

    Ten candidate boxes are drawn per sample side by side and the first that fits is taken; if
    none fits, the centre crop with the closest allowed ratio (torchvision's fallback). Samples
    not drawn by ``p`` are resized whole.

    Parameters
    ----------
    size : int or (int, int)
        Output (height, width).
    scale : (float, float), default (0.08, 1.0)
        Range of the crop's share of the image area.
    ratio : (float, float), default (3/4, 4/3)
        Range of the crop's width / height, drawn log-uniformly.
    p : float, default 1

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import RandomResizedCrop
    >>> RandomResizedCrop(16)(torch.randint(0, 256, (2, 3, 40, 30), dtype=torch.uint8)).shape
    torch.Size([2, 3, 16, 16])
    """

    attempts = 10
    slots = 1 + 4 * attempts

    def __init__(self, size: int | Sequence[int], scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3 / 4, 4 / 3), p: float = 1.0) -> None:
        super().__init__(p)
        self.size = check_size(size)
        self.scale = check_range(scale, "scale", low=1e-6, high=1.0)
        self.ratio = check_range(ratio, "ratio", low=1e-6)

    def fallback_box(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(x0, y0, w, h) of the centre crop with the closest allowed ratio: torchvision's box when
        none of the tries fits."""
        height, width = size
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            fw, fh = width, round(width / self.ratio[0])
        elif in_ratio > self.ratio[1]:
            fw, fh = round(height * self.ratio[1]), height
        else:
            fw, fh = width, height
        return (width - fw) // 2, (height - fh) // 2, fw, fh

    def boxes(self, u: Tensor, size: tuple[int, int]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(x0, y0, w, h) crop boxes from the uniforms (B, 4 * attempts), torchvision's rule."""
        height, width = size
        area = height * width
        k = self.attempts
        target = area * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, :k])
        lo, hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(lo + (hi - lo) * u[:, k:2 * k])
        w = torch.round(torch.sqrt(target * aspect))
        h = torch.round(torch.sqrt(target / aspect))
        fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = torch.argmax(fits.to(torch.uint8), dim=1, keepdim=True)
        any_fit = fits.any(dim=1)
        w = w.gather(1, first)[:, 0]
        h = h.gather(1, first)[:, 0]
        y0 = torch.floor(u[:, 2 * k:3 * k].gather(1, first)[:, 0] * (height - h + 1))
        x0 = torch.floor(u[:, 3 * k:].gather(1, first)[:, 0] * (width - w + 1))
        full = constant([float(v) for v in self.fallback_box(size)], u.device)
        box = torch.stack([x0, y0, w, h], dim=1)
        box = torch.where(any_fit[:, None], box, full)
        return box[:, 0], box[:, 1], box[:, 2], box[:, 3]

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active)
        x0, y0, w, h = self.boxes(u[:, 1:], size)
        whole = constant([0.0, 0.0, float(size[1]), float(size[0])], u.device)
        box = torch.where(on[:, None], torch.stack([x0, y0, w, h], 1), whole)
        return crop_resize_matrix(box[:, 0], box[:, 1], box[:, 2], box[:, 3], self.size)


class RandomCrop(_Sized):
    """Cut a ``size`` window at a random whole-pixel offset (exact: no interpolation).

    Parameters
    ----------
    size : int or (int, int)
        Output (height, width).
    padding : int, default 0
        The window may start up to ``padding`` pixels outside the image (filled with zeros), as
        torchvision's ``RandomCrop(padding=...)``.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import RandomCrop
    >>> RandomCrop(24, padding=4)(torch.rand(8, 3, 32, 32)).shape
    torch.Size([8, 3, 24, 24])
    """

    exact = True
    slots = 3

    def __init__(self, size: int | Sequence[int], padding: int = 0) -> None:
        super().__init__(1.0)
        self.size = check_size(size)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"The 'padding' parameter must be a non-negative int; got {padding!r}.")
        self.padding = padding

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        h, w = self.size
        room_y = size[0] + 2 * self.padding - h
        room_x = size[1] + 2 * self.padding - w
        if room_y < 0 or room_x < 0:
            raise ValueError(f"RandomCrop size {self.size} is larger than the padded image "
                             f"({size[0] + 2 * self.padding}, {size[1] + 2 * self.padding}).")
        u = draw.uniform(self, self.slots)
        y0 = torch.floor(u[:, 1] * (room_y + 1)) - self.padding
        x0 = torch.floor(u[:, 2] * (room_x + 1)) - self.padding
        ones = torch.ones_like(x0)
        return _scale_translate(ones, ones, -x0, -y0)


class _SizeOnly(_Sized):
    """A deterministic transform whose only parameter is its output size."""

    slots = 0

    def __init__(self, size: int | Sequence[int]) -> None:
        super().__init__(1.0)
        self.size = check_size(size)


class CenterCrop(_SizeOnly):
    """Cut the central ``size`` window (albumentations' rounding: offsets floored; exact).

    Parameters
    ----------
    size : int or (int, int)
        Output side, or (height, width).

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import CenterCrop
    >>> CenterCrop(2)(torch.arange(16.0).view(1, 1, 4, 4) / 16)[0, 0].mul(16).tolist()
    [[5.0, 6.0], [9.0, 10.0]]
    """

    exact = True

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        top = (size[0] - self.size[0]) // 2
        left = (size[1] - self.size[1]) // 2
        m = identity(draw.batch, draw.device)
        m[:, 0, 2] = -left
        m[:, 1, 2] = -top
        return m


class Resize(_SizeOnly):
    """Resize every image to ``size`` (bilinear, pixel-centre aligned like ``cv2.resize``).

    Parameters
    ----------
    size : int or (int, int)
        Output side, or (height, width).

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import Resize
    >>> Resize((8, 12))(torch.rand(2, 3, 16, 24)).shape
    torch.Size([2, 3, 8, 12])
    """

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        zeros = torch.zeros(draw.batch, device=draw.device)
        return crop_resize_matrix(zeros, zeros, zeros + size[1], zeros + size[0], self.size)
