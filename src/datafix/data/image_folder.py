"""Adapter for an image folder: one subfolder per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from datafix._validation import check_int
from datafix.data.torch_dataset import from_torch_dataset
from datafix.data.view import DataView
from datafix.errors import InvalidInputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class ImageFolderDataset(torch.utils.data.Dataset):
    """Images under ``root/<class>/<file>``, served as ``(uint8 tensor C x H x W, class name)``.

    Every image is converted to RGB and resized to ``image_size`` x ``image_size``, so a batch can
    be stacked. An unreadable file raises in ``__getitem__`` (datafix records it as broken).

    Parameters
    ----------
    root : str or pathlib.Path
        The folder that holds one subfolder per class.
    image_size : int, default 32
        Side of the square each image is resized to.
    extensions : tuple of str
        File endings that count as images (case-insensitive).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for c in ("cat", "dog"):
    ...     (root / c).mkdir()
    ...     Image.new("RGB", (8, 8)).save(root / c / "a.png")
    >>> ds = ImageFolderDataset(root, image_size=4)
    >>> len(ds), ds[0][0].shape, ds[0][1]
    (2, torch.Size([3, 4, 4]), 'cat')
    """

    def __init__(
        self, root: str | Path, image_size: int = 32, extensions: tuple[str, ...] = IMAGE_EXTENSIONS
    ) -> None:
        self.root = Path(root)
        self.image_size = check_int(image_size, "image_size", minimum=1)
        if not self.root.is_dir():
            raise InvalidInputError(f"The image folder {str(root)!r} does not exist or is not a folder.")
        classes = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        self.samples: list[tuple[Path, str]] = [
            (f, c)
            for c in classes
            for f in sorted((self.root / c).rglob("*"))
            if f.is_file() and f.suffix.lower() in extensions
        ]
        if not self.samples:
            raise InvalidInputError(
                f"The image folder {str(root)!r} has no images in class subfolders "
                f"(root/<class>/<image>, endings {', '.join(extensions)})."
            )
        self.targets = [c for _, c in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        path, label = self.samples[i]
        with Image.open(path) as img:
            img = img.convert("RGB").resize((self.image_size, self.image_size), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
        return torch.from_numpy(arr.copy()).permute(2, 0, 1), label


def _thumbnail_features(item: Any) -> np.ndarray:
    """Default image features: the resized RGB pixels scaled to [0, 1]."""
    return item[0].numpy().reshape(-1) / 255.0


def from_image_folder(
    root: str | Path,
    *,
    features: Any = None,
    image_size: int = 32,
    batch_size: int = 256,
    verbose: bool = True,
) -> DataView:
    """Build a :class:`DataView` over ``root/<class>/<image>`` files.

    Every image is read once. Files that cannot be decoded are recorded as broken samples
    (``DataView.broken``), not raised. The index is each file's path relative to ``root``.

    Parameters
    ----------
    root : str or pathlib.Path
        The folder with one subfolder per class.
    features : array-like, torch.nn.Module or callable, optional
        Features per image; a module receives batches of float RGB tensors (B, 3, S, S) in
        [0, 255]. Default: the ``image_size`` x ``image_size`` thumbnail's pixels.
    image_size : int, default 32
        Side of the square thumbnails.
    batch_size : int, default 256
        Images per batch for a feature module.
    verbose : bool, default True
        Show a progress bar.

    Returns
    -------
    DataView

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for c in ("cat", "dog"):
    ...     (root / c).mkdir()
    ...     Image.new("RGB", (8, 8)).save(root / c / "a.png")
    >>> (root / "dog" / "bad.png").write_bytes(b"not an image")
    12
    >>> view = from_image_folder(root, image_size=4, verbose=False)
    >>> list(view.index), list(view.broken)
    (['cat/a.png', 'dog/a.png', 'dog/bad.png'], [2])
    """
    dataset = ImageFolderDataset(root, image_size=image_size)
    index = [str(p.relative_to(dataset.root).as_posix()) for p, _ in dataset.samples]
    return from_torch_dataset(
        dataset,
        labels=dataset.targets,
        features=_thumbnail_features if features is None else features,
        batch_size=batch_size,
        index=index,
        kind="images",
        verbose=verbose,
    )
