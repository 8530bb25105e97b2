"""albumentations in and around the batch pipeline.

``from_albumentations`` translates an albumentations pipeline into a datafix :class:`Compose`
(same parameters, same pixel-centre and matrix conventions) and lists what it could not
translate. ``AlbumentationsDataset`` runs an albumentations pipeline per sample inside a Dataset,
seeded by (seed, epoch, index), for operations with no batch version: a sample's augmentation is
the same in any DataLoader worker and with any number of workers.
"""

from __future__ import annotations

from typing import Any

import albumentations as alb
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from datafix._validation import check_int
from datafix.augment import color, geometry
from datafix.augment._random import scalar_key
from datafix.augment.base import Transform
from datafix.augment.compose import Compose, OneOf
from datafix.errors import InvalidInputError, InvalidTypeError, warn_user

_BORDERS = {cv2.BORDER_CONSTANT: "zeros", cv2.BORDER_REPLICATE: "border", cv2.BORDER_REFLECT: "reflection"}


def _geometry_ok(t: Any, why: list[str]) -> bool:
    if getattr(t, "interpolation", cv2.INTER_LINEAR) != cv2.INTER_LINEAR:
        why.append("interpolation other than linear")
    if getattr(t, "border_mode", cv2.BORDER_CONSTANT) != cv2.BORDER_CONSTANT or getattr(t, "fill", 0) not in (0, 0.0):
        why.append("border other than a zero fill")
    return not why


def _translate_one(t: Any, why: list[str]) -> Transform | None:
    """One albumentations transform as a datafix transform, or None (with reasons in ``why``)."""
    name = type(t).__name__
    p = float(t.p)
    if name == "HorizontalFlip":
        return geometry.HorizontalFlip(p=p)
    if name == "VerticalFlip":
        return geometry.VerticalFlip(p=p)
    if name in ("Affine", "ShiftScaleRotate"):
        shift = t.translate_percent or {"x": (0.0, 0.0), "y": (0.0, 0.0)}
        if t.translate_px is not None and any(v != 0 for r in t.translate_px.values() for v in r):
            why.append("translate_px (pixel shifts need the image size; use translate_percent)")
        if t.fit_output:
            why.append("fit_output=True")
        if t.balanced_scale:
            why.append("balanced_scale=True")
        if not _geometry_ok(t, why):
            return None
        return geometry.Affine(degrees=t.rotate, translate=(shift["x"], shift["y"]),
                               scale=t.scale["x"], shear=t.shear["x"], shear_y=t.shear["y"],
                               keep_ratio=bool(t.keep_ratio), scale_y=None if t.keep_ratio else t.scale["y"], p=p)
    if name == "Rotate":
        if t.crop_border:
            why.append("crop_border=True")
        return geometry.Affine(degrees=t.limit, p=p) if _geometry_ok(t, why) else None
    if name == "RandomResizedCrop":
        return geometry.RandomResizedCrop(t.size, scale=t.scale, ratio=t.ratio, p=p) if _geometry_ok(t, why) else None
    if name in ("RandomCrop", "CenterCrop"):
        if t.pad_if_needed:
            why.append("pad_if_needed=True")
            return None
        cls = geometry.RandomCrop if name == "RandomCrop" else geometry.CenterCrop
        return cls((t.height, t.width))
    if name == "Resize":
        return geometry.Resize((t.height, t.width)) if _geometry_ok(t, why) else None
    if name == "ColorJitter":
        return color.ColorJitter(t.brightness, t.contrast, t.saturation, t.hue, p=p)
    if name == "RandomGamma":
        return color.RandomGamma((t.gamma_limit[0] / 100, t.gamma_limit[1] / 100), p=p)
    if name == "ToGray":
        if t.num_output_channels != 3 or t.method != "weighted_average":
            why.append("only method='weighted_average' with 3 output channels")
            return None
        return color.RandomGrayscale(p=p)
    if name == "GaussNoise":
        if tuple(t.mean_range) != (0.0, 0.0) or not t.per_channel or t.noise_scale_factor != 1:
            why.append("only zero mean, per_channel=True, noise_scale_factor=1")
            return None
        return color.GaussianNoise(std=t.std_range, p=p)
    if name == "GaussianBlur":
        sigma = tuple(t.sigma_limit)
        low, high = t.blur_limit
        if low != high:
            why.append("a kernel size range (per-sample kernel sizes); give blur_limit=(k, k) or 0")
            return None
        size = low if low > 0 else int(round(sigma[1] * 3 * 2 + 1)) | 1  # OpenCV's size for uint8
        return color.GaussianBlur(size, sigma=(max(sigma[0], 1e-3), sigma[1]), p=p)
    if name == "Erasing":
        if not isinstance(t.fill, (int, float)):
            why.append("a non-numeric fill")
            return None
        return color.RandomErasing(scale=t.scale, ratio=t.ratio, value=float(t.fill) / 255.0, p=p)
    if name == "Normalize":
        if t.normalization != "standard" or t.max_pixel_value != 255.0:
            why.append("only normalization='standard' with max_pixel_value=255")
            return None
        return color.Normalize(mean=t.mean, std=t.std)
    if name == "OneOf":
        children = [_translate_one(c, []) for c in t.transforms]
        if any(c is None for c in children) or len({c.kind for c in children}) > 1:  # type: ignore[union-attr]
            why.append("children that are untranslatable or of mixed kinds")
            return None
        if len(set(t.transforms_ps)) > 1:
            why.append("unequal child probabilities")
            return None
        return OneOf(children, p=p)  # type: ignore[arg-type]
    why.append("no batch version in datafix")
    return None


