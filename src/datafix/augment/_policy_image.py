"""The CPU per-image kernels of the policy and tone ops: one uint8 image at a time, with OpenCV.

The per-image path (:mod:`datafix.augment._per_image`) hands each colour stage one (H, W, C)
image; for RandAugment, TrivialAugmentWide, AutoAugment, AugMix and the tone transforms these
kernels run each op on that image while it sits in cache, in one or two OpenCV calls:
brightness and contrast one ``addWeighted``, posterize, solarize and invert bitwise ops, colour
and sharpness one blend with the gray or the 3 x 3 box mean, autocontrast and equalize one
per-channel lookup table, the geometric ops one nearest-neighbour ``warpAffine`` through the
batch's inverse matrix. :data:`datafix.augment.policies.POLICY_OPS` names each op's kernel
here. The results are the batched torch ops' (the reference,
:func:`datafix.augment.policies.apply_op`) up to uint8 rounding after each op. Images that are
not uint8 with 1 or 3 channels run the torch op on the one image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import cv2
import numpy as np
import torch

from datafix.augment.color import GRAY_WEIGHTS

_LEVELS = np.arange(256, dtype=np.float32)


def _lut_planes(planes: Sequence[np.ndarray], tables: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Each (H, W) uint8 plane looked up in its 256-level table (float, rounded and saturated),
    merged back into an image of ``shape``: one single-channel ``cv2.LUT`` per plane, which is
    faster than OpenCV's per-channel table on the interleaved image."""
    luts = [cv2.LUT(plane, np.clip(np.rint(table), 0, 255).astype(np.uint8)) for plane, table in zip(planes, tables, strict=True)]
    return (luts[0] if len(luts) == 1 else cv2.merge(luts)).reshape(shape)


def _blend(image: np.ndarray, other: np.ndarray, factor: float) -> np.ndarray:
    """``factor * image + (1 - factor) * other``, rounded and saturated (OpenCV)."""
    return cv2.addWeighted(image, factor, other, 1.0 - factor, 0.0).reshape(image.shape)


def _gray(image: np.ndarray) -> np.ndarray:
    """The luma of an (H, W, C) uint8 image as (H, W, C) uint8 (a 1-channel image is its own gray);
    OpenCV's RGB-to-gray weights are GRAY_WEIGHTS."""
    if image.shape[2] == 1:
        return image
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def _affine(image: np.ndarray, factor: float, shift: float) -> np.ndarray:
    """``factor * image + shift``, rounded and saturated (one OpenCV pass)."""
    return cv2.addWeighted(image, factor, image, 0.0, shift).reshape(image.shape)


def brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """``factor * image`` (PIL's ImageEnhance.Brightness)."""
    return _affine(image, factor, 0.0)


def contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean luma (PIL's ImageEnhance.Contrast)."""
    return _affine(image, factor, (1.0 - factor) * _mean_gray(image))


def color(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the luma (PIL's ImageEnhance.Color)."""
    return _blend(image, _gray(image), factor)


def invert(image: np.ndarray) -> np.ndarray:
    """``255 - image``."""
    return cv2.bitwise_not(image).reshape(image.shape)


def _mean_gray(image: np.ndarray) -> float:
    """The mean luma (in levels): the weighted channel means (luma is linear in the channels)."""
    means = cv2.mean(image)[:image.shape[2]]
    return float(means[0]) if image.shape[2] == 1 else float(np.dot(GRAY_WEIGHTS, means))


def posterize(image: np.ndarray, bits: int) -> np.ndarray:
    """Keep the top ``bits`` of each level."""
    mask = float(255 - (2 ** (8 - bits) - 1))
    return cv2.bitwise_and(image, (mask, mask, mask, mask)).reshape(image.shape)


def solarize(image: np.ndarray, threshold: float) -> np.ndarray:
    """Invert the levels whose [0, 1] value is at or above ``threshold`` (float32 comparison, as the torch op)."""
    reached = np.flatnonzero(_LEVELS * np.float32(1.0 / 255.0) >= np.float32(threshold))
    if not reached.size:
        return image
    # levels >= the first one reached get all bits flipped (x ^ 255 = 255 - x)
    flip = cv2.threshold(image, float(reached[0]) - 0.5, 255, cv2.THRESH_BINARY)[1]
    return cv2.bitwise_xor(image, flip.reshape(image.shape)).reshape(image.shape)


def autocontrast(image: np.ndarray) -> np.ndarray:
    """Stretch each channel to 0..255 (flat channels unchanged)."""
    planes = cv2.split(image)  # whole planes: OpenCV copies a strided channel view holding the GIL
    tables = []
    for plane in planes:
        low, high = cv2.minMaxLoc(plane)[:2]
        tables.append(_LEVELS if high <= low else (_LEVELS - low) * (255.0 / (high - low)))
    return _lut_planes(planes, tables, image.shape)


def equalize(image: np.ndarray) -> np.ndarray:
    """PIL's histogram equalisation of each channel (the formula of the batched ``tone.equalize``)."""
    planes = cv2.split(image)
    tables = []
    pixels = image.shape[0] * image.shape[1]
    for plane in planes:
        hist = cv2.calcHist([plane], [0], None, [256], [0, 256]).reshape(256).astype(np.int64)
        last = int(np.flatnonzero(hist)[-1])
        step = (pixels - int(hist[last])) // 255
        if step == 0:
            tables.append(_LEVELS)
            continue
        cdf = np.cumsum(hist) - hist
        tables.append(np.minimum((cdf + step // 2) // step, 255).astype(np.float32))
    return _lut_planes(planes, tables, image.shape)


def sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the 3 x 3 SMOOTH-filtered image (border pixels unsmoothed): PIL's Sharpness.

    SMOOTH is (the 3 x 3 box sum + 4 x the centre) / 13, so the blend is one weighted sum of the
    image and its 3 x 3 box mean (the mean rounded to a level: at most 0.35 levels off)."""
    if image.shape[0] < 3 or image.shape[1] < 3:
        return image
    box = cv2.blur(image, (3, 3), borderType=cv2.BORDER_REPLICATE).reshape(image.shape)
    smooth = (1.0 - factor) * 9.0 / 13.0
    out = cv2.addWeighted(image, 1.0 - smooth, box, smooth, 0.0).reshape(image.shape)
    out[0], out[-1], out[:, 0], out[:, -1] = image[0], image[-1], image[:, 0], image[:, -1]
    return out


def warp(image: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Nearest-neighbour resampling through the (2, 3) ``inverse`` (output pixel -> source pixel); outside is 0."""
    height, width = image.shape[:2]
    inverse = inverse.astype(np.float64)
    # OpenCV's fixed-point nearest rounds a position half way between pixels down, the reference
    # (floor(x + 0.5)) up: half a fixed-point step (1/1024 pixel) moves such ties up
    inverse[:, 2] += 0.5 / 1024
    out = cv2.warpAffine(image, inverse, (width, height),
                         flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.reshape(image.shape)


def fast(image: np.ndarray) -> bool:
    """Whether the OpenCV kernels take ``image`` (uint8 with 1 or 3 channels)."""
    return image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] in (1, 3)


def with_torch(image: np.ndarray, kernel: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
    """``kernel`` (a batched torch op on float [0, 1]) on one (H, W, C) image, returned in the image's dtype."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    scaled = image.dtype == np.uint8
    out = kernel(x.to(torch.float32) / 255.0 if scaled else x.to(torch.float32))[0].permute(1, 2, 0).numpy()
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8) if scaled else np.ascontiguousarray(out)


def on_image(image: np.ndarray, kernel: Callable[[np.ndarray], np.ndarray],
             reference: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
    """``kernel`` (an OpenCV kernel of this module) on an image it takes (see :func:`fast`);
    ``reference`` (the batched torch op) on the one image otherwise. (H, W) images count as
    one channel."""
    image = image if image.ndim == 3 else image[:, :, None]
    return kernel(image) if fast(image) else with_torch(image, reference)


def chain(image: np.ndarray, names: Sequence[str], kernels: Sequence[Callable[[np.ndarray, float], np.ndarray] | None],
          ops: np.ndarray, magnitudes: np.ndarray, inverses: np.ndarray,
          reference: Callable[..., torch.Tensor]) -> np.ndarray:
    """A sample's slots one after the other (code 0, Identity, skipped): op ``names[code]`` runs
    ``kernels[code](image, magnitude)`` (the op's OpenCV kernel), or the nearest warp through the
    slot's inverse where that is None (a geometric op); ``reference(x, name, magnitude)``, the
    batched torch op, runs images the OpenCV kernels do not take."""
    for code, magnitude, inverse in zip(ops.tolist(), magnitudes.tolist(), inverses, strict=True):
        if code == 0:
            continue
        kernel = kernels[code]
        own = partial(warp, inverse=inverse) if kernel is None else partial(_with_magnitude, kernel, magnitude)
        image = on_image(image, own, partial(reference, op=names[code], magnitude=torch.tensor([magnitude])))
    return image if image.ndim == 3 else image[:, :, None]


def _with_magnitude(kernel: Callable[[np.ndarray, float], np.ndarray], magnitude: float,
                    image: np.ndarray) -> np.ndarray:
    return kernel(image, magnitude)
