"""Adversarial training with datafix.augment.Adversarial: robust accuracy gained, clean accuracy paid.

Real images: scikit-learn's digits (1,797 images, 8 x 8, grey levels scaled to [0, 1]), a
stratified 60 / 40 split per seed. The same small CNN, the same budget (Adam, 40 epochs, batch
64), trained plain or with a share of every batch replaced by PGD examples (L-inf, eps 0.1, 5
steps; ``Adversarial(model, share=...)`` before each step). Accuracy on the clean test split and
under a stronger attack than the training one (PGD, 20 steps, the same eps, a fresh random start),
mean and standard error over seeds.

    .venv/bin/python benchmarks/adversarial.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from datafix.augment import Adversarial

EPS = 0.1


def net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 16, 10))


def train(X: torch.Tensor, y: torch.Tensor, share: float, seed: int, epochs: int) -> nn.Module:
    torch.manual_seed(seed)
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    attack = Adversarial(model, method="pgd", eps=EPS, steps=5, share=share, seed=seed) if share else None
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        if attack is not None:
            attack.set_epoch(epoch)
        order = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X), 64):
            idx = order[start:start + 64]
            xb, yb = X[idx], y[idx]
            if attack is not None:
                xb, yb = attack(xb, yb, sample_ids=idx)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
    return model.eval()


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, attacked: bool, seed: int) -> float:
    if attacked:
        X, _ = Adversarial(model, method="pgd", eps=EPS, steps=20, share=1.0, seed=seed + 1000)(X, y)
    with torch.no_grad():
        return float((model(X).argmax(1) == y).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(2)
    images, labels = load_digits(return_X_y=True)
    X = torch.from_numpy(images.reshape(-1, 1, 8, 8) / 16.0).float()
    y = torch.from_numpy(labels)
    start = time.perf_counter()
    results: dict[str, list[tuple[float, float]]] = {}
    for seed in args.seeds:
        tr, te = train_test_split(np.arange(len(y)), test_size=0.4, stratify=labels, random_state=seed)
        for name, share in (("plain", 0.0), ("adversarial, share 0.5", 0.5), ("adversarial, share 1.0", 1.0)):
            model = train(X[tr], y[tr], share, seed, args.epochs)
            results.setdefault(name, []).append((accuracy(model, X[te], y[te], False, seed),
                                                 accuracy(model, X[te], y[te], True, seed)))
    print(f"digits, {len(args.seeds)} seeds, PGD L-inf eps={EPS}: test accuracy mean +- standard error")
    for name, values in results.items():
        v = np.asarray(values)
        se = v.std(axis=0, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.full(2, np.nan)
        print(f"  {name:24s} clean {v[:, 0].mean():.3f} +- {se[0]:.3f}   under PGD-20 {v[:, 1].mean():.3f} +- {se[1]:.3f}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
