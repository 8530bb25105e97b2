"""Per-sample batch augmentation throughput: datafix vs kornia vs torchvision v2 vs albumentations.

One pipeline (random resized crop, horizontal flip, affine, colour jitter, random erasing,
normalise), uint8 images in, float out, in one run for every library, at 224 x 224 with B = 256
and at 32 x 32 with B = 1024. kornia draws parameters per sample (``same_on_batch=False``);
torchvision v2 draws ONE set of parameters per batch call (a lighter job, noted in the table);
albumentations runs per image in this process.

kornia and torchvision are not datafix dependencies; install them into the environment that runs
this (``pip install kornia torchvision``; on this machine a separate venv, see docs/benchmarks.md).

    python benchmarks/augment.py                 # CPU: every library, both sizes
    python benchmarks/augment.py --device cuda   # GPU: CUDA-event timing (albumentations stays on CPU)
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import albumentations as alb
import numpy as np
import torch

from _docs import write_section
from datafix import augment as A
from datafix.augment.compose import PER_IMAGE_MIN_PIXELS

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def datafix_pipeline(size: int, backend: str, **options: object) -> Callable[[torch.Tensor], torch.Tensor]:
    return A.Compose([A.RandomResizedCrop(size, scale=(0.25, 1.0)), A.HorizontalFlip(),
                      A.Affine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
                      A.ColorJitter(0.4, 0.4, 0.4, 0.1), A.RandomErasing(p=0.25), A.Normalize(MEAN, STD)],
                     seed=0, backend=backend, validate=False, **options)


def kornia_pipeline(size: int, device: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    try:
        import kornia.augmentation as K
    except ImportError:
        return None
    aug = K.AugmentationSequential(
        K.RandomResizedCrop((size, size), scale=(0.25, 1.0)), K.RandomHorizontalFlip(),
        K.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1), p=1.0),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0), K.RandomErasing(p=0.25),
        K.Normalize(mean=torch.tensor(MEAN), std=torch.tensor(STD)), same_on_batch=False).to(device)
    return lambda x: aug(x.float().div_(255))  # kornia takes float images only


def torchvision_pipeline(size: int) -> Callable[[torch.Tensor], torch.Tensor] | None:
    try:
        from torchvision.transforms import v2
    except ImportError:
        return None
    return v2.Compose([v2.RandomResizedCrop(size, scale=(0.25, 1.0), antialias=False), v2.RandomHorizontalFlip(),
                       v2.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
                       v2.ColorJitter(0.4, 0.4, 0.4, 0.1), v2.RandomErasing(p=0.25),
                       v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)])


def albumentations_pipeline(size: int) -> Callable[[np.ndarray], np.ndarray]:
    aug = alb.Compose([alb.RandomResizedCrop((size, size), scale=(0.25, 1.0)), alb.HorizontalFlip(),
                       alb.Affine(rotate=(-15, 15), translate_percent=(-0.1, 0.1), scale=(0.9, 1.1), p=1.0),
                       alb.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0), alb.Erasing(p=0.25), alb.Normalize(MEAN, STD)])
    return lambda batch: np.stack([aug(image=img)["image"] for img in batch])


CALLS_PER_TIMING = 20  # on a GPU: back-to-back calls between two events, as a training loop issues them


def time_torch(fn: Callable[..., object], x: torch.Tensor | np.ndarray, repeats: int) -> float:
    """Median seconds per call, after one warm-up call. On a GPU: CUDA events around
    ``CALLS_PER_TIMING`` back-to-back calls (the host may run ahead, as in training), per call."""
    fn(x)
    times = []
    for _ in range(repeats):
        if isinstance(x, torch.Tensor) and x.is_cuda:
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(CALLS_PER_TIMING):
                fn(x)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1000 / CALLS_PER_TIMING)
        else:
            t = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(size: int, batch: int, device: str, repeats: int) -> list[tuple[str, float, str]]:
    gen = torch.Generator().manual_seed(0)
    source = int(size * 8 / 7)  # crops are taken from a slightly larger image
    x_cpu = torch.randint(0, 256, (batch, 3, source, source), dtype=torch.uint8, generator=gen)
    x = x_cpu.to(device)
    rows: list[tuple[str, float, str]] = []
    if device == "cpu":
        per_image = x.shape[2] * x.shape[3] >= PER_IMAGE_MIN_PIXELS
        auto, other = ("per-image OpenCV", "batched torch") if per_image else ("batched torch", "per-image OpenCV")
        rows.append((f"datafix, default (auto: {auto} path)", time_torch(datafix_pipeline(size, "auto"), x, repeats),
                     "per sample"))
        rows.append((f"datafix, forced {other} path",
                     time_torch(datafix_pipeline(size, "torch" if per_image else "opencv"), x, 1), "per sample"))
    else:  # the default (auto: one fused Triton launch, parameters drawn in it), its variants, the torch path
        rows.append(("datafix, default (auto: drawn in the fused kernel)",
                     time_torch(datafix_pipeline(size, "auto"), x, repeats), "per sample"))
        rows.append(("datafix, bfloat16 output", time_torch(datafix_pipeline(size, "auto", output_dtype=torch.bfloat16),
                                                            x, repeats), "per sample"))
        rows.append(("datafix, bfloat16 channels_last output",
                     time_torch(datafix_pipeline(size, "auto", output_dtype=torch.bfloat16,
                                                 memory_format=torch.channels_last), x, repeats), "per sample"))
        replay = datafix_pipeline(size, "auto")
        rows.append(("datafix, parameters drawn on the host (draw + apply)",
                     time_torch(lambda images: replay.apply(images, replay.draw(images)), x, repeats), "per sample"))
        rows.append(("datafix, forced torch path", time_torch(datafix_pipeline(size, "torch"), x, repeats),
                     "per sample"))
    kornia = kornia_pipeline(size, device)
    if kornia is not None:
        rows.append(("kornia AugmentationSequential", time_torch(kornia, x, 1 if device == "cpu" else repeats),
                     "per sample"))
    tv = torchvision_pipeline(size)
    if tv is not None:
        rows.append(("torchvision v2", time_torch(tv, x, repeats), "per batch (one draw per call)"))
    images = x_cpu.permute(0, 2, 3, 1).numpy()
    albu = albumentations_pipeline(size)
    rows.append(("albumentations, per image, 1 process", time_torch(albu, images, repeats), "per sample"))
    return [(name, batch / seconds, kind) for name, seconds, kind in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.machine()} CPU"
    lines = [f"## Batch augmentation throughput ({args.device})", "",
             "One pipeline (random resized crop, horizontal flip, affine, colour jitter, random erasing p=0.25, "
             "normalise), uint8 in, float32 out, median of the timed calls after a warm-up"
             + (f" (on CUDA: events around {CALLS_PER_TIMING} back-to-back calls, per call). " if args.device == "cuda"
                else ". ") +
             f"Machine: {device_name}, {torch.get_num_threads()} torch threads, torch {torch.__version__}. "
             f"Command: `python benchmarks/augment.py --device {args.device}` in a venv with kornia and "
             "torchvision (here `/work/benchvenv`: torch 2.14.1, torchvision 0.29.1, kornia 0.9.0, "
             "albumentations 2.0.8).", "",
             "| size | batch | library | images/s | parameters |", "|---|---|---|---|---|"]
    shapes = ((224, 256), (32, 1024)) if args.device == "cpu" else ((224, 256), (224, 1024), (32, 1024))
    for size, batch in shapes:
        results = run(size, batch, args.device, args.repeats)
        for name, rate, kind in results:
            lines.append(f"| {size} | {batch} | {name} | {rate:,.0f} | {kind} |")
            print(f"{size:>4} {batch:>5}  {name:<42} {rate:>12,.0f} img/s  ({kind})")
        ours = results[0][1]
        for name, rate, _ in results[1:]:
            print(f"          datafix / {name}: {ours / rate:.1f}x")
    if args.device == "cpu":
        lines += ["", "On a CPU datafix takes, by default, the per-image path for images of 96 x 96 pixels or more: "
                  "the batch's parameters are drawn once (as on a GPU), then each image is warped once by OpenCV "
                  "and coloured by albumentations' kernels while it sits in cache, over a thread pool. Batched "
                  "torch (the reference path, and kornia's and torchvision's way) streams every intermediate "
                  "float batch (150 MB at 224 x 224, B = 256) through memory for each op, and `grid_sample` "
                  "builds a float grid per pixel. Below 96 x 96 the per-image call overhead dominates and batched "
                  "torch is faster, so `auto` takes it. Numbers on this shared 2-core machine vary by about 25 % "
                  "between runs."]
    if not args.no_write:
        write_section(f"augment_{args.device}", "\n".join(lines))


if __name__ == "__main__":
    main()
