"""Per-sample parameters drawn inside the fused kernel: the plan a pipeline gives, and the Triton code.

A call on the draw-in-kernel path issues no torch operation per transform: the host turns the
pipeline into a small table of constants (one row per transform: its key, probability and
ranges, made on the device once and reused while nothing changes) and the kernel computes each
sample's parameters from its key, exactly as the torch path's keyed draws do
(:func:`datafix.augment._random.keyed_uniform`: the same 32-bit hash, the same float32 formulas).
So both paths agree sample by sample (to float rounding), and a call is one kernel launch (two
when ColorJitter changes contrast, which needs each sample's mean gray first).

Covered: leading geometric transforms of the exact classes in :data:`GEOMETRY_OPS` (at most
:data:`MAX_GEOMETRY`), then the colour ops of :data:`datafix.augment._fused_ops.FUSED_OPS` under
the packed path's rule (:func:`~datafix.augment._fused_ops.covering`), each with its own
``params`` and ``apply`` (a subclass that draws differently falls back to drawing on the host).
Each colour op that draws has a row after the geometry's, in order, which the kernel finds
through the op's gate (a ``tl.constexpr`` holding the row, 0 when the op draws nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from datafix.augment import _fused_ops
from datafix.augment._fused_ops import span as _span
from datafix.augment.geometry import (
    Affine,
    CenterCrop,
    HorizontalFlip,
    RandomCrop,
    RandomResizedCrop,
    Resize,
    VerticalFlip,
)

try:  # Triton ships with CUDA builds of torch
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the install
    triton = None
    tl = None

MAX_GEOMETRY = 6
ROW = 24  # floats per table row
FLIP_X, FLIP_Y, AFFINE, RESIZED_CROP, CROP, FIXED = 1, 2, 3, 4, 5, 6
_GEOMETRY_FLAGS = {f"G{i}": 0 for i in range(MAX_GEOMETRY)}  # one opcode per geometry row (0: none)


def _flip(t: Any, key: int, size: tuple[int, int]) -> tuple[int, list[float]]:
    if t.axis == 1:
        return FLIP_X, [key, t.p, size[1] - 1]
    return FLIP_Y, [key, t.p, size[0] - 1]


def _affine(t: Affine, key: int, size: tuple[int, int]) -> tuple[int, list[float]]:
    h, w = size
    return AFFINE, [key, t.p, *_span(t.degrees), *_span(t.translate[0]), *_span(t.translate[1]), *_span(t.scale),
                    *_span(t.shear), *_span(t.shear_y), *_span(t.scale_y), float(t.keep_ratio), w, h,
                    w / 2 - 0.5, h / 2 - 0.5]


def _resized_crop(t: RandomResizedCrop, key: int, size: tuple[int, int]) -> tuple[int, list[float]]:
    height, width = size
    lo, hi = math.log(t.ratio[0]), math.log(t.ratio[1])
    return RESIZED_CROP, [key, t.p, height * width, *_span(t.scale), lo, hi - lo, width, height,
                          *t.fallback_box(size), t.size[1], t.size[0]]


def _crop(t: RandomCrop, key: int, size: tuple[int, int]) -> tuple[int, list[float]] | None:
    room_y = size[0] + 2 * t.padding - t.size[0]
    room_x = size[1] + 2 * t.padding - t.size[1]
    if room_y < 0 or room_x < 0:
        return None  # the host path raises the error that names the sizes
    return CROP, [key, room_y + 1, room_x + 1, t.padding]


def _center_crop(t: CenterCrop, key: int, size: tuple[int, int]) -> tuple[int, list[float]]:
    return FIXED, [1.0, 0.0, -((size[1] - t.size[1]) // 2), 0.0, 1.0, -((size[0] - t.size[0]) // 2)]


def _resize(t: Resize, key: int, size: tuple[int, int]) -> tuple[int, list[float]]:
    sx = np.float32(t.size[1]) / np.float32(size[1])
    sy = np.float32(t.size[0]) / np.float32(size[0])
    return FIXED, [float(sx), 0.0, float(np.float32(0.5) * sx - np.float32(0.5)),
                   0.0, float(sy), float(np.float32(0.5) * sy - np.float32(0.5))]


#: The geometric transforms the kernel draws itself, by exact class, with their table rows.
GEOMETRY_OPS: dict[type, Any] = {HorizontalFlip: _flip, VerticalFlip: _flip, Affine: _affine,
                                 RandomResizedCrop: _resized_crop, RandomCrop: _crop, CenterCrop: _center_crop,
                                 Resize: _resize}


@dataclass(frozen=True)
class KernelPlan:
    """A pipeline as the kernel runs it: its ``tl.constexpr`` values (switches, gates, geometry
    opcodes ``G0``...), the constants' table, the output size and the per-channel constants."""

    flags: dict[str, Any]
    rows: tuple[tuple[float, ...], ...]
    size: tuple[int, int]
    constants: dict[str, tuple[float, ...]]


