"""Images inside a torch Dataset's items: where they are, how to turn them back into pixels.

:class:`~datafix.data.ImageItems` (``datafix.data.items``) says where the image and the label of an
item are (found when not given), and :func:`item_pixels` turns any of those images into 8-bit
pixels, so the audit reads a Dataset as it reads an image folder: the same thumbnails,
statistics and content digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from datafix.data.image_folder import _info, _thumbnail_features, image_statistics
from datafix.data.items import ImageItems, as_array
from datafix.data.torch_dataset import from_torch_dataset
from datafix.errors import InvalidInputError

#: Items read to find how float images are scaled (normalised or in [0, 1]).
SCALE_SAMPLE = 256


@dataclass(frozen=True)
class PixelScale:
    """How the float images of a Dataset map to 0-255: ``pixel = (x * std + mean - low) / (high - low) * 255``.

    ``rule`` says it in words for the report.
    """

    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    rule: str

    def to_uint8(self, arr: np.ndarray) -> np.ndarray:
        x = arr.astype(np.float32) * self.std[: len(arr), None, None] + self.mean[: len(arr), None, None]
        low, high = self.low[: len(arr), None, None], self.high[: len(arr), None, None]
        return np.clip(np.round((x - low) / np.maximum(high - low, 1e-12) * 255.0), 0, 255).astype(np.uint8)


def pixel_scale(items: ImageItems, positions: Sequence[int]) -> PixelScale:
    """The scale of the float images among the items at ``positions`` (a sample of the dataset).

    Images in [0, 1] (``ToTensor``) are scaled by 255; with the ``Normalize`` mean and std given,
    that is undone first; otherwise images with values outside [0, 1] (normalised) are scaled by
    each channel's minimum and maximum over the sample.

    Examples
    --------
    >>> ds = [(torch.full((1, 4, 4), v), 0) for v in (-2.0, 0.0, 2.0)]
    >>> scale = pixel_scale(ImageItems(ds), range(3))
    >>> scale.to_uint8(np.zeros((1, 1, 1), np.float32)).item(), scale.rule.split(":")[0]
    (128, 'normalised images')
    """
    ones = np.ones(4, np.float32)
    if items.mean is not None:
        mean = np.resize(np.asarray(items.mean, np.float32), 4)
        std = np.resize(np.asarray(items.std, np.float32), 4)
        return PixelScale(np.zeros(4, np.float32), ones, mean, std,
                          f"normalised images, undone with the given mean {list(items.mean)} and std {list(items.std)}")
    low, high = np.full(4, np.inf, np.float32), np.full(4, -np.inf, np.float32)
    floats = False
    for i in positions:
        try:
            arr = as_array(items.image_of(items.dataset[i]))
        except Exception:  # noqa: BLE001 - a broken item is reported by the read pass
            continue
        if arr.dtype.kind != "f":
            continue
        floats = True
        c = len(arr)
        flat = arr.reshape(c, -1)
        low[:c] = np.minimum(low[:c], np.nanmin(flat, axis=1))
        high[:c] = np.maximum(high[:c], np.nanmax(flat, axis=1))
    zeros = np.zeros(4, np.float32)
    if not floats:
        return PixelScale(zeros, ones, zeros, ones, "8-bit images")
    if np.nanmin(low) >= -1e-3 and np.nanmax(high[np.isfinite(high)]) <= 1.0 + 1e-3:
        return PixelScale(zeros, ones, zeros, ones, "float images in [0, 1], scaled by 255")
    finite = np.isfinite(low)
    low, high = np.where(finite, low, 0.0), np.where(finite, high, 1.0)
    shown = ", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in zip(low[finite], high[finite], strict=True))
    return PixelScale(low, high, zeros, ones,
                      f"normalised images: each channel scaled from its range over the first {len(positions)} items "
                      f"({shown}) to 0-255; pass datafix.data.ImageItems(dataset, mean=..., std=...) to undo the "
                      "Normalize exactly")


def item_pixels(x: Any, scale: PixelScale) -> Image.Image:
    """One item's image as a PIL image of 8-bit pixels (mode L, RGB or RGBA)."""
    if hasattr(x, "mode") and hasattr(x, "convert"):
        return x
    arr = as_array(x)
    if arr.ndim != 3 or arr.shape[0] not in (1, 3, 4):
        raise InvalidInputError(f"The item's image has shape {tuple(arr.shape)}; expected (C, H, W) with 1, 3 or 4 "
                                "channels, (H, W), or a PIL image.")
    if arr.dtype.kind == "f":
        pixels = scale.to_uint8(arr)
    elif arr.dtype == np.uint8:
        pixels = arr
    elif arr.dtype.kind in "iub" and arr.size and arr.min() >= 0 and arr.max() <= 255:
        pixels = arr.astype(np.uint8)
    else:
        raise InvalidInputError(f"The item's image has dtype {arr.dtype} with values outside 0-255; give uint8, "
                                "float images, or a PIL image.")
    hwc = np.ascontiguousarray(np.moveaxis(pixels, 0, -1))
    return Image.fromarray(hwc[:, :, 0] if hwc.shape[2] == 1 else hwc, mode={1: "L", 3: "RGB", 4: "RGBA"}[hwc.shape[2]])


