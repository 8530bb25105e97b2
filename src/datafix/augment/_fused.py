"""The CUDA fast path: one Triton kernel for warp + colour + erasing + normalise.

The pipeline's parameters are drawn exactly as on the reference path; the kernel then reads each
output pixel's four source neighbours once (uint8 or float), applies the colour chain in
registers and writes the output once, instead of one full pass over the batch per op. Contrast
needs each sample's mean gray after the warp, so a first launch of the same kernel only sums it
(reading the uint8 input a second time is cheaper than writing and re-reading a float batch).

Eligible pipelines: geometry (one fused segment) first, then the colour ops of
:data:`datafix.augment._fused_ops.FUSED_OPS`, each at most once, in that order (its
:func:`~datafix.augment._fused_ops.covering`); no containers, 3 channels, no gradient. Anything
else runs on the torch reference path. The host passes the kernel's arguments by name, as the
ops' descriptors name them. Tested against the reference under ``TRITON_INTERPRET=1`` on a CPU
and on CUDA when a GPU is present.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor

from datafix.augment import _fused_ops
from datafix.augment._kernel_draws import KernelPlan
from datafix.augment._stages import GeometryStage
from datafix.augment._tensor import constant

try:  # Triton ships with CUDA builds of torch; CPU-only installs have no fast path
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the install
    triton = None
    tl = None


def available() -> bool:
    """Whether Triton can be imported (a CUDA build of torch, or TRITON_INTERPRET=1 with triton)."""
    return triton is not None


def eligible(stages: list[Any], x: Tensor) -> bool:
    """Whether these stages (in order) fit the fused kernel."""
    if x.shape[1] != 3 or x.requires_grad or x.dtype not in (torch.uint8, torch.float32):
        return False
    colour = stages[1:] if stages and isinstance(stages[0], GeometryStage) else stages
    if any(isinstance(stage, GeometryStage) for stage in colour):
        return False
    return _fused_ops.covering([stage.transform for stage in colour]) is not None


if triton is not None:
    from datafix.augment._kernel_draws import drawn_color, drawn_inverse

    @triton.jit
    def _clamp01(v):
        return tl.minimum(tl.maximum(v, 0.0), 1.0)

    @triton.jit
    def _load_pixel(src, base, xi, yi, ch, H, W, s_c, s_h, s_w, mask, SRC_U8: tl.constexpr):
        inside = mask & (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
        v = tl.load(src + base + ch * s_c + yi * s_h + xi * s_w, mask=inside, other=0)
        v = v.to(tl.float32)
        if SRC_U8:
            v = v * (1.0 / 255.0)
        return v

    @triton.jit
    def _sample(src, base, sx, sy, ch, H, W, s_c, s_h, s_w, mask, SRC_U8: tl.constexpr):
        x0f = tl.floor(sx)
        y0f = tl.floor(sy)
        wx = sx - x0f
        wy = sy - y0f
        x0 = x0f.to(tl.int32)
        y0 = y0f.to(tl.int32)
        v00 = _load_pixel(src, base, x0, y0, ch, H, W, s_c, s_h, s_w, mask, SRC_U8)
        v01 = _load_pixel(src, base, x0 + 1, y0, ch, H, W, s_c, s_h, s_w, mask, SRC_U8)
        v10 = _load_pixel(src, base, x0, y0 + 1, ch, H, W, s_c, s_h, s_w, mask, SRC_U8)
        v11 = _load_pixel(src, base, x0 + 1, y0 + 1, ch, H, W, s_c, s_h, s_w, mask, SRC_U8)
        top = v00 + (v01 - v00) * wx
        bottom = v10 + (v11 - v10) * wx
        return top + (bottom - top) * wy

    @triton.jit
    def _hsv_channel(n, h, s, v):
        k = n + h * 6.0
        k = k - 6.0 * tl.floor(k / 6.0)
        return v - v * s * _clamp01(tl.minimum(k, 4.0 - k))

    @triton.jit(do_not_specialize=["key_lo", "key_hi"])
    def _fused_kernel(src, out, inv, bright, contrast, gray_sum, sat, hue, gamma, gray_on, box, fill,
                      norm_mean, norm_scale, plan, ids, key_lo, key_hi, H, W, OH, OW,
                      s_b, s_c, s_h, s_w, o_b, o_c, o_h, o_w,
                      SRC_U8: tl.constexpr, DO_WARP: tl.constexpr, DO_B: tl.constexpr, DO_C: tl.constexpr,
                      DO_S: tl.constexpr, DO_H: tl.constexpr, DO_G: tl.constexpr, DO_GRAY: tl.constexpr,
                      DO_E: tl.constexpr, DO_N: tl.constexpr, SUM_ONLY: tl.constexpr, BLOCK: tl.constexpr,
                      DRAWN: tl.constexpr = False, HAS_IDS: tl.constexpr = False, JITTER: tl.constexpr = 0,
                      GAMMA: tl.constexpr = 0, GRAY: tl.constexpr = 0, ERASE: tl.constexpr = 0,
                      G0: tl.constexpr = 0, G1: tl.constexpr = 0, G2: tl.constexpr = 0, G3: tl.constexpr = 0,
                      G4: tl.constexpr = 0, G5: tl.constexpr = 0):
        b = tl.program_id(1)
        base = b.to(tl.int64) * s_b
        if DRAWN:  # every parameter computed here from the sample's key (_kernel_draws)
            if HAS_IDS:
                sid = tl.load(ids + b).to(tl.int64)
                id_lo = (sid & 0xFFFFFFFF).to(tl.uint32)
                id_hi = ((sid >> 32) & 0xFFFFFFFF).to(tl.uint32)
            else:  # keyed on the position in the batch
                id_lo = b.to(tl.uint32)
                id_hi = tl.full((), 0, tl.uint32)
            key = (key_hi.to(tl.uint32) << 16) | key_lo.to(tl.uint32)
            a, c01, tx, c10, d, ty = drawn_inverse(plan, key, id_lo, id_hi, G0, G1, G2, G3, G4, G5)
            f_b, f_c, f_s, f_h, f_g, gray_flag, ex0, ey0, ex1, ey1 = drawn_color(plan, key, id_lo, id_hi, OH, OW,
                                                                                   JITTER, GAMMA, GRAY, ERASE)
        else:  # parameters drawn on the host, packed into per-sample arrays
            a = tl.load(inv + b * 6)
            c01 = tl.load(inv + b * 6 + 1)
            tx = tl.load(inv + b * 6 + 2)
            c10 = tl.load(inv + b * 6 + 3)
            d = tl.load(inv + b * 6 + 4)
            ty = tl.load(inv + b * 6 + 5)
            f_b = tl.load(bright + b)
            f_c = tl.load(contrast + b)
            f_s = tl.load(sat + b)
            f_h = tl.load(hue + b)
            f_g = tl.load(gamma + b)
            gray_flag = tl.load(gray_on + b) != 0
            ex0 = tl.load(box + b * 4)
            ey0 = tl.load(box + b * 4 + 1)
            ex1 = tl.load(box + b * 4 + 2)
            ey1 = tl.load(box + b * 4 + 3)
        # a few programs per sample, each over every n-th tile of its pixels: the parameters above are
        # computed once per program, not once per tile
        acc = tl.zeros((BLOCK,), tl.float32)
        for start in range(tl.program_id(0) * BLOCK, OH * OW, tl.num_programs(0) * BLOCK):
            offs = start + tl.arange(0, BLOCK)
            mask = offs < OH * OW
            oy = offs // OW
            ox = offs - oy * OW
            if DO_WARP:
                fx = ox.to(tl.float32)
                fy = oy.to(tl.float32)
                sx = a * fx + c01 * fy + tx
                sy = c10 * fx + d * fy + ty
                r = _sample(src, base, sx, sy, 0, H, W, s_c, s_h, s_w, mask, SRC_U8)
                g = _sample(src, base, sx, sy, 1, H, W, s_c, s_h, s_w, mask, SRC_U8)
                bl = _sample(src, base, sx, sy, 2, H, W, s_c, s_h, s_w, mask, SRC_U8)
            else:
                r = _load_pixel(src, base, ox, oy, 0, H, W, s_c, s_h, s_w, mask, SRC_U8)
                g = _load_pixel(src, base, ox, oy, 1, H, W, s_c, s_h, s_w, mask, SRC_U8)
                bl = _load_pixel(src, base, ox, oy, 2, H, W, s_c, s_h, s_w, mask, SRC_U8)
            if DO_B:
                r = _clamp01(r * f_b)
                g = _clamp01(g * f_b)
                bl = _clamp01(bl * f_b)
            if SUM_ONLY:
                acc += tl.where(mask, 0.299 * r + 0.587 * g + 0.114 * bl, 0.0)
            else:
                if DO_C:
                    mean = tl.load(gray_sum + b) / (OH * OW * 1.0)
                    r = _clamp01(f_c * r + (1.0 - f_c) * mean)
                    g = _clamp01(f_c * g + (1.0 - f_c) * mean)
                    bl = _clamp01(f_c * bl + (1.0 - f_c) * mean)
                if DO_S:
                    gray = 0.299 * r + 0.587 * g + 0.114 * bl
                    r = _clamp01(f_s * r + (1.0 - f_s) * gray)
                    g = _clamp01(f_s * g + (1.0 - f_s) * gray)
                    bl = _clamp01(f_s * bl + (1.0 - f_s) * gray)
                if DO_H:
                    maxc = tl.maximum(tl.maximum(r, g), bl)
                    minc = tl.minimum(tl.minimum(r, g), bl)
                    equal = maxc == minc
                    cr = maxc - minc
                    s = cr / tl.where(equal, 1.0, maxc)
                    cr_div = tl.where(equal, 1.0, cr)
                    rc = (maxc - r) / cr_div
                    gc = (maxc - g) / cr_div
                    bc = (maxc - bl) / cr_div
                    h = tl.where(maxc == r, bc - gc, tl.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
                    h = h / 6.0 + 1.0 + f_h
                    h = h - tl.floor(h)
                    r = _clamp01(_hsv_channel(5.0, h, s, maxc))
                    g = _clamp01(_hsv_channel(3.0, h, s, maxc))
                    bl = _clamp01(_hsv_channel(1.0, h, s, maxc))
                if DO_G:
                    r = tl.exp2(f_g * tl.log2(r))
                    g = tl.exp2(f_g * tl.log2(g))
                    bl = tl.exp2(f_g * tl.log2(bl))
                if DO_GRAY:
                    gray = 0.299 * r + 0.587 * g + 0.114 * bl
                    r = tl.where(gray_flag, gray, r)
                    g = tl.where(gray_flag, gray, g)
                    bl = tl.where(gray_flag, gray, bl)
                if DO_E:
                    erase = (ox >= ex0) & (ox < ex1) & (oy >= ey0) & (oy < ey1)
                    r = tl.where(erase, tl.load(fill), r)
                    g = tl.where(erase, tl.load(fill + 1), g)
                    bl = tl.where(erase, tl.load(fill + 2), bl)
                if DO_N:
                    r = (r - tl.load(norm_mean)) * tl.load(norm_scale)
                    g = (g - tl.load(norm_mean + 1)) * tl.load(norm_scale + 1)
                    bl = (bl - tl.load(norm_mean + 2)) * tl.load(norm_scale + 2)
                dst = out + b.to(tl.int64) * o_b + oy * o_h + ox * o_w
                ty_ = out.dtype.element_ty
                tl.store(dst, r.to(ty_), mask=mask)
                tl.store(dst + o_c, g.to(ty_), mask=mask)
                tl.store(dst + 2 * o_c, bl.to(ty_), mask=mask)
        if SUM_ONLY:
            tl.atomic_add(gray_sum + b, tl.sum(acc, axis=0))


def _output(x: Tensor, size: tuple[int, int], output_dtype: torch.dtype,
            memory_format: torch.memory_format | None) -> Tensor:
    return torch.empty((x.shape[0], 3, *size), device=x.device, dtype=output_dtype,
                       memory_format=memory_format or torch.contiguous_format)


def run(x: Tensor, stages: list[Any], output_dtype: torch.dtype,
        memory_format: torch.memory_format | None) -> Tensor:
    """Apply ``stages`` (checked by :func:`eligible`) to ``x`` with the fused kernel."""
    batch, _, height, width = x.shape
    inv = torch.zeros(batch, 6, device=x.device, dtype=torch.float32)
    flags = dict.fromkeys(("DO_WARP", *_fused_ops.FUSED_OPS.switches), False)
    size, colour = (height, width), stages
    if stages and isinstance(stages[0], GeometryStage):
        inv = stages[0].inverse[:, :2].reshape(batch, 6).contiguous()
        size, colour = stages[0].size, stages[1:]
        flags["DO_WARP"] = True
    args: dict[str, Any] = {}
    for stage, op in zip(colour, _fused_ops.covering([stage.transform for stage in colour]) or [], strict=True):
        flags.update(op.switches(stage.transform))
        args.update(op.pack(stage.params))
        args.update({name: constant(values, x.device) for name, values in op.constant_args(stage.transform).items()})
    out = _output(x, size, output_dtype, memory_format)
    gray_sum = torch.zeros(batch, device=x.device, dtype=torch.float32)
    # an argument no op filled points at ``inv``: the kernel loads it but its switch is off
    _launch(x, out, {**dict.fromkeys(_fused_ops.FUSED_OPS.arguments, inv), **args, "inv": inv, "gray_sum": gray_sum,
                     "plan": inv, "ids": inv, "key_lo": 0, "key_hi": 0}, flags)
    return out


def run_drawn(x: Tensor, plan: KernelPlan, table: Tensor, ids: Tensor | None, key: int,
              output_dtype: torch.dtype, memory_format: torch.memory_format | None) -> Tensor:
    """Apply a pipeline's :class:`~datafix.augment._kernel_draws.KernelPlan` to ``x``, every
    parameter drawn inside the kernel from ``key`` (and ``ids``, or the batch positions).

    Torch operations issued: the output's allocation, and a zeroed per-sample sum when contrast
    is jittered; ``table`` and the constants are made once per pipeline and device.
    """
    out = _output(x, plan.size, output_dtype, memory_format)
    gray_sum = torch.zeros(x.shape[0], device=x.device, dtype=torch.float32) if plan.flags["DO_C"] else table
    constants = {name: constant(values, x.device) for name, values in plan.constants.items()}
    # the per-sample arrays are not read on this path: they point at the table
    args = {**dict.fromkeys(_fused_ops.FUSED_OPS.arguments, table), **constants, "inv": table, "gray_sum": gray_sum,
            "plan": table, "ids": table if ids is None else ids, "key_lo": key & 0xFFFF, "key_hi": key >> 16}
    _launch(x, out, args, dict(plan.flags, DRAWN=True, HAS_IDS=ids is not None))
    return out


#: Pixels per tile, warps per program, and programs per multiprocessor over the batch of the fused
#: kernel's launch: 1,024 / 8 / 2 was the best or within 3 % of the best of five settings at each of
#: 224 x 224 B = 256 and 1,024 and 32 x 32 B = 1,024 on an H100 (``benchmarks/gpu_profile.py
#: --launch-sweep``); module constants so that the benchmark can sweep them.
BLOCK, WARPS, PROGRAMS_PER_SM = 1024, 8, 2


def _programs_per_sample(tiles: int, x: Tensor) -> int:
    """Programs per sample: ``PROGRAMS_PER_SM`` per multiprocessor over the batch (each draws its
    sample's parameters once and loops over every n-th tile); 2 on a CPU (the interpreter)."""
    if not x.is_cuda:
        return min(tiles, 2)
    return max(1, min(tiles, triton.cdiv(PROGRAMS_PER_SM * _multiprocessors(x.device.index or 0), x.shape[0])))


@functools.lru_cache(maxsize=16)
def _multiprocessors(device: int) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def _launch(x: Tensor, out: Tensor, args: dict[str, Any], flags: dict[str, Any]) -> None:
    """The kernel over the batch, its arguments by name: a first launch sums each sample's gray
    when contrast needs it (that launch runs the warp and brightness only: every other switch and
    gate is off)."""
    out_h, out_w = out.shape[2], out.shape[3]
    block, warps = BLOCK, WARPS
    grid = (_programs_per_sample(triton.cdiv(out_h * out_w, block), x), x.shape[0])
    common = dict(args, src=x, out=out, H=x.shape[2], W=x.shape[3], OH=out_h, OW=out_w,
                  **dict(zip(("s_b", "s_c", "s_h", "s_w"), x.stride(), strict=True)),
                  **dict(zip(("o_b", "o_c", "o_h", "o_w"), out.stride(), strict=True)),
                  SRC_U8=x.dtype == torch.uint8, BLOCK=block, num_warps=warps)
    if flags["DO_C"]:
        ops = _fused_ops.FUSED_OPS
        off = [name for name in (*ops.switches, *ops.gates) if name in flags and name not in ("DO_B", "DO_C", "JITTER")]
        _fused_kernel[grid](**common, SUM_ONLY=True, **dict(flags, **dict.fromkeys(off, False)))
    _fused_kernel[grid](**common, SUM_ONLY=False, **flags)
