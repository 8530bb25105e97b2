"""Augmentation-based oversampling of images: virtual samples from recipes, nothing stored.

Each extra sample of a minority class is a recipe (source index, seed; for intra-class mixup
also a partner index and a mixing weight). Reading it loads the source image(s) and applies the
augmentation seeded by the recipe, so any synthetic sample can be regenerated exactly, in any
DataLoader worker, and the memory cost is one small row per virtual sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from datafix._validation import check_int, sampling_targets
from datafix.data.classes import class_codes
from datafix.errors import InvalidInputError, InvalidTypeError


class AugmentedOversampler(Dataset):
    """A Dataset view: the source's items, then augmented copies of minority-class items.

    Parameters
    ----------
    dataset : map-style Dataset
        Items are ``(image, label, ...)`` tuples or images; an image is an HWC numpy array, a
        PIL image, or a CHW tensor (returned in the same kind).
    labels : array-like, DataView or None
        One label per item (default: the dataset's ``targets`` or ``labels``).
    transform : albumentations transform or callable
        An albumentations ``Compose`` (seeded per virtual sample with ``set_random_seed``), or
        ``transform(image, rng) -> image`` with ``rng`` a ``numpy.random.Generator``. To leave
        augmentation to datafix's batch pipeline on the device, use :class:`KeyedOversampler`
        (items end with their index).
    sampling_strategy : float, str, dict or callable, default "auto"
        How many virtual samples per class, as in imbalanced-learn's over-samplers.
    mixup_alpha : float, optional
        Intra-class mixup: a virtual sample mixes two augmented images of its class with a
        weight drawn from Beta(alpha, alpha).
    seed : int, default 0
        Keys the virtual samples' augmentation draws.

    Examples
    --------
    >>> images = [np.full((4, 4, 3), v, dtype=np.uint8) for v in (10, 20, 30, 200)]
    >>> data = list(zip(images, [0, 0, 0, 1]))
    >>> flip = lambda image, rng: image[:, ::-1] if rng.random() < 0.5 else image
    >>> view = AugmentedOversampler(data, [0, 0, 0, 1], flip)
    >>> len(view), view[5][1], int(view[5][0].mean())
    (6, 1, 200)
    >>> int(view.provenance.loc[5, "source"]), view.provenance.loc[5, "method"]
    (3, 'augment')

    With the batch pipeline on the device instead (here the CPU):

    >>> from torch.utils.data import DataLoader
    >>> from datafix import augment as A
    >>> tensors = [(torch.full((3, 8, 8), v, dtype=torch.uint8), c) for v, c in ((10, 0), (20, 0), (200, 1))]
    >>> view = KeyedOversampler(tensors, [0, 0, 1])
    >>> loader = A.DeviceLoader(DataLoader(view, batch_size=4), "cpu",
    ...                         A.Compose([A.ColorJitter(brightness=0.5)], seed=0), with_ids=True)
    >>> x, y = next(iter(loader))
    >>> x.shape, y.tolist(), bool(x[2].mean() != x[3].mean())  # item 3 is a keyed copy of item 2
    (torch.Size([4, 3, 8, 8]), [0, 0, 1, 1], True)
    """

    #: Whether items end with their index (:class:`KeyedOversampler`).
    _keyed = False

    def __init__(self, dataset: Any, labels: Any = None, transform: Any = None, *, sampling_strategy: Any = "auto",
                 mixup_alpha: float | None = None, seed: int = 0) -> None:
        if transform is None and not self._keyed:
            raise InvalidInputError("transform=None leaves augmentation to a batch pipeline keyed by index: use "
                                    "KeyedOversampler (without a transform, virtual samples would be plain copies).")
        if transform is not None and not (callable(transform) or hasattr(transform, "set_random_seed")):
            raise InvalidTypeError("The 'transform' argument must be an albumentations transform, a callable "
                                   "transform(image, rng), or None.")
        if mixup_alpha is not None and not mixup_alpha > 0:
            raise InvalidInputError(f"The 'mixup_alpha' parameter must be positive; got {mixup_alpha}.")
        codes, self.classes = class_codes(dataset if labels is None else labels)
        if len(codes) != len(dataset):
            raise InvalidInputError(f"The 'labels' argument has {len(codes)} labels for a dataset of {len(dataset)}.")
        self.dataset, self.transform, self.mixup_alpha = dataset, transform, mixup_alpha
        self.seed = check_int(seed, "seed", minimum=0)
        add = sampling_targets(sampling_strategy, codes, "over")
        rng = np.random.default_rng([self.seed, 7])
        source, partner, lam = [], [], []
        for c in np.flatnonzero(add):
            members = np.flatnonzero(codes == c)
            source.append(rng.choice(members, size=add[c]))
            partner.append(rng.choice(members, size=add[c]) if mixup_alpha else np.full(add[c], -1))
            lam.append(rng.beta(mixup_alpha, mixup_alpha, size=add[c]) if mixup_alpha else np.ones(add[c]))
        source = np.concatenate(source) if source else np.zeros(0, np.int64)
        n = len(dataset)
        self.provenance = pd.DataFrame({
            "is_synthetic": True,
            "source": source,
            "partner": np.concatenate(partner) if partner else np.zeros(0, np.int64),
            "weight": np.concatenate(lam) if lam else np.zeros(0),
            "seed": np.random.SeedSequence([self.seed, 11]).generate_state(len(source), dtype=np.uint32).astype(np.int64),
            "method": ("mixup" if mixup_alpha else "augment") + ("" if transform is not None else " (device, keyed by index)"),
        }, index=pd.RangeIndex(n, n + len(source)))

    def __len__(self) -> int:
        return len(self.dataset) + len(self.provenance)

    def __getitem__(self, i: int) -> Any:
        if i < 0:
            i += len(self)
        if i < len(self.dataset):
            return self._with_index(self.dataset[i], i)
        recipe = self.provenance.loc[i]
        item = self.dataset[int(recipe["source"])]
        image = self._augment(_image_of(item), int(recipe["seed"]))
        if recipe["partner"] >= 0:
            other = self._augment(_image_of(self.dataset[int(recipe["partner"])]), int(recipe["seed"]) + 1)
            image = _mix(image, other, float(recipe["weight"]))
        return self._with_index((image, *item[1:]) if isinstance(item, tuple) else image, i)

    def _with_index(self, item: Any, i: int) -> Any:
        if not self._keyed:
            return item
        return (*item, i) if isinstance(item, tuple) else (item, i)

    def _augment(self, image: Any, seed: int) -> Any:
        if self.transform is None:
            return image
        as_tensor = isinstance(image, torch.Tensor)
        array = image.permute(1, 2, 0).numpy() if as_tensor else np.asarray(image)
        if hasattr(self.transform, "set_random_seed"):  # albumentations
            self.transform.set_random_seed(seed)
            out = self.transform(image=array)["image"]
        else:
            out = self.transform(array, np.random.default_rng(seed))
        out = np.ascontiguousarray(out)
        return torch.from_numpy(out).permute(2, 0, 1) if as_tensor else out



class KeyedOversampler(AugmentedOversampler):
    """:class:`AugmentedOversampler` for a batch pipeline on the device: items end with their index.

    Virtual samples are plain copies here; a :class:`datafix.augment.Compose` keyed by the
    indices (``DeviceLoader(..., with_ids=True)``) gives each its own augmentation, regenerated
    exactly from (seed, epoch, index). Items are ``(image, label, ..., index)``, always.

    Parameters
    ----------
    dataset : map-style Dataset
        Items are ``(image, label, ...)`` tuples or images.
    labels : array-like, DataView or None
        One label per item (default: the dataset's ``targets`` or ``labels``).
    sampling_strategy : float, str, dict or callable, default "auto"
        How many virtual samples per class, as in imbalanced-learn's over-samplers.
    mixup_alpha : float, optional
        Intra-class mixup weight shape, as in :class:`AugmentedOversampler`.
    seed : int, default 0
        Keys the virtual samples' augmentation draws.

    Examples
    --------
    >>> tensors = [(torch.full((3, 4, 4), v, dtype=torch.uint8), c) for v, c in ((10, 0), (20, 0), (200, 1))]
    >>> view = KeyedOversampler(tensors, [0, 0, 1])
    >>> len(view), view[3][1:], int(view.provenance.loc[3, "source"])
    (4, (1, 3), 2)
    """

    _keyed = True

    def __init__(self, dataset: Any, labels: Any = None, *, sampling_strategy: Any = "auto",
                 mixup_alpha: float | None = None, seed: int = 0) -> None:
        super().__init__(dataset, labels, None, sampling_strategy=sampling_strategy, mixup_alpha=mixup_alpha, seed=seed)


def _image_of(item: Any) -> Any:
    return item[0] if isinstance(item, tuple) else item


def _mix(a: Any, b: Any, weight: float) -> Any:
    if isinstance(a, torch.Tensor):
        mixed = weight * a.float() + (1 - weight) * b.float()
        return mixed.round().to(a.dtype) if not a.is_floating_point() else mixed.to(a.dtype)
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"Mixup needs images of one size; got {a.shape} and {b.shape}.")
    mixed = weight * a.astype(np.float32) + (1 - weight) * b.astype(np.float32)
    return np.clip(np.round(mixed), 0, 255).astype(a.dtype) if a.dtype == np.uint8 else mixed.astype(a.dtype)

