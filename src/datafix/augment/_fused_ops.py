"""The colour ops of the fused kernel, each described once.

A :class:`FusedOp` says what the host side needs to know about one colour op of the fused Triton
kernel (:mod:`datafix.augment._fused`): the transform class it covers, the kernel's switches it
turns on, the kernel arguments (by name) it fills from parameters drawn on the host, its
per-channel constants, and its row of the constants' table from which the kernel draws the
parameters itself (:mod:`datafix.augment._kernel_draws`). :data:`FUSED_OPS` lists the ops in the
order the kernel applies them; the switch and argument names, the table's rows and the order that
errors and docs give are read from it (:class:`FusedOps`), and so is the one eligibility rule
(:func:`covering`). A new fused colour op is one class here, its entry in :data:`FUSED_OPS`, and
its code in the kernel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from datafix.augment import color


def span(lo_hi: Sequence[float]) -> list[float]:
    """(low, width) of a range, as the torch path's ``low + (high - low) * u`` uses them."""
    return [lo_hi[0], lo_hi[1] - lo_hi[0]]


class FusedOp:
    """One colour op of the fused kernel; subclasses set the attributes and override what differs.

    Attributes
    ----------
    cls : type
        The transform class covered (a subclass is found along its MRO).
    flags : tuple of str
        The kernel's switches (``tl.constexpr``) the op can turn on.
    arrays : dict
        Kernel argument -> (key of the drawn parameters, dtype): the per-sample arrays the kernel
        reads when the parameters are drawn on the host.
    constants : tuple of str
        Kernel arguments holding one value per channel (see :meth:`constant_values`).
    gate : str or None
        The kernel's ``tl.constexpr`` that holds the op's table row when the kernel draws the
        parameters itself (0: nothing to draw); None for an op that draws nothing.
    """

    cls: type = object
    flags: tuple[str, ...] = ()
    arrays: dict[str, tuple[str, torch.dtype]] = {}
    constants: tuple[str, ...] = ()
    gate: str | None = None

    def switches(self, t: Any) -> dict[str, bool]:
        """The switches transform ``t`` turns on (all of :attr:`flags` unless overridden)."""
        return dict.fromkeys(self.flags, True)

    def pack(self, params: dict[str, Any]) -> dict[str, Tensor]:
        """The per-sample kernel arguments from ``params`` drawn on the host."""
        return {arg: params[key].to(dtype).contiguous() for arg, (key, dtype) in self.arrays.items()}

    def constant_values(self, t: Any) -> tuple[tuple[float, ...], ...]:
        """The values of :attr:`constants`, in that order (three each on the kernel's images)."""
        return ()

    def row(self, t: Any, size: tuple[int, int]) -> list[float]:
        """The op's table row after the transform's key (its probability and ranges), on images of ``size``."""
        return []

    def constant_args(self, t: Any) -> dict[str, tuple[float, ...]]:
        """:attr:`constants` by name, with their values for transform ``t``."""
        return dict(zip(self.constants, self.constant_values(t), strict=True))


class Jitter(FusedOp):
    """ColorJitter: each part whose range is not the identity switches on its own stage."""

    cls = color.ColorJitter
    flags = ("DO_B", "DO_C", "DO_S", "DO_H")
    arrays = {"bright": ("brightness", torch.float32), "contrast": ("contrast", torch.float32),
              "sat": ("saturation", torch.float32), "hue": ("hue", torch.float32)}
    gate = "JITTER"

    def switches(self, t: color.ColorJitter) -> dict[str, bool]:
        used = t.active_parts()  # keyed as the parameters are, in the order of ``flags``
        return dict(zip(self.flags, (used[key] for key, _ in self.arrays.values()), strict=True))

    def row(self, t: color.ColorJitter, size: tuple[int, int]) -> list[float]:
        return [t.p, *span(t.brightness), *span(t.contrast), *span(t.saturation), *span(t.hue)]


