"""End-to-end input pipeline: an image folder of real JPEGs to augmented float batches (issue 20, item 3).

A folder of 224 x 224 JPEGs (quality 90) cut from scikit-learn's two sample photos (china.jpg,
flower.jpg: random crops at random scales, 10 class folders), then one pass over it, images/s:

- torchvision: ``ImageFolder`` (PIL decoding) + v2 transforms per image (RandomResizedCrop(224),
  horizontal flip, ColorJitter(0.4, 0.4, 0.4, 0.1), to float, Normalize) + ``DataLoader(num_workers)``;
- datafix: :class:`datafix.augment.ImageFileLoader` with the same ``num_workers`` (PIL decoding in
  the workers on a CPU; on CUDA the JPEG bytes go to nvJPEG) and the same pipeline as a
  :class:`~datafix.augment.Compose` on each batch (per sample draws, keyed by file index).

Median of ``--repeats`` passes after one warm-up pass. Needs torchvision importable (on the dev
machine: the shim described in docs/benchmarks.md).

    python benchmarks/decode_loader.py [--n 2000] [--workers 2] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_sample_images

from _stats import throughput
from datafix import augment as A

SIZE = 224


def write_folder(root: Path, n: int, seed: int = 0) -> None:
    """``n`` JPEG crops of the sample photos in 10 class folders."""
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(p) for p in load_sample_images().images]
    for k in range(n):
        photo = photos[k % 2]
        scale = rng.uniform(0.55, 1.0)
        small = photo.resize((int(photo.width * scale), int(photo.height * scale)), Image.BILINEAR)
        x, y = rng.integers(0, small.width - SIZE), rng.integers(0, small.height - SIZE)
        folder = root / f"class{k % 10}"
        folder.mkdir(exist_ok=True)
        small.crop((x, y, x + SIZE, y + SIZE)).save(folder / f"{k:05d}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from torchvision import datasets
    from torchvision.transforms import v2

    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_folder(root, args.n)
        theirs = v2.Compose([v2.PILToTensor(), v2.RandomResizedCrop(SIZE), v2.RandomHorizontalFlip(),
                             v2.ColorJitter(0.4, 0.4, 0.4, 0.1), v2.ToDtype(torch.float32, scale=True),
                             v2.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
        tv_loader = torch.utils.data.DataLoader(datasets.ImageFolder(root, transform=theirs), batch_size=args.batch,
                                                num_workers=args.workers, persistent_workers=args.workers > 0)

        def torchvision_epoch() -> None:
            for images, _ in tv_loader:
                images.to(device, non_blocking=True)
            if device.type == "cuda":
                torch.cuda.synchronize()

        ours = A.Compose([A.RandomResizedCrop(SIZE), A.HorizontalFlip(), A.ColorJitter(0.4, 0.4, 0.4, 0.1),
                          A.Normalize()], seed=0, validate=False)
        rows = [("torchvision ImageFolder + v2, per image in workers", throughput(torchvision_epoch, args.n, args.repeats))]
        for decode in (("gpu", "cpu") if device.type == "cuda" else ("cpu",)):
            loader = A.ImageFileLoader(root, size=SIZE, batch_size=args.batch, transform=ours, device=device,
                                       num_workers=args.workers, decode=decode)

            def datafix_epoch(loader=loader) -> None:
                for _ in loader:
                    pass
                if device.type == "cuda":
                    torch.cuda.synchronize()

            rows.append((f"datafix ImageFileLoader, decode={decode}", throughput(datafix_epoch, args.n, args.repeats)))
    print(f"{args.n} JPEGs {SIZE} x {SIZE}, batch {args.batch}, {args.workers} workers, device {device}, "
          f"{torch.get_num_threads()} torch threads")
    for label, rate in rows:
        print(f"  {label:<55} {rate:>9,.0f} img/s  ({rate / rows[0][1]:.2f}x torchvision)")


if __name__ == "__main__":
    main()
