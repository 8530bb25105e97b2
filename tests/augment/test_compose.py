"""Compose: seeding, keyed draws, containers, devices, dtypes; and every bad input named."""

from __future__ import annotations

import pytest
import torch

from datafix import augment as A
from datafix.errors import InvalidInputError, InvalidTypeError

CUDA = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                     reason="needs CUDA")])
PIPELINE = [A.RandomResizedCrop(24), A.HorizontalFlip(), A.Affine(degrees=20, translate=(0.1, 0.1)),
            A.ColorJitter(0.3, 0.3, 0.3, 0.05), A.RandomErasing(p=0.3), A.Normalize()]


def _images(n: int = 8) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_same_seed_same_output_other_seed_other_output():
    x = _images()
    a = A.Compose(PIPELINE, seed=1)(x)
    b = A.Compose(PIPELINE, seed=1)(x)
    c = A.Compose(PIPELINE, seed=2)(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_a_generator_stream_advances_between_batches():
    aug = A.Compose(PIPELINE, generator=torch.Generator().manual_seed(0))
    x = _images()
    assert not torch.equal(aug(x), aug(x))


def test_keyed_draws_do_not_depend_on_the_batch_a_sample_lands_in():
    x = _images(12)
    ids = torch.arange(100, 112)
    aug = A.Compose(PIPELINE, seed=5, backend="torch")
    whole = aug(x, sample_ids=ids)
    order = torch.randperm(12, generator=torch.Generator().manual_seed(1))
    shuffled = aug(x[order], sample_ids=ids[order])
    parts = torch.cat([aug(x[:5], sample_ids=ids[:5]), aug(x[5:], sample_ids=ids[5:])])
    assert torch.allclose(shuffled, whole[order], atol=1e-6)
    assert torch.allclose(parts, whole, atol=1e-6)
    aug.set_epoch(1)
    assert not torch.allclose(aug(x, sample_ids=ids), whole)


def test_keyed_draws_are_independent_across_samples_and_slots():
    from datafix.augment._random import keyed_uniform, scalar_key

    u = keyed_uniform(torch.arange(50_000), scalar_key(0, 0, 3), 4)
    assert abs(float(u.mean()) - 0.5) < 0.005 and abs(float(u.var()) - 1 / 12) < 0.002
    corr = torch.corrcoef(u.T)
    assert float((corr - torch.eye(4)).abs().max()) < 0.02


@pytest.mark.parametrize("device", ["cpu", CUDA])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16])
def test_device_and_dtype(device, dtype):
    x = _images(4).to(device)
    x = x if dtype == torch.uint8 else (x.float() / 255).to(dtype)
    out = A.Compose(PIPELINE, seed=0)(x)
    assert out.device.type == device and out.dtype == torch.float32 and out.shape == (4, 3, 24, 24)
    assert bool(torch.isfinite(out).all())


def test_one_of_picks_one_child_per_sample_with_equal_chances():
    x = torch.zeros(3000, 1, 1, 2)
    x[..., 0] = 1.0  # left pixel lit
    out = A.Compose([A.OneOf([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0)], p=1.0)], seed=0)(x)
    mirrored = out[:, 0, 0, 1] == 1.0
    assert 0.46 < float(mirrored.float().mean()) < 0.54


def test_random_apply_applies_its_children_together():
    x = torch.full((4000, 3, 2, 2), 0.5)
    aug = A.Compose([A.RandomApply([A.ColorJitter(brightness=(2.0, 2.0)), A.RandomGamma((1.0, 1.0), p=1.0)],
                                   p=0.25)], seed=0)
    out = aug(x)
    assert 0.22 < float((out[:, 0, 0, 0] == 1.0).float().mean()) < 0.28


def test_standalone_transform_is_a_one_step_compose():
    x = _images(3)
    assert A.HorizontalFlip(p=1.0)(x).dtype == torch.float32
    assert torch.equal(A.HorizontalFlip(p=1.0)(x), A.Compose([A.HorizontalFlip(p=1.0)])(x))


def test_input_is_not_modified():
    x = _images(4)
    before = x.clone()
    A.Compose(PIPELINE, seed=0)(x)
    f = x.float() / 255
    f_before = f.clone()
    A.Compose(PIPELINE, seed=0, backend="torch")(f)
    assert torch.equal(x, before) and torch.equal(f, f_before)


