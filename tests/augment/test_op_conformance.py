"""Every batch augmentation op, run through the same contract (torchvision's check_transform idea):
validation at construction, determinism under a seed, no input mutation, device and dtype kept,
pickling, batched equals keyed per-sample draws."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from datafix import augment as A
from datafix.errors import InvalidInputError, InvalidTypeError

#: Every op, with arguments that make it act on most samples (p=1 where it has p).
OPS = {
    "Affine": {"degrees": 20, "translate": (0.1, 0.1), "scale": (0.8, 1.2), "shear": 5},
    "AugMix": {"severity": 3, "width": 3},
    "AutoAugment": {"policy": "imagenet"},
    "AutoContrast": {"p": 1.0},
    "Equalize": {"p": 1.0},
    "Posterize": {"bits": (2, 6), "p": 1.0},
    "Sharpness": {"factor": (0.2, 1.8), "p": 1.0},
    "Solarize": {"threshold": (0.3, 0.7), "p": 1.0},
    "CenterCrop": {"size": 12},
    "ColorJitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1},
    "GaussianBlur": {"kernel_size": 5, "p": 1.0},
    "GaussianNoise": {"p": 1.0},
    "HorizontalFlip": {"p": 1.0},
    "Normalize": {},
    "RandAugment": {"num_ops": 2, "magnitude": 9},
    "RandomCrop": {"size": 12, "padding": 2},
    "RandomErasing": {"p": 1.0},
    "RandomGamma": {"p": 1.0},
    "RandomGrayscale": {"p": 1.0},
    "RandomResizedCrop": {"size": 12},
    "Resize": {"size": 12},
    "TrivialAugmentWide": {},
    "VerticalFlip": {"p": 1.0},
}


def make(name: str, **extra):
    return getattr(A, name)(**{**OPS[name], **extra})


def test_every_exported_op_is_in_the_suite():
    exported = {name for name in A.__all__ if isinstance(getattr(A, name), type)
                and issubclass(getattr(A, name), A.Transform)}
    abstract_or_containers = {"Transform", "ColorTransform", "GeometricTransform", "OneOf", "RandomApply"}
    assert exported - abstract_or_containers == set(OPS)


def batch(device: str, dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (6, 3, 16, 20), dtype=torch.uint8, generator=g)
    return (x if dtype == torch.uint8 else x.to(dtype) / 255).to(device)


@pytest.mark.parametrize("device,backend", [("cpu", "auto"), ("cpu", "opencv"),  # opencv: the per-image path
                                            pytest.param("cuda", "auto", marks=pytest.mark.gpu)])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_contract(name, dtype, device, backend):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    x = batch(device, dtype)
    before = x.clone()
    aug = A.Compose([make(name)], seed=3, backend=backend)
    copied, pickled = copy.deepcopy(aug), pickle.loads(pickle.dumps(aug))  # before the stream advances
    out = aug(x)
    assert torch.equal(x, before)  # the input is never modified
    assert out.device == x.device and out.dtype == torch.float32 and out.shape[:2] == x.shape[:2]
    assert torch.isfinite(out).all()
    assert torch.equal(out, A.Compose([make(name)], seed=3, backend=backend)(x))  # same seed, same output
    assert torch.equal(out, copied(x)) and torch.equal(out, pickled(x))
    ids = torch.arange(10, 16, device=device)
    keyed = aug(x, sample_ids=ids)
    one = aug(x[2:3], sample_ids=ids[2:3])  # a sample's draw depends on its id, not on its batch
    assert torch.allclose(keyed[2:3], one, atol=1e-5)


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_validates_its_probability_when_built(name):
    import inspect

    if "p" not in inspect.signature(getattr(A, name)).parameters:
        pytest.skip("the op has no probability")
    for bad in (1.5, -0.1, "half"):
        with pytest.raises((InvalidInputError, InvalidTypeError), match="'p'"):
            make(name, p=bad)