def content_digest(img: Image.Image) -> int:
    """The first 8 bytes of the BLAKE2b hash of the decoded pixels and their size: equal images, equal digests."""
    raw = img.tobytes() + f"{img.mode}{img.size}".encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")


class _AuditItems(torch.utils.data.Dataset):
    """Items ``(thumbnail, label, info)`` of an :class:`ImageItems`, as an image folder's files are
    read (``datafix.data.image_folder._AuditImages``): the RGB thumbnail (uint8, 3 x S x S), the
    label, and the image's statistics with a digest of its pixels."""

    def __init__(self, items: ImageItems, scale: PixelScale, shape: tuple[int, int, int], labels: Any,
                 label_fn: Callable[[Any], Any] | None, own_input: bool = False) -> None:
        self.items, self.scale, self.shape = items, scale, shape
        self.labels, self.label_fn, self.own_input = labels, label_fn, own_input

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[Any, Any, dict[str, Any], Any]:
        item = self.items.dataset[i]
        image = self.items.image_of(item)
        img = item_pixels(image, self.scale)
        info = image_statistics(img)
        info["digest"] = content_digest(img)
        channels, height, width = self.shape
        small = img.convert("L" if channels == 1 else "RGB")
        if small.size != (width, height):
            small = small.resize((width, height), Image.BILINEAR)
        if self.labels is not None:
            label = self.labels[i]
        else:
            label = self.label_fn(item) if self.label_fn is not None else self.items.label_of(item)
        thumbnail = torch.from_numpy(np.asarray(small, dtype=np.uint8).reshape(height, width, channels).copy())
        thumbnail = thumbnail.permute(2, 0, 1)
        return (torch.as_tensor(as_array(image)) if self.own_input else thumbnail), label, info, item


