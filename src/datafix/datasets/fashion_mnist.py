"""Fashion-MNIST from local files: 70,000 real 28 x 28 grayscale photos of clothing, 10 classes (MIT).

Nothing is downloaded. The IDX files come from ``root``, from Debian's package
``dataset-fashion-mnist`` (``apt-get install dataset-fashion-mnist``, or ``make data``), or from
torchvision's ``FashionMNIST/raw`` layout under ``root``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datafix._validation import check_choice
from datafix.errors import InvalidInputError

#: Where Debian's ``dataset-fashion-mnist`` installs the files.
DEBIAN_ROOT = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass(frozen=True)
class LabelledImages:
    """Images with one label each.

    Attributes
    ----------
    images : numpy.ndarray of uint8, shape (N, C, H, W)
    labels : numpy.ndarray of int64, shape (N,)
        Class codes; ``classes[labels]`` are the names.
    classes : tuple of str
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def names(self) -> np.ndarray:
        """The label of every image as its class name."""
        return np.asarray(self.classes, dtype=object)[self.labels]


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None) -> LabelledImages:
    """Read Fashion-MNIST's ``split`` ("train": 60,000 images, "test": 10,000) from local IDX files.

    Looks in ``root`` (the four ``*-ubyte`` or ``*-ubyte.gz`` files), then in Debian's install
    folder (``/usr/share/datasets/fashion-mnist``), then in torchvision's layout
    ``root/FashionMNIST/raw``. Never downloads.

    Parameters
    ----------
    split : {"train", "test"}, default "train"
        The training split (60,000 images) or the test split (10,000).
    root : str or os.PathLike, optional
        A folder holding the files (or torchvision's ``FashionMNIST/raw`` below it).

    Returns
    -------
    LabelledImages
        uint8 images of shape (N, 1, 28, 28), int64 labels and the 10 class names.

    Raises
    ------
    InvalidInputError
        When no folder holds the files (the message names the Debian package and ``root=``), or
        a file is not a valid IDX file.

    Examples
    --------
    >>> data = load_fashion_mnist("test")  # doctest: +SKIP
    >>> data.images.shape, data.classes[data.labels[0]]  # doctest: +SKIP
    ((10000, 1, 28, 28), 'Ankle boot')
    """
    check_choice(split, "split", tuple(_FILES))
    image_name, label_name = _FILES[split]
    candidates = [Path(root)] if root is not None else []
    candidates.append(DEBIAN_ROOT)
    if root is not None:
        candidates.append(Path(root) / "FashionMNIST" / "raw")
    for folder in candidates:
        images, labels = _find(folder, image_name), _find(folder, label_name)
        if images is not None and labels is not None:
            x, y = _read_idx(images), _read_idx(labels)
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise InvalidInputError(f"The Fashion-MNIST files in {str(folder)!r} do not match: images of shape "
                                        f"{x.shape}, labels of shape {y.shape}.")
            return LabelledImages(x[:, None], y.astype(np.int64), CLASSES)
    searched = ", ".join(repr(str(c)) for c in candidates)
    raise InvalidInputError(
        f"No Fashion-MNIST {split} files ({image_name}[.gz], {label_name}[.gz]) in {searched}. Install Debian's "
        "package with `apt-get install dataset-fashion-mnist` (or `make data`), or pass root= a folder holding "
        "the files. datafix never downloads data."
    )


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain) as a uint8 array: magic 0x0000 08 D, then D big-endian sizes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise InvalidInputError(f"{str(path)!r} is not an IDX file of unsigned bytes.")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    offset = 4 + 4 * dims
    if len(data) - offset != int(np.prod(shape)):
        raise InvalidInputError(f"{str(path)!r} is truncated: {len(data) - offset} bytes for shape {shape}.")
    return np.frombuffer(data, np.uint8, offset=offset).reshape(shape)
