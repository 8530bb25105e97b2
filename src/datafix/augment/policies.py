"""Augmentation policies drawn per sample: RandAugment, TrivialAugmentWide, AutoAugment and AugMix, batched.

torchvision applies these policies one image at a time (or one draw per batch); here every sample
of a batch draws its own ops, magnitudes and signs in one call (keyed by ``(seed, epoch, sample
id)`` like every datafix op), and each op runs once per batch on the samples that drew it. The
op sets, magnitude bins and signs follow torchvision's definitions (``RandAugment(num_ops=2,
magnitude=9, num_magnitude_bins=31)``, ``TrivialAugmentWide(num_magnitude_bins=31)``):
geometric ops (shear, translate, rotate) resample with nearest neighbours and fill 0, as
torchvision's defaults do; the tone ops are :mod:`datafix.augment.tone`'s. Every op is one row of
:data:`POLICY_OPS` (its magnitudes in each policy, its sign, its batched and per-image kernels),
which the batched path, the CPU per-image path and each policy's op list read.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from datafix._validation import check_choice, check_int
from datafix.augment import _policy_image
from datafix.augment._random import GAMMA_SLOTS, gamma_from_uniform
from datafix.augment._warp import warp_nearest
from datafix.augment.base import ColorTransform, Draw, applied
from datafix.augment.color import grayscale
from datafix.augment.tone import autocontrast, equalize, posterize, sharpness, solarize
from datafix.errors import InvalidInputError

Params = dict[str, Tensor]
#: An op's magnitudes: (bins, (height, width)) -> one value per bin (one 0 for an op without).
Magnitudes = Callable[[int, tuple[int, int]], Tensor]


def _line(start: float, stop: float) -> Magnitudes:
    return lambda bins, size: torch.linspace(start, stop, bins)


def _side(axis: int, times: float, over: float = 1.0) -> Magnitudes:
    """Shifts up to ``times * side / over`` pixels of the image's side ``axis`` (0: height, 1: width)."""
    return lambda bins, size: torch.linspace(0.0, times * size[axis] / over, bins)


def _bits(most: int, span: int) -> Magnitudes:
    """Posterize's bits: from ``most`` down by ``span`` over the bins."""
    return lambda bins, size: most - (torch.arange(bins) / ((bins - 1) / span)).round()


def _none(bins: int, size: tuple[int, int]) -> Tensor:
    return torch.zeros(1)


def _factor(x: Tensor, magnitude: Tensor) -> Tensor:
    """``1 + magnitude`` per sample, broadcast over ``x``."""
    return (1.0 + magnitude).view(-1, 1, 1, 1).to(x.dtype)


@dataclass(frozen=True)
class PolicyOp:
    """One op of the policies, described once: a row of torchvision's ``_AUGMENTATION_SPACE``
    tables (one per policy there, merged here) with the op's kernels.

    Attributes
    ----------
    signed : bool
        Whether a drawn magnitude gets a random sign.
    rand, wide, augmix : callable or None
        The op's magnitudes (:data:`Magnitudes`) in RandAugment (AutoAugment reads them over 10
        bins), TrivialAugmentWide and AugMix, as torchvision defines them; None leaves the op out
        of that policy (AutoAugment takes every op, one 0 where ``rand`` is None).
    batched : callable or None
        ``batched(images, magnitude)``: the op on a float batch in [0, 1] with one signed
        magnitude per sample (the reference); None for a geometric op.
    image : callable or None
        ``image(image, magnitude)``: the op on one (H, W, C) uint8 image with 1 or 3 channels
        (an OpenCV kernel of :mod:`datafix.augment._policy_image`); None for a geometric op.
    warp : str or None
        For a geometric op, the parameter of :func:`geometric_inverse` its magnitude sets:
        "shear_x", "shear_y", "translate_x", "translate_y" or "rotate".
    all_ops : bool
        One of the ops AugMix adds with torchvision's ``all_ops=True`` (they overlap ImageNet-C's
        corruptions): AugMix lists them after the others, as torchvision does.
    """

    signed: bool
    rand: Magnitudes | None
    wide: Magnitudes | None
    augmix: Magnitudes | None
    batched: Callable[[Tensor, Tensor], Tensor] | None = None
    image: Callable[[np.ndarray, float], np.ndarray] | None = None
    warp: str | None = None
    all_ops: bool = False


