"""Adapter for an image folder: one subfolder per class."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
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
            return self._thumbnail(img), label

    def _thumbnail(self, img: Image.Image) -> torch.Tensor:
        """The image as an RGB uint8 tensor (3, S, S), S = ``image_size``."""
        small = img.convert("RGB").resize((self.image_size, self.image_size), Image.BILINEAR)
        return torch.from_numpy(np.asarray(small, dtype=np.uint8).copy()).permute(2, 0, 1)


#: Images are measured at most this many pixels on a side (larger ones are downscaled first).
STATS_MAX_SIDE = 512


def image_statistics(img: Image.Image) -> dict[str, Any]:
    """Size, mode and content statistics of one decoded image, for the image-quality checks.

    Returns ``width``, ``height``, ``mode``, ``channels``, ``brightness`` (mean luminance in
    [0, 1]), ``dark_share`` / ``bright_share`` (share of pixels below 0.1 / above 0.9 luminance),
    ``blur`` (variance of the Laplacian of the luminance divided by the luminance variance, so
    a dim or low-contrast image is not called blurry; NaN below 3 x 3 pixels or for a flat image)
    and ``entropy`` (of the 256-bin luminance histogram, in bits, 0 to 8). Content statistics are
    measured on a copy at most ``STATS_MAX_SIDE`` pixels on a side.

    Examples
    --------
    >>> from PIL import Image
    >>> stats = image_statistics(Image.new("L", (4, 4), color=0))
    >>> stats["brightness"], stats["entropy"], stats["channels"]
    (0.0, 0.0, 1)
    """
    width, height = img.size
    gray = img.convert("L")
    if max(width, height) > STATS_MAX_SIDE:
        gray.thumbnail((STATS_MAX_SIDE, STATS_MAX_SIDE))
    lum = np.asarray(gray, dtype=np.float64) / 255.0
    hist = np.bincount(np.asarray(gray, dtype=np.uint8).ravel(), minlength=256) / max(lum.size, 1)
    nz = hist[hist > 0]
    contrast = float(lum.var()) if lum.size else 0.0
    if min(lum.shape) >= 3 and contrast > 0:
        lap = lum[:-2, 1:-1] + lum[2:, 1:-1] + lum[1:-1, :-2] + lum[1:-1, 2:] - 4 * lum[1:-1, 1:-1]
        blur = float(lap.var()) / contrast  # relative to the image's own contrast: dim is not blurry
    else:
        blur = float("nan")
    return {
        "width": width,
        "height": height,
        "mode": img.mode,
        "channels": len(img.getbands()),
        "brightness": float(lum.mean()) if lum.size else 0.0,
        "dark_share": float((lum < 0.1).mean()) if lum.size else 0.0,
        "bright_share": float((lum > 0.9).mean()) if lum.size else 0.0,
        "blur": blur,
        "entropy": float(-(nz * np.log2(nz)).sum()) + 0.0,
    }


class _AuditImages(ImageFolderDataset):
    """Items ``(thumbnail, label, info)``: info holds the image's statistics and file digest."""

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str, dict[str, Any]]:
        path, label = self.samples[i]
        thumb, info = read_audit_image(path, self.image_size)
        return thumb, label, info


def read_audit_image(path: str | Path, image_size: int) -> tuple[torch.Tensor, dict[str, Any]]:
    """What the audit reads from one image file: its RGB thumbnail (uint8, 3 x S x S) and its
    :func:`image_statistics` with the file's ``digest`` (the first 8 bytes of its BLAKE2b hash, as
    an int). Raises when the file cannot be decoded (the audit records the file as broken).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.new("RGB", (8, 6), (255, 255, 255)).save(path)
    >>> thumb, info = read_audit_image(path, 4)
    >>> tuple(thumb.shape), info["width"], info["brightness"]
    ((3, 4, 4), 8, 1.0)
    """
    raw = Path(path).read_bytes()
    digest = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")
    with Image.open(path) as img:
        img.load()
        info = image_statistics(img)
        small = img.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
    info["digest"] = digest
    return torch.from_numpy(np.asarray(small, dtype=np.uint8).copy()).permute(2, 0, 1), info


def _thumbnail_features(item: Any) -> np.ndarray:
    """Default image features: the resized RGB pixels scaled to [0, 1]."""
    return item[0].numpy().reshape(-1) / 255.0


def from_image_folder(
    root: str | Path,
    *,
    features: Any = None,
    image_size: int = 32,
    batch_size: int = 256,
    num_workers: int | None = None,
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
    num_workers : int, optional
        DataLoader worker processes decoding the images (default: none under 1,000 images,
        else up to 4).
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
    dataset = _AuditImages(root, image_size=image_size)
    index = [str(p.relative_to(dataset.root).as_posix()) for p, _ in dataset.samples]
    if num_workers is None:
        num_workers = 0 if len(dataset) < 1000 else min(4, os.cpu_count() or 1)
    view = from_torch_dataset(
        dataset,
        labels=dataset.targets,
        features=_thumbnail_features if features is None else features,
        batch_size=batch_size,
        index=index,
        kind="images",
        num_workers=num_workers,
        item_info=_info,
        verbose=verbose,
    )
    if features is None:  # the thumbnails are the features: the view can give them as images
        view = replace(view, image_shape=(3, image_size, image_size))
    return view


def _info(item: Any) -> dict[str, Any]:
    return dict(item[2])
