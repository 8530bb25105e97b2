"""The CPU per-image path of the policies and tone ops (OpenCV kernels on uint8 images) against the
batched torch reference, and the uint8 output of a Compose."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datafix import augment as A
from datafix.augment import _policy_image
from datafix.augment import policies as P
from datafix.errors import InvalidInputError

#: (op, magnitudes) covering signs, the extremes of the wide ranges and the level ops' edges.
CASES = [(op, m) for op, ms in {
    "ShearX": (0.3, -0.99), "ShearY": (0.3, -0.2), "TranslateX": (10.0, -7.0), "TranslateY": (5.0, -31.0),
    "Rotate": (20.0, -90.0, 135.0), "Brightness": (0.9, -0.9, 0.3), "Color": (0.99, -0.99, 0.3),
    "Contrast": (0.9, -0.9), "Sharpness": (0.99, -0.99, 0.3), "Posterize": (1.0, 4.0, 8.0),
    "Solarize": (0.0, 128.0, 246.5, 255.0), "AutoContrast": (0.0,), "Equalize": (0.0,), "Invert": (0.0,),
}.items() for m in ms]


def _reference(image: np.ndarray, op: str, magnitude: float) -> np.ndarray:
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    return P.apply_op(x, op, torch.tensor([magnitude]))[0].permute(1, 2, 0).numpy() * 255.0


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("op,magnitude", CASES)
def test_each_op_kernel_matches_the_torch_op_within_a_level(photo, op, magnitude, channels):
    image = np.ascontiguousarray(photo[:, :, :channels])
    code = P.AUTOAUGMENT_OPS.index(op)
    inverse = P.op_inverses(P.AUTOAUGMENT_OPS, torch.tensor([code]), torch.tensor([magnitude]), image.shape[:2])[0]
    kernel = P.POLICY_OPS[op].image  # the op's OpenCV kernel; a geometric op warps through its inverse
    out = _policy_image.warp(image, inverse.numpy()) if kernel is None else kernel(image, magnitude)
    assert out.dtype == np.uint8 and out.shape == image.shape
    diff = np.abs(out.astype(np.float32) - _reference(image, op, magnitude))
    if op in ("ShearX", "ShearY", "Rotate"):
        # nearest neighbour: a source position half way between two pixels may be rounded the other
        # way (float32 noise decides it in the reference); a quarter turn of this 107 x 160 image puts
        # whole rows there
        assert (diff > 1.0).mean() < (0.1 if magnitude == -90.0 else 0.03)
    else:
        assert diff.max() <= 1.0  # uint8 rounding (sharpness: its box mean is rounded too)


@pytest.mark.parametrize("policy", [A.RandAugment(num_ops=2, magnitude=9), A.TrivialAugmentWide(),
                                    A.AutoAugment("imagenet"), A.AutoAugment("cifar10"), A.AugMix(),
                                    A.Posterize(bits=(2, 6), p=1.0), A.Solarize(p=1.0), A.AutoContrast(p=1.0),
                                    A.Equalize(p=1.0), A.Sharpness(p=1.0)],
                         ids=lambda t: type(t).__name__)
def test_opencv_path_matches_the_torch_reference(photos, policy):
    x = photos.repeat(6, 1, 1, 1)  # 24 samples: most ops drawn
    ref = A.Compose([policy], seed=4, backend="torch")(x) * 255
    fast = A.Compose([policy], seed=4, backend="opencv")(x) * 255
    diff = (ref - fast).abs()
    assert float(diff.mean()) < 0.5
    assert float((diff > 2.0).float().mean()) < 0.02  # nearest-neighbour ties, a level off before a posterize


def test_auto_takes_the_per_image_path_for_policies_on_large_cpu_images(photos, monkeypatch):
    called = []
    chain = _policy_image.chain
    monkeypatch.setattr(_policy_image, "chain", lambda *a: called.append(1) or chain(*a))
    A.Compose([A.RandAugment()], seed=0)(photos)  # 107 x 160: above the per-image threshold
    assert called
    called.clear()
    A.Compose([A.RandAugment()], seed=0)(photos[:, :, :32, :32].contiguous())  # small: batched torch
    assert not called


@pytest.mark.parametrize("images", ["float", "four channels"])
def test_images_the_kernels_do_not_take_run_the_torch_op_per_image(photos, images):
    x = photos.float() / 255 if images == "float" else torch.cat([photos, photos[:, :1]], dim=1)
    policy = A.RandAugment(num_ops=2, magnitude=9)
    ref = A.Compose([policy], seed=2, backend="torch")(x)
    fast = A.Compose([policy], seed=2, backend="opencv")(x)
    if images == "float":
        assert torch.allclose(ref, fast, atol=1e-5)
    else:  # uint8 rounding after each op
        assert float((ref - fast).abs().mean()) * 255 < 0.5


def test_geometric_inverse_per_sample_names_equal_one_name_at_a_time():
    names = ["ShearX", "Rotate", "TranslateY", "ShearY", "TranslateX", "Rotate"]
    magnitude = torch.tensor([0.3, -20.0, 7.0, -0.2, -5.0, 90.0])
    together = P.geometric_inverse(names, magnitude, (30, 40))
    for i, name in enumerate(names):
        assert torch.allclose(together[i], P.geometric_inverse(name, magnitude[i:i + 1], (30, 40))[0], atol=1e-6)


@pytest.mark.parametrize("backend", ["torch", "opencv"])
def test_uint8_output_is_the_float_output_rounded(photos, backend):
    ops = [A.HorizontalFlip(), A.TrivialAugmentWide()]
    as_float = A.Compose(ops, seed=1, backend=backend)(photos)
    levels = A.Compose(ops, seed=1, backend=backend, output_dtype=torch.uint8)(photos)
    assert levels.dtype == torch.uint8 and levels.shape == photos.shape
    assert torch.equal(levels, (as_float * 255).round().clamp(0, 255).to(torch.uint8))


def test_uint8_output_refuses_a_normalize():
    with pytest.raises(InvalidInputError, match=r"output_dtype=torch.uint8.*Normalize"):
        A.Compose([A.RandAugment(), A.Normalize()], output_dtype=torch.uint8)
    with pytest.raises(InvalidInputError, match="'output_dtype'"):
        A.Compose([A.RandAugment()], output_dtype=torch.int32)
