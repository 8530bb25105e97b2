"""Resampling a batch (and its targets) by one matrix per sample.

Two batched image paths give the same result: exact indexing when every matrix only moves whole
pixels, and ``torch.nn.functional.grid_sample`` (the reference: any device, differentiable); the
per-image OpenCV warp of CPU batches is in ``_per_image``. Masks are always sampled by
nearest-neighbour indexing, so their dtype and label values are kept exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from datafix.augment._tensor import constant


def invert(m: Tensor) -> Tensor:
    """Inverse of (B, 3, 3) affine matrices, in closed form (no solver, no host synchronisation)."""
    a, b, tx = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    c, d, ty = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    out = torch.zeros_like(m)
    out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = ia, ib, -(ia * tx + ib * ty)
    out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = ic, id_, -(ic * tx + id_ * ty)
    out[:, 2, 2] = 1.0
    return out


def to_float(x: Tensor) -> Tensor:
    """uint8 0-255 to float32 0-1; float kept (as float32)."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).mul_(1.0 / 255.0)
    return x if x.dtype == torch.float32 else x.to(torch.float32)


def to_output(x: Tensor, dtype: torch.dtype) -> Tensor:
    """An augmented batch (uint8 levels, or float in [0, 1]) as ``dtype``: uint8 rounds float to levels."""
    if dtype == torch.uint8:
        return x if x.dtype == torch.uint8 else (x * 255.0).round_().clamp_(0, 255).to(torch.uint8)
    return to_float(x).to(dtype)


def warp_exact(x: Tensor, inv: Tensor, out: tuple[int, int]) -> Tensor:
    """Whole-pixel moves (flips, crops) by two gathers; outside the image is 0. Any dtype."""
    batch, channels, height, width = x.shape
    oh, ow = out
    u = torch.arange(ow, device=x.device, dtype=torch.float32)
    v = torch.arange(oh, device=x.device, dtype=torch.float32)
    xs = torch.round(inv[:, 0, 0, None] * u + inv[:, 0, 2, None]).long()  # (B, ow)
    ys = torch.round(inv[:, 1, 1, None] * v + inv[:, 1, 2, None]).long()  # (B, oh)
    inside = ((ys >= 0) & (ys < height))[:, :, None] & ((xs >= 0) & (xs < width))[:, None, :]
    cols = xs.clamp(0, width - 1)[:, None, None, :].expand(batch, channels, height, ow)
    picked = x.gather(3, cols)
    rows = ys.clamp(0, height - 1)[:, None, :, None].expand(batch, channels, oh, ow)
    picked = picked.gather(2, rows)
    return picked * inside[:, None].to(picked.dtype) if picked.dtype != torch.bool else picked & inside[:, None]


def _normaliser(size: tuple[int, int], device: torch.device) -> Tensor:
    """Pixel-centre coordinates to grid_sample's [-1, 1] (align_corners=False)."""
    h, w = size
    return constant([[2.0 / w, 0.0, 1.0 / w - 1.0], [0.0, 2.0 / h, 1.0 / h - 1.0], [0.0, 0.0, 1.0]], device)


def warp_torch(x: Tensor, inv: Tensor, out: tuple[int, int], padding_mode: str) -> Tensor:
    """Bilinear resampling with ``grid_sample`` (float in, float32 out)."""
    src = _normaliser(x.shape[-2:], x.device)
    dst_inv = invert(_normaliser(out, x.device)[None])[0]
    theta = (src @ inv @ dst_inv)[:, :2]
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], out[0], out[1]], align_corners=False)
    return F.grid_sample(to_float(x), grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def warp_nearest(masks: Tensor, inv: Tensor, out: tuple[int, int], fill: int = 0) -> Tensor:
    """Nearest-neighbour resampling of (B, C, H, W) masks of any dtype; outside is ``fill``."""
    batch, channels, height, width = masks.shape
    oh, ow = out
    v, u = torch.meshgrid(torch.arange(oh, device=masks.device, dtype=torch.float32),
                          torch.arange(ow, device=masks.device, dtype=torch.float32), indexing="ij")
    xs = inv[:, 0, 0, None, None] * u + inv[:, 0, 1, None, None] * v + inv[:, 0, 2, None, None]
    ys = inv[:, 1, 0, None, None] * u + inv[:, 1, 1, None, None] * v + inv[:, 1, 2, None, None]
    xs = torch.floor(xs + 0.5).long()
    ys = torch.floor(ys + 0.5).long()
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    index = (ys.clamp(0, height - 1) * width + xs.clamp(0, width - 1)).view(batch, 1, -1)
    picked = masks.reshape(batch, channels, -1).gather(2, index.expand(batch, channels, -1))
    picked = picked.view(batch, channels, oh, ow)
    return torch.where(inside[:, None], picked, torch.full_like(picked, fill))


def _apply(m: Tensor, points: Tensor) -> Tensor:
    """(B, N, 2) points through (B, 3, 3) matrices."""
    return points @ m[:, :2, :2].transpose(1, 2) + m[:, None, :2, 2]


def warp_keypoints(points: Tensor, visible: Tensor, m: Tensor, out: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Keypoints (B, K, 2) in pixel-centre coordinates; those leaving [0, W) x [0, H) turn invisible."""
    moved = _apply(m, points.to(torch.float32))
    inside = (moved[..., 0] >= 0) & (moved[..., 0] < out[1]) & (moved[..., 1] >= 0) & (moved[..., 1] < out[0])
    return moved, visible & inside


def warp_boxes(boxes: Tensor, valid: Tensor, m: Tensor, out: tuple[int, int],
               min_visibility: float) -> tuple[Tensor, Tensor]:
    """Boxes (B, N, 4) xyxy in pixel-edge coordinates: corners moved, enclosing box clipped.

    A box stays valid when its clipped area is positive and at least ``min_visibility`` of the
    moved box's area is inside the image.
    """
    shift = constant([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]], m.device)
    back = constant([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]], m.device)
    edge = shift @ m @ back
    b = boxes.to(torch.float32)
    x1, y1, x2, y2 = b.unbind(-1)
    corners = torch.stack([torch.stack([x1, y1], -1), torch.stack([x2, y1], -1),
                           torch.stack([x2, y2], -1), torch.stack([x1, y2], -1)], dim=2)  # (B, N, 4, 2)
    moved = _apply(edge, corners.view(b.shape[0], -1, 2)).view(corners.shape)
    lo = moved.amin(dim=2)
    hi = moved.amax(dim=2)
    area = (hi - lo).clamp_min(0).prod(-1)
    limit = constant([float(out[1]), float(out[0])], m.device)
    lo_c = torch.minimum(lo.clamp_min(0), limit)
    hi_c = torch.minimum(hi.clamp_min(0), limit)
    clipped = (hi_c - lo_c).clamp_min(0).prod(-1)
    keep = valid & (clipped > 0) & (clipped >= min_visibility * area)
    return torch.cat([lo_c, hi_c], dim=-1), keep
