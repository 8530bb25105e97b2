"""Does augmentation help a model trained on little data? The recipes of datafix.augment on Fashion-MNIST.

Real images: class-balanced subsets (1 %, 5 %; 10 % with ``--shares 0.1``) of Fashion-MNIST's training split (Debian
``dataset-fashion-mnist``; ``make data``), the full 10,000-image test split to score. The same
small ResNet (``datafix.signals.cnn.SmallResNet``, width 16), the same budget for every recipe
(a fixed number of optimiser steps, AdamW, one-cycle learning rate, batch 64, label smoothing
0), trained with each recipe of :mod:`datafix.augment.recipes`: none, flips and crops,
RandAugment, TrivialAugmentWide, AutoAugment, AugMix and the limited-data recipe (TrivialAugment,
random erasing, CutMix). An arm named ``<recipe>+synth`` first doubles every class with
:class:`datafix.synth.KeyedOversampler` (augmentation-based oversampling: each virtual sample is an
intra-class mixup of two training images, weight from Beta(0.4, 0.4)), then trains on the doubled set
with the recipe keyed by index, so every copy is augmented afresh each epoch. Test accuracy, mean and
standard error over seeds, and each arm minus flips and crops (paired by seed).

    .venv/bin/python benchmarks/augment_outcome.py --shares 0.01 0.05 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from datafix.augment.recipes import RECIPES, recipe
from datafix.datasets import load_fashion_mnist
from datafix.signals.cnn import SmallResNet
from datafix.synth import KeyedOversampler

SYNTH = "+synth"


def subset(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per_class = max(int(round(share * len(labels) / 10)), 1)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)])


def oversampled(X: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of ``KeyedOversampler``'s view that doubles every class with intra-class mixups."""
    counts = np.bincount(y.numpy())
    view = KeyedOversampler(list(zip(X, y.tolist(), strict=True)), y.numpy(), mixup_alpha=0.4, seed=seed,
                            sampling_strategy={c: 2 * int(n) for c, n in enumerate(counts)})
    items = [view[i] for i in range(len(view))]
    return torch.stack([item[0] for item in items]), torch.tensor([item[1] for item in items])


def train_and_test(name: str, X: torch.Tensor, y: torch.Tensor, X_test: torch.Tensor, y_test: torch.Tensor,
                   steps: int, seed: int) -> float:
    if name.endswith(SYNTH):
        name = name.removesuffix(SYNTH)
        X, y = oversampled(X, y, seed)
    torch.manual_seed(seed)
    model = SmallResNet(1, 10, width=16)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    aug = recipe(name, size=28, num_classes=10, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    batch = min(64, len(X))
    step = epoch = 0
    model.train()
    while step < steps:
        aug.set_epoch(epoch)
        order = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X) - batch + 1, batch):
            idx = order[start:start + batch]
            xb, tb = aug(X[idx], y[idx], sample_ids=idx)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), tb).backward()
            opt.step()
            schedule.step()
            step += 1
            if step == steps:
                break
        epoch += 1
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(X_test), 1000):
            correct += int((model(X_test[start:start + 1000].float() / 255).argmax(1) == y_test[start:start + 1000]).sum())
    return correct / len(X_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.01, 0.05])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES),
                        help=f"recipes of datafix.augment.recipes, each optionally with '{SYNTH}' (oversampled first)")
    args = parser.parse_args()
    unknown = [name for name in args.recipes if name.removesuffix(SYNTH) not in RECIPES]
    if unknown:
        parser.error(f"--recipes: unknown {unknown}; choose from {list(RECIPES)}, each optionally with '{SYNTH}'")
    torch.set_num_threads(2)
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    X_test, y_test = torch.from_numpy(test.images), torch.from_numpy(test.labels)
    start = time.perf_counter()
    for share in args.shares:
        scores: dict[str, list[float]] = {name: [] for name in args.recipes}
        for seed in args.seeds:
            rows = subset(train.labels, share, seed)
            X, y = torch.from_numpy(train.images[rows]), torch.from_numpy(train.labels[rows])
            for name in args.recipes:
                scores[name].append(train_and_test(name, X, y, X_test, y_test, args.steps, seed))
                print(f"share {share:.0%} seed {seed} {name:15s} {scores[name][-1]:.4f}  "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
        print(f"\nFashion-MNIST, {share:.0%} of the training labels ({len(rows)} images), {args.steps} steps, "
              f"{len(args.seeds)} seeds: test accuracy mean +- s.e.; difference to flips-crops (paired)")
        base = np.asarray(scores.get("flips-crops", [np.nan] * len(args.seeds)))
        for name, values in scores.items():
            v = np.asarray(values)
            se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
            d = v - base
            dse = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            print(f"  {name:15s} {v.mean():.4f} +- {se:.4f}   vs flips-crops {d.mean():+.4f} +- {dse:.4f}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
