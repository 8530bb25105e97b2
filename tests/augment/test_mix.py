"""MixUp and CutMix: soft targets that match what was mixed; per-sample weights; errors."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from datafix import augment as A
from datafix.errors import InvalidInputError


def test_mixup_targets_match_the_pixel_weights():
    images = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1).expand(6, 3, 4, 4) / 10
    labels = torch.arange(6)
    mixed, targets = A.MixUp(alpha=0.4, num_classes=6, seed=0)(images, labels)
    lam = targets[torch.arange(6), labels]
    expected = lam * images[:, 0, 0, 0] + (1 - lam) * images.roll(1, 0)[:, 0, 0, 0]
    assert torch.allclose(mixed[:, 0, 0, 0], expected, atol=1e-6)
    assert torch.allclose(targets.sum(1), torch.ones(6))
    assert torch.allclose(targets[torch.arange(6), labels.roll(1)], 1 - lam)


def test_mixup_weights_are_beta_distributed_per_sample():
    n = 20000
    images = torch.zeros(n, 1, 1, 1)
    images[::2] = 1.0
    labels = torch.arange(n) % 2
    _, targets = A.MixUp(alpha=0.4, num_classes=2, seed=3)(images, labels)
    lam = targets[torch.arange(n), labels]
    assert stats.kstest(lam.numpy(), stats.beta(0.4, 0.4).cdf).pvalue > 0.01


def test_cutmix_targets_equal_the_pasted_area():
    n = 64
    images = torch.zeros(n, 3, 16, 16)
    images[1::2] = 1.0  # each image's neighbour has the other colour
    labels = torch.arange(n) % 2
    mixed, targets = A.CutMix(alpha=1.0, num_classes=2, seed=0)(images, labels)
    own = torch.where(labels.bool(), mixed[:, 0].mean((1, 2)), 1 - mixed[:, 0].mean((1, 2)))
    assert torch.allclose(targets[torch.arange(n), labels], own, atol=1e-6)


def test_p_zero_leaves_everything_and_soft_labels_are_accepted():
    images = torch.rand(4, 3, 8, 8)
    soft = torch.softmax(torch.randn(4, 5), 1)
    mixed, targets = A.MixUp(p=0.0)(images, soft)
    assert torch.equal(mixed, images) and torch.allclose(targets, soft)


def test_seeded_and_keyed_mixing_is_repeatable():
    images, labels = torch.rand(8, 3, 8, 8), torch.arange(8) % 3
    a = A.CutMix(num_classes=3, seed=1)(images, labels, sample_ids=torch.arange(8))
    b = A.CutMix(num_classes=3, seed=1)(images, labels, sample_ids=torch.arange(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_mix_errors_are_named():
    with pytest.raises(InvalidInputError, match="needs float images"):
        A.MixUp(num_classes=2)(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]))
    with pytest.raises(InvalidInputError, match="'num_classes'"):
        A.MixUp()(torch.rand(2, 3, 4, 4), torch.tensor([0, 1]))
    with pytest.raises(InvalidInputError, match="outside"):
        A.MixUp(num_classes=2)(torch.rand(2, 3, 4, 4), torch.tensor([0, 2]))
    with pytest.raises(InvalidInputError, match="'labels' argument has batch size 3"):
        A.MixUp(num_classes=2)(torch.rand(2, 3, 4, 4), torch.tensor([0, 1, 1]))
    with pytest.raises(InvalidInputError, match="'alpha'"):
        A.CutMix(alpha=0)
