"""Instance-level batch ops for detection and segmentation: CopyPaste and Mosaic.

Both take a batch with per-instance targets (boxes, class labels, a validity mask and, for
CopyPaste, instance masks) and return an :class:`InstanceBatch` whose targets match the new
images exactly: boxes recomputed from the moved masks (CopyPaste) or shifted and clipped with the
pixels (Mosaic). Draws are keyed like every datafix op (``seed``, ``epoch``, ``sample_ids``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from datafix._validation import check_choice, check_float
from datafix.augment._checks import check_batch, check_images, check_range
from datafix.augment._random import RandomSource
from datafix.errors import InvalidInputError, InvalidTypeError


@dataclass
class InstanceBatch:
    """Images and their instances: ``masks`` (B, N, H, W) or None, ``boxes`` (B, N, 4) xyxy in
    pixel-edge coordinates, ``labels`` (B, N) class ids, ``valid`` (B, N) marking real instances.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import InstanceBatch
    >>> batch = InstanceBatch(torch.zeros(1, 3, 4, 4), None, torch.zeros(1, 2, 4), torch.zeros(1, 2, dtype=torch.long),
    ...                       torch.tensor([[True, False]]))
    >>> images, masks, boxes, labels, valid = batch  # unpacks in field order
    >>> int(valid.sum())
    1
    """

    images: Tensor
    masks: Tensor | None
    boxes: Tensor
    labels: Tensor
    valid: Tensor

    def __iter__(self):
        return (getattr(self, f.name) for f in fields(self))


def mask_boxes(masks: Tensor) -> Tensor:
    """Tight xyxy boxes (pixel edges) of instance masks (..., H, W); zeros for an empty mask.

    Examples
    --------
    >>> import torch
    >>> m = torch.zeros(1, 4, 6, dtype=torch.bool)
    >>> m[0, 1:3, 2:5] = True
    >>> mask_boxes(m).tolist()
    [[2.0, 1.0, 5.0, 3.0]]
    """
    on = masks.bool()
    rows, cols = on.any(-1), on.any(-2)  # (..., H), (..., W)
    h, w = on.shape[-2], on.shape[-1]
    ys = torch.arange(h, device=masks.device, dtype=torch.float32)
    xs = torch.arange(w, device=masks.device, dtype=torch.float32)
    inf = torch.tensor(float("inf"), device=masks.device)
    y0 = torch.where(rows, ys, inf).amin(-1)
    y1 = torch.where(rows, ys, -inf).amax(-1) + 1
    x0 = torch.where(cols, xs, inf).amin(-1)
    x1 = torch.where(cols, xs, -inf).amax(-1) + 1
    boxes = torch.stack([x0, y0, x1, y1], -1)
    return torch.where(rows.any(-1)[..., None], boxes, torch.zeros_like(boxes))


def _check_instances(name: str, batch: int, labels: Any, valid: Any, n: int | None) -> tuple[Tensor, Tensor | None]:
    if not isinstance(labels, Tensor):
        raise InvalidTypeError(f"{name} needs 'labels' as a torch.Tensor (B, N) of class ids; got "
                               f"{type(labels).__name__}.")
    check_batch(labels, "labels", batch, (2,))
    if labels.is_floating_point():
        raise InvalidInputError(f"{name}: the 'labels' argument must hold integer class ids (B, N); got {labels.dtype}.")
    if n is not None and labels.shape[1] != n:
        raise InvalidInputError(f"{name}: 'labels' has {labels.shape[1]} instances per image but the targets have {n}.")
    if valid is not None:
        check_batch(valid, "valid", batch, (2,))
        if valid.shape != labels.shape:
            raise InvalidInputError(f"{name}: 'valid' has shape {tuple(valid.shape)}; expected {tuple(labels.shape)}.")
    return labels, valid


class _InstanceOp(nn.Module):
    def __init__(self, p: float, seed: int | None, generator: torch.Generator | None) -> None:
        super().__init__()
        self.p = check_float(p, "p", low=0.0, high=1.0)
        self.source = RandomSource(seed, generator)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that keys the draws when ``sample_ids`` are passed."""
        self.epoch = int(epoch)

    def _uniform(self, batch: int, n: int, device: torch.device, sample_ids: Tensor | None) -> Tensor:
        return self.source.uniform(batch, n, device, key=0, sample_ids=sample_ids, epoch=self.epoch)