def from_albumentations(pipeline: Any, *, strict: bool = False, **compose_kwargs: Any) -> Compose:
    """Translate an albumentations pipeline into a datafix batch :class:`Compose`.

    Translated: HorizontalFlip, VerticalFlip, Affine / ShiftScaleRotate (translate_percent),
    Rotate, RandomResizedCrop, RandomCrop, CenterCrop, Resize, ColorJitter, RandomGamma, ToGray,
    GaussNoise, GaussianBlur (one kernel size), Erasing, Normalize and OneOf of those, with their
    parameters and probabilities (conventions match: outputs agree within 2 uint8 levels for
    the same parameters). Anything else is left out and listed in ``compose.untranslated`` with
    the reason, and a warning names it; ``strict=True`` raises instead.

    Parameters
    ----------
    pipeline : albumentations.Compose or albumentations transform
        The pipeline to translate (a Compose with p=1, or one transform).
    strict : bool, default False
        Raise when a transform cannot be translated.
    **compose_kwargs
        Passed to :class:`Compose` (``seed``, ``output_dtype``, ...).

    Examples
    --------
    >>> import albumentations as alb
    >>> from datafix.augment import from_albumentations
    >>> gpu = from_albumentations(alb.Compose([alb.HorizontalFlip(), alb.ColorJitter(p=1.0),
    ...                                        alb.Normalize()]), seed=0)
    >>> [type(t).__name__ for t in gpu.transforms], gpu.untranslated
    (['HorizontalFlip', 'ColorJitter', 'Normalize'], [])
    """
    if isinstance(pipeline, alb.Compose):
        if float(pipeline.p) != 1.0:
            raise InvalidInputError("from_albumentations needs a Compose with p=1 (wrap it in OneOf for less).")
        steps = list(pipeline.transforms)
    elif isinstance(pipeline, alb.BasicTransform | alb.BaseCompose):
        steps = [pipeline]
    else:
        raise InvalidTypeError(f"The 'pipeline' argument must be an albumentations Compose or transform; got "
                               f"{type(pipeline).__name__}.")
    translated: list[Transform] = []
    untranslated: list[str] = []
    for step in steps:
        why: list[str] = []
        out = _translate_one(step, why)
        if out is None:
            untranslated.append(f"{type(step).__name__}: {'; '.join(why)}")
        else:
            translated.append(out)
    if untranslated:
        message = "Not translated to the batch pipeline: " + " | ".join(untranslated)
        if strict:
            raise InvalidInputError(message)
        warn_user(message + ". Run them per sample with AlbumentationsDataset.")
    return Compose(translated, untranslated=untranslated, **compose_kwargs)


class AlbumentationsDataset(Dataset):
    """A Dataset view that runs an albumentations pipeline on each item, seeded per sample.

    Item ``i`` in epoch ``e`` is augmented with the seed derived from (``seed``, ``e``, ``i``), so
    it is the same whichever DataLoader worker reads it and however many workers there are
    (albumentations' own seeding gives each worker a stream, so results change with the worker
    count). Call ``set_epoch`` each epoch; the new epoch reaches workers created after the call
    (the default ``persistent_workers=False``).

    Parameters
    ----------
    dataset : Dataset
        Items are images or tuples whose first element is the image: an HWC array or PIL image
        (returned as an HWC array), or a CHW tensor (returned as a CHW tensor).
    transform : albumentations.Compose
    seed : int, default 0

    Examples
    --------
    >>> import albumentations as alb
    >>> import numpy as np
    >>> from datafix.augment import AlbumentationsDataset
    >>> images = [np.full((8, 8, 3), i * 20, dtype=np.uint8) for i in range(4)]
    >>> ds = AlbumentationsDataset(list(zip(images, range(4))), alb.Compose([alb.GaussNoise(p=1.0)]))
    >>> a, b = ds[2][0], ds[2][0]
    >>> bool((a == b).all()), ds[2][1]
    (True, 2)
    """

    def __init__(self, dataset: Any, transform: Any, *, seed: int = 0) -> None:
        if not hasattr(transform, "set_random_seed"):
            raise InvalidTypeError("The 'transform' argument must be an albumentations Compose "
                                   f"(it has set_random_seed); got {type(transform).__name__}.")
        self.dataset = dataset
        self.transform = transform
        self.seed = check_int(seed, "seed", minimum=0)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that keys the per-sample seeds."""
        self.epoch = check_int(epoch, "epoch", minimum=0)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        item = self.dataset[index]
        image, rest = (item[0], item[1:]) if isinstance(item, tuple) else (item, None)
        self.transform.set_random_seed(scalar_key(self.seed, self.epoch, int(index)) & 0x7FFFFFFF)
        if isinstance(image, torch.Tensor):  # CHW tensor: albumentations works on HWC arrays
            out = self.transform(image=image.permute(1, 2, 0).numpy())["image"]
            out = torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1)
        else:
            out = self.transform(image=np.asarray(image))["image"]
        return out if rest is None else (out, *rest)