#: Every op of the policies, in torchvision's order (the first five after Identity geometric):
#: its magnitudes per policy, sign, and batched and per-image kernels. RandAugment,
#: TrivialAugmentWide and AugMix draw from the ops with magnitudes in their column, AutoAugment's
#: sub-policies name any of them.
POLICY_OPS: dict[str, PolicyOp] = {
    "Identity": PolicyOp(False, _none, _none, _none, lambda x, m: x, lambda im, m: im),
    "ShearX": PolicyOp(True, _line(0.0, 0.3), _line(0.0, 0.99), _line(0.0, 0.3), warp="shear_x"),
    "ShearY": PolicyOp(True, _line(0.0, 0.3), _line(0.0, 0.99), _line(0.0, 0.3), warp="shear_y"),
    "TranslateX": PolicyOp(True, _side(1, 150.0 / 331.0), _line(0.0, 32.0), _side(1, 1.0, 3.0), warp="translate_x"),
    "TranslateY": PolicyOp(True, _side(0, 150.0 / 331.0), _line(0.0, 32.0), _side(0, 1.0, 3.0), warp="translate_y"),
    "Rotate": PolicyOp(True, _line(0.0, 30.0), _line(0.0, 135.0), _line(0.0, 30.0), warp="rotate"),
    "Brightness": PolicyOp(True, _line(0.0, 0.9), _line(0.0, 0.99), _line(0.0, 0.9),
                           lambda x, m: (x * _factor(x, m)).clamp(0.0, 1.0),
                           lambda im, m: _policy_image.brightness(im, 1.0 + m), all_ops=True),
    "Color": PolicyOp(True, _line(0.0, 0.9), _line(0.0, 0.99), _line(0.0, 0.9),
                      lambda x, m: (_factor(x, m) * x + (1.0 - _factor(x, m)) * grayscale(x)).clamp(0.0, 1.0),
                      lambda im, m: _policy_image.color(im, 1.0 + m), all_ops=True),
    "Contrast": PolicyOp(True, _line(0.0, 0.9), _line(0.0, 0.99), _line(0.0, 0.9),
                         lambda x, m: (_factor(x, m) * x + (1.0 - _factor(x, m))
                                       * grayscale(x).mean(dim=(-3, -2, -1), keepdim=True)).clamp(0.0, 1.0),
                         lambda im, m: _policy_image.contrast(im, 1.0 + m), all_ops=True),
    "Sharpness": PolicyOp(True, _line(0.0, 0.9), _line(0.0, 0.99), _line(0.0, 0.9),
                          lambda x, m: sharpness(x, 1.0 + m),
                          lambda im, m: _policy_image.sharpness(im, 1.0 + m), all_ops=True),
    "Posterize": PolicyOp(False, _bits(8, 4), _bits(8, 6), _bits(4, 4),
                          lambda x, m: posterize(x, m.to(torch.int64)),
                          lambda im, m: _policy_image.posterize(im, int(m))),
    "Solarize": PolicyOp(False, _line(255.0, 0.0), _line(255.0, 0.0), _line(255.0, 0.0),
                         lambda x, m: solarize(x, m / 255.0),
                         lambda im, m: _policy_image.solarize(im, np.float32(m) / np.float32(255.0))),
    "AutoContrast": PolicyOp(False, _none, _none, _none, lambda x, m: autocontrast(x),
                             lambda im, m: _policy_image.autocontrast(im)),
    "Equalize": PolicyOp(False, _none, _none, _none, lambda x, m: equalize(x), lambda im, m: _policy_image.equalize(im)),
    "Invert": PolicyOp(False, None, None, None, lambda x, m: 1.0 - x, lambda im, m: _policy_image.invert(im)),
}


def policy_ops(column: str | None) -> tuple[str, ...]:
    """The ops of :data:`POLICY_OPS` with magnitudes in ``column`` ("rand", "wide" or "augmix";
    None: every op), in torchvision's order for that policy (AugMix's ``all_ops`` extras last)."""
    names = [name for name, op in POLICY_OPS.items() if column is None or getattr(op, column) is not None]
    return tuple(sorted(names, key=lambda name: POLICY_OPS[name].all_ops) if column == "augmix" else names)


