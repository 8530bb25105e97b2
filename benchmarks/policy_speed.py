"""RandAugment and TrivialAugmentWide throughput: datafix's per-sample batched policies vs torchvision (issue 18, benchmark 4).

The same policy settings (RandAugment 2 ops at magnitude 9 of 31 bins; TrivialAugmentWide 31 bins),
uint8 images in (random crops of scikit-learn's two sample photos, resized), on this CPU:

- datafix: ``Compose([policy])`` on the whole batch, every sample drawing its own ops and magnitudes
  (float32 out);
- torchvision per image in DataLoader workers (``num_workers`` = the cores datafix uses; each
  worker one thread, as DataLoader sets it), the way torchvision's policies are meant to run, on
  uint8 tensors and on PIL images (PIL's C ops, then ``pil_to_tensor``; the faster of the two is
  the comparison);
- torchvision per image in this process (both kinds);
- torchvision on the whole batch (ONE draw for the batch: a lighter job);
- kornia's ``RandAugment(n=2, m=9)`` / ``TrivialAugment()`` on the batch (float in; kornia picks the ops once per call),
  when kornia is importable.

datafix runs its default path: at 224 x 224 the per-image OpenCV kernels over ``--threads``
threads, at 32 x 32 batched torch; "uint8 out" (``output_dtype=torch.uint8``) writes what
torchvision writes, "float32 out" four times the bytes.

Needs torchvision importable (``pip install torchvision``; torchvision's PyPI wheel is a CUDA build that
does not load beside this project's CPU torch, so on the dev machine it ran with a shim that defines the
two ops torchvision registers fakes for, see docs/benchmarks.md).

    python benchmarks/policy_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_sample_images
from torchvision.transforms import v2

from _stats import throughput
from datafix import augment as A


class _Images(torch.utils.data.Dataset):
    """One image per item through torchvision's policy: a uint8 tensor, or a PIL image (the classic
    torchvision way: PIL's C ops, then ``pil_to_tensor`` so the loader can stack the batch)."""

    def __init__(self, images: torch.Tensor, policy, pil: bool = False) -> None:
        self.policy, self.pil = policy, pil
        self.images = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in images] if pil else images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        out = self.policy(self.images[i])
        return v2.functional.pil_to_tensor(out) if self.pil else out


def photos(batch: int, size: int) -> torch.Tensor:
    """``batch`` real images: random crops of scikit-learn's two sample photos, resized to ``size``."""
    rng = np.random.default_rng(0)
    sources = load_sample_images().images
    out = []
    for k in range(batch):
        photo = sources[k % 2]
        side = int(rng.integers(160, 400))
        y, x = rng.integers(0, photo.shape[0] - side), rng.integers(0, photo.shape[1] - side)
        crop = Image.fromarray(photo[y:y + side, x:x + side]).resize((size, size), Image.BILINEAR)
        out.append(torch.from_numpy(np.asarray(crop).copy()).permute(2, 0, 1))
    return torch.stack(out).contiguous()


def run(name: str, ours, theirs, kornia_op, size: int, batch: int, threads: int) -> list[tuple[str, float]]:
    x = photos(batch, size)
    aug = A.Compose([ours], seed=0, validate=False)
    levels = A.Compose([ours], seed=0, validate=False, output_dtype=torch.uint8)
    # the batch split into 4 loader batches, so every worker has work; workers stay up between timings
    loaders = {pil: torch.utils.data.DataLoader(_Images(x, theirs, pil), batch_size=batch // 4, num_workers=threads,
                                                persistent_workers=True) for pil in (False, True)}
    in_process = {pil: _Images(x, theirs, pil) for pil in (False, True)}
    rows = [(f"datafix {name}, per sample, uint8 out", throughput(lambda: levels(x), batch)),
            (f"datafix {name}, per sample, float32 out", throughput(lambda: aug(x), batch)),
            (f"torchvision {name}, tensors, {threads} DataLoader workers", throughput(lambda: list(loaders[False]), batch)),
            (f"torchvision {name}, PIL images, {threads} DataLoader workers", throughput(lambda: list(loaders[True]), batch)),
            (f"torchvision {name}, tensors, this process",
             throughput(lambda: [in_process[False][i] for i in range(batch)], batch)),
            (f"torchvision {name}, PIL images, this process",
             throughput(lambda: [in_process[True][i] for i in range(batch)], batch)),
            (f"torchvision {name}, whole batch (one draw)", throughput(lambda: theirs(x), batch))]
    if kornia_op is not None:
        rows.append((f"kornia {name}, ops drawn once per batch (float in)",
                     throughput(lambda: kornia_op(x.to(torch.float32) / 255.0), batch)))
    return rows


def _kornia(name: str):
    try:
        from kornia.augmentation import auto
    except ImportError:
        return None
    return auto.RandAugment(n=2, m=9) if name == "RandAugment" else auto.TrivialAugment()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for size, batch in ((32, 256), (224, 64)):
        for name, ours, theirs in (("RandAugment", A.RandAugment(num_ops=2, magnitude=9), v2.RandAugment(2, 9)),
                                   ("TrivialAugmentWide", A.TrivialAugmentWide(), v2.TrivialAugmentWide())):
            rows = run(name, ours, theirs, _kornia(name), size, batch, args.threads)
            for label, rate in rows:
                print(f"{size:>4} {batch:>4}  {label:<60} {rate:>10,.0f} img/s", flush=True)
            best = max(rows[2][1], rows[3][1])  # torchvision's faster per-image path in workers
            print(f"           datafix (uint8 out, as torchvision's) / torchvision's faster per-image path in "
                  f"workers: {rows[0][1] / best:.1f}x; float32 out: {rows[1][1] / best:.1f}x; "
                  f"/ whole batch: {rows[0][1] / rows[6][1]:.1f}x"
                  + (f"; / kornia: {rows[0][1] / rows[7][1]:.1f}x" if len(rows) > 7 else ""), flush=True)


if __name__ == "__main__":
    main()
