import albumentations as A
import numpy as np
import pytest
import torch

from datafix.errors import InvalidInputError, InvalidTypeError
from datafix.synth import AugmentedOversampler, KeyedOversampler


class Images(torch.utils.data.Dataset):
    def __init__(self):
        rng = np.random.default_rng(0)
        self.images = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(12)]
        self.targets = [0] * 9 + [1] * 3

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return self.images[i], self.targets[i]


TRANSFORM = A.Compose([A.HorizontalFlip(p=0.5), A.Rotate(limit=30, p=1.0), A.RandomBrightnessContrast(p=1.0)])


def test_virtual_samples_balance_the_classes_and_regenerate_exactly():
    data = Images()
    view = AugmentedOversampler(data, transform=TRANSFORM, seed=1)
    assert len(view) == 18 and [view[i][1] for i in range(12, 18)] == [1] * 6
    first = view[15][0].copy()
    np.testing.assert_array_equal(view[15][0], first)  # same recipe, same pixels
    assert not np.array_equal(first, data[int(view.provenance.loc[15, "source"])][0])
    # regeneration does not depend on the DataLoader worker that reads it
    loader = torch.utils.data.DataLoader(view, batch_size=6, num_workers=2)
    batches = [b[0] for b in loader]
    np.testing.assert_array_equal(batches[-1][3].numpy(), first)


def test_callable_transforms_tensors_and_mixup():
    class Tensors(Images):
        def __getitem__(self, i):
            return torch.from_numpy(self.images[i]).permute(2, 0, 1), self.targets[i]

    view = AugmentedOversampler(Tensors(), transform=lambda image, rng: image[::-1].copy(), mixup_alpha=0.4, seed=0)
    x, label = view[13]
    recipe = view.provenance.loc[13]
    assert isinstance(x, torch.Tensor) and x.shape == (3, 16, 16) and x.dtype == torch.uint8 and label == 1
    assert recipe["method"] == "mixup" and Images().targets[int(recipe["partner"])] == 1 and 0 < recipe["weight"] < 1
    a = torch.from_numpy(Images().images[int(recipe["source"])][::-1].copy()).permute(2, 0, 1).float()
    b = torch.from_numpy(Images().images[int(recipe["partner"])][::-1].copy()).permute(2, 0, 1).float()
    expected = (recipe["weight"] * a + (1 - recipe["weight"]) * b).round()
    assert (x.float() - expected).abs().max() <= 1


def test_bad_input():
    with pytest.raises(InvalidTypeError, match="transform"):
        AugmentedOversampler(Images(), transform="flip")
    with pytest.raises(InvalidInputError, match="mixup_alpha"):
        AugmentedOversampler(Images(), transform=TRANSFORM, mixup_alpha=0)
    with pytest.raises(InvalidInputError, match="labels for"):
        AugmentedOversampler(Images(), [0, 1], transform=TRANSFORM)


def test_device_pipeline_mode_keys_each_virtual_sample_by_its_index():
    from torch.utils.data import DataLoader

    from datafix import augment as A

    images = [(torch.randint(0, 256, (3, 12, 12), dtype=torch.uint8), c) for c in [0] * 9 + [1] * 3]
    view = KeyedOversampler(images, [0] * 9 + [1] * 3, seed=1)
    assert len(view) == 18 and view[3][2] == 3 and view[15][2] == 15
    assert view.provenance["method"].eq("augment (device, keyed by index)").all()
    aug = A.Compose([A.Affine(degrees=30, p=1.0), A.ColorJitter(0.4, 0.4)], seed=0)

    def epoch(shuffle: bool) -> dict[int, torch.Tensor]:
        loader = DataLoader(view, batch_size=5, shuffle=shuffle, generator=torch.Generator().manual_seed(0))
        out = {}
        for raw in loader:
            x = aug(raw[0], sample_ids=raw[2])
            out.update({int(i): img for i, img in zip(raw[2], x, strict=True)})
        return out

    ordered, shuffled = epoch(False), epoch(True)
    assert all(torch.allclose(ordered[i], shuffled[i]) for i in range(18))  # regenerated exactly
    source = int(view.provenance.loc[12, "source"])
    assert not torch.allclose(ordered[12], ordered[source])  # a virtual sample differs from its source
    with pytest.raises(ValueError, match="use KeyedOversampler"):
        AugmentedOversampler(images, [0] * 9 + [1] * 3, None)
    with pytest.raises(TypeError, match="return_index"):  # 0.1.0 has no old names (issue 41)
        AugmentedOversampler(images, [0] * 9 + [1] * 3, None, return_index=True, seed=1)
