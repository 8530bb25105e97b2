"""Augmentation policies drawn per sample: RandAugment and TrivialAugmentWide, batched.

torchvision applies these policies one image at a time (or one draw per batch); here every sample
of a batch draws its own ops, magnitudes and signs in one call (keyed by ``(seed, epoch, sample
id)`` like every datafix op), and each op runs once per batch on the samples that drew it. The
op sets, magnitude bins and signs follow torchvision's definitions (``RandAugment(num_ops=2,
magnitude=9, num_magnitude_bins=31)``, ``TrivialAugmentWide(num_magnitude_bins=31)``):
geometric ops (shear, translate, rotate) resample with nearest neighbours and fill 0, as
torchvision's defaults do; the tone ops are :mod:`datafix.augment.tone`'s.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from datafix._validation import check_int
from datafix.augment._warp import warp_nearest
from datafix.augment.base import ColorTransform, Draw, applied
from datafix.augment.color import grayscale
from datafix.augment.tone import autocontrast, equalize, posterize, sharpness, solarize
from datafix.errors import InvalidInputError

Params = dict[str, Tensor]

#: The ops in torchvision's order; the first five are geometric.
OPS = ("Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
       "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize")
GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")
#: Ops whose magnitude gets a random sign.
SIGNED = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast", "Sharpness")


def rand_augment_space(num_bins: int, size: tuple[int, int]) -> dict[str, Tensor]:
    """torchvision's RandAugment magnitudes per op (``num_bins`` values; one 0 for the ops without)."""
    h, w = size
    line = torch.linspace
    return {"Identity": torch.zeros(1), "ShearX": line(0.0, 0.3, num_bins), "ShearY": line(0.0, 0.3, num_bins),
            "TranslateX": line(0.0, 150.0 / 331.0 * w, num_bins), "TranslateY": line(0.0, 150.0 / 331.0 * h, num_bins),
            "Rotate": line(0.0, 30.0, num_bins), "Brightness": line(0.0, 0.9, num_bins),
            "Color": line(0.0, 0.9, num_bins), "Contrast": line(0.0, 0.9, num_bins),
            "Sharpness": line(0.0, 0.9, num_bins),
            "Posterize": 8 - (torch.arange(num_bins) / ((num_bins - 1) / 4)).round(),
            "Solarize": line(255.0, 0.0, num_bins), "AutoContrast": torch.zeros(1), "Equalize": torch.zeros(1)}


def trivial_augment_space(num_bins: int) -> dict[str, Tensor]:
    """torchvision's TrivialAugmentWide magnitudes per op (the wide ranges)."""
    line = torch.linspace
    return {"Identity": torch.zeros(1), "ShearX": line(0.0, 0.99, num_bins), "ShearY": line(0.0, 0.99, num_bins),
            "TranslateX": line(0.0, 32.0, num_bins), "TranslateY": line(0.0, 32.0, num_bins),
            "Rotate": line(0.0, 135.0, num_bins), "Brightness": line(0.0, 0.99, num_bins),
            "Color": line(0.0, 0.99, num_bins), "Contrast": line(0.0, 0.99, num_bins),
            "Sharpness": line(0.0, 0.99, num_bins),
            "Posterize": 8 - (torch.arange(num_bins) / ((num_bins - 1) / 6)).round(),
            "Solarize": line(255.0, 0.0, num_bins), "AutoContrast": torch.zeros(1), "Equalize": torch.zeros(1)}


def geometric_inverse(op: str, magnitude: Tensor, size: tuple[int, int]) -> Tensor:
    """(B, 3, 3) inverse matrices (output pixel -> source pixel, pixel centres at integers) of one
    geometric op per sample, as torchvision's ``affine`` / ``rotate`` define it: shears and
    translations about the top-left corner, rotation counter-clockwise about the centre."""
    h, w = size
    b = magnitude.shape[0]
    zero = torch.zeros_like(magnitude)
    rot, sx, sy, tx, ty = zero, zero, zero, zero, zero
    corner = True
    if op == "ShearX":
        sx = torch.atan(magnitude)
    elif op == "ShearY":
        sy = torch.atan(magnitude)
    elif op == "TranslateX":
        tx = torch.trunc(magnitude)
    elif op == "TranslateY":
        ty = torch.trunc(magnitude)
    else:  # Rotate: F.rotate(img, angle) inverts with -angle about the centre
        rot = -magnitude * (math.pi / 180.0)
        corner = False
    cx, cy = (-w * 0.5, -h * 0.5) if corner else (0.0, 0.0)  # centred coordinates (0 = image centre)
    a = torch.cos(rot - sy) / torch.cos(sy)
    bb = -(a * torch.tan(sx) + torch.sin(rot))
    c = torch.sin(rot - sy) / torch.cos(sy)
    d = torch.cos(rot) - c * torch.tan(sx)
    m = torch.zeros(b, 3, 3, dtype=torch.float32, device=magnitude.device)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = d, -bb, -c, a
    m[:, 0, 2] = cx - d * (cx + tx) + bb * (cy + ty)
    m[:, 1, 2] = cy + c * (cx + tx) - a * (cy + ty)
    m[:, 2, 2] = 1.0
    ox, oy = (w - 1) * 0.5, (h - 1) * 0.5  # pixel centre i sits at i - (w - 1) / 2 in centred coordinates
    to_centred = torch.tensor([[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]], device=magnitude.device)
    to_pixels = torch.tensor([[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]], device=magnitude.device)
    return to_pixels @ m @ to_centred


