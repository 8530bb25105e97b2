"""The policies' tone ops against PIL's ImageOps / ImageEnhance on the same 8-bit images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageEnhance, ImageOps

from datafix import augment as A
from datafix.augment.tone import autocontrast, equalize, posterize, sharpness, solarize
from datafix.errors import InvalidInputError


def images(seed: int = 0, n: int = 4, size: tuple[int, int] = (12, 10)) -> np.ndarray:
    """(n, H, W, 3) uint8 images with structure (a gradient, noise, a flat patch), not only noise."""
    rng = np.random.default_rng(seed)
    h, w = size
    base = np.linspace(20, 200, w)[None, :, None] + rng.integers(-30, 30, (n, h, w, 3))
    base[:, :3, :3] = 90  # a flat patch
    return np.clip(base, 0, 255).astype(np.uint8)


def as_batch(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 255.0


def as_levels(x: torch.Tensor) -> np.ndarray:
    return (x.permute(0, 2, 3, 1) * 255.0).round().numpy().astype(np.int64)


def pil_each(arr: np.ndarray, fn) -> np.ndarray:
    return np.stack([np.asarray(fn(Image.fromarray(a))) for a in arr]).astype(np.int64)


@pytest.mark.parametrize("bits", [1, 2, 4, 7, 8])
def test_posterize_matches_pil(bits):
    arr = images()
    ours = as_levels(posterize(as_batch(arr), torch.full((len(arr),), bits)))
    assert np.array_equal(ours, pil_each(arr, lambda im: ImageOps.posterize(im, bits)))


@pytest.mark.parametrize("threshold", [0, 64, 128, 200, 255])
def test_solarize_matches_pil(threshold):
    arr = images(1)
    ours = as_levels(solarize(as_batch(arr), torch.full((len(arr),), threshold / 255.0)))
    assert np.abs(ours - pil_each(arr, lambda im: ImageOps.solarize(im, threshold))).max() <= 1


def test_autocontrast_matches_pil():
    arr = images(2)
    arr[1, ..., 2] = 77  # a flat channel stays as it is
    ours = as_levels(autocontrast(as_batch(arr)))
    assert np.abs(ours - pil_each(arr, ImageOps.autocontrast)).max() <= 1


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_equalize_matches_pil(seed):
    arr = images(seed, size=(16, 16))
    arr[2, ..., 0] = 13  # a single-level channel: unchanged
    ours = as_levels(equalize(as_batch(arr)))
    assert np.array_equal(ours, pil_each(arr, ImageOps.equalize))


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7])
def test_sharpness_matches_pil(factor):
    arr = images(4)
    ours = as_levels(sharpness(as_batch(arr), torch.full((len(arr),), factor)))
    theirs = pil_each(arr, lambda im: ImageEnhance.Sharpness(im).enhance(factor))
    assert np.abs(ours - theirs).max() <= 1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_equalize_matches_pil_on_any_image(seed):
    rng = np.random.default_rng(seed)
    levels = int(rng.integers(1, 256))
    arr = rng.integers(0, levels, (1, 6, 7, 3)).astype(np.uint8)
    assert np.array_equal(as_levels(equalize(as_batch(arr))), pil_each(arr, ImageOps.equalize))


def test_transforms_draw_per_sample_and_keep_undrawn_samples():
    x = as_batch(images(0, n=64))
    out = A.Solarize(threshold=(0.2, 0.8), p=0.5)(x)
    changed = (out != x).flatten(1).any(1)
    assert 0.25 < changed.float().mean() < 0.75
    bits = A.Posterize(bits=(1, 3), p=1.0)
    levels = {int(np.unique(as_levels(bits(x[i:i + 1]))).size) for i in range(8)}
    assert levels <= {2, 4, 8} and len(levels) >= 1
    same = A.Compose([A.Sharpness(p=1.0), A.Equalize(p=1.0), A.AutoContrast(p=1.0)], seed=3)
    again = A.Compose([A.Sharpness(p=1.0), A.Equalize(p=1.0), A.AutoContrast(p=1.0)], seed=3)
    assert torch.equal(same(x), again(x))


@pytest.mark.parametrize("make, match", [
    (lambda: A.Posterize(bits=0), "bits"),
    (lambda: A.Posterize(bits=(6, 9)), "within 1..8"),
    (lambda: A.Posterize(bits=(3, 2)), "within 1..8"),
    (lambda: A.Solarize(threshold=1.5), "threshold"),
    (lambda: A.Sharpness(factor=-1.0), "factor"),
])
def test_bad_options_are_refused(make, match):
    with pytest.raises(InvalidInputError, match=match):
        make()
