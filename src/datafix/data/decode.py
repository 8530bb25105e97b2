"""Decode image files into tensors (no DataView: the view's methods use this)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image


def read_image(path: str | Path, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Decode an image file as an RGB uint8 tensor (3, H, W), resized to ``size`` = (H, W) if given.

    Grayscale, palette and RGBA images are converted to RGB (alpha dropped), so every image of a
    folder has three channels.

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
        rgb = img.convert("RGB")
        if size is not None and rgb.size != (size[1], size[0]):
            rgb = rgb.resize((size[1], size[0]), Image.BILINEAR)
        return torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1)
