"""The stages of one drawn pipeline: what a Compose call will do to its batch, as typed objects.

A :class:`GeometryStage` is one fused run of geometric transforms (forward and inverse matrices,
output size, whether it only moves whole pixels); a :class:`ColorStage` is one colour transform
with its drawn per-sample parameters. The torch path, the CPU per-image path and the fused
kernel all read these, never positional tuples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor


@dataclass(frozen=True)
class GeometryStage:
    """One resampling pass: ``matrices`` (B, 3, 3) map input to output pixels; ``inverse`` back."""

    matrices: Tensor
    size: tuple[int, int]
    exact: bool
    inverse: Tensor


@dataclass(frozen=True)
class ColorStage:
    """One colour transform and the parameters drawn for this batch."""

    transform: Any
    params: dict[str, Any]


Stage = GeometryStage | ColorStage
