"""The albumentations bridge: parity within 2 uint8 levels, what is left out, per-sample seeding."""

from __future__ import annotations

import albumentations as alb
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from datafix import augment as A
from datafix.errors import DatafixWarning, InvalidInputError

# Each pair: the same operation with its random range collapsed to one value, applied by
# albumentations to one image and by datafix (translated) to the batch of that image.
SHARED = [
    alb.HorizontalFlip(p=1.0),
    alb.VerticalFlip(p=1.0),
    alb.Affine(rotate=(25, 25), p=1.0),
    alb.Affine(rotate=(-20, -20), scale=(1.2, 1.2), translate_percent={"x": (0.05, 0.05), "y": (0.0, 0.0)},
               shear={"x": (10, 10), "y": (5, 5)}, p=1.0),
    alb.Affine(scale={"x": (0.8, 0.8), "y": (1.1, 1.1)}, p=1.0),
    alb.Rotate(limit=(-30, -30), p=1.0),
    alb.Resize(50, 70),
    alb.CenterCrop(60, 80),
    alb.ColorJitter(brightness=(1.3, 1.3), contrast=(1, 1), saturation=(1, 1), hue=(0, 0), p=1.0),
    alb.ColorJitter(brightness=(1, 1), contrast=(0.6, 0.6), saturation=(1, 1), hue=(0, 0), p=1.0),
    alb.ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(1.6, 1.6), hue=(0, 0), p=1.0),
    alb.RandomGamma(gamma_limit=(140, 140), p=1.0),
    alb.ToGray(p=1.0),
    alb.GaussianBlur(blur_limit=(5, 5), sigma_limit=(1.2, 1.2), p=1.0),
]


@pytest.mark.parametrize("backend", ["torch", "opencv"])
@pytest.mark.parametrize("op", SHARED, ids=lambda t: type(t).__name__)
def test_translated_ops_match_albumentations_within_two_levels(photo, op, backend):
    expected = alb.Compose([op])(image=photo)["image"].astype(np.float32)
    gpu = A.from_albumentations(alb.Compose([op]), backend=backend, strict=True)
    got = gpu(torch.from_numpy(photo).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy() * 255
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 2.0 + 1e-3


def test_hue_matches_albumentations_on_float_images(photo):
    op = alb.ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(1, 1), hue=(0.1, 0.1), p=1.0)
    image = photo.astype(np.float32) / 255
    expected = alb.Compose([op])(image=image)["image"]
    got = A.from_albumentations(alb.Compose([op]))(torch.from_numpy(image).permute(2, 0, 1)[None])
    assert np.abs(got[0].permute(1, 2, 0).numpy() - expected).max() * 255 <= 2.0


def test_normalize_matches_albumentations(photo):
    expected = alb.Normalize()(image=photo)["image"]
    got = A.from_albumentations(alb.Compose([alb.Normalize()]))(torch.from_numpy(photo).permute(2, 0, 1)[None])
    assert np.abs(got[0].permute(1, 2, 0).numpy() - expected).max() < 1e-4


def test_untranslatable_transforms_are_listed_and_warned():
    pipeline = alb.Compose([alb.HorizontalFlip(), alb.CLAHE(), alb.Affine(translate_px=4),
                            alb.GaussianBlur(blur_limit=(3, 7))])
    with pytest.warns(DatafixWarning, match="CLAHE"):
        gpu = A.from_albumentations(pipeline)
    assert [type(t).__name__ for t in gpu.transforms] == ["HorizontalFlip"]
    assert [u.split(":")[0] for u in gpu.untranslated] == ["CLAHE", "Affine", "GaussianBlur"]
    assert "translate_px" in gpu.untranslated[1]
    with pytest.raises(InvalidInputError, match="CLAHE"):
        A.from_albumentations(pipeline, strict=True)


def test_probabilities_and_ranges_are_carried_over():
    gpu = A.from_albumentations(alb.Compose([alb.ShiftScaleRotate(p=0.3), alb.OneOf([
        alb.ColorJitter(p=1.0), alb.RandomGamma(p=1.0)], p=0.8)]))
    affine, one_of = gpu.transforms
    assert affine.p == 0.3 and affine.degrees == (-45.0, 45.0) and affine.translate[0] == (-0.0625, 0.0625)
    assert isinstance(one_of, A.OneOf) and one_of.p == 0.8 and one_of.transforms[1].gamma == (0.8, 1.2)


def test_dataset_path_is_the_same_with_any_number_of_workers():
    images = [np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8) for i in range(12)]
    aug = alb.Compose([alb.Affine(rotate=(-30, 30), p=1.0), alb.GaussNoise(p=1.0)])
    ds = A.AlbumentationsDataset(list(zip(images, range(12), strict=True)), aug, seed=3)

    def collect(workers: int) -> torch.Tensor:
        loader = DataLoader(ds, batch_size=4, num_workers=workers)
        return torch.cat([torch.as_tensor(np.asarray(x)) for x, _ in loader])

    alone, two = collect(0), collect(2)
    assert torch.equal(alone, two)
    ds.set_epoch(1)
    assert not torch.equal(collect(0), alone)


def test_dataset_needs_an_albumentations_compose():
    with pytest.raises(TypeError, match="'transform'"):
        A.AlbumentationsDataset([], lambda image: image)
