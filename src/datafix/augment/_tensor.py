"""Small tensor helpers shared by the transforms, the warps and the fused kernel."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor


@functools.lru_cache(maxsize=256)
def _constant(values: tuple[Any, ...], device: str, dtype: torch.dtype) -> Tensor:
    return torch.tensor(values, dtype=dtype, device=device)


def constant(values: Any, device: torch.device | str, dtype: torch.dtype = torch.float32) -> Tensor:
    """A small constant tensor, made on ``device`` once and reused (no host-to-device copy per
    batch). Nested sequences give nested shapes. Never modify the result in place."""
    key = tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in values)
    return _constant(key, str(torch.device(device)), dtype)


def identity(batch: int, device: torch.device) -> Tensor:
    """``(batch, 3, 3)`` identity matrices."""
    return torch.eye(3, device=device, dtype=torch.float32).expand(batch, 3, 3).clone()


def where_sample(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Per-sample choice between two batches (mask of shape (B,))."""
    return torch.where(mask.view(-1, *([1] * (a.ndim - 1))), a, b)