def from_image_items(
    items: ImageItems,
    labels: Any = None,
    *,
    label_fn: Callable[[Any], Any] | None = None,
    features: Any = None,
    image_size: int = 32,
    batch_size: int = 256,
    num_workers: int = 0,
    unlabelled: Any = False,
    verbose: bool = True,
) -> Any:
    """Build a :class:`~datafix.data.DataView` over a torch Dataset of images, read as an image folder is.

    Every item is read once: its image is turned into 8-bit pixels (``pixel_scale``: floats in
    [0, 1] times 255, normalised tensors back to their range), measured for the image checks
    (``image_statistics``) and hashed for exact duplicates. Its
    pixels are the default features: as they are when the images have one size of at most
    ``image_size`` on a side (so a Dataset of 28 x 28 grey images reads as the (N, 1, 28, 28)
    array of the same pixels); otherwise an ``image_size`` x ``image_size`` RGB thumbnail, as for
    an image folder, and an image of another size than the first ones is resized to theirs (the
    statistics keep each image's own size; the view's ``image_rule`` says so). Items that fail to
    load are broken samples.

    Parameters
    ----------
    items : ImageItems
        The dataset and where its images and labels are.
    labels : array-like, optional
        One label per item, when the items hold none.
    label_fn : callable, optional
        ``label_fn(item) -> label``, instead of the label position or key.
    features : array-like, torch.nn.Module or callable, optional
        Features per item: an array; a module, given batches of the items' own images as the
        dataset returns them (a pretrained network named to the audit,
        :class:`~datafix.signals.PretrainedExtractor`, gets the 8-bit thumbnails, which it
        preprocesses itself); or ``feature_fn(item)`` of each item. Default: the thumbnails' pixels.
    image_size, batch_size, num_workers, verbose
        As in :func:`~datafix.data.from_image_folder`.
    unlabelled : bool or label value, default False
        As in :func:`~datafix.data.as_view`.

    Examples
    --------
    >>> ds = [(torch.rand(1, 12, 12), i % 2) for i in range(6)]
    >>> view = from_image_items(ImageItems(ds), verbose=False)
    >>> view.features.shape, view.codes.tolist(), view.image_stats["width"].tolist()[:2], view.image_rule
    ((6, 144), [0, 1, 0, 1, 0, 1], [12, 12], 'float images in [0, 1], scaled by 255')
    """
    n = len(items)
    first = _first_item(items)
    sample = np.unique(np.linspace(0, max(n - 1, 0), min(n, SCALE_SAMPLE)).astype(int)).tolist() if n else []
    scale = pixel_scale(items, sample)
    shape = thumbnail_shape(items, sample, image_size, scale)
    given = labels if labels is not None else None if label_fn is not None else items.labels_attribute
    if given is not None and len(given) != n:
        raise InvalidInputError(f"The 'labels' argument has {len(given)} entries but the dataset has {n} items.")
    no_labels = given is None and label_fn is None and first is not None and not items.carries_label(first)
    own_input = isinstance(features, torch.nn.Module) and not getattr(features, "accepts_uint8", False)
    if features is not None and not isinstance(features, torch.nn.Module) and callable(features):
        feature_fn = features
        features = lambda read: feature_fn(read[3])  # noqa: E731 - the user's function sees the dataset's item
    reader = _AuditItems(items, scale, shape, [None] * n if no_labels else given, label_fn, own_input)
    view = from_torch_dataset(reader, labels=False if no_labels else given,
                              features=_thumbnail_features if features is None else features,
                              batch_size=batch_size, kind="torch", num_workers=num_workers, item_info=_info,
                              unlabelled=unlabelled, verbose=verbose)
    rule = scale.rule + _resize_rule(view, shape, image_size)
    view = replace(view, source=items, image_rule=rule)
    if features is None:  # the thumbnails are the features: the view can give them as images
        view = replace(view, image_shape=shape)
    return view


def _first_item(items: ImageItems) -> Any:
    """The first item that loads (None when none of the first few does); raises at once when its
    image cannot be found in it (a key or position to name), rather than as every item's load error."""
    for i in range(min(len(items), 5)):
        try:
            item = items.dataset[i]
        except Exception:  # noqa: BLE001 - a broken item: reported with the others
            continue
        items.image_of(item)
        return item
    return None


def thumbnail_shape(items: ImageItems, positions: Sequence[int], image_size: int, scale: PixelScale
                    ) -> tuple[int, int, int]:
    """The (C, H, W) of the audit's pixels: the images' own (grey or RGB) when the items at
    ``positions`` share one size of at most ``image_size`` on a side, else ``(3, image_size, image_size)``.

    Examples
    --------
    >>> ds = [(torch.zeros(1, 28, 28), 0)] * 3
    >>> thumbnail_shape(ImageItems(ds), range(3), 32, pixel_scale(ImageItems(ds), range(3)))
    (1, 28, 28)
    """
    shapes = set()
    for i in positions:
        try:
            img = item_pixels(items.image_of(items.dataset[i]), scale)
        except Exception:  # noqa: BLE001 - a broken item is reported by the read pass
            continue
        shapes.add((1 if img.mode == "L" else 3, img.size[1], img.size[0]))
    if len(shapes) == 1:
        shape = next(iter(shapes))
        if max(shape[1:]) <= image_size:
            return shape
    return (3, image_size, image_size)


def _resize_rule(view: Any, shape: tuple[int, int, int], image_size: int) -> str:
    """The words for images read at another size than their own."""
    stats = view.image_stats
    if stats is None or not len(stats):
        return ""
    own = (stats["height"].to_numpy() == shape[1]) & (stats["width"].to_numpy() == shape[2])
    own &= view.valid
    if shape == (3, image_size, image_size) and not own.all():
        return f"; every image resized to {image_size} x {image_size} RGB for the signals (their sizes differ)"
    if not own[view.valid].all():
        return (f"; {int((~own & view.valid).sum())} images of another size than {shape[2]} x {shape[1]} resized to "
                "it for the signals")
    return ""
