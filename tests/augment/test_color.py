"""Colour transforms: distributions, neutral samples, CPU per-image path against the torch reference."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from datafix import augment as A


def _gray(batch: int, value: float = 0.5) -> torch.Tensor:
    return torch.full((batch, 3, 4, 4), value)


def test_brightness_factors_are_uniform_and_p_leaves_the_rest_untouched():
    out = A.Compose([A.ColorJitter(brightness=(0.5, 1.5), p=0.7)], seed=0)(_gray(5000, 0.4))
    factor = out[:, 0, 0, 0] / 0.4
    untouched = torch.isclose(factor, torch.ones(()), atol=1e-6)
    drawn = factor[~untouched]
    assert 0.27 < float(untouched.float().mean()) < 0.33
    assert stats.kstest(drawn.numpy(), stats.uniform(loc=0.5, scale=1.0).cdf).pvalue > 0.01


def test_contrast_keeps_the_mean_and_saturation_zero_is_gray(photos):
    x = photos.float() / 255
    out = A.Compose([A.ColorJitter(contrast=(0.5, 0.5))])(x)
    gray = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    gray_out = 0.299 * out[:, 0] + 0.587 * out[:, 1] + 0.114 * out[:, 2]
    assert torch.allclose(gray.mean((1, 2)), gray_out.mean((1, 2)), atol=2e-3)
    desat = A.Compose([A.ColorJitter(saturation=(0.0, 0.0))])(x)
    assert torch.allclose(desat[:, 0], desat[:, 2], atol=1e-6)


def test_hue_shift_of_a_full_turn_is_identity_and_half_turn_is_not(photos):
    x = photos.float() / 255
    full = A.Compose([A.ColorJitter(hue=(0.5, 0.5)), A.ColorJitter(hue=(0.5, 0.5))], backend="torch")(x)
    assert torch.allclose(full, x, atol=1e-4)
    half = A.Compose([A.ColorJitter(hue=(0.5, 0.5))], backend="torch")(x)
    assert float((half - x).abs().mean()) > 0.02


def test_gamma_grayscale_noise_blur_erasing_basic_facts():
    x = torch.rand(64, 3, 32, 32)
    g = A.Compose([A.RandomGamma((2.0, 2.0), p=1.0)])(x)
    assert torch.allclose(g, x ** 2, atol=1e-6)
    gray = A.Compose([A.RandomGrayscale(p=1.0)])(x)
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    noisy = A.Compose([A.GaussianNoise(std=(0.05, 0.05), p=1.0)], seed=0)(torch.full((8, 3, 64, 64), 0.5))
    assert abs(float((noisy - 0.5).std()) - 0.05) < 0.003
    blurred = A.Compose([A.GaussianBlur(7, sigma=(2.0, 2.0), p=1.0)])(x)
    assert float(blurred.std()) < 0.6 * float(x.std())
    assert torch.allclose(blurred.mean((2, 3)), x.mean((2, 3)), atol=0.02)
    erased = A.Compose([A.RandomErasing(scale=(0.1, 0.1), ratio=(1.0, 1.0), value=(0.2, 0.3, 0.4), p=1.0)],
                       seed=1)(torch.ones(10, 3, 20, 20))
    assert ((erased[:, 0] == 0.2).sum((1, 2)) == 36).all()  # 10 % of 400 pixels: a 6 x 6 square
    assert ((erased[:, 2] == 0.4).sum((1, 2)) == 36).all()


def test_random_erasing_area_share_stays_in_range():
    out = A.Compose([A.RandomErasing(scale=(0.05, 0.2), p=1.0)], seed=3)(torch.ones(500, 1, 40, 40))
    share = (out == 0).float().mean((1, 2, 3))
    assert float(share.min()) > 0.03 and float(share.max()) < 0.23


@pytest.mark.parametrize("op,tolerance", [
    (A.ColorJitter(0.4, 0.4, 0.4, p=1.0), 4.0),  # three uint8 roundings on the per-image path
    (A.ColorJitter(hue=0.1, p=1.0), 2.0),
    (A.RandomGamma(p=1.0), 2.0),
    (A.RandomGrayscale(p=0.5), 2.0),
    (A.GaussianBlur(5, p=1.0), 2.0),
    (A.RandomErasing(p=1.0, value=0.5), 1.0),
])
def test_cpu_per_image_path_matches_the_torch_reference(photos, op, tolerance):
    ref = A.Compose([A.Affine(degrees=15, p=1.0), op], seed=11, backend="torch")(photos) * 255
    fast = A.Compose([A.Affine(degrees=15, p=1.0), op], seed=11, backend="opencv")(photos) * 255
    assert float((ref - fast).abs().max()) <= tolerance + 1e-3
    assert float((ref - fast).abs().mean()) < 1.0


def test_normalize_output_matches_on_both_paths(photos):
    ops = [A.HorizontalFlip(), A.ColorJitter(0.2), A.Normalize()]
    ref = A.Compose(ops, seed=0, backend="torch")(photos)
    fast = A.Compose(ops, seed=0, backend="opencv")(photos)
    assert fast.dtype == torch.float32 and torch.allclose(ref, fast, atol=2.5 / 255 / 0.224)


def test_bfloat16_output():
    out = A.Compose([A.ColorJitter(0.2), A.Normalize()], output_dtype=torch.bfloat16)(
        torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8))
    assert out.dtype == torch.bfloat16
