"""What every batch transform is: a module that draws per-sample parameters in one call.

A transform is either geometric (it gives one 3x3 matrix per sample and an output size; a
:class:`~datafix.augment.Compose` multiplies neighbouring matrices and resamples once) or a colour
transform (it changes pixel values of float images in place of the batch). Called on its own, a
transform runs as a one-step ``Compose``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from datafix._validation import check_float
from datafix.augment._random import RandomSource


@dataclass
class Draw:
    """The random state of one batch: where draws come from and what keys them."""

    source: RandomSource
    batch: int
    device: torch.device
    keys: dict[int, int]
    sample_ids: Tensor | None = None
    epoch: int = 0

    def uniform(self, op: Any, n: int) -> Tensor:
        """``(batch, n)`` uniforms for ``op`` (one kernel, or one keyed hash)."""
        return self.source.uniform(self.batch, n, self.device, key=self.keys[id(op)],
                                   sample_ids=self.sample_ids, epoch=self.epoch)

    def normal(self, op: Any, shape: tuple[int, ...]) -> Tensor:
        """Standard normals of ``shape`` for ``op``."""
        return self.source.normal(shape, self.device, key=self.keys[id(op)] ^ 0x5F3759DF,
                                  sample_ids=self.sample_ids, epoch=self.epoch)


#: How a transform runs alone: ``RUN_ALONE[0](transform)`` gives a callable pipeline. The
#: compose module sets it (a one-step Compose), so this module does not import compose.
RUN_ALONE: list[Any] = [None]


def applied(u: Tensor, p: float, active: Tensor | None) -> Tensor:
    """The per-sample apply mask: ``u < p`` and, inside a container, the container's choice."""
    mask = u < p
    return mask if active is None else mask & active


class Transform(nn.Module):
    """Base of the batch transforms. ``p`` is the per-sample probability of applying it.

    Subclass :class:`GeometricTransform` or :class:`ColorTransform`, not this class.

    Parameters
    ----------
    p : float, default 1.0
        Per-sample probability of applying the transform.

    Examples
    --------
    >>> from datafix.augment import HorizontalFlip, Transform
    >>> isinstance(HorizontalFlip(), Transform), HorizontalFlip().kind
    (True, 'geometry')
    """

    kind = "color"
    slots = 1  # uniforms per sample: slot 0 decides p, the others draw the parameters

    def __init__(self, p: float = 1.0) -> None:
        super().__init__()
        self.p = check_float(p, "p", low=0.0, high=1.0)

    def forward(self, images: Tensor, **targets: Any) -> Any:
        """Run this transform alone (as a one-step Compose): uint8 in, float out."""
        solo = self.__dict__.get("_solo")
        if solo is None:
            solo = RUN_ALONE[0](self)  # Compose registers the runner: base never imports compose
            object.__setattr__(self, "_solo", solo)  # not a submodule: no reference cycle
        return solo(images, **targets)

    def children_transforms(self) -> list[Transform]:
        """The transforms a container holds (empty for a leaf)."""
        return []

    def extra_repr(self) -> str:
        fields = {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "training"}
        return ", ".join(f"{k}={v!r}" for k, v in fields.items())


class GeometricTransform(Transform):
    """A transform given by one forward matrix per sample (pixel centres at integer coordinates).

    ``exact`` marks transforms that only move whole pixels along the axes (flips, crops without
    resizing; not transposes): a segment made only of them is done by indexing, not
    interpolation.

    Parameters
    ----------
    p : float, default 1.0
        Per-sample probability of applying the transform.

    Examples
    --------
    A transpose-like transform: swap x and y (square images), on every sample.

    >>> import torch
    >>> from datafix.augment import Compose, GeometricTransform
    >>> class Transpose(GeometricTransform):
    ...     slots = 0
    ...     def matrices(self, draw, size, active):
    ...         m = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], device=draw.device)
    ...         return m.expand(draw.batch, 3, 3).clone()
    >>> x = torch.arange(4.0).view(1, 1, 2, 2) / 4
    >>> (Compose([Transpose()], backend="torch")(x) * 4)[0, 0].tolist()
    [[0.0, 2.0], [1.0, 3.0]]
    """

    kind = "geometry"
    exact = False

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The (height, width) this transform produces from ``size``."""
        return size

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        """``(B, 3, 3)`` float32 matrices mapping input pixel coordinates to output ones."""
        raise NotImplementedError


class ColorTransform(Transform):
    """A transform of pixel values of float images in [0, 1], shape (B, C, H, W).

    ``params`` draws everything random for the batch (per-sample tensors, neutral values where a
    sample is not drawn), ``apply`` uses them on the batch with torch, and ``apply_image``, where
    a transform has it, uses one sample's values on one (H, W, C) NumPy image (uint8 0-255 or
    float32 0-1) with albumentations' kernels: the CPU per-image path.

    Parameters
    ----------
    p : float, default 1.0
        Per-sample probability of applying the transform.

    Examples
    --------
    A colour inversion applied to a share ``p`` of the samples:

    >>> import torch
    >>> from datafix.augment import ColorTransform, Compose
    >>> from datafix.augment.base import applied
    >>> class Invert(ColorTransform):
    ...     def params(self, draw, shape, active):
    ...         return {"on": applied(draw.uniform(self, 1)[:, 0], self.p, active)}
    ...     def apply(self, images, params):
    ...         return torch.where(params["on"].view(-1, 1, 1, 1), 1.0 - images, images)
    >>> Compose([Invert(p=1.0)])(torch.zeros(2, 3, 2, 2)).mean().item()
    1.0
    """

    kind = "color"
    image_out_float = False  # apply_image returns float32 whatever it gets (Normalize)
    last_only = False  # must be the last transform of a Compose (Normalize: later steps expect [0, 1])

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> dict[str, Any]:
        """Per-sample parameters for a batch of ``shape`` (B, C, H, W)."""
        return {}

    def apply(self, images: Tensor, params: dict[str, Any]) -> Tensor:
        """The transformed batch (float, same shape)."""
        raise NotImplementedError

    apply_image: Any = None

    def image_params(self, params: dict[str, Any], size: tuple[int, int]) -> dict[str, Any]:
        """``params`` with what ``apply_image`` needs computed once for the batch (images of ``size``)."""
        return params

    @property
    def has_image_path(self) -> bool:
        """Whether the CPU per-image path (``apply_image``) covers this transform."""
        return self.apply_image is not None
