"""Decode image files into tensors (no DataView: the view's methods use this)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image


def read_image(path: str | Path | BinaryIO, size: tuple[int, int] | None = None, *,
               draft: bool = False) -> torch.Tensor:
    """Decode an image file (a path or an open binary file) as an RGB uint8 tensor (3, H, W),
    resized to ``size`` = (H, W) if given.

    Grayscale, palette and RGBA images are converted to RGB (alpha dropped), so every image of a
    folder has three channels. With ``draft``, a JPEG much larger than ``size`` is decoded at a
    reduced DCT scale (``Image.draft``: 1/2, 1/4 or 1/8, never below ``size``) before the resize.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "gray.png"
    >>> Image.new("L", (6, 4), color=200).save(path)
    >>> x = read_image(path)
    >>> x.shape, x.dtype, int(x[0, 0, 0])
    (torch.Size([3, 4, 6]), torch.uint8, 200)
    >>> read_image(path, (8, 8)).shape
    torch.Size([3, 8, 8])
    """
    with Image.open(path) as img:
        if draft and size is not None:
            img.draft("RGB", (size[1], size[0]))  # JPEG only; a no-op for other formats
        rgb = img.convert("RGB")
        if size is not None and rgb.size != (size[1], size[0]):
            rgb = rgb.resize((size[1], size[0]), Image.BILINEAR)
        return torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1)
