"""Geometry: matrices, targets moving with the image, the three resampling paths agreeing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from datafix import augment as A


def test_flip_twice_is_identity_on_every_path(photos):
    for backend in ("torch", "opencv"):
        once = A.Compose([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0)], backend=backend)(photos)
        twice = A.Compose([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0)], backend=backend)(
            (once * 255).round().to(torch.uint8))
        assert torch.equal((twice * 255).round().to(torch.uint8), photos)
    # two flips fused into one exact pass equal the identity too
    both = A.Compose([A.HorizontalFlip(p=1.0), A.HorizontalFlip(p=1.0)])(photos)
    assert torch.equal((both * 255).round().to(torch.uint8), photos)


def test_flip_matches_tensor_flip_exactly_and_only_on_drawn_samples():
    x = torch.randint(0, 256, (64, 3, 9, 7), dtype=torch.uint8)
    out = (A.Compose([A.HorizontalFlip(p=0.5)], seed=3, backend="torch")(x) * 255).round().to(torch.uint8)
    flipped = torch.tensor([torch.equal(o, s.flip(-1)) for o, s in zip(out, x, strict=True)])
    kept = torch.tensor([torch.equal(o, s) for o, s in zip(out, x, strict=True)])
    assert bool((flipped | kept).all())
    assert 15 < int(flipped.sum()) < 49


@pytest.mark.parametrize("backend", ["torch", "opencv"])
def test_keypoint_moves_with_the_image(backend):
    # one bright pixel; after a random affine it must sit where its keypoint went
    batch, size = 32, 41
    x = torch.zeros(batch, 1, size, size)
    ys = torch.randint(12, 29, (batch,))
    xs = torch.randint(12, 29, (batch,))
    x[torch.arange(batch), 0, ys, xs] = 1.0
    keypoints = torch.stack([xs, ys], -1).float()[:, None]
    aug = A.Compose([A.Affine(degrees=40, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10, p=1.0),
                     A.HorizontalFlip()], seed=0, backend=backend)
    out = aug.with_targets(x, keypoints=keypoints)
    flat = out.images[:, 0].reshape(batch, -1).argmax(dim=1)
    peak = torch.stack([flat % size, flat // size], -1).float()
    assert bool(out.keypoint_visible.all())
    assert float((peak - out.keypoints[:, 0]).abs().max()) <= 1.0


def test_rotation_angles_are_uniform_over_the_range():
    batch = 4000
    keypoints = torch.tensor([[[30.0, 15.0]]]).repeat(batch, 1, 1)  # right of the centre (15, 15)
    out = A.Compose([A.Affine(degrees=(-30, 50), p=1.0)], seed=1).with_targets(torch.zeros(batch, 1, 31, 31),
                                                                                keypoints=keypoints)
    d = out.keypoints[:, 0] - 15.0
    angle = torch.rad2deg(torch.atan2(-d[:, 1], d[:, 0]))  # counter-clockwise on screen is positive
    assert stats.kstest(angle.numpy(), stats.uniform(loc=-30, scale=80).cdf).pvalue > 0.01


def test_random_resized_crop_follows_torchvision_rule():
    op = A.RandomResizedCrop(16, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    u = torch.rand(20000, op.slots - 1, generator=torch.Generator().manual_seed(0))
    x0, y0, w, h = op.boxes(u, (100, 80))
    area = w * h / (100 * 80)
    assert bool((x0 >= 0).all() and (x0 + w <= 80).all() and (y0 >= 0).all() and (y0 + h <= 100).all())
    assert 0.19 <= float(area.min()) and float(area.max()) <= 0.61
    assert float((w / h).min()) >= 0.45 and float((w / h).max()) <= 2.1
    assert stats.kstest(x0[(w == 30)].numpy() / (80 - 30), "uniform").pvalue > 1e-3


def test_random_resized_crop_falls_back_to_a_centre_crop_when_nothing_fits():
    op = A.RandomResizedCrop(8, scale=(1.0, 1.0), ratio=(4.0, 4.0))  # a 4:1 crop of full area never fits
    x0, y0, w, h = op.boxes(torch.rand(5, op.slots - 1), (40, 40))
    assert w.tolist() == [40.0] * 5 and h.tolist() == [10.0] * 5 and y0.tolist() == [15.0] * 5


def test_exact_crop_with_padding_matches_slicing():
    x = torch.randint(0, 256, (16, 3, 12, 10), dtype=torch.uint8)
    out = A.Compose([A.RandomCrop(8, padding=2)], seed=5, backend="torch")(x)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    got = (out * 255).round().to(torch.uint8)
    for b in range(16):
        hits = [(i, j) for i in range(9) for j in range(7) if torch.equal(padded[b, :, i:i + 8, j:j + 8], got[b])]
        assert hits, f"sample {b} is not a window of the padded image"


@pytest.mark.parametrize("backend", ["torch", "opencv"])
def test_box_after_flip_and_rotation_contains_the_object(backend):
    batch = 24
    x = torch.zeros(batch, 1, 48, 48)
    x[:, :, 10:20, 14:30] = 1.0  # the object: rows 10-19, columns 14-29
    boxes = torch.tensor([[[14.0, 10.0, 30.0, 20.0], [0.0, 0.0, 0.0, 0.0]]]).repeat(batch, 1, 1)
    valid = torch.tensor([[True, False]]).repeat(batch, 1)
    aug = A.Compose([A.HorizontalFlip(), A.Affine(degrees=35, scale=(0.9, 1.1), p=1.0)], seed=2, backend=backend)
    out = aug.with_targets(x, boxes=boxes, box_valid=valid)
    assert out.box_valid[:, 0].all() and not out.box_valid[:, 1].any()
    for b in range(batch):
        rows, cols = torch.nonzero(out.images[b, 0] > 0.5, as_tuple=True)
        x1, y1, x2, y2 = out.boxes[b, 0].tolist()
        assert cols.min() >= x1 - 0.5 and cols.max() + 1 <= x2 + 0.5
        assert rows.min() >= y1 - 0.5 and rows.max() + 1 <= y2 + 0.5


def test_boxes_leaving_the_image_are_clipped_and_invalidated():
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0], [40.0, 40.0, 50.0, 50.0]]])
    aug = A.Compose([A.Affine(translate=((0.2, 0.2), (0.0, 0.0)), p=1.0)], box_min_visibility=0.5)
    out = aug.with_targets(torch.zeros(1, 3, 50, 50), boxes=boxes)
    assert out.boxes[0, 0].tolist() == pytest.approx([10.0, 0.0, 20.0, 10.0])
    assert out.boxes[0, 1].tolist() == pytest.approx([50.0, 40.0, 50.0, 50.0])
    assert out.box_valid.tolist() == [[True, False]]


def test_keypoints_leaving_the_frame_turn_invisible():
    keypoints = torch.tensor([[[2.0, 5.0], [15.0, 5.0]]])
    out = A.Compose([A.Affine(translate=((-0.25, -0.25), (0.0, 0.0)), p=1.0)]).with_targets(
        torch.zeros(1, 3, 20, 20), keypoints=keypoints)
    assert out.keypoints[0].flatten().tolist() == pytest.approx([-3.0, 5.0, 10.0, 5.0])
    assert out.keypoint_visible.tolist() == [[False, True]]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_masks_keep_their_dtype_and_labels(dtype):
    masks = torch.randint(0, 2 if dtype == torch.bool else 7, (6, 30, 30)).to(dtype)
    images = torch.rand(6, 3, 30, 30)
    aug = A.Compose([A.RandomResizedCrop(20), A.Affine(degrees=30, p=1.0), A.ColorJitter(0.5)], seed=0)
    out = aug.with_targets(images, masks=masks)
    assert out.masks.dtype == dtype and out.masks.shape == (6, 20, 20)
    assert set(out.masks.unique().tolist()) <= set(masks.unique().tolist())


def test_mask_follows_the_image_geometry():
    x = torch.zeros(8, 1, 32, 32)
    x[:, :, 8:20, 6:26] = 1.0
    masks = (x[:, 0] > 0.5).to(torch.int64) * 3
    out = A.Compose([A.Affine(degrees=25, scale=(0.8, 1.2), p=1.0), A.HorizontalFlip()], seed=4,
                    backend="torch").with_targets(x, masks=masks)
    agree = ((out.images[:, 0] > 0.5) == (out.masks == 3)).float().mean()
    assert float(agree) > 0.98


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(-90, 90), st.floats(0.5, 2.0), st.floats(-30, 30))
def test_matrix_inverse_round_trips(seed, degrees, scale, shear):
    aug = A.Affine(degrees=(degrees, degrees), scale=(scale, scale), shear=(shear, shear), p=1.0)
    from datafix.augment._random import RandomSource
    from datafix.augment._warp import invert
    from datafix.augment.base import Draw

    draw = Draw(RandomSource(seed), 3, torch.device("cpu"), {id(aug): 0})
    m = aug.matrices(draw, (21, 33), None)
    assert torch.allclose(invert(m) @ m, torch.eye(3).expand(3, 3, 3), atol=1e-4)


def test_opencv_and_torch_paths_agree(photos):
    aug = [A.RandomResizedCrop((64, 96), scale=(0.3, 1.0)), A.HorizontalFlip(),
           A.Affine(degrees=20, translate=(0.05, 0.05), scale=(0.9, 1.1), shear=5)]
    ref = A.Compose(aug, seed=7, backend="torch")(photos) * 255
    cpu = A.Compose(aug, seed=7, backend="opencv")(photos) * 255
    diff = (ref - cpu).abs()
    assert float(diff.max()) <= 2.0 + 1e-4


def test_channels_last_input_gives_the_same_result(photos):
    aug = A.Compose([A.Affine(degrees=10, p=1.0), A.ColorJitter(0.3, 0.3)], seed=0, backend="torch")
    a = aug(photos)
    aug2 = A.Compose([A.Affine(degrees=10, p=1.0), A.ColorJitter(0.3, 0.3)], seed=0, backend="torch",
                     memory_format=torch.channels_last)
    b = aug2(photos.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(a, b, atol=1e-5)
    assert b.is_contiguous(memory_format=torch.channels_last)


def test_gradients_flow_through_geometry_and_colour():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    aug = A.Compose([A.Affine(degrees=20, p=1.0), A.ColorJitter(0.2, 0.2, 0.2, 0.05), A.GaussianBlur(p=1.0),
                     A.Normalize()], seed=0)
    out = aug(x)
    out.sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0


def test_output_shape_without_geometry_is_the_input_shape():
    assert A.Compose([A.ColorJitter(0.1)])(torch.rand(2, 3, 5, 7)).shape == (2, 3, 5, 7)
    assert np.array_equal(A.Resize((3, 4))(torch.rand(2, 1, 6, 8)).shape, (2, 1, 3, 4))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), height=st.integers(4, 40), width=st.integers(4, 40),
       batch=st.integers(1, 6), backend=st.sampled_from(["torch", "opencv"]))
def test_any_pipeline_draw_keeps_values_in_range_and_shapes(seed, height, width, batch, backend):
    x = torch.randint(0, 256, (batch, 3, height, width), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(seed))
    aug = A.Compose([A.RandomResizedCrop((5, 7)), A.HorizontalFlip(), A.Affine(degrees=180, scale=(0.5, 2.0),
                     shear=20), A.ColorJitter(0.8, 0.8, 0.8, 0.5), A.RandomGamma(p=0.5), A.GaussianBlur(3),
                     A.RandomErasing(p=0.5)], seed=seed, backend=backend)
    out = aug.with_targets(x, keypoints=torch.rand(batch, 3, 2) * torch.tensor([width - 1.0, height - 1.0]))
    assert out.images.shape == (batch, 3, 5, 7) and out.images.dtype == torch.float32
    assert float(out.images.min()) >= 0.0 and float(out.images.max()) <= 1.0
    kp = out.keypoints[out.keypoint_visible]
    assert bool(((kp[:, 0] >= 0) & (kp[:, 0] < 7) & (kp[:, 1] >= 0) & (kp[:, 1] < 5)).all())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), ids=st.lists(st.integers(0, 2**40), min_size=1, max_size=8, unique=True))
def test_keyed_output_of_a_sample_is_a_function_of_its_id_alone(seed, ids):
    x = torch.rand(1, 3, 9, 9).expand(len(ids), 3, 9, 9).contiguous()
    aug = A.Compose([A.Affine(degrees=30, p=0.7), A.ColorJitter(0.5, hue=0.2)], seed=seed, backend="torch")
    together = aug(x, sample_ids=torch.tensor(ids))
    alone = torch.cat([aug(x[:1], sample_ids=torch.tensor([i])) for i in ids])
    assert torch.allclose(together, alone, atol=1e-6)
