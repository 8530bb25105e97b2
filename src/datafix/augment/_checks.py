"""Argument checks for batch augmentation: shapes, dtypes and value ranges, named in the message."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from datafix.errors import InvalidInputError, InvalidTypeError

FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def check_images(images: Any, name: str = "images") -> Tensor:
    """A (B, C, H, W) uint8 or float tensor with B >= 1, or an error naming ``name``."""
    if not isinstance(images, Tensor):
        raise InvalidTypeError(f"The {name!r} argument must be a torch.Tensor of shape (B, C, H, W); "
                               f"got {type(images).__name__}.")
    if images.ndim != 4:
        hint = " (one image: add a batch dimension with images[None])" if images.ndim == 3 else ""
        raise InvalidInputError(f"The {name!r} argument must have 4 dimensions (B, C, H, W); "
                                f"got shape {tuple(images.shape)}{hint}.")
    if images.dtype != torch.uint8 and images.dtype not in FLOAT_DTYPES:
        raise InvalidTypeError(f"The {name!r} argument must be uint8 (0-255) or float (0-1); "
                               f"got {images.dtype}.")
    if images.shape[-1] in (1, 3, 4) and images.shape[1] not in (1, 3, 4):
        raise InvalidInputError(
            f"The {name!r} argument looks channels-last: shape {tuple(images.shape)} is (B, H, W, C), but "
            "datafix.augment takes (B, C, H, W). Use images.permute(0, 3, 1, 2) (a view; add "
            ".contiguous(memory_format=torch.channels_last) to keep the memory layout).")
    if images.shape[0] == 0:
        raise InvalidInputError(f"The {name!r} argument is an empty batch (shape {tuple(images.shape)}).")
    if images.shape[2] == 0 or images.shape[3] == 0:
        raise InvalidInputError(f"The {name!r} argument has an empty image (shape {tuple(images.shape)}).")
    return images


def check_values(images: Tensor, name: str = "images") -> None:
    """NaN and range check of float images in one reduction (one host synchronisation)."""
    if images.dtype == torch.uint8:
        return
    flat = images.detach().reshape(-1)
    stats = torch.stack([flat.isnan().any().float(), flat.nan_to_num(0.5).amin().float(),
                         flat.nan_to_num(0.5).amax().float()]).tolist()
    if stats[0]:
        raise InvalidInputError(f"The {name!r} argument contains NaN.")
    if stats[1] < 0.0 or stats[2] > 1.0:
        raise InvalidInputError(
            f"The {name!r} argument is float with values in [{stats[1]:.4g}, {stats[2]:.4g}]; float "
            "images must lie in [0, 1] (pass uint8 0-255 images as they are, or divide by 255).")


def check_channels(shape: Sequence[int], allowed: Sequence[int], op: str) -> None:
    """Colour operations that need RGB (or gray) raise naming the channel count they got."""
    if shape[1] not in allowed:
        wanted = " or ".join(str(c) for c in allowed)
        raise InvalidInputError(f"{op} needs images with {wanted} channels; the 'images' argument has "
                                f"{shape[1]} (shape {tuple(shape)}).")


def check_batch(target: Tensor | None, name: str, batch: int, ndims: Sequence[int], last: int | None = None) -> None:
    """A per-sample target: a tensor whose first dimension is the image batch size."""
    if target is None:
        return
    if not isinstance(target, Tensor):
        raise InvalidTypeError(f"The {name!r} argument must be a torch.Tensor; got {type(target).__name__}.")
    if target.ndim not in ndims:
        raise InvalidInputError(f"The {name!r} argument must have {' or '.join(map(str, ndims))} dimensions; "
                                f"got shape {tuple(target.shape)}.")
    if target.shape[0] != batch:
        raise InvalidInputError(f"The {name!r} argument has batch size {target.shape[0]} but 'images' has "
                                f"{batch}.")
    if last is not None and target.shape[-1] != last:
        raise InvalidInputError(f"The {name!r} argument must end in a dimension of size {last}; got shape "
                                f"{tuple(target.shape)}.")


def check_range(value: Any, name: str, *, low: float = -float("inf"), high: float = float("inf"),
                symmetric_around: float | None = None) -> tuple[float, float]:
    """A (min, max) pair; a single number ``v`` means (c - v, c + v) around ``symmetric_around``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if symmetric_around is None:
            pair = (float(value), float(value))
        else:
            if value < 0:
                raise InvalidInputError(f"The {name!r} parameter must be non-negative; got {value}.")
            pair = (symmetric_around - float(value), symmetric_around + float(value))
    elif (isinstance(value, Sequence) and len(value) == 2
          and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        pair = (float(value[0]), float(value[1]))
    else:
        raise InvalidTypeError(f"The {name!r} parameter must be a number or a (min, max) pair; got {value!r}.")
    pair = (max(pair[0], low), pair[1]) if symmetric_around is not None else pair
    if not (low <= pair[0] <= pair[1] <= high):
        raise InvalidInputError(f"The {name!r} parameter must satisfy {low} <= min <= max <= {high}; got {pair}.")
    return pair


def check_size(size: Any, name: str = "size") -> tuple[int, int]:
    """An output size: an int (square) or an (height, width) pair of positive ints."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    if (not isinstance(size, Sequence) or len(size) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in size)):
        raise InvalidInputError(f"The {name!r} parameter must be a positive int or an (height, width) pair; "
                                f"got {size!r}.")
    return int(size[0]), int(size[1])