class Gamma(FusedOp):
    """RandomGamma."""

    cls = color.RandomGamma
    flags = ("DO_G",)
    arrays = {"gamma": ("gamma", torch.float32)}
    gate = "GAMMA"

    def row(self, t: color.RandomGamma, size: tuple[int, int]) -> list[float]:
        return [t.p, *span(t.gamma)]


class Grayscale(FusedOp):
    """RandomGrayscale."""

    cls = color.RandomGrayscale
    flags = ("DO_GRAY",)
    arrays = {"gray_on": ("on", torch.int32)}
    gate = "GRAY"

    def row(self, t: color.RandomGrayscale, size: tuple[int, int]) -> list[float]:
        return [t.p]


class Erasing(FusedOp):
    """RandomErasing: the box per sample, the fill per channel."""

    cls = color.RandomErasing
    flags = ("DO_E",)
    arrays = {"box": ("box", torch.int32)}
    constants = ("fill",)
    gate = "ERASE"

    def constant_values(self, t: color.RandomErasing) -> tuple[tuple[float, ...], ...]:
        return (t.value if isinstance(t.value, tuple) else (t.value,) * 3,)

    def row(self, t: color.RandomErasing, size: tuple[int, int]) -> list[float]:
        lo, hi = math.log(t.ratio[0]), math.log(t.ratio[1])
        return [t.p, size[0] * size[1], *span(t.scale), lo, hi - lo]


class Norm(FusedOp):
    """Normalize: constants only, nothing drawn."""

    cls = color.Normalize
    flags = ("DO_N",)
    constants = ("norm_mean", "norm_scale")

    def constant_values(self, t: color.Normalize) -> tuple[tuple[float, ...], ...]:
        return t.mean, tuple(1.0 / s for s in t.std)


class FusedOps(tuple):
    """Fused colour ops in the order the kernel applies them, and what is read from them (each
    computed once, on first use)."""

    @property
    def order(self) -> str:
        """The covered transforms' names, in order (for errors and docs)."""
        return ", ".join(op.cls.__name__ for op in self)

    @functools.cached_property
    def switches(self) -> tuple[str, ...]:
        """Every switch of the ops, in order."""
        return tuple(flag for op in self for flag in op.flags)

    @functools.cached_property
    def gates(self) -> tuple[str, ...]:
        """The gates of the ops that draw, in order: the i-th holds the i-th colour row of the table."""
        return tuple(op.gate for op in self if op.gate)

    @functools.cached_property
    def arguments(self) -> tuple[str, ...]:
        """Every kernel argument the ops fill (per-sample arrays and constants)."""
        return tuple(name for op in self for name in (*op.arrays, *op.constants))


#: The fused colour ops in the order the kernel applies them.
FUSED_OPS = FusedOps((Jitter(), Gamma(), Grayscale(), Erasing(), Norm()))


@functools.lru_cache(maxsize=128)
def _covering_op(ops: FusedOps, kind: type, drawn: bool) -> FusedOp | None:
    """The op of ``ops`` covering transforms of class ``kind`` (its class or a base along the
    MRO), or None. With ``drawn`` (the kernel draws the parameters itself), only if ``kind``
    draws and applies as the covered class does. Cached: one look-up per class."""
    op = next((op for cls in kind.__mro__ for op in ops if op.cls is cls), None)
    if op is None or (drawn and (kind.params is not op.cls.params or kind.apply is not op.cls.apply)):
        return None
    return op


def covering(transforms: Sequence[Any], drawn: bool = False) -> list[FusedOp] | None:
    """The ops running ``transforms`` (the colour part of a pipeline, after its geometry), or None
    unless each is covered (see :func:`_covering_op`), at most once, in the kernel's order, with
    three values per constant. The one eligibility rule of both fused paths."""
    ops: list[FusedOp] = []
    for t in transforms:
        op = _covering_op(FUSED_OPS, type(t), drawn)
        if op is None or (op.constants and any(len(values) != 3 for values in op.constant_values(t))):
            return None  # (a constant of another length: the torch path raises the error that names the channels)
        ops.append(op)
    positions = [FUSED_OPS.index(op) for op in ops]
    return ops if positions == sorted(set(positions)) else None