def plan(transforms: list[Any], keys: dict[int, int], shape: tuple[int, ...]) -> KernelPlan | None:
    """The kernel plan of ``transforms`` on images of ``shape`` (B, C, H, W), or None if not covered."""
    if len(shape) != 4 or shape[1] != 3:
        return None
    size = (int(shape[2]), int(shape[3]))
    lead = next((i for i, t in enumerate(transforms) if t.kind != "geometry"), len(transforms))
    ops = _fused_ops.covering(transforms[lead:], drawn=True)
    if ops is None or lead > MAX_GEOMETRY:
        return None
    gates = _fused_ops.FUSED_OPS.gates  # the i-th gate's row follows the geometry's
    rows = [[0.0] * ROW for _ in range(MAX_GEOMETRY + len(gates))]
    flags: dict[str, Any] = {"DO_WARP": lead > 0, **dict.fromkeys(_fused_ops.FUSED_OPS.switches, False),
                             **dict.fromkeys(gates, 0), **_GEOMETRY_FLAGS}
    for i, t in enumerate(transforms[:lead]):
        row = GEOMETRY_OPS.get(type(t))
        made = None if row is None else row(t, keys[id(t)], size)
        if made is None:
            return None
        flags[f"G{i}"], values = made
        rows[i][:len(values)] = [float(v) for v in values]
        size = t.output_size(size)
    constants: dict[str, tuple[float, ...]] = {}
    for t, op in zip(transforms[lead:], ops, strict=True):
        switches = op.switches(t)
        flags.update(switches)
        if op.constants:
            constants.update(op.constant_args(t))
        if op.gate:
            row = MAX_GEOMETRY + gates.index(op.gate)
            flags[op.gate] = row if any(switches.values()) else 0
            values = [keys[id(t)], *op.row(t, size)]
            rows[row][:len(values)] = [float(v) for v in values]
    return KernelPlan(flags, tuple(tuple(r) for r in rows), size, constants)