class CopyPaste(_InstanceOp):
    """Simple Copy-Paste (Ghiasi et al. 2021): objects of a donor image pasted onto each image.

    For each image drawn with probability ``p``, a donor (another image of the batch) gives each
    of its valid instances with probability ``object_p``; their pixels replace the image's under
    their masks, the image's own masks lose what is covered (an instance left with fewer than
    ``min_area`` pixels becomes invalid), the pasted instances are appended with their labels, and
    every box is the tight box of its mask. With ``donors="rare"`` a donor is drawn with
    probability proportional to the summed inverse frequency of its instances' classes (from
    ``class_counts``, or counted in the batch), so rare classes gain instances.

    Parameters
    ----------
    p : float, default 0.5
    object_p : float, default 0.5
        Probability that each donor instance is pasted.
    donors : {"uniform", "rare"}, default "uniform"
    class_counts : sequence of int, optional
        Instances per class in the dataset (index = class id), for ``donors="rare"``.
    min_area : int, default 1
    seed, generator
        As in :class:`~datafix.augment.Compose`.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import CopyPaste
    >>> images = torch.zeros(2, 3, 8, 8)
    >>> images[1] = 1.0
    >>> masks = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    >>> masks[1, 0, 2:4, 2:5] = True  # image 1 has one object; image 0 none
    >>> out = CopyPaste(p=1.0, object_p=1.0, seed=0)(images, masks, torch.tensor([[0], [3]]),
    ...                                               valid=torch.tensor([[False], [True]]))
    >>> out.masks.shape, out.labels[0].tolist(), out.boxes[0, 1].tolist(), bool(out.valid[0, 1])
    (torch.Size([2, 2, 8, 8]), [0, 3], [2.0, 2.0, 5.0, 4.0], True)
    """

    def __init__(self, p: float = 0.5, object_p: float = 0.5, donors: str = "uniform",
                 class_counts: Sequence[int] | None = None, min_area: int = 1, seed: int | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(p, seed, generator)
        self.object_p = check_float(object_p, "object_p", low=0.0, high=1.0)
        self.donors = check_choice(donors, "donors", ("uniform", "rare"))
        if class_counts is not None:
            counts = np.asarray(class_counts)
            if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.number) or (counts < 0).any():
                raise InvalidInputError("The 'class_counts' parameter must be a sequence of non-negative counts "
                                        "(index = class id).")
            class_counts = tuple(float(c) for c in counts)
        self.class_counts = class_counts
        if isinstance(min_area, bool) or not isinstance(min_area, int) or min_area < 1:
            raise InvalidInputError(f"The 'min_area' parameter must be a positive int; got {min_area!r}.")
        self.min_area = min_area

    def forward(self, images: Tensor, masks: Tensor | None, labels: Tensor, valid: Tensor | None = None,
                sample_ids: Tensor | None = None) -> InstanceBatch:
        """Paste; returns an :class:`InstanceBatch` with 2N instance slots (own, then pasted)."""
        x = check_images(images)
        batch, _, height, width = x.shape
        if masks is None or not isinstance(masks, Tensor) or masks.ndim != 4:
            got = "None" if masks is None else (f"shape {tuple(masks.shape)}" if isinstance(masks, Tensor)
                                                else type(masks).__name__)
            raise InvalidInputError(f"CopyPaste needs instance masks (B, N, H, W), one per object; got {got}. "
                                    "For boxes without masks use Mosaic.")
        check_batch(masks, "masks", batch, (4,))
        if masks.shape[-2:] != x.shape[-2:]:
            raise InvalidInputError(f"The 'masks' argument has size {tuple(masks.shape[-2:])} but the images are "
                                    f"{(height, width)}.")
        n = masks.shape[1]
        labels, valid = _check_instances("CopyPaste", batch, labels, valid, n)
        if n == 0:  # nothing to paste
            return InstanceBatch(x, masks, torch.zeros(batch, 0, 4, device=x.device), labels,
                                 torch.zeros(batch, 0, dtype=torch.bool, device=x.device))
        own = masks.to(x.device).bool()
        labels = labels.to(x.device)
        valid = own.any((-2, -1)) if valid is None else valid.to(x.device).bool()
        check_batch(sample_ids, "sample_ids", batch, (1,))
        u = self._uniform(batch, 2 + n, x.device, sample_ids)
        donor = self._donors(u[:, 1], labels, valid)
        go = (u[:, 0] < self.p) & (donor >= 0)
        donor = donor.clamp_min(0)
        chosen = valid[donor] & (u[:, 2:] < self.object_p) & go[:, None]  # (B, N) donor instances pasted
        pasted = own[donor] & chosen[:, :, None, None]
        cover = pasted.any(1)  # (B, H, W)
        out_images = torch.where(cover[:, None], x[donor], x)
        kept = own & ~cover[:, None]
        own_valid = valid & (kept.sum((-2, -1)) >= self.min_area)
        new_valid = chosen & (pasted.sum((-2, -1)) >= self.min_area)
        out_masks = torch.cat([kept, pasted], 1)
        out_valid = torch.cat([own_valid, new_valid], 1)
        boxes = torch.where(out_valid[..., None], mask_boxes(out_masks), torch.zeros(1, device=x.device))
        return InstanceBatch(out_images, out_masks.to(masks.dtype), boxes, torch.cat([labels, labels[donor]], 1),
                             out_valid)

    def _donors(self, u: Tensor, labels: Tensor, valid: Tensor) -> Tensor:
        """A donor per image (never itself; -1 when no other image has an instance)."""
        batch = len(u)
        has = valid.any(1).to(torch.float32)
        if self.donors == "rare":
            codes = labels.clamp_min(0).to(torch.int64)
            if self.class_counts is not None:
                counts = torch.tensor(self.class_counts, device=u.device)
                if int(codes.max()) >= len(counts):
                    raise InvalidInputError(f"CopyPaste: a label ({int(codes.max())}) has no entry in 'class_counts' "
                                            f"({len(counts)} classes).")
            else:
                counts = torch.bincount(codes[valid], minlength=int(codes.max()) + 1).to(torch.float32)
            rarity = torch.where(valid, 1.0 / counts[codes].clamp_min(1.0), torch.zeros(1, device=u.device))
            weight = rarity.sum(1)
        else:
            weight = has
        weights = weight[None, :].expand(batch, batch).clone()
        weights.fill_diagonal_(0.0)
        total = weights.sum(1)
        cum = weights.cumsum(1)
        pick = torch.searchsorted(cum, (u * total)[:, None], right=True)[:, 0].clamp(max=batch - 1)
        return torch.where(total > 0, pick, torch.full_like(pick, -1))


