"""The CPU per-image path: a batch's leading stages run image by image with OpenCV and albumentations.

On a CPU, torch's batched float kernels stream every intermediate image through memory (a
224 x 224 batch of 256 is 150 MB per float copy), while OpenCV and albumentations work on one
uint8 image that stays in cache. The parameters are the batch's (drawn once, as on the GPU), so
the result is the torch path's up to uint8 rounding. Images are spread over a thread pool
(OpenCV releases the GIL).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from datafix._threads import thread_pool
from datafix.augment._stages import GeometryStage

_CV2_BORDER = {"zeros": cv2.BORDER_CONSTANT, "border": cv2.BORDER_REPLICATE, "reflection": cv2.BORDER_REFLECT}


def _numpy(tree: Any) -> Any:
    if isinstance(tree, Tensor):
        return tree.detach().cpu().numpy()
    if isinstance(tree, dict):
        return {k: _numpy(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_numpy(v) for v in tree]
    return tree


def _row(tree: Any, i: int) -> Any:
    if isinstance(tree, np.ndarray):
        return tree[i]
    if isinstance(tree, dict):
        return {k: _row(v, i) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_row(v, i) for v in tree]
    return tree


def _warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], exact: bool, border: int) -> np.ndarray:
    flags = cv2.INTER_NEAREST if exact else cv2.INTER_LINEAR
    channels = image.shape[2]
    if channels <= 4:
        out = cv2.warpAffine(image, matrix, (size[1], size[0]), flags=flags, borderMode=border, borderValue=0)
        return out.reshape(size[0], size[1], channels)
    parts = [cv2.warpAffine(np.ascontiguousarray(image[:, :, c:c + 4]), matrix, (size[1], size[0]), flags=flags,
                            borderMode=border, borderValue=0).reshape(size[0], size[1], -1)
             for c in range(0, channels, 4)]  # OpenCV warps at most 4 channels at a time
    return np.concatenate(parts, axis=2)


def run(x: Tensor, stages: list[Any], padding_mode: str, output_dtype: torch.dtype | None = None) -> Tensor:
    """Run geometry and colour ``stages`` per image on a CPU (B, C, H, W) batch.

    Returns a float32 (B, C, H, W) view of a (B, H, W, C) array (channels-last in memory), in
    [0, 1] for a uint8 batch: each image is turned to float while it sits in cache (torch's
    conversion of the strided batch afterwards costs more than the ops at 224 x 224).
    ``output_dtype=torch.uint8`` keeps levels 0-255 instead (float results rounded).
    """
    chw = x.detach().numpy()
    planar = x.is_contiguous()  # (B, C, H, W) in memory: an image's channels are whole planes
    hwc = chw.transpose(0, 2, 3, 1)
    batch, height, width, channels = hwc.shape
    border = _CV2_BORDER[padding_mode]
    prepared: list[tuple[Any, ...]] = []
    size = (height, width)
    for stage in stages:
        if isinstance(stage, GeometryStage):
            size = stage.size
            prepared.append(("geometry", stage.matrices[:, :2].double().cpu().numpy(), size, stage.exact))
        else:
            prepared.append(("color", stage.transform, _numpy(stage.transform.image_params(stage.params, size))))
    levels = output_dtype == torch.uint8
    out = np.empty((batch, size[0], size[1], channels), dtype=np.uint8 if levels else np.float32)

    def work(rows: range) -> None:
        for i in rows:
            if planar:  # interleave the planes (OpenCV's merge beats NumPy's transposed copy)
                image = cv2.merge(list(chw[i])).reshape(height, width, channels)
            else:
                image = hwc[i]
            for stage in prepared:
                if stage[0] == "geometry":
                    image = _warp(np.ascontiguousarray(image), stage[1][i], stage[2], stage[3], border)
                else:
                    image = stage[1].apply_image(image, _row(stage[2], i))
            image = image.reshape(out.shape[1:])
            if levels:
                out[i] = image if image.dtype == np.uint8 else np.clip(np.rint(image * 255.0), 0, 255)
            else:
                scale = np.float32(1.0 / 255.0) if image.dtype == np.uint8 else np.float32(1.0)
                np.multiply(image, scale, out=out[i], casting="unsafe")

    workers = max(1, torch.get_num_threads())
    if batch < 2 * workers or workers == 1:  # a few images (e.g. one per DataLoader item): no pool
        work(range(batch))
    else:
        step = max(1, -(-batch // (4 * workers)))
        blocks = [range(i, min(i + step, batch)) for i in range(0, batch, step)]
        list(thread_pool("augment", workers).map(work, blocks))
    return torch.from_numpy(out).permute(0, 3, 1, 2)