def magnitudes(column: str, names: Sequence[str], bins: int, size: tuple[int, int]) -> Tensor:
    """(len(names), bins) magnitudes of ops ``names`` from ``column`` on images of ``size`` (an
    op without magnitudes repeats one value; one 0 where the column has none)."""
    values = [(getattr(POLICY_OPS[name], column) or _none)(bins, size) for name in names]
    return torch.stack([v.expand(bins) if v.numel() == 1 else v for v in values])


#: RandAugment's and TrivialAugmentWide's 14 ops (the first five after Identity geometric).
OPS = policy_ops("rand")
GEOMETRIC = tuple(name for name, op in POLICY_OPS.items() if op.warp)
#: Ops whose magnitude gets a random sign.
SIGNED = tuple(name for name, op in POLICY_OPS.items() if op.signed)


def geometric_inverse(op: str | Sequence[str], magnitude: Tensor, size: tuple[int, int]) -> Tensor:
    """(B, 3, 3) inverse matrices (output pixel -> source pixel, pixel centres at integers) of a
    geometric op per sample (``op``: one name for all, or one per sample), as torchvision's
    ``affine`` / ``rotate`` define it: shears and translations about the top-left corner,
    rotation counter-clockwise about the centre."""
    h, w = size
    b = magnitude.shape[0]
    warps = [POLICY_OPS[name].warp for name in ([op] * b if isinstance(op, str) else op)]

    def where(warp: str, value: Tensor) -> Tensor:
        chosen = torch.tensor([w_ == warp for w_ in warps], device=magnitude.device)
        return torch.where(chosen, value, torch.zeros_like(value))

    sx, sy = where("shear_x", torch.atan(magnitude)), where("shear_y", torch.atan(magnitude))
    tx, ty = where("translate_x", torch.trunc(magnitude)), where("translate_y", torch.trunc(magnitude))
    rot = where("rotate", -magnitude * (math.pi / 180.0))  # F.rotate(img, angle) inverts with -angle
    corner = torch.tensor([w_ != "rotate" for w_ in warps], device=magnitude.device, dtype=magnitude.dtype)
    cx, cy = corner * (-w * 0.5), corner * (-h * 0.5)  # centred coordinates (0 = image centre)
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
    kernel = POLICY_OPS[op].batched
    if kernel is None:
        return warp_nearest(x, geometric_inverse(op, magnitude, x.shape[-2:]), x.shape[-2:], fill=0)
    return kernel(x, magnitude)


