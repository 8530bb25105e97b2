"""RandAugment and TrivialAugmentWide throughput: datafix's per-sample batched policies vs torchvision (issue 18, benchmark 4).

The same policy settings (RandAugment 2 ops at magnitude 9 of 31 bins; TrivialAugmentWide 31 bins),
uint8 images in, on this CPU:

- datafix: ``Compose([policy])`` on the whole batch, every sample drawing its own ops and magnitudes
  (float32 out);
- torchvision per image in DataLoader workers (``num_workers`` = the cores datafix uses; each
  worker one thread, as DataLoader sets it), the way torchvision's policies are meant to run;
- torchvision per image in this process;
- torchvision on the whole batch (ONE draw for the batch: a lighter job).

Needs torchvision importable (``pip install torchvision``; torchvision's PyPI wheel is a CUDA build that
does not load beside this project's CPU torch, so on the dev machine it ran with a shim that defines the
two ops torchvision registers fakes for, see docs/benchmarks.md).

    python benchmarks/policy_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torchvision.transforms import v2

from datafix import augment as A


class _Images(torch.utils.data.Dataset):
    def __init__(self, images: torch.Tensor, policy) -> None:
        self.images, self.policy = images, policy

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.policy(self.images[i])


def _rate(fn, n_images: int, repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n_images / statistics.median(times)


def run(name: str, ours, theirs, size: int, batch: int, threads: int) -> list[tuple[str, float]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=g)
    aug = A.Compose([ours], seed=0, validate=False)
    # the batch split into 4 loader batches, so every worker has work; workers stay up between timings
    loader = torch.utils.data.DataLoader(_Images(x, theirs), batch_size=batch // 4, num_workers=threads,
                                         persistent_workers=True)
    rows = [(f"datafix {name}, per sample, batched", _rate(lambda: aug(x), batch)),
            (f"torchvision {name}, per image, {threads} DataLoader workers", _rate(lambda: list(loader), batch)),
            (f"torchvision {name}, per image, this process", _rate(lambda: [theirs(img) for img in x], batch)),
            (f"torchvision {name}, whole batch (one draw)", _rate(lambda: theirs(x), batch))]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for size, batch in ((32, 256), (224, 64)):
        for name, ours, theirs in (("RandAugment", A.RandAugment(num_ops=2, magnitude=9), v2.RandAugment(2, 9)),
                                   ("TrivialAugmentWide", A.TrivialAugmentWide(), v2.TrivialAugmentWide())):
            rows = run(name, ours, theirs, size, batch, args.threads)
            for label, rate in rows:
                print(f"{size:>4} {batch:>4}  {label:<60} {rate:>10,.0f} img/s", flush=True)
            print(f"           datafix / torchvision per image in workers: {rows[0][1] / rows[1][1]:.1f}x; "
                  f"/ whole batch: {rows[0][1] / rows[3][1]:.1f}x", flush=True)


if __name__ == "__main__":
    main()
