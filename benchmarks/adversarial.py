"""Adversarial training with datafix.augment.Adversarial: robust accuracy gained, clean accuracy paid.

Real images: scikit-learn's digits (1,797 images, 8 x 8, grey levels scaled to [0, 1]), a
stratified 60 / 40 split per seed; or (``--data fashion-mnist``, issue 18's benchmark 3) a
class-balanced random subset of Fashion-MNIST's training split (``--n-train``) scored on a random
subset of its test split (``--n-test``), 28 x 28 in [0, 1]. The same small CNN, the same budget (Adam, 40 epochs, batch
64), trained plain or with a share of every batch replaced by PGD examples (L-inf, eps 0.1, 5
steps; ``Adversarial(model, share=...)`` before each step). Accuracy on the clean test split and
under a stronger attack than the training one (PGD, 20 steps, the same eps, a fresh random start),
mean and standard error over seeds.

    .venv/bin/python benchmarks/adversarial.py --seeds 0 1 2
    .venv/bin/python benchmarks/adversarial.py --data fashion-mnist --epochs 10 --seeds 0 1 2
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


def net(side: int = 8) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * (side // 2) ** 2, 10))


def train(X: torch.Tensor, y: torch.Tensor, share: float, seed: int, epochs: int) -> nn.Module:
    torch.manual_seed(seed)
    model = net(X.shape[-1])
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
    parser.add_argument("--data", choices=["digits", "fashion-mnist"], default="digits")
    parser.add_argument("--n-train", type=int, default=6000)
    parser.add_argument("--n-test", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.data == "digits":
        images, labels = load_digits(return_X_y=True)
        X = torch.from_numpy(images.reshape(-1, 1, 8, 8) / 16.0).float()
        y = torch.from_numpy(labels)
    else:
        from datafix.datasets import load_fashion_mnist

        train_set, test_set = load_fashion_mnist("train"), load_fashion_mnist("test")
    start = time.perf_counter()
    results: dict[str, list[tuple[float, float]]] = {}
    for seed in args.seeds:
        if args.data == "digits":
            tr, te = train_test_split(np.arange(len(y)), test_size=0.4, stratify=labels, random_state=seed)
            X_tr, y_tr, X_te, y_te = X[tr], y[tr], X[te], y[te]
        else:
            tr, _ = train_test_split(np.arange(len(train_set.labels)), train_size=args.n_train,
                                     stratify=train_set.labels, random_state=seed)
            te = np.random.default_rng(seed).choice(len(test_set.labels), args.n_test, replace=False)
            X_tr = torch.from_numpy(train_set.images[tr]).float() / 255
            y_tr = torch.from_numpy(train_set.labels[tr].astype(np.int64))
            X_te = torch.from_numpy(test_set.images[te]).float() / 255
            y_te = torch.from_numpy(test_set.labels[te].astype(np.int64))
        for name, share in (("plain", 0.0), ("adversarial, share 0.5", 0.5), ("adversarial, share 1.0", 1.0)):
            model = train(X_tr, y_tr, share, seed, args.epochs)
            results.setdefault(name, []).append((accuracy(model, X_te, y_te, False, seed),
                                                 accuracy(model, X_te, y_te, True, seed)))
            print(f"seed {seed} {name}: clean {results[name][-1][0]:.3f}, PGD-20 {results[name][-1][1]:.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"{args.data}, {len(args.seeds)} seeds, PGD L-inf eps={EPS}: test accuracy mean +- standard error")
    for name, values in results.items():
        v = np.asarray(values)
        se = v.std(axis=0, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.full(2, np.nan)
        print(f"  {name:24s} clean {v[:, 0].mean():.3f} +- {se[0]:.3f}   under PGD-20 {v[:, 1].mean():.3f} +- {se[1]:.3f}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