class _Policy(ColorTransform):
    """Shared machinery: ``num_ops`` slots per sample, each an op, a magnitude bin and a sign.

    ``column`` names the policy's magnitudes in :data:`POLICY_OPS`, and ``op_names`` the ops a
    slot draws from (code 0, Identity, marks a slot not drawn): those with magnitudes there;
    ``draw_identity`` says whether Identity is among the ops drawn.
    """

    num_ops = 1
    column = "rand"
    draw_identity = True

    @property
    def op_names(self) -> tuple[str, ...]:
        """The ops of :data:`POLICY_OPS` this policy draws from, in its order."""
        return self._op_names

    @functools.cached_property
    def _op_names(self) -> tuple[str, ...]:  # read from the table once per policy
        return policy_ops(self.column)

    def _table(self, size: tuple[int, int], device: torch.device) -> tuple[Tensor, Tensor]:
        """(ops, bins) magnitudes of ``op_names`` on images of ``size``, and whether each op is signed."""
        table = magnitudes(self.column, self.op_names, self.num_magnitude_bins, size).to(device)
        return table, torch.tensor([POLICY_OPS[name].signed for name in self.op_names], device=device)

    def _bins(self, u: Tensor) -> Tensor:
        raise NotImplementedError

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, 1 + 3 * self.num_ops)
        on = applied(u[:, 0], self.p, active)
        return self._slots(u[:, 1:], on, tuple(shape[-2:]))

    def _slots(self, u: Tensor, on: Tensor, size: tuple[int, int]) -> Params:
        """Ops and signed magnitudes (B, num_ops) from 3 uniforms per slot; Identity where ``on`` is False."""
        names = self.op_names
        table, signed_ops = self._table(size, u.device)
        first = 0 if self.draw_identity else 1
        ops, magnitudes = [], []
        for slot in range(u.shape[1] // 3):
            uo, ub, us = u[:, 3 * slot], u[:, 3 * slot + 1], u[:, 3 * slot + 2]
            op = first + (uo * (len(names) - first)).floor().clamp(max=len(names) - 1 - first).to(torch.int64)
            op = torch.where(on, op, torch.zeros_like(op))  # not drawn: Identity
            magnitude = table[op, self._bins(ub)]
            magnitude = torch.where(signed_ops[op] & (us < 0.5), -magnitude, magnitude)
            ops.append(op)
            magnitudes.append(magnitude)
        return {"ops": torch.stack(ops, 1), "magnitudes": torch.stack(magnitudes, 1)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        return self._chain(images, params["ops"], params["magnitudes"])

    def image_params(self, params: Params, size: tuple[int, int]) -> Params:
        return {**params, "inverses": op_inverses(self.op_names, params["ops"], params["magnitudes"], size)}

    def apply_image(self, image: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        return _policy_image.chain(image, self.op_names, self._image_kernels(), params["ops"], params["magnitudes"],
                                   params["inverses"], apply_op)

    def _image_kernels(self) -> list[Any]:
        """The per-image kernel of each op of ``op_names`` (None: geometric)."""
        return [POLICY_OPS[name].image for name in self.op_names]

    def _chain(self, images: Tensor, ops: Tensor, magnitudes: Tensor) -> Tensor:
        """The slots' ops one after the other. Per slot the batch is sorted by op (every geometric
        op in one group, resampled in one pass), each op runs once on its contiguous run of
        samples, and one gather puts the samples back: two copies per slot, one host
        synchronisation (the group sizes), whatever the number of ops drawn."""
        x = images
        names = self.op_names
        # the sort key: Identity 0, every geometric op 1, the others after
        group = torch.tensor([0 if c == 0 else 1 if POLICY_OPS[name].warp else 1 + c for c, name in enumerate(names)],
                             device=ops.device)
        for slot in range(ops.shape[1]):
            op, magnitude = ops[:, slot], magnitudes[:, slot]
            keys = group[op]
            order = torch.argsort(keys, stable=True)
            sizes = torch.bincount(keys, minlength=len(names) + 1).tolist()
            xs, os_, ms = x[order], op[order], magnitude[order]
            parts, start = [], 0
            for key, size in enumerate(sizes):
                if size == 0:
                    continue
                seg = slice(start, start + size)
                start += size
                if key == 0:
                    parts.append(xs[seg])
                elif key == 1:
                    inverses = op_inverses(names, os_[seg], ms[seg], tuple(x.shape[-2:]))
                    parts.append(warp_nearest(xs[seg], inverses, x.shape[-2:], fill=0).to(x.dtype))
                else:
                    parts.append(apply_op(xs[seg], names[key - 1], ms[seg]).to(x.dtype))
            x = torch.empty_like(x).index_copy_(0, order, torch.cat(parts))
        return x


def op_inverses(op_names: tuple[str, ...], ops: Tensor, magnitudes: Tensor, size: tuple[int, int]) -> Tensor:
    """(..., 2, 3) inverse matrices of drawn ``ops`` (codes into ``op_names``): the geometric ops'
    (:func:`geometric_inverse`, all in one pass), identity elsewhere."""
    codes, values = ops.reshape(-1), magnitudes.reshape(-1)
    out = torch.eye(3, dtype=torch.float32, device=ops.device)[:2].repeat(codes.shape[0], 1, 1)
    names = [op_names[code] for code in codes.tolist()]
    warped = [i for i, name in enumerate(names) if POLICY_OPS[name].warp]
    if warped:
        out[warped] = geometric_inverse([names[i] for i in warped], values[warped], size)[:, :2]
    return out.view(*ops.shape, 2, 3)


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

    column = "wide"

    def __init__(self, num_magnitude_bins: int = 31, p: float = 1.0) -> None:
        super().__init__(p)
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", minimum=2)
        self.num_ops = 1
        self.slots = 4

    def _bins(self, u: Tensor) -> Tensor:
        return (u * self.num_magnitude_bins).floor().clamp(max=self.num_magnitude_bins - 1).to(torch.int64)


#: AutoAugment's ops: every op of the table (the 14 and Invert).
AUTOAUGMENT_OPS = policy_ops(None)
#: AutoAugment reads magnitudes from this many bins (RandAugment's ranges).
AUTOAUGMENT_BINS = 10
#: The learned policies of the AutoAugment paper (Cubuk et al. 2019, appendix), in the order
#: torchvision lists them: 25 sub-policies of two (op, probability, magnitude bin) steps; a bin of
#: None marks an op without magnitude.
AUTOAUGMENT_POLICIES: dict[str, tuple[tuple[tuple[str, float, int | None], ...], ...]] = {
    "imagenet": (
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)), (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)), (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)), (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)), (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)), (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)), (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)), (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)), (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)), (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ),
    "cifar10": (
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)), (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)), (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)), (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)), (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)), (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)), (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)), (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)), (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)), (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)), (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)), (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)), (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ),
    "svhn": (
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)), (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)), (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)), (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)), (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)), (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)), (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)), (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)), (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)), (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)), (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ),
}