if triton is not None:

    @triton.jit
    def mix32(x):
        """The 32-bit finaliser of ``_random._mix`` on uint32 values (products wrap as the host's mask)."""
        x = x ^ (x >> 16)
        x = x * 0x7FEB352D
        x = x ^ (x >> 16)
        x = x * 0x2C1B3C6D
        x = x ^ (x >> 16)
        x = x * 0x297A2D39
        return x ^ (x >> 15)

    @triton.jit
    def sample_hash(key, row, id_lo, id_hi):
        """``keyed_hash(id, scalar_key(seed, epoch, transform))`` given ``key = scalar_key(seed, epoch)``."""
        transform = tl.load(row).to(tl.int32).to(tl.uint32)
        kt = mix32(key ^ mix32(transform))
        return mix32(mix32(id_lo ^ kt) ^ id_hi)

    @triton.jit
    def uniform(h, slot: tl.constexpr):
        """Slot ``slot`` of ``keyed_uniform``: a float32 in [0, 1) from the sample's hash."""
        s = tl.full((), slot, tl.uint32) * 0x61C88647 + 0x68E31DA4
        return (mix32(h ^ mix32(s)) >> 8).to(tl.float32) * (1.0 / 16777216.0)

    @triton.jit
    def _ranged(row, col, u):
        return tl.load(row + col) + tl.load(row + col + 1) * u

    @triton.jit
    def _round_even(x):
        """``torch.round`` (halves to even) of non-negative floats."""
        r = tl.floor(x + 0.5)
        tie = (r - x) == 0.5
        odd = (r - 2.0 * tl.floor(r * 0.5)) == 1.0
        return tl.where(tie & odd, r - 1.0, r)

    @triton.jit
    def _first_box(h, area, row, first_slot: tl.constexpr, W, H, ERASE: tl.constexpr, ATTEMPTS: tl.constexpr):
        """torchvision's ten-try box draw (RandomResizedCrop when not ERASE, RandomErasing when ERASE):
        returns (found, x0, y0, w, h) of the first try that fits."""
        found = tl.full((), 0, tl.int1)
        bx = tl.full((), 0.0, tl.float32)
        by = tl.full((), 0.0, tl.float32)
        bw = tl.full((), 0.0, tl.float32)
        bh = tl.full((), 0.0, tl.float32)
        for i in tl.static_range(ATTEMPTS):
            target = area * _ranged(row, 3, uniform(h, first_slot + i))
            aspect = tl.exp(_ranged(row, 5, uniform(h, first_slot + ATTEMPTS + i)))
            if ERASE:  # torchvision's RandomErasing: height from area * ratio
                eh = _round_even(tl.sqrt(target * aspect))
                ew = _round_even(tl.sqrt(target / aspect))
                fits = (eh < H) & (ew < W)
            else:
                ew = _round_even(tl.sqrt(target * aspect))
                eh = _round_even(tl.sqrt(target / aspect))
                fits = (ew > 0) & (ew <= W) & (eh > 0) & (eh <= H)
            y0 = tl.floor(uniform(h, first_slot + 2 * ATTEMPTS + i) * (H - eh + 1.0))
            x0 = tl.floor(uniform(h, first_slot + 3 * ATTEMPTS + i) * (W - ew + 1.0))
            take = fits & (found == 0)
            bx = tl.where(take, x0, bx)
            by = tl.where(take, y0, by)
            bw = tl.where(take, ew, bw)
            bh = tl.where(take, eh, bh)
            found = found | fits
        return found, bx, by, bw, bh

    @triton.jit
    def _identity():
        """The 2 x 3 affine parts of the identity, as float32 scalars."""
        one = tl.full((), 1.0, tl.float32)
        zero = tl.full((), 0.0, tl.float32)
        return one, zero, zero, zero, one, zero

    @triton.jit
    def _geometry_step(OP: tl.constexpr, row, key, id_lo, id_hi, m00, m01, m02, m10, m11, m12):
        """One transform's matrix T for this sample, returned as T @ M (2 x 3 affine parts)."""
        t00, t01, t02, t10, t11, t12 = _identity()
        if OP == 6:  # FIXED: CenterCrop, Resize
            t00 = tl.load(row)
            t01 = tl.load(row + 1)
            t02 = tl.load(row + 2)
            t10 = tl.load(row + 3)
            t11 = tl.load(row + 4)
            t12 = tl.load(row + 5)
        elif OP != 0:
            h = sample_hash(key, row, id_lo, id_hi)
            on = uniform(h, 0) < tl.load(row + 1)
            if OP == 1 or OP == 2:  # flips
                flip = on.to(tl.float32)
                if OP == 1:
                    t00 = 1.0 - 2.0 * flip
                    t02 = flip * tl.load(row + 2)
                else:
                    t11 = 1.0 - 2.0 * flip
                    t12 = flip * tl.load(row + 2)
            elif OP == 3:  # Affine
                w = tl.load(row + 17)
                hh = tl.load(row + 18)
                cx = tl.load(row + 19)
                cy = tl.load(row + 20)
                angle = _ranged(row, 2, uniform(h, 1)) * 0.017453292519943295
                tx = _ranged(row, 4, uniform(h, 2)) * w
                ty = _ranged(row, 6, uniform(h, 3)) * hh
                sx = _ranged(row, 8, uniform(h, 4))
                sy = tl.where(tl.load(row + 16) != 0.0, sx, _ranged(row, 14, uniform(h, 7)))
                ax = -_ranged(row, 10, uniform(h, 5)) * 0.017453292519943295
                ay = -_ranged(row, 12, uniform(h, 6)) * 0.017453292519943295
                shx = tl.sin(ax) / tl.cos(ax)
                shy = tl.sin(ay) / tl.cos(ay)
                cos = tl.cos(angle)
                sin = tl.sin(angle)
                a = (cos - shx * sin) * sx
                b = (sin + shx * cos) * sy
                c = (shy * cos - sin) * sx
                d = (shy * sin + cos) * sy
                t00 = tl.where(on, a, 1.0)
                t01 = tl.where(on, b, 0.0)
                t02 = tl.where(on, cx + tx - a * cx - b * cy, 0.0)
                t10 = tl.where(on, c, 0.0)
                t11 = tl.where(on, d, 1.0)
                t12 = tl.where(on, cy + ty - c * cx - d * cy, 0.0)
            elif OP == 4:  # RandomResizedCrop
                width = tl.load(row + 7)
                height = tl.load(row + 8)
                found, bx, by, bw, bh = _first_box(h, tl.load(row + 2), row, 1, width, height, False, 10)
                bx = tl.where(on, tl.where(found, bx, tl.load(row + 9)), 0.0)
                by = tl.where(on, tl.where(found, by, tl.load(row + 10)), 0.0)
                bw = tl.where(on, tl.where(found, bw, tl.load(row + 11)), width)
                bh = tl.where(on, tl.where(found, bh, tl.load(row + 12)), height)
                t00 = tl.load(row + 13) / bw
                t11 = tl.load(row + 14) / bh
                t02 = (0.5 - bx) * t00 - 0.5
                t12 = (0.5 - by) * t11 - 0.5
            elif OP == 5:  # RandomCrop (slot 0 unused: p is 1)
                pad = tl.load(row + 3)
                t12 = -(tl.floor(uniform(h, 1) * tl.load(row + 1)) - pad)
                t02 = -(tl.floor(uniform(h, 2) * tl.load(row + 2)) - pad)
        return (t00 * m00 + t01 * m10, t00 * m01 + t01 * m11, t00 * m02 + t01 * m12 + t02,
                t10 * m00 + t11 * m10, t10 * m01 + t11 * m11, t10 * m02 + t11 * m12 + t12)

    @triton.jit
    def drawn_inverse(plan, key, id_lo, id_hi, G0: tl.constexpr, G1: tl.constexpr, G2: tl.constexpr,
                      G3: tl.constexpr, G4: tl.constexpr, G5: tl.constexpr):
        """The sample's output-to-input matrix (6 values) of the whole geometry run."""
        m00, m01, m02, m10, m11, m12 = _identity()
        m00, m01, m02, m10, m11, m12 = _geometry_step(G0, plan, key, id_lo, id_hi, m00, m01, m02, m10, m11, m12)
        m00, m01, m02, m10, m11, m12 = _geometry_step(G1, plan + 24, key, id_lo, id_hi, m00, m01, m02, m10, m11, m12)
        m00, m01, m02, m10, m11, m12 = _geometry_step(G2, plan + 48, key, id_lo, id_hi, m00, m01, m02, m10, m11, m12)
        m00, m01, m02, m10, m11, m12 = _geometry_step(G3, plan + 72, key, id_lo, id_hi, m00, m01, m02, m10, m11, m12)
        m00, m01, m02, m10, m11, m12 = _geometry_step(G4, plan + 96, key, id_lo, id_hi, m00, m01, m02, m10, m11, m12)
        m00, m01, m02, m10, m11, m12 = _geometry_step(G5, plan + 120, key, id_lo, id_hi, m00, m01, m02, m10, m11,
                                                      m12)
        det = m00 * m11 - m01 * m10
        ia = m11 / det
        ib = -m01 / det
        ic = -m10 / det
        id_ = m00 / det
        return ia, ib, -(ia * m02 + ib * m12), ic, id_, -(ic * m02 + id_ * m12)

    @triton.jit
    def drawn_color(plan, key, id_lo, id_hi, OH, OW, JITTER: tl.constexpr, GAMMA: tl.constexpr,
                    GRAY: tl.constexpr, ERASE: tl.constexpr):
        """The sample's colour parameters: brightness, contrast, saturation, hue, gamma, grayscale
        (0 / 1) and the erasing box (x0, y0, x1, y1; empty when not erased). Each gate is its op's
        table row (``_fused_ops.FusedOps.gates``), 0 when the op draws nothing."""
        bright = tl.full((), 1.0, tl.float32)
        contrast = tl.full((), 1.0, tl.float32)
        sat = tl.full((), 1.0, tl.float32)
        hue = tl.full((), 0.0, tl.float32)
        gamma = tl.full((), 1.0, tl.float32)
        gray_on = tl.full((), 0, tl.int1)
        ex0 = tl.full((), 0.0, tl.float32)
        ey0 = tl.full((), 0.0, tl.float32)
        ex1 = tl.full((), 0.0, tl.float32)
        ey1 = tl.full((), 0.0, tl.float32)
        if JITTER:
            row = plan + JITTER * 24
            h = sample_hash(key, row, id_lo, id_hi)
            on = (uniform(h, 0) < tl.load(row + 1)).to(tl.float32)
            bright = 1.0 + on * (_ranged(row, 2, uniform(h, 1)) - 1.0)
            contrast = 1.0 + on * (_ranged(row, 4, uniform(h, 2)) - 1.0)
            sat = 1.0 + on * (_ranged(row, 6, uniform(h, 3)) - 1.0)
            hue = on * _ranged(row, 8, uniform(h, 4))
        if GAMMA:
            row = plan + GAMMA * 24
            h = sample_hash(key, row, id_lo, id_hi)
            on = (uniform(h, 0) < tl.load(row + 1)).to(tl.float32)
            gamma = 1.0 + on * (_ranged(row, 2, uniform(h, 1)) - 1.0)
        if GRAY:
            row = plan + GRAY * 24
            gray_on = uniform(sample_hash(key, row, id_lo, id_hi), 0) < tl.load(row + 1)
        if ERASE:
            row = plan + ERASE * 24
            h = sample_hash(key, row, id_lo, id_hi)
            on = uniform(h, 0) < tl.load(row + 1)
            found, bx, by, bw, bh = _first_box(h, tl.load(row + 2), row, 1, OW * 1.0, OH * 1.0, True, 10)
            keep = on & found
            ex0 = tl.where(keep, bx, 0.0)
            ey0 = tl.where(keep, by, 0.0)
            ex1 = tl.where(keep, bx + bw, 0.0)
            ey1 = tl.where(keep, by + bh, 0.0)
        return bright, contrast, sat, hue, gamma, gray_on, ex0, ey0, ex1, ey1