@pytest.mark.parametrize("bad,match", [
    (torch.zeros(3, 8, 8, dtype=torch.uint8), "4 dimensions.*add a batch dimension"),
    (torch.zeros(1, 2, 3, 8, 8), "4 dimensions"),
    (torch.zeros(0, 3, 8, 8), "empty batch"),
    (torch.full((1, 3, 4, 4), 2.0), r"\[0, 1\]"),
    (torch.full((1, 3, 4, 4), float("nan")), "NaN"),
])
def test_bad_images_are_named(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        A.Compose([A.HorizontalFlip()])(bad)


def test_wrong_types_are_named():
    with pytest.raises(InvalidTypeError, match="'images'.*torch.Tensor"):
        A.Compose([A.HorizontalFlip()])([[0]])
    with pytest.raises(InvalidTypeError, match="uint8.*float"):
        A.Compose([A.HorizontalFlip()])(torch.zeros(1, 3, 4, 4, dtype=torch.int32))
    with pytest.raises(InvalidTypeError, match="from_albumentations"):
        import albumentations

        A.Compose([albumentations.HorizontalFlip()])


@pytest.mark.parametrize("channels", [2, 4])
def test_colour_ops_refuse_two_or_four_channels(channels):
    x = torch.rand(2, channels, 8, 8)
    for op in (A.ColorJitter(saturation=0.3), A.ColorJitter(hue=0.1), A.RandomGrayscale(p=1.0)):
        with pytest.raises(InvalidInputError, match=f"needs images with 3 channels.*has {channels}"):
            A.Compose([op])(x)
    assert A.Compose([A.ColorJitter(brightness=0.3), A.Affine(degrees=5)])(torch.rand(2, 1, 8, 8)).shape[1] == 1


def test_targets_with_another_batch_size_or_shape_are_named():
    x = torch.rand(4, 3, 8, 8)
    aug = A.Compose([A.HorizontalFlip()])
    with pytest.raises(InvalidInputError, match="'masks' argument has batch size 3 but 'images' has 4"):
        aug.with_targets(x, masks=torch.zeros(3, 8, 8, dtype=torch.int64))
    with pytest.raises(InvalidInputError, match="'masks' argument has size"):
        aug.with_targets(x, masks=torch.zeros(4, 9, 8, dtype=torch.int64))
    with pytest.raises(InvalidInputError, match="'boxes' argument has batch size 2"):
        aug.with_targets(x, boxes=torch.zeros(2, 1, 4))
    with pytest.raises(InvalidInputError, match="'boxes' argument must end in a dimension of size 4"):
        aug.with_targets(x, boxes=torch.zeros(4, 1, 5))
    with pytest.raises(InvalidInputError, match="'keypoints' argument has batch size 5"):
        aug.with_targets(x, keypoints=torch.zeros(5, 2, 2))
    with pytest.raises(InvalidInputError, match="'sample_ids' argument has batch size 2"):
        aug(x, sample_ids=torch.arange(2))


def test_bad_parameters_are_named():
    with pytest.raises(InvalidInputError, match="'p' parameter"):
        A.HorizontalFlip(p=1.5)
    with pytest.raises(InvalidInputError, match="'scale' parameter"):
        A.RandomResizedCrop(8, scale=(0.5, 0.1))
    with pytest.raises(InvalidInputError, match="Normalize must be the last"):
        A.Compose([A.Normalize(), A.ColorJitter(0.1)])
    with pytest.raises(InvalidInputError, match="'padding_mode'"):
        A.Compose([A.HorizontalFlip()], padding_mode="wrap")
    with pytest.raises(InvalidInputError, match="mixes geometric and colour"):
        A.OneOf([A.HorizontalFlip(), A.ColorJitter(0.1)])
    with pytest.raises(ValueError, match="larger than the padded image"):
        A.Compose([A.RandomCrop(40)])(torch.rand(1, 3, 32, 32))


def test_device_loader_passes_ids_as_keys_and_keeps_labels():
    from torch.utils.data import DataLoader, TensorDataset

    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    data = TensorDataset(images, torch.arange(10) % 3, torch.arange(10))
    aug = A.Compose([A.Affine(degrees=30, p=1.0)], seed=0)
    shuffled = A.DeviceLoader(DataLoader(data, batch_size=3, shuffle=True), "cpu", aug, with_ids=True)
    seen = {}
    for x, y, *rest in [(*b,) for b in shuffled]:
        assert not rest and x.dtype == torch.float32 and y.dtype == torch.int64
        for img in x:
            seen[len(seen)] = img
    ordered = torch.cat([x for x, _ in A.DeviceLoader(DataLoader(data, batch_size=4), "cpu", aug, with_ids=True)])
    assert len(seen) == 10 and all(any(torch.equal(img, o) for o in ordered) for img in seen.values())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_device_loader_on_cuda_matches_the_cpu_reference():
    from torch.utils.data import DataLoader, TensorDataset

    data = TensorDataset(torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8), torch.arange(16))
    aug = A.Compose(PIPELINE, seed=0, backend="torch")
    gpu = torch.cat([x.cpu() for x in A.DeviceLoader(DataLoader(data, batch_size=8), "cuda", aug, with_ids=True)])
    cpu = torch.cat([x for x in A.DeviceLoader(DataLoader(data, batch_size=8), "cpu", aug, with_ids=True)])
    assert torch.allclose(gpu, cpu, atol=1e-3)