class AutoAugment(_Policy):
    """AutoAugment (Cubuk et al. 2019): per sample, one of the policy's 25 learned sub-policies, uniformly,
    each of its two steps applied with its own probability at its own magnitude bin (of 10) with a
    random sign, as torchvision's ``AutoAugment`` does for one image.

    Parameters
    ----------
    policy : {"imagenet", "cifar10", "svhn"}, default "imagenet"
        Which learned policy (``AUTOAUGMENT_POLICIES``).
    p : float, default 1.0
        Per-sample probability of applying the policy at all.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import AutoAugment, Compose
    >>> out = Compose([AutoAugment("cifar10")], seed=0)(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8))
    >>> out.shape, out.dtype
    (torch.Size([8, 3, 32, 32]), torch.float32)
    """

    def __init__(self, policy: str = "imagenet", p: float = 1.0) -> None:
        super().__init__(p)
        self.policy = check_choice(policy, "policy", tuple(AUTOAUGMENT_POLICIES))
        self.num_ops = 2
        self.num_magnitude_bins = AUTOAUGMENT_BINS
        self.slots = 2 + 2 * self.num_ops  # gate, sub-policy, then per step: apply, sign

    @functools.cached_property
    def _op_names(self) -> tuple[str, ...]:  # every op: the sub-policies name them (RandAugment's magnitudes)
        return policy_ops(None)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active)
        steps = AUTOAUGMENT_POLICIES[self.policy]
        device = u.device
        codes = torch.tensor([[self.op_names.index(op) for op, _, _ in sub] for sub in steps], device=device)
        probs = torch.tensor([[prob for _, prob, _ in sub] for sub in steps], device=device)
        bins = torch.tensor([[b or 0 for _, _, b in sub] for sub in steps], device=device)
        table, signed_ops = self._table(tuple(shape[-2:]), device)
        choice = (u[:, 1] * len(steps)).floor().clamp(max=len(steps) - 1).to(torch.int64)
        ops, magnitudes = [], []
        for step in range(self.num_ops):
            op = codes[choice, step]
            op = torch.where(on & (u[:, 2 + 2 * step] < probs[choice, step]), op, torch.zeros_like(op))
            magnitude = table[op, bins[choice, step]]
            magnitude = torch.where(signed_ops[op] & (u[:, 3 + 2 * step] < 0.5), -magnitude, magnitude)
            ops.append(op)
            magnitudes.append(magnitude)
        return {"ops": torch.stack(ops, 1), "magnitudes": torch.stack(magnitudes, 1), "choice": choice}


#: AugMix's ops in torchvision's order (Identity first: the code of a step beyond a chain's depth).
AUGMIX_OPS = policy_ops("augmix")
#: torchvision's AugMix reads magnitudes from this many bins, the first ``severity`` of them.
AUGMIX_BINS = 10


