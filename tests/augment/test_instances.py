"""CopyPaste and Mosaic: pixels, masks, boxes and labels stay consistent; donors by rarity; bad input."""

from __future__ import annotations

import pytest
import torch

from datafix import augment as A
from datafix.augment.instances import mask_boxes
from datafix.errors import InvalidInputError


def scene(batch=6, n=3, size=(24, 32), seed=0):
    """Images with rectangular objects, each painted in its own colour, and their masks / labels."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    images = torch.rand(batch, 3, h, w, generator=g) * 0.1
    masks = torch.zeros(batch, n, h, w, dtype=torch.bool)
    labels = torch.randint(0, 4, (batch, n), generator=g)
    for b in range(batch):
        for i in range(n):
            y0, x0 = int(torch.randint(0, h - 6, (1,), generator=g)), int(torch.randint(0, w - 6, (1,), generator=g))
            masks[b, :i, y0:y0 + 5, x0:x0 + 6] = False  # painted over: a mask is what stays visible
            masks[b, i, y0:y0 + 5, x0:x0 + 6] = True
            images[b, :, y0:y0 + 5, x0:x0 + 6] = 0.2 + 0.1 * i + 0.02 * b
    valid = torch.ones(batch, n, dtype=torch.bool)
    valid[0, 2] = False  # a padding slot
    masks[0, 2] = False
    return images, masks, labels, valid


def test_pasted_objects_bring_their_pixels_masks_labels_and_tight_boxes():
    images, masks, labels, valid = scene()
    before = (images.clone(), masks.clone(), labels.clone(), valid.clone())
    out = A.CopyPaste(p=1.0, object_p=1.0, seed=0)(images, masks, labels, valid=valid)
    n = masks.shape[1]
    assert out.masks.shape == (6, 2 * n, 24, 32) and out.boxes.shape == (6, 2 * n, 4)
    for b in range(6):
        cover = out.masks[b, n:].any(0)
        for i in range(n, 2 * n):
            if out.valid[b, i]:
                m = out.masks[b, i]
                donor_slot = i - n
                # the pasted object's pixels are a donor's pixels under its mask, with the donor's label
                donors = [d for d in range(6) if d != b and torch.equal(masks[d, donor_slot], m)]
                assert donors and any(torch.equal(out.images[b][:, m], images[d][:, m]) for d in donors)
                assert int(out.labels[b, i]) in {int(labels[d, donor_slot]) for d in donors}
        for i in range(n):  # own objects lose exactly the covered pixels
            assert torch.equal(out.masks[b, i], masks[b, i] & ~cover)
            assert bool(out.valid[b, i]) == bool(valid[b, i] and out.masks[b, i].sum() >= 1)
        assert torch.equal(out.images[b][:, ~cover], images[b][:, ~cover])  # elsewhere unchanged
    expected = torch.where(out.valid[..., None], mask_boxes(out.masks), torch.zeros(1))
    assert torch.equal(out.boxes, expected)
    assert out.valid[:, n:].any()  # something was pasted
    for a, b in zip(before, (images, masks, labels, valid), strict=True):
        assert torch.equal(a, b)  # inputs untouched


def test_a_covered_object_becomes_invalid_and_its_box_shrinks():
    images = torch.zeros(2, 3, 10, 10)
    masks = torch.zeros(2, 2, 10, 10, dtype=torch.bool)
    masks[0, 0, 2:4, 2:4] = True  # small: fully covered by image 1's object
    masks[0, 1, 5:9, 1:9] = True  # half covered
    masks[1, 0, 1:5, 1:5] = True
    masks[1, 1, 5:9, 5:9] = True
    valid = torch.tensor([[True, True], [True, True]])
    out = A.CopyPaste(p=1.0, object_p=1.0, seed=0)(images, masks, torch.tensor([[1, 2], [3, 4]]), valid=valid)
    assert not out.valid[0, 0]
    assert out.boxes[0, 1].tolist() == [1.0, 5.0, 5.0, 9.0]  # x 5-8 now belong to the pasted object
    assert out.labels[0].tolist() == [1, 2, 3, 4] and out.valid[0, 2:].all()


def test_rare_donors_paste_rare_classes_more_often():
    batch = 40
    masks = torch.zeros(batch, 1, 8, 8, dtype=torch.bool)
    masks[:, 0, 2:5, 2:5] = True
    labels = torch.zeros(batch, 1, dtype=torch.long)
    labels[:2] = 1  # class 1 is rare: 2 of 40 objects
    valid = torch.ones(batch, 1, dtype=torch.bool)
    images = torch.rand(batch, 3, 8, 8)
    pasted = {}
    for donors in ("uniform", "rare"):
        counts = torch.zeros(2)
        for seed in range(30):
            out = A.CopyPaste(p=1.0, object_p=1.0, donors=donors, seed=seed)(images, masks, labels, valid=valid)
            counts += torch.bincount(out.labels[:, 1][out.valid[:, 1]], minlength=2)
        pasted[donors] = float(counts[1] / counts.sum())
    assert pasted["uniform"] < 0.1  # about 2 / 39
    assert pasted["rare"] > 0.35  # weight 1/2 per rare donor against 1/38 per common one: about 0.49
    with_counts = A.CopyPaste(p=1.0, object_p=1.0, donors="rare", class_counts=[1000, 10], seed=0)
    assert with_counts(images, masks, labels, valid=valid).labels[:, 1].float().mean() > 0.35


def test_copy_paste_is_keyed_and_p_zero_changes_nothing():
    images, masks, labels, valid = scene()
    ids = torch.arange(6) + 100
    one = A.CopyPaste(p=0.7, seed=3)(images, masks, labels, valid=valid, sample_ids=ids)
    two = A.CopyPaste(p=0.7, seed=3)(images, masks, labels, valid=valid, sample_ids=ids)
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))
    none = A.CopyPaste(p=0.0, seed=3)(images, masks, labels, valid=valid)
    assert torch.equal(none.images, images) and not none.valid[:, 3:].any()


def test_mosaic_moves_pixels_boxes_and_masks_together():
    images, masks, labels, valid = scene(batch=4)
    boxes = mask_boxes(masks)
    out = A.Mosaic(center=(0.3, 0.7), seed=1)(images, boxes, labels, valid=valid, masks=masks)
    n = masks.shape[1]
    assert out.images.shape == images.shape and out.boxes.shape == (4, 4 * n, 4) and out.masks.shape == (4, 4 * n, 24, 32)
    for b in range(4):
        for slot in range(4 * n):
            m = out.masks[b, slot]
            if out.valid[b, slot]:
                assert m.any()
                assert out.boxes[b, slot].tolist() == mask_boxes(m).tolist()  # clipped box = moved mask's box
                source, inst = (b - slot // n) % 4, slot % n
                colour = 0.2 + 0.1 * inst + 0.02 * source
                assert torch.allclose(out.images[b][:, m], torch.full_like(out.images[b][:, m], colour))
                assert out.labels[b, slot] == labels[source, inst]
            else:
                assert not m.any() or not valid[(b - slot // n) % 4, slot % n]
    # every output pixel comes from one of the four images at an unscaled offset
    assert torch.isin(out.images, images).all()


def test_mosaic_not_drawn_keeps_the_image_and_its_boxes():
    images, masks, labels, valid = scene(batch=3)
    boxes = mask_boxes(masks)
    out = A.Mosaic(p=0.0, seed=0)(images, boxes, labels, valid=valid)
    n = masks.shape[1]
    assert torch.equal(out.images, images)
    assert torch.equal(out.boxes[:, :n], torch.where(valid[..., None], boxes, torch.zeros(1)))
    assert torch.equal(out.valid[:, :n], valid) and not out.valid[:, n:].any()


def test_min_visibility_drops_boxes_mostly_cut_away():
    images = torch.rand(4, 3, 20, 20)
    boxes = torch.tensor([[[0.0, 0.0, 20.0, 20.0]]]).repeat(4, 1, 1)
    labels = torch.zeros(4, 1, dtype=torch.long)
    out = A.Mosaic(center=(0.2, 0.2), min_visibility=0.1, seed=0)(images, boxes, labels)
    # centre (4, 4): the top-left quadrant keeps 16 of 400 pixels (4 %) of its box
    assert not out.valid[:, 0].any() and out.valid[:, 3].all()


@pytest.mark.parametrize("call, match", [
    (lambda i, m, lab: A.CopyPaste()(i, None, lab), "CopyPaste needs instance masks"),
    (lambda i, m, lab: A.CopyPaste()(i, m[:, 0], lab), "CopyPaste needs instance masks"),
    (lambda i, m, lab: A.CopyPaste()(i, m[:, :, :8], lab), "'masks' argument has size"),
    (lambda i, m, lab: A.CopyPaste()(i, m, lab[:, :2]), "instances per image"),
    (lambda i, m, lab: A.CopyPaste()(i, m, lab.float()), "integer class ids"),
    (lambda i, m, lab: A.CopyPaste(donors="often"), "'donors'"),
    (lambda i, m, lab: A.CopyPaste(min_area=0), "'min_area'"),
    (lambda i, m, lab: A.CopyPaste(donors="rare", class_counts=[5], p=1.0)(i, m, lab), "no entry in 'class_counts'"),
    (lambda i, m, lab: A.Mosaic()(i, m, lab), "'boxes' argument must have 3 dimensions"),
    (lambda i, m, lab: A.Mosaic(center=(0.5, 1.5)), "'center'"),
    (lambda i, m, lab: A.Mosaic()(i, mask_boxes(m), lab, masks=m[:, :2]), "expected"),
])
def test_bad_input_is_named(call, match):
    images, masks, labels, _ = scene(batch=3)
    labels = labels.clone()
    labels[:, 0] = 2
    with pytest.raises((InvalidInputError, TypeError), match=match):
        call(images, masks, labels)


@pytest.mark.parametrize("scale", [(0.5, 0.5), (1.6, 1.6), (0.5, 1.5)])
def test_mosaic_scale_zooms_pixels_boxes_and_masks_together(scale):
    images, masks, labels, valid = scene(batch=4)
    boxes = mask_boxes(masks)
    out = A.Mosaic(center=(0.3, 0.7), scale=scale, seed=2)(images, boxes, labels, valid=valid, masks=masks)
    n = masks.shape[1]
    assert out.images.shape == images.shape and out.masks.shape == (4, 4 * n, 24, 32)
    kept = 0
    for b in range(4):
        for slot in range(4 * n):
            m = out.masks[b, slot]
            if out.valid[b, slot] and m.any():
                kept += 1
                # nearest resampling: the zoomed box and its mask's pixels agree within a pixel
                assert (out.boxes[b, slot] - mask_boxes(m)).abs().max() <= 1.0 + 1e-4
                source, inst = (b - slot // n) % 4, slot % n
                colour = 0.2 + 0.1 * inst + 0.02 * source
                assert torch.allclose(out.images[b][:, m], torch.full_like(out.images[b][:, m], colour))
                assert out.labels[b, slot] == labels[source, inst]
            elif not out.valid[b, slot]:
                assert not m.any() or not valid[(b - slot // n) % 4, slot % n]
    assert kept > 0
    assert torch.isin(out.images, torch.cat([images.flatten(), torch.zeros(1)])).all()  # no pixel blended
    if scale == (0.5, 0.5):  # zoomed out: the canvas ends inside the window, 0 beyond
        assert (out.images == 0).all(1).any()
        areas = (out.boxes[..., 2:] - out.boxes[..., :2]).prod(-1)[out.valid]
        assert float(areas.max()) <= 6 * 5 * 0.25 + 1e-4  # every 6 x 5 object at a quarter of its area


def test_mosaic_scale_one_is_the_unscaled_mosaic():
    images, masks, labels, valid = scene(batch=4)
    boxes = mask_boxes(masks)
    one = A.Mosaic(center=(0.3, 0.7), seed=5)(images, boxes, labels, valid=valid, masks=masks)
    same = A.Mosaic(center=(0.3, 0.7), scale=(1.0, 1.0), seed=5)(images, boxes, labels, valid=valid, masks=masks)
    assert all(torch.equal(a, b) for a, b in zip(one, same, strict=True))
    with pytest.raises(InvalidInputError, match="'scale'"):
        A.Mosaic(scale=(0.0, 1.0))
