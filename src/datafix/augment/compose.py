"""Pipelines of batch transforms: Compose, OneOf and RandomApply.

``Compose`` fuses every run of neighbouring geometric transforms into one resampling pass: their
per-sample matrices are multiplied and the batch (and its masks, boxes and keypoints) is warped
once. Runs made only of flips and crops are done by exact indexing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn

from datafix._validation import check_choice, check_int
from datafix.augment import _fused, _fused_ops, _kernel_draws, _per_image, _warp, base
from datafix.augment._checks import check_batch, check_images, check_values
from datafix.augment._random import RandomSource, scalar_key
from datafix.augment._stages import ColorStage, GeometryStage, Stage
from datafix.augment._tensor import identity
from datafix.augment.base import Draw, Transform, applied
from datafix.errors import InvalidInputError, InvalidTypeError

BACKENDS = ("auto", "torch", "opencv", "triton")
PADDING_MODES = ("zeros", "border", "reflection")
PER_IMAGE_MIN_PIXELS = 96 * 96  # below this, batched torch beats per-image OpenCV on a CPU (benchmarks/augment.py)


@dataclass
class AugmentedBatch:
    """A batch and its targets after augmentation (fields left None were not given).

    ``boxes`` are (B, N, 4) xyxy in pixel-edge coordinates with ``box_valid`` (B, N) marking the
    boxes still in the image; ``keypoints`` are (B, K, 2) (x, y) at pixel centres with
    ``keypoint_visible`` (B, K).
    """

    images: Tensor
    masks: Tensor | None = None
    boxes: Tensor | None = None
    box_valid: Tensor | None = None
    keypoints: Tensor | None = None
    keypoint_visible: Tensor | None = None

    def __iter__(self) -> Iterator[Tensor | None]:
        return (getattr(self, f.name) for f in fields(self))


class _Container(Transform):
    """Shared parts of OneOf and RandomApply: children of one kind."""

    def __init__(self, transforms: Sequence[Transform], p: float) -> None:
        super().__init__(p)
        transforms = list(transforms)
        if not transforms or not all(isinstance(t, Transform) for t in transforms):
            raise InvalidTypeError(f"{type(self).__name__} needs a non-empty list of datafix.augment "
                                   f"transforms; got {transforms!r}.")
        kinds = {t.kind for t in transforms}
        if len(kinds) > 1:
            raise InvalidInputError(f"{type(self).__name__} mixes geometric and colour transforms; put each "
                                    "kind in its own container.")
        self.kind = kinds.pop()
        self.exact = all(getattr(t, "exact", False) for t in transforms)
        self.transforms = nn.ModuleList(transforms)

    def children_transforms(self) -> list[Transform]:
        return list(self.transforms)

    def apply(self, images: Tensor, params: dict[str, Any]) -> Tensor:
        for t, p in zip(self.transforms, params["children"], strict=True):
            images = t.apply(images, p)
        return images

    @property
    def has_image_path(self) -> bool:
        return self.kind == "color" and all(t.has_image_path for t in self.transforms)

    @property
    def image_out_float(self) -> bool:
        return any(getattr(t, "image_out_float", False) for t in self.transforms)

    def apply_image(self, image: Any, params: dict[str, Any]) -> Any:
        for t, p in zip(self.transforms, params["children"], strict=True):
            image = t.apply_image(image, p)
        return image

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        sizes = {t.output_size(size) for t in self.transforms}
        if len(sizes) > 1:
            raise InvalidInputError(f"{type(self).__name__} children give different output sizes {sorted(sizes)}.")
        return sizes.pop()

    def extra_repr(self) -> str:
        return f"p={self.p}"


class OneOf(_Container):
    """Apply one transform, chosen uniformly per sample, with probability ``p``.

    Parameters
    ----------
    transforms : sequence of Transform
        The candidates; each sample draws one of them uniformly.
    p : float, default 1.0
        Share of samples that get one (the others pass unchanged).

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import OneOf, HorizontalFlip, VerticalFlip
    >>> aug = OneOf([HorizontalFlip(p=1.0), VerticalFlip(p=1.0)], p=1.0)
    >>> aug(torch.rand(4, 3, 8, 8)).shape
    torch.Size([4, 3, 8, 8])
    """

    slots = 2

    def __init__(self, transforms: Sequence[Transform], p: float = 1.0) -> None:
        super().__init__(transforms, p)

    def _choices(self, draw: Draw, active: Tensor | None) -> list[Tensor]:
        u = draw.uniform(self, self.slots)
        gate = applied(u[:, 0], self.p, active)
        choice = torch.clamp((u[:, 1] * len(self.transforms)).long(), max=len(self.transforms) - 1)
        return [gate & (choice == i) for i in range(len(self.transforms))]

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        m = identity(draw.batch, draw.device)
        for t, chosen in zip(self.transforms, self._choices(draw, active), strict=True):
            m = t.matrices(draw, size, chosen) @ m
        return m

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> dict[str, Any]:
        chosen = self._choices(draw, active)
        return {"children": [t.params(draw, shape, c) for t, c in zip(self.transforms, chosen, strict=True)]}


class RandomApply(_Container):
    """Apply a sequence of transforms together to a share ``p`` of the samples.

    Parameters
    ----------
    transforms : sequence of Transform
        Applied together, in order, to the chosen samples.
    p : float, default 0.5
        Per-sample probability of applying them.

    Examples
    --------
    >>> import torch
    >>> from datafix.augment import RandomApply, ColorJitter, RandomGrayscale
    >>> aug = RandomApply([ColorJitter(brightness=0.4), RandomGrayscale(p=1.0)], p=0.8)
    >>> aug(torch.rand(4, 3, 8, 8)).shape
    torch.Size([4, 3, 8, 8])
    """

    slots = 1

    def __init__(self, transforms: Sequence[Transform], p: float = 0.5) -> None:
        super().__init__(transforms, p)

    def _gate(self, draw: Draw, active: Tensor | None) -> Tensor:
        return applied(draw.uniform(self, 1)[:, 0], self.p, active)

    def matrices(self, draw: Draw, size: tuple[int, int], active: Tensor | None) -> Tensor:
        gate = self._gate(draw, active)
        m = identity(draw.batch, draw.device)
        for t in self.transforms:
            m = t.matrices(draw, size, gate) @ m
            size = t.output_size(size)
        return m

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        for t in self.transforms:
            size = t.output_size(size)
        return size

    def params(self, draw: Draw, shape: tuple[int, ...], active: Tensor | None) -> dict[str, Any]:
        gate = self._gate(draw, active)
        return {"children": [t.params(draw, shape, gate) for t in self.transforms]}


def _walk(transforms: Sequence[Transform]) -> Iterator[Transform]:
    for t in transforms:
        yield t
        yield from _walk(t.children_transforms())


class Compose(nn.Module):
    """A batch augmentation pipeline with per-sample random parameters, on the batch's device.

    Parameters
    ----------
    transforms : sequence of Transform
        Applied in order. Neighbouring geometric transforms are fused into one resampling pass.
        ``Normalize`` may only be last.
    output_dtype : torch.dtype, default torch.float32
        Dtype of the output images (``torch.bfloat16`` and ``torch.float16`` work too); the work is
        done in float32. ``torch.uint8`` gives levels 0-255 (rounded), as torchvision's policies
        return for uint8 input: a quarter of float32's bytes, for pipelines without ``Normalize``.
    seed : int or None, default None
        Keys the draws: with ``sample_ids`` on (seed, epoch, id); without, on (seed, call number,
        position in the batch), so two pipelines with one seed give the same sequence, on any
        device. None takes each call's key from torch's global generator.
    generator : torch.Generator or None
        Each call's key is drawn from it instead (its stream advances one draw per call; a CUDA
        generator costs one host synchronisation per call).
    padding_mode : {"zeros", "border", "reflection"}, default "zeros"
        What a geometric transform shows outside the source image.
    backend : {"auto", "torch", "opencv"}, default "auto"
        How a CPU batch is processed. "opencv" runs the leading stages image by image with
        OpenCV and albumentations kernels over a thread pool; "torch" runs batched torch ops
        (the reference, and the only path on CUDA). "auto" takes the per-image path for CPU
        images of at least 96 x 96 pixels that need no gradient (13x faster than batched torch
        at 224 x 224 on 2 cores, where every batched op streams 150 MB through memory; the
        policies and tone ops run there as OpenCV kernels on uint8 images, 7-9x their batched
        torch) and batched torch for smaller images (3.8x faster at 32 x 32, where per-image
        call overhead dominates); see docs/benchmarks.md. On CUDA, "auto" runs eligible
        pipelines (geometry, then {fused_ops}, each at most once, in that order) as one fused
        Triton kernel when Triton is installed, and batched torch otherwise; "triton" forces the
        fused kernel (also on a CPU under ``TRITON_INTERPRET=1``, for testing). A
        plain call on that path draws every parameter inside the kernel (same numbers as the
        torch path, sample by sample): one launch, two torch operations, nothing per transform.
        With ``sample_ids`` such a call can be captured in a CUDA graph (``torch.cuda.graph``;
        static images and ids, ``validate=False``; the epoch is baked in, so capture per epoch).
    box_min_visibility : float, default 0.0
        A box stays valid when at least this share of its moved area is inside the image.
    memory_format : torch.memory_format or None
        For example ``torch.channels_last`` for the output.
    validate : bool, default True
        Check float images for NaN and the [0, 1] range (one host synchronisation per batch).
    untranslated : sequence of str, default ()
        What a translation from another library could not carry over (set by
        :func:`~datafix.augment.from_albumentations`), for the user to read.

    Notes
    -----
    Calling a Compose returns the augmented images (a Tensor). :meth:`with_targets` returns an
    :class:`AugmentedBatch` (images with masks, boxes and keypoints moved alike). :meth:`draw`
    gives the parameters of one call and :meth:`apply` replays them, on these images or others
    of the same batch size and shape (as kornia's ``params=``).

    Examples
    --------
    >>> import torch
    >>> from datafix import augment as A
    >>> aug = A.Compose([A.RandomResizedCrop(24), A.HorizontalFlip(), A.Affine(degrees=15),
    ...                  A.ColorJitter(0.4, 0.4, 0.4, 0.1), A.RandomErasing(p=0.25),
    ...                  A.Normalize()], seed=0)
    >>> images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    >>> out = aug(images)
    >>> out.shape, out.dtype
    (torch.Size([16, 3, 24, 24]), torch.float32)
    >>> boxes = torch.tensor([[[4.0, 4.0, 20.0, 20.0]]]).repeat(16, 1, 1)
    >>> batch = aug.with_targets(images, boxes=boxes)
    >>> batch.boxes.shape, batch.box_valid.shape
    (torch.Size([16, 1, 4]), torch.Size([16, 1]))
    """

    def __init__(self, transforms: Sequence[Transform], *, output_dtype: torch.dtype = torch.float32,
                 seed: int | None = None, generator: torch.Generator | None = None,
                 padding_mode: str = "zeros", backend: str = "auto", box_min_visibility: float = 0.0,
                 memory_format: torch.memory_format | None = None, validate: bool = True,
                 untranslated: Sequence[str] = ()) -> None:
        super().__init__()
        transforms = list(transforms)
        bad = [t for t in transforms if not isinstance(t, Transform)]
        if bad:
            raise InvalidTypeError(f"The 'transforms' argument must hold datafix.augment transforms; got "
                                   f"{type(bad[0]).__name__} (albumentations pipelines: use "
                                   "datafix.augment.from_albumentations).")
        last_only = [i for i, t in enumerate(transforms) if getattr(t, "last_only", False)]
        if last_only and last_only[0] != len(transforms) - 1:
            name = type(transforms[last_only[0]]).__name__
            raise InvalidInputError(f"{name} must be the last transform of a Compose (later steps expect "
                                    "images in [0, 1]).")
        if output_dtype not in (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8):
            raise InvalidInputError(f"The 'output_dtype' parameter must be a float dtype or torch.uint8; got "
                                    f"{output_dtype}.")
        if output_dtype == torch.uint8 and last_only:
            raise InvalidInputError(f"output_dtype=torch.uint8 holds levels 0-255, which "
                                    f"{type(transforms[-1]).__name__}'s output is not: drop it from the Compose "
                                    "(normalise after the cast to float) or keep a float output_dtype.")
        seed = None if seed is None else check_int(seed, "seed", minimum=0)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise InvalidTypeError(f"The 'generator' parameter must be a torch.Generator; got "
                                   f"{type(generator).__name__}.")
        if not 0.0 <= box_min_visibility <= 1.0:
            raise InvalidInputError(f"The 'box_min_visibility' parameter must be in [0, 1]; got {box_min_visibility}.")
        self.transforms = nn.ModuleList(transforms)
        self.output_dtype = output_dtype
        self.padding_mode = check_choice(padding_mode, "padding_mode", PADDING_MODES)
        self.backend = check_choice(backend, "backend", BACKENDS)
        self.box_min_visibility = float(box_min_visibility)
        self.memory_format = memory_format
        self.validate = bool(validate)
        self.source = RandomSource(seed, generator)
        self.epoch = 0
        self.untranslated = list(untranslated)
        self._tables: dict[str, tuple[Any, Tensor]] = {}  # the kernel plan's constants, per device

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that keys the draws when ``sample_ids`` are passed."""
        self.epoch = int(epoch)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (DataLoader workers, copies) without the kernel tables: they may sit on a GPU the
        receiver cannot reach, and the next call remakes them."""
        state = self.__dict__.copy()
        state["_tables"] = {}
        return state

    def forward(self, images: Tensor, *, sample_ids: Tensor | None = None) -> Tensor:
        """Augment a batch and return the images (B, C, H', W'), float.

        Parameters
        ----------
        images : Tensor
            (B, C, H, W), uint8 (0-255) or float (0-1).
        sample_ids : Tensor, optional
            (B,) ints (dataset indices): draws are then keyed on (seed, epoch, id), so a sample's
            augmentation does not depend on the batch it is in.

        Masks, boxes and keypoints go through :meth:`with_targets`, which returns an
        :class:`AugmentedBatch`.
        """
        out = self._drawn_in_kernel(images, sample_ids)
        if out is not None:
            return out
        return self.apply(images, self.draw(images, sample_ids=sample_ids))

    def _drawn_in_kernel(self, images: Tensor, sample_ids: Tensor | None) -> Tensor | None:
        """The call on the draw-in-kernel path (one fused launch, parameters drawn inside it), or
        None when this batch or pipeline does not take it. Same draws as :meth:`draw`."""
        if self.backend not in ("auto", "triton") or not _fused.available() or self.output_dtype == torch.uint8:
            return None
        x = check_images(images)
        if (self.backend == "auto" and not x.is_cuda) or x.requires_grad or x.dtype not in (torch.uint8,
                                                                                             torch.float32):
            return None
        check_batch(sample_ids, "sample_ids", x.shape[0], (1,))
        plan = _kernel_draws.plan(list(self.transforms), self._keys(), tuple(x.shape))
        if plan is None:
            return None
        if self.validate:
            check_values(x)
        cached = self._tables.get(str(x.device))
        if cached is None or cached[0] != plan.rows:
            cached = (plan.rows, torch.tensor(plan.rows, dtype=torch.float32, device=x.device))
            self._tables[str(x.device)] = cached
        ids = None if sample_ids is None else sample_ids.to(x.device, torch.int64)
        # (seed, epoch or call key); the kernel adds each transform's key, as Draw does
        key = scalar_key(self.source.seed or 0, self._epoch_key(sample_ids))
        return _fused.run_drawn(x, plan, cached[1], ids, key, self.output_dtype, self.memory_format)

    def with_targets(self, images: Tensor, *, masks: Tensor | None = None, boxes: Tensor | None = None,
                     box_valid: Tensor | None = None, keypoints: Tensor | None = None,
                     keypoint_visible: Tensor | None = None, sample_ids: Tensor | None = None) -> AugmentedBatch:
        """Augment a batch and move its targets with the same per-sample geometry.

        Parameters
        ----------
        images : Tensor
            (B, C, H, W), uint8 (0-255) or float (0-1).
        masks : Tensor, optional
            (B, H, W) or (B, M, H, W) label maps, any dtype; resampled by nearest neighbour.
        boxes : Tensor, optional
            (B, N, 4) xyxy boxes in pixel-edge coordinates (pad with anything and mark by
            ``box_valid``).
        box_valid : Tensor, optional
            (B, N) bool; default all True.
        keypoints : Tensor, optional
            (B, K, 2) (x, y) at pixel centres.
        keypoint_visible : Tensor, optional
            (B, K) bool; default all True.
        sample_ids : Tensor, optional
            As in :meth:`forward`.

        Returns
        -------
        AugmentedBatch
        """
        x = check_images(images)
        batch = x.shape[0]
        check_batch(masks, "masks", batch, (3, 4))
        check_batch(boxes, "boxes", batch, (3,), last=4)
        check_batch(box_valid, "box_valid", batch, (2,))
        check_batch(keypoints, "keypoints", batch, (3,), last=2)
        check_batch(keypoint_visible, "keypoint_visible", batch, (2,))
        mask_2d = masks is not None and masks.ndim == 3
        if masks is not None:
            masks = masks[:, None] if mask_2d else masks
            if masks.shape[-2:] != x.shape[-2:]:
                raise InvalidInputError(f"The 'masks' argument has size {tuple(masks.shape[-2:])} but the images "
                                        f"are {tuple(x.shape[-2:])}.")
        if boxes is not None and box_valid is None:
            box_valid = torch.ones(boxes.shape[:2], dtype=torch.bool, device=boxes.device)
        if keypoints is not None and keypoint_visible is None:
            keypoint_visible = torch.ones(keypoints.shape[:2], dtype=torch.bool, device=keypoints.device)
        stages = self.draw(x, sample_ids=sample_ids)
        for stage in stages:
            if isinstance(stage, GeometryStage):
                if masks is not None:
                    masks = _warp.warp_nearest(masks, stage.inverse, stage.size)
                if boxes is not None:
                    boxes, box_valid = _warp.warp_boxes(boxes, box_valid, stage.matrices, stage.size,
                                                        self.box_min_visibility)
                if keypoints is not None:
                    keypoints, keypoint_visible = _warp.warp_keypoints(keypoints, keypoint_visible, stage.matrices,
                                                                       stage.size)
        out = self.apply(x, stages)
        if masks is not None and mask_2d:
            masks = masks[:, 0]
        return AugmentedBatch(out, masks, boxes, box_valid, keypoints, keypoint_visible)

    def draw(self, images: Tensor, *, sample_ids: Tensor | None = None) -> list[Stage]:
        """The parameters of one call on ``images``: a list of stages to pass to :meth:`apply`.

        Draws advance the pipeline's random stream as a call does (unless ``sample_ids`` key
        them). Geometric runs are fused into one ``GeometryStage`` each.
        """
        x = check_images(images)
        batch = x.shape[0]
        check_batch(sample_ids, "sample_ids", batch, (1,))
        epoch = self._epoch_key(sample_ids)
        if sample_ids is None:  # keyed on the position in the batch (and a fresh call key)
            sample_ids = torch.arange(batch, device=x.device)
        draw = Draw(self.source, batch, x.device, self._keys(), sample_ids, epoch)
        size = (x.shape[2], x.shape[3])
        stages: list[Stage] = []
        for segment in self._segments():
            if segment[0].kind == "geometry":
                m = identity(batch, x.device)
                exact = True
                for t in segment:
                    m = t.matrices(draw, size, None) @ m
                    size = t.output_size(size)
                    exact = exact and getattr(t, "exact", False)
                stages.append(GeometryStage(m, size, exact, _warp.invert(m)))
            else:
                (t,) = segment
                stages.append(ColorStage(t, t.params(draw, (batch, x.shape[1], *size), None)))
        return stages

    def apply(self, images: Tensor, stages: list[Stage]) -> Tensor:
        """Run drawn ``stages`` (from :meth:`draw`) on ``images``; the same stages give the same output."""
        x = check_images(images)
        if self.validate:
            check_values(x)
        if self._fused(x, stages):
            x = _fused.run(x, stages, self.output_dtype, self.memory_format)
            stages = []
        done = 0
        if stages and self._per_image(x):
            while done < len(stages) and (isinstance(stages[done], GeometryStage)
                                          or stages[done].transform.has_image_path):
                done += 1
            if done:
                x = _per_image.run(x, stages[:done], self.padding_mode,
                                   torch.uint8 if done == len(stages) and self.output_dtype == torch.uint8 else None)
        for stage in stages[done:]:
            if isinstance(stage, GeometryStage):
                x = self._warp(x, stage)
            else:
                x = stage.transform.apply(_warp.to_float(x), stage.params)
        x = _warp.to_output(x, self.output_dtype)
        if self.memory_format is not None:
            x = x.contiguous(memory_format=self.memory_format)
        return x

    def _epoch_key(self, sample_ids: Tensor | None) -> int:
        """What keys this call beside the seed: the epoch with ``sample_ids``, else a fresh call key.
        The torch path and the kernel both take it from here, so they draw the same numbers."""
        return self.epoch if sample_ids is not None else self.source.call_key()

    def _keys(self) -> dict[int, int]:
        """Each transform's key: its place in the pipeline, containers' children included."""
        return {id(t): i for i, t in enumerate(_walk(list(self.transforms)))}  # ids change with copies

    def _segments(self) -> list[list[Transform]]:
        """Runs of neighbouring geometric transforms (fused), and colour transforms one by one."""
        segments: list[list[Transform]] = []
        for t in self.transforms:
            if t.kind == "geometry" and segments and segments[-1][0].kind == "geometry":
                segments[-1].append(t)
            else:
                segments.append([t])
        return segments

    def _fused(self, x: Tensor, stages: list[Stage]) -> bool:
        """Whether this batch takes the fused Triton kernel."""
        if self.backend == "triton":
            if not _fused.available():
                raise InvalidInputError("backend='triton' needs Triton (it comes with CUDA builds of torch).")
            if not _fused.eligible(stages, x) or self.output_dtype == torch.uint8:
                raise InvalidInputError(f"backend='triton' covers geometry then {_fused_ops.FUSED_OPS.order} (in that "
                                        "order, 3 channels, no gradient, a float output_dtype); this pipeline "
                                        "needs backend='torch'.")
            return True
        return (self.backend == "auto" and x.is_cuda and _fused.available() and _fused.eligible(stages, x)
                and self.output_dtype != torch.uint8)

    def _per_image(self, x: Tensor) -> bool:
        """Whether this batch takes the CPU per-image path (OpenCV and albumentations kernels)."""
        if self.backend == "opencv" and x.device.type != "cpu":
            raise InvalidInputError("backend='opencv' needs CPU tensors; the batch is on "
                                    f"{x.device}. Use backend='auto' or 'torch'.")
        big = x.shape[2] * x.shape[3] >= PER_IMAGE_MIN_PIXELS
        return (self.backend == "opencv" or (self.backend == "auto" and x.device.type == "cpu" and big)) and \
            not x.requires_grad and x.dtype in (torch.uint8, torch.float32)

    def _warp(self, x: Tensor, stage: GeometryStage) -> Tensor:
        """One geometry stage on the batch."""
        if stage.exact:
            return _warp.warp_exact(x, stage.inverse, stage.size)
        if self._per_image(x):
            return _per_image.run(x, [stage], self.padding_mode)
        return _warp.warp_torch(x, stage.inverse, stage.size, self.padding_mode)


base.RUN_ALONE[0] = lambda transform: Compose([transform])  # a transform called alone: a one-step Compose


# the fused kernel's colour ops, named from their descriptors (datafix.augment._fused_ops)
Compose.__doc__ = (Compose.__doc__ or "").replace("{fused_ops}", _fused_ops.FUSED_OPS.order)