class Mosaic(_InstanceOp):
    """Mosaic (YOLOv4): four images of the batch in the four quadrants around a random centre.

    Output image ``i`` shows, around a centre (cx, cy) drawn in ``center`` (a share of the
    width and height, rounded to whole pixels), the bottom-right corner of image ``i``, the
    bottom-left of ``i - 1``, the top-right of ``i - 2`` and the top-left of ``i - 3`` (rolls
    of the batch): YOLO's 2 x 2 canvas, seen through a window of the input size. With the
    default ``scale=(1.0, 1.0)`` the window is the canvas cropped at the centre and no pixel is
    resampled; a scale drawn per image in ``scale`` zooms the canvas about the centre (below 1
    the window shows more of the four images, smaller, and 0 where the canvas ends; above 1
    less, larger), nearest neighbour, as YOLO's mosaic followed by its random scale does.
    Boxes (and instance masks) move with their pixels and are clipped to their quadrant and to
    the image; a box keeping less than ``min_visibility`` of its (scaled) area becomes invalid.
    Images not drawn (probability ``1 - p``) stay whole with their own instances.

    Parameters
    ----------
    p : float, default 1.0
    center : (float, float), default (0.25, 0.75)
    scale : (float, float), default (1.0, 1.0)
        The zoom of each mosaic, drawn uniformly per image (YOLOv5 uses (0.5, 1.5)).
    min_visibility : float, default 0.0
        Boxes need a positive clipped area in any case.
    seed, generator
        As in :class:`~datafix.augment.Compose`.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import Mosaic
    >>> images = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 8, 8) / 4
    >>> boxes = torch.tensor([[[0.0, 0.0, 8.0, 8.0]]]).repeat(4, 1, 1)
    >>> out = Mosaic(center=(0.5, 0.5), seed=0)(images, boxes, torch.zeros(4, 1, dtype=torch.long))
    >>> out.boxes.shape, out.boxes[0, :, :].tolist()
    (torch.Size([4, 4, 4]), [[0.0, 0.0, 4.0, 4.0], [4.0, 0.0, 8.0, 4.0], [0.0, 4.0, 4.0, 8.0], [4.0, 4.0, 8.0, 8.0]])
    """

    def __init__(self, p: float = 1.0, center: Sequence[float] = (0.25, 0.75), min_visibility: float = 0.0,
                 seed: int | None = None, generator: torch.Generator | None = None,
                 scale: Sequence[float] = (1.0, 1.0)) -> None:
        super().__init__(p, seed, generator)
        self.center = check_range(center, "center", low=0.0, high=1.0)
        self.scale = check_range(scale, "scale", low=1e-3)
        self.min_visibility = check_float(min_visibility, "min_visibility", low=0.0, high=1.0)

    def forward(self, images: Tensor, boxes: Tensor, labels: Tensor, valid: Tensor | None = None,
                masks: Tensor | None = None, sample_ids: Tensor | None = None) -> InstanceBatch:
        """Mosaics; an :class:`InstanceBatch` with 4N instance slots (one block of N per quadrant)."""
        x = check_images(images)
        batch, _, height, width = x.shape
        if not isinstance(boxes, Tensor):
            raise InvalidTypeError(f"Mosaic needs 'boxes' as a torch.Tensor (B, N, 4); got {type(boxes).__name__}.")
        check_batch(boxes, "boxes", batch, (3,), last=4)
        n = boxes.shape[1]
        labels, valid = _check_instances("Mosaic", batch, labels, valid, n)
        if masks is not None:
            check_batch(masks, "masks", batch, (4,))
            if masks.shape[1] != n or masks.shape[-2:] != x.shape[-2:]:
                raise InvalidInputError(f"Mosaic: 'masks' has shape {tuple(masks.shape)}; expected "
                                        f"{(batch, n, height, width)}.")
        check_batch(sample_ids, "sample_ids", batch, (1,))
        boxes = boxes.to(x.device, torch.float32)
        labels = labels.to(x.device)
        valid = torch.ones(batch, n, dtype=torch.bool, device=x.device) if valid is None else valid.to(x.device).bool()
        u = self._uniform(batch, 4, x.device, sample_ids)
        go = u[:, 0] < self.p
        lo, hi = self.center
        cx = torch.where(go, torch.round(width * (lo + (hi - lo) * u[:, 1])), torch.full_like(u[:, 1], width))
        cy = torch.where(go, torch.round(height * (lo + (hi - lo) * u[:, 2])), torch.full_like(u[:, 2], height))
        zoom = torch.where(go, self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 3], torch.ones_like(u[:, 3]))
        idx = torch.arange(batch, device=x.device)
        # each output pixel's canvas pixel: the zoom about (cx, cy), pixel centres, nearest
        ys = torch.arange(height, device=x.device, dtype=torch.float32)[None, :, None]
        xs = torch.arange(width, device=x.device, dtype=torch.float32)[None, None, :]
        zc, cxc, cyc = zoom[:, None, None], cx[:, None, None], cy[:, None, None]
        us = torch.floor(cxc + (xs + 0.5 - cxc) / zc)  # = floor(u + 0.5), u the canvas pixel centre
        vs = torch.floor(cyc + (ys + 0.5 - cyc) / zc)
        # quadrant k of the canvas: [qx0, qx1) x [qy0, qy1) around the centre, its source image, source = canvas + d
        quads = [(cx - width, cx, cy - height, cy, width - cx, height - cy),
                 (cx, cx + width, cy - height, cy, -cx, height - cy),
                 (cx - width, cx, cy, cy + height, width - cx, -cy),
                 (cx, cx + width, cy, cy + height, -cx, -cy)]
        src = torch.zeros(batch, height, width, dtype=torch.int64, device=x.device)
        sx = torch.zeros_like(src)
        sy = torch.zeros_like(src)
        seen = torch.zeros(batch, height, width, dtype=torch.bool, device=x.device)
        out_boxes, out_labels, out_valid, inside = [], [], [], []
        centre = torch.stack([cx, cy, cx, cy], 1)[:, None, :]
        for k, (qx0, qx1, qy0, qy1, dx, dy) in enumerate(quads):
            source = (idx - k) % batch
            region = ((us >= qx0[:, None, None]) & (us < qx1[:, None, None]) & (vs >= qy0[:, None, None])
                      & (vs < qy1[:, None, None]))
            inside.append(region)
            seen |= region
            src = torch.where(region, source[:, None, None], src)
            sx = torch.where(region, (us + dx[:, None, None]).long(), sx)
            sy = torch.where(region, (vs + dy[:, None, None]).long(), sy)
            # boxes: source -> canvas (pixel edges), clipped to the quadrant, -> output, clipped to the image
            canvas = boxes[source] - torch.stack([dx, dy, dx, dy], 1)[:, None, :]
            canvas = torch.stack([canvas[..., 0].clamp(qx0[:, None], qx1[:, None]),
                                  canvas[..., 1].clamp(qy0[:, None], qy1[:, None]),
                                  canvas[..., 2].clamp(qx0[:, None], qx1[:, None]),
                                  canvas[..., 3].clamp(qy0[:, None], qy1[:, None])], -1)
            moved = centre + (canvas - centre) * zoom[:, None, None]
            clipped = torch.stack([moved[..., 0].clamp(0, width), moved[..., 1].clamp(0, height),
                                   moved[..., 2].clamp(0, width), moved[..., 3].clamp(0, height)], -1)
            whole = (boxes[source][..., 2:] - boxes[source][..., :2]).clamp_min(0).prod(-1) * zoom[:, None] ** 2
            kept = (clipped[..., 2] - clipped[..., 0]).clamp_min(0) * (clipped[..., 3] - clipped[..., 1]).clamp_min(0)
            ok = valid[source] & (kept > 0) & (kept >= self.min_visibility * whole)
            out_boxes.append(torch.where(ok[..., None], clipped, torch.zeros_like(clipped)))
            out_labels.append(labels[source])
            out_valid.append(ok)
        picked = x[src, :, sy, sx].permute(0, 3, 1, 2)  # (B, H, W, C) gathered, back to (B, C, H, W)
        picked = torch.where(seen[:, None], picked, torch.zeros((), dtype=x.dtype, device=x.device))  # past the canvas
        out_masks = None
        if masks is not None:  # every pixel's instance masks from its source pixel, then one block per quadrant
            m = masks.to(x.device)
            moved = m[src[:, None], torch.arange(n, device=x.device)[None, :, None, None], sy[:, None], sx[:, None]]
            zero = torch.zeros((), dtype=m.dtype, device=x.device)
            out_masks = torch.cat([torch.where(inside[k][:, None], moved, zero) for k in range(4)], 1)
        return InstanceBatch(picked.contiguous(), out_masks, torch.cat(out_boxes, 1), torch.cat(out_labels, 1),
                             torch.cat(out_valid, 1))
