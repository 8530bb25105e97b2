"""Where the image and the label of a torch Dataset's item are: :class:`ImageItems`.

A torch Dataset of images comes in many shapes: ``(PIL image, label)`` (torchvision without a
transform), ``(tensor in [0, 1], label)`` (``ToTensor``), normalised tensors (``Normalize``), dicts
(``{"image": ..., "label": ...}``, the Hugging Face style), ``(image, target, extra)`` tuples.
:class:`ImageItems` says where the image and the label of an item are (found when not given);
``datafix.data.image_items`` reads them into pixels. This module imports no other module of
``datafix.data``, so the view can tell such a source without an import cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from datafix.errors import InvalidInputError, InvalidTypeError

#: Keys of a dict item that hold its image, and its label, in the order they are looked for.
IMAGE_KEYS = ("image", "img", "pixel_values", "pixels", "input", "x")
LABEL_KEYS = ("label", "labels", "target", "targets", "class", "y")


@dataclass(frozen=True)
class ImageItems:
    """A torch Dataset whose items hold images, with where the image and the label of an item are.

    ``dfx.audit(ImageItems(dataset, image="img", label="y"))`` audits it as an image folder is
    audited: label, outlier, duplicate and image-quality checks on the decoded items. A plain
    Dataset of images passed to :func:`datafix.audit` is read the same way, with the positions
    and keys found.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        A map-style dataset; it is only read.
    image : int or str, optional
        The item's position or key that holds the image (default: position 0 of a tuple, or the
        first of ``IMAGE_KEYS`` in a dict).
    label : int or str, optional
        The position or key of the label (default: position 1 of a tuple, or the first of
        ``LABEL_KEYS`` in a dict; the dataset's ``targets`` attribute when it has one).
    mean, std : sequence of float, optional
        The ``transforms.Normalize(mean, std)`` that made the item tensors: undone exactly
        (``x * std + mean``). Without them, normalised tensors (values outside [0, 1]) are scaled
        by the per-channel minimum and maximum of the first ``SCALE_SAMPLE`` items.

    Examples
    --------
    >>> ds = [{"img": torch.zeros(1, 8, 8), "y": 0}, {"img": torch.ones(1, 8, 8), "y": 1}]
    >>> items = ImageItems(ds, image="img", label="y")
    >>> items.image_of(ds[1]).shape, items.label_of(ds[1])
    (torch.Size([1, 8, 8]), 1)
    """

    dataset: Any
    image: int | str | None = None
    label: int | str | None = None
    mean: Sequence[float] | None = None
    std: Sequence[float] | None = None

    def __post_init__(self) -> None:
        if not (hasattr(self.dataset, "__len__") and hasattr(self.dataset, "__getitem__")):
            raise InvalidTypeError("ImageItems needs a map-style Dataset (with __len__ and __getitem__); got "
                                   f"{type(self.dataset).__name__}.")
        if (self.mean is None) != (self.std is None):
            raise InvalidInputError("Give both 'mean' and 'std' (those of the transforms.Normalize that made the "
                                    "tensors), or neither.")
        if self.std is not None and any(float(s) <= 0 for s in self.std):
            raise InvalidInputError(f"The 'std' argument must be positive; got {list(self.std)}.")

    def __len__(self) -> int:
        return len(self.dataset)

    def image_of(self, item: Any) -> Any:
        """The image inside one item."""
        return _pick(item, self.image, IMAGE_KEYS, 0, "image")

    def carries_label(self, item: Any) -> bool:
        """Whether an item holds a label: a named one, a ``label`` key, or a second tuple element."""
        if self.label is not None:
            return True
        if isinstance(item, dict):
            return any(k in item for k in LABEL_KEYS)
        return isinstance(item, (tuple, list)) and len(item) > 1

    def label_of(self, item: Any) -> Any:
        """The label inside one item (a 0-d tensor as a Python number)."""
        value = _pick(item, self.label, LABEL_KEYS, 1, "label")
        return value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value

    @property
    def labels_attribute(self) -> Any:
        """The dataset's own ``targets`` / ``labels`` list, when the label position was not named."""
        if self.label is not None:
            return None
        for name in ("targets", "labels"):
            values = getattr(self.dataset, name, None)
            if values is not None and not callable(values) and len(values) == len(self.dataset):
                return values
        return None


def _pick(item: Any, where: int | str | None, keys: tuple[str, ...], position: int, what: str) -> Any:
    if isinstance(item, dict):
        if where is not None:
            if where not in item:
                raise InvalidInputError(f"The dataset's items have no key {where!r} for the {what}; their keys are "
                                        f"{sorted(map(str, item))}.")
            return item[where]
        found = next((k for k in keys if k in item), None)
        if found is None:
            raise InvalidInputError(
                f"Cannot find the {what} in the dataset's dict items (keys {sorted(map(str, item))}); name it: "
                f"datafix.data.ImageItems(dataset, {what}='<key>').")
        return item[found]
    if isinstance(item, (tuple, list)):
        at = position if where is None else where
        if not isinstance(at, int) or not -len(item) <= at < len(item):
            raise InvalidInputError(f"The dataset's items are {len(item)}-tuples; the {what} position {at!r} is not "
                                    f"among them: datafix.data.ImageItems(dataset, {what}=<position>).")
        return item[at]
    if what == "image" and where is None:
        return item
    raise InvalidInputError(f"Cannot find the {what} in a dataset item of type {type(item).__name__}; items should be "
                            f"(image, label) tuples or dicts, or name it: datafix.data.ImageItems(dataset, {what}=...).")


def holds_images(dataset: Any) -> bool:
    """Whether a Dataset's items hold images (the first readable of its first few items tells).

    Examples
    --------
    >>> holds_images([(torch.zeros(3, 16, 16), 0)]), holds_images([(torch.zeros(5), 0)])
    (True, False)
    """
    items = dataset if isinstance(dataset, ImageItems) else ImageItems(dataset)
    for i in range(min(len(items), 5)):
        try:
            return is_image(items.image_of(items.dataset[i]))
        except Exception:  # noqa: BLE001 - an unreadable item: look at the next
            continue
    return False


def is_image(x: Any) -> bool:
    """Whether ``x`` is an image: a PIL image, or a (C, H, W) / (H, W) array or tensor of a picture's size."""
    if hasattr(x, "mode") and hasattr(x, "size") and hasattr(x, "convert"):
        return True
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) == 3:
        return shape[0] in (1, 3, 4) and min(shape[1:]) >= 1
    return len(shape) == 2 and min(shape) >= 8


def as_array(x: Any) -> np.ndarray:
    """An image as a (C, H, W) NumPy array of its own dtype (PIL images as uint8)."""
    if hasattr(x, "mode") and hasattr(x, "convert"):
        if x.mode not in ("L", "RGB", "RGBA"):
            x = x.convert("RGBA" if "A" in x.getbands() else "RGB")
        arr = np.asarray(x)
        return arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return arr[None] if arr.ndim == 2 else arr