def test_cpu_pipeline_inside_forked_dataloader_workers_after_use_in_the_parent():
    from torch.utils.data import DataLoader, Dataset

    aug = A.Compose([A.Affine(degrees=20, p=1.0), A.ColorJitter(0.3)], seed=0, backend="opencv")
    big = torch.randint(0, 256, (16, 3, 100, 100), dtype=torch.uint8)
    aug(big)  # the parent's thread pool now exists

    class Augmented(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return aug(big[i:i + 1].repeat(8, 1, 1, 1), sample_ids=torch.arange(8) + 8 * i)[0]

    loader = DataLoader(Augmented(), batch_size=4, num_workers=2, multiprocessing_context="fork", timeout=60)
    out = torch.cat(list(loader))
    assert out.shape == (8, 3, 100, 100) and torch.equal(out, torch.stack([Augmented()[i] for i in range(8)]))


def test_copies_and_pickles_give_the_same_augmentation():
    import copy
    import pickle

    aug = A.Compose(PIPELINE, seed=4)
    x = _images(4)
    ids = torch.arange(4)
    expected = aug(x, sample_ids=ids)
    for other in (copy.deepcopy(aug), pickle.loads(pickle.dumps(aug))):
        assert torch.equal(other(x, sample_ids=ids), expected)
    solo = copy.deepcopy(A.ColorJitter(0.5))
    assert solo(torch.rand(2, 3, 4, 4)).shape == (2, 3, 4, 4)


def test_a_drawn_call_replays_exactly_and_the_call_returns_a_tensor():
    aug = A.Compose([A.RandomResizedCrop(12), A.ColorJitter(0.4, 0.4), A.RandomErasing(p=0.5)], seed=1)
    x = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)
    stages = aug.draw(x)
    assert torch.equal(aug.apply(x, stages), aug.apply(x, stages))
    assert torch.equal(A.Compose(list(aug.transforms), seed=1)(x), aug.apply(x, stages))  # draw == one call
    assert isinstance(aug(x), torch.Tensor) and isinstance(aug.with_targets(x), A.AugmentedBatch)
    y = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)  # the same parameters on other images
    assert aug.apply(y, stages).shape == (5, 3, 12, 12)


class _Augmented(torch.utils.data.Dataset):
    """One constant image, augmented per item by a seeded pipeline (a copy lives in each worker)."""

    def __init__(self) -> None:
        self.aug = A.Compose([A.RandomResizedCrop(16), A.HorizontalFlip(), A.ColorJitter(0.4, 0.4)], seed=0)
        self.image = _images(1)

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.aug(self.image)[0]


def test_dataloader_workers_with_copies_of_a_seeded_pipeline_draw_differently():
    # worker 0 serves items 0 and 2, worker 1 items 1 and 3: before the worker joined the call key,
    # items 0 and 1 (each worker's first call) were the same augmentation
    loader = torch.utils.data.DataLoader(_Augmented(), batch_size=None, num_workers=2)
    items = list(loader)
    assert not torch.equal(items[0], items[1]) and not torch.equal(items[2], items[3])
    again = list(torch.utils.data.DataLoader(_Augmented(), batch_size=None, num_workers=2))
    assert all(torch.equal(a, b) for a, b in zip(items, again, strict=True))  # still reproducible