def apply_op(x: Tensor, op: str, magnitude: Tensor) -> Tensor:
    """One op on every image of ``x`` (float, [0, 1]) with per-sample ``magnitude`` (signed)."""
    if op == "Identity":
        return x
    if op in GEOMETRIC:
        return warp_nearest(x, geometric_inverse(op, magnitude, x.shape[-2:]), x.shape[-2:], fill=0)
    f = (1.0 + magnitude).view(-1, 1, 1, 1).to(x.dtype)
    if op == "Brightness":
        return (x * f).clamp(0.0, 1.0)
    if op == "Color":
        return (f * x + (1.0 - f) * grayscale(x)).clamp(0.0, 1.0)
    if op == "Contrast":
        return (f * x + (1.0 - f) * grayscale(x).mean(dim=(-3, -2, -1), keepdim=True)).clamp(0.0, 1.0)
    if op == "Sharpness":
        return sharpness(x, 1.0 + magnitude)
    if op == "Posterize":
        return posterize(x, magnitude.to(torch.int64))
    if op == "Solarize":
        return solarize(x, magnitude / 255.0)
    if op == "AutoContrast":
        return autocontrast(x)
    return equalize(x)


class _Policy(ColorTransform):
    """Shared machinery: ``num_ops`` slots per sample, each an op, a magnitude bin and a sign."""

    num_ops = 1

    def _space(self, size: tuple[int, int]) -> dict[str, Tensor]:
        raise NotImplementedError

    def _bins(self, u: Tensor) -> Tensor:
        raise NotImplementedError

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, 1 + 3 * self.num_ops)
        on = applied(u[:, 0], self.p, active)
        space = self._space(tuple(shape[-2:]))
        ops, magnitudes = [], []
        for slot in range(self.num_ops):
            uo, ub, us = u[:, 1 + 3 * slot], u[:, 2 + 3 * slot], u[:, 3 + 3 * slot]
            op = (uo * len(OPS)).floor().clamp(max=len(OPS) - 1).to(torch.int64)
            op = torch.where(on, op, torch.zeros_like(op))  # not drawn: Identity
            bins = self._bins(ub)
            table = torch.stack([_padded(space[name], self.num_magnitude_bins) for name in OPS]).to(u.device)
            magnitude = table[op, bins]
            signed = torch.tensor([name in SIGNED for name in OPS], device=u.device)[op]
            magnitude = torch.where(signed & (us < 0.5), -magnitude, magnitude)
            ops.append(op)
            magnitudes.append(magnitude)
        return {"ops": torch.stack(ops, 1), "magnitudes": torch.stack(magnitudes, 1)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        x = images
        for slot in range(params["ops"].shape[1]):
            op, magnitude = params["ops"][:, slot], params["magnitudes"][:, slot]
            out = x.clone()
            for code in torch.unique(op).tolist():  # each op once per batch, on the samples that drew it
                if code == 0:
                    continue
                chosen = op == code
                out[chosen] = apply_op(x[chosen], OPS[code], magnitude[chosen]).to(out.dtype)
            x = out
        return x


def _padded(values: Tensor, bins: int) -> Tensor:
    """An op's magnitudes as ``bins`` values (a single value repeated)."""
    return values.expand(bins) if values.numel() == 1 else values


class RandAugment(_Policy):
    """RandAugment (Cubuk et al. 2020): ``num_ops`` ops per sample, uniform among the 14, at one magnitude.

    Parameters
    ----------
    num_ops : int, default 2
        Ops applied one after the other to each sample.
    magnitude : int, default 9
        The magnitude bin (0 to ``num_magnitude_bins - 1``) of every op.
    num_magnitude_bins : int, default 31
    p : float, default 1.0
        Per-sample probability of applying the policy at all.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import RandAugment
    >>> from datafix.augment import Compose
    >>> policy = Compose([RandAugment(num_ops=2, magnitude=9)], seed=0)  # every sample draws its own ops
    >>> out = policy(torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8))
    >>> out.shape, out.dtype
    (torch.Size([8, 3, 16, 16]), torch.float32)
    """

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31, p: float = 1.0) -> None:
        super().__init__(p)
        self.num_ops = check_int(num_ops, "num_ops", minimum=1)
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", minimum=2)
        self.magnitude = check_int(magnitude, "magnitude", minimum=0)
        if self.magnitude >= self.num_magnitude_bins:
            raise InvalidInputError(f"The 'magnitude' parameter must be below num_magnitude_bins="
                                    f"{self.num_magnitude_bins}; got {magnitude}.")
        self.slots = 1 + 3 * self.num_ops

    def _space(self, size: tuple[int, int]) -> dict[str, Tensor]:
        return rand_augment_space(self.num_magnitude_bins, size)

    def _bins(self, u: Tensor) -> Tensor:
        return torch.full_like(u, self.magnitude, dtype=torch.int64)


class TrivialAugmentWide(_Policy):
    """TrivialAugment (Müller and Hutter 2021): one op per sample, uniform among the 14, at a uniform magnitude bin.

    Parameters
    ----------
    num_magnitude_bins : int, default 31
    p : float, default 1.0

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import TrivialAugmentWide
    >>> policy = TrivialAugmentWide()
    >>> out = policy(torch.rand(8, 3, 16, 16))
    >>> out.shape
    torch.Size([8, 3, 16, 16])
    """

    def __init__(self, num_magnitude_bins: int = 31, p: float = 1.0) -> None:
        super().__init__(p)
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", minimum=2)
        self.num_ops = 1
        self.slots = 4

    def _space(self, size: tuple[int, int]) -> dict[str, Tensor]:
        return trivial_augment_space(self.num_magnitude_bins)

    def _bins(self, u: Tensor) -> Tensor:
        return (u * self.num_magnitude_bins).floor().clamp(max=self.num_magnitude_bins - 1).to(torch.int64)