class AugMix(_Policy):
    """AugMix (Hendrycks et al. 2020): a convex mix of ``width`` random op chains, mixed again with the image.

    Per sample: chain weights from Dirichlet(alpha, ..., alpha), a mixing weight ``m`` from
    Beta(alpha, alpha), each chain ``depth`` ops (1 to 3 drawn per chain when ``depth=-1``) from
    torchvision's AugMix set (all ops) at a magnitude bin below ``severity`` (of 10) and a random
    sign; the output is ``m * x + (1 - m) * sum_i w_i chain_i(x)``, as torchvision computes it.

    Parameters
    ----------
    severity : int, default 3
        Magnitude bins 0 to ``severity - 1`` of 10.
    width : int, default 3
        Chains mixed.
    depth : int, default -1
        Ops per chain; -1 draws 1 to 3 per chain and sample.
    alpha : float, default 1.0
        The Dirichlet and Beta parameter.
    p : float, default 1.0

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import AugMix, Compose
    >>> out = Compose([AugMix()], seed=0)(torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8))
    >>> out.shape, bool(out.min() >= 0) and bool(out.max() <= 1)
    (torch.Size([4, 3, 16, 16]), True)
    """

    column = "augmix"
    draw_identity = False

    def __init__(self, severity: int = 3, width: int = 3, depth: int = -1, alpha: float = 1.0, p: float = 1.0) -> None:
        super().__init__(p)
        self.severity = check_int(severity, "severity", minimum=1)
        if self.severity > AUGMIX_BINS:
            raise InvalidInputError(f"The 'severity' parameter must be in [1, {AUGMIX_BINS}]; got {severity}.")
        self.width = check_int(width, "width", minimum=1)
        self.depth = check_int(depth, "depth", minimum=-1)
        if self.depth == 0:
            raise InvalidInputError("The 'depth' parameter must be -1 (1 to 3 ops drawn per chain) or at least 1; got 0.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise InvalidInputError(f"The 'alpha' parameter must be a positive float; got {alpha!r}.")
        self.alpha = float(alpha)
        self.num_magnitude_bins = AUGMIX_BINS
        self.max_depth = 3 if self.depth == -1 else self.depth
        self.slots = 1 + self.width * (1 + 3 * self.max_depth) + (self.width + 2) * GAMMA_SLOTS

    def _bins(self, u: Tensor) -> Tensor:
        return (u * self.severity).floor().clamp(max=self.severity - 1).to(torch.int64)

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> Params:
        u = draw.uniform(self, self.slots)
        on = applied(u[:, 0], self.p, active)
        chains = []
        at = 1
        for _ in range(self.width):
            depth = (torch.full_like(u[:, 0], self.depth) if self.depth > 0
                     else 1 + (u[:, at] * 3).floor().clamp(max=2))
            steps = self._slots(u[:, at + 1:at + 1 + 3 * self.max_depth], on, tuple(shape[-2:]))
            beyond = torch.arange(self.max_depth, device=u.device)[None, :] >= depth[:, None]
            steps["ops"] = torch.where(beyond, torch.zeros_like(steps["ops"]), steps["ops"])
            chains.append(steps)
            at += 1 + 3 * self.max_depth
        gammas = [gamma_from_uniform(self.alpha, u[:, at + i * GAMMA_SLOTS:at + (i + 1) * GAMMA_SLOTS])
                  for i in range(self.width + 2)]
        weights = torch.stack(gammas[:self.width], 1)
        weights = weights / weights.sum(1, keepdim=True).clamp_min(1e-30)
        m = gammas[-2] / (gammas[-2] + gammas[-1]).clamp_min(1e-30)
        m = torch.where(on, m, torch.ones_like(m))  # not drawn: the image itself
        return {"ops": torch.stack([c["ops"] for c in chains], 1), "magnitudes": torch.stack(
            [c["magnitudes"] for c in chains], 1), "weights": weights, "m": m}

    image_out_float = True  # the mix of chains is not on the 8-bit grid

    def apply_image(self, image: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        scale = np.float32(1.0 / 255.0) if image.dtype == np.uint8 else np.float32(1.0)
        m = np.float32(params["m"])
        mixed = (image.astype(np.float32) * (scale * m)).reshape(image.shape[0], image.shape[1], -1)
        kernels = self._image_kernels()
        for i in range(self.width):
            out = _policy_image.chain(image, self.op_names, kernels, params["ops"][i],
                                      params["magnitudes"][i], params["inverses"][i], apply_op)
            mixed += out.astype(np.float32) * (scale * (np.float32(1.0) - m) * np.float32(params["weights"][i]))
        return np.clip(mixed, 0.0, 1.0, out=mixed)

    def apply(self, images: Tensor, params: Params) -> Tensor:
        m = params["m"].view(-1, 1, 1, 1).to(images.dtype)
        mixed = m * images
        for i in range(self.width):
            chain = self._chain(images, params["ops"][:, i], params["magnitudes"][:, i])
            mixed = mixed + (1.0 - m) * params["weights"][:, i].view(-1, 1, 1, 1).to(images.dtype) * chain
        return mixed.clamp(0.0, 1.0)
