"""Long-tail levers on Fashion-MNIST-LT (issue 17, benchmark 3): the CIFAR-LT protocol with the small ResNet.

Training set: class c keeps ``6000 * ratio ** (-c / 9)`` of its 6,000 training images (ratio 100
and 10); test set: the untouched, balanced 10,000-image test split. The same network
(``datafix.signals.SmallResNet``, width 24), optimiser and number of epochs for every lever of
``benchmarks/longtail.py`` (plain, class-balanced sampling from epoch 0, deferred re-sampling,
progressive sampling, class-balanced loss, deferred re-weighting (DRW), logit-adjusted loss,
post-hoc logit adjustment). Balanced accuracy, and accuracy on many-shot (> 100 training images),
medium (20-100) and few-shot (< 20) classes; means over seeds with standard errors. Needs
Fashion-MNIST (``make data``); about 3 minutes per lever and seed at ratio 100 on 2 CPU cores at
the default epochs, so run it on a GPU:

    .venv/bin/python benchmarks/fmnist_longtail.py --seeds 0 1 2 --epochs 30
    .venv/bin/python benchmarks/fmnist_longtail.py --seeds 0 --epochs 2 --scale 0.02   # a smoke run
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import balanced_accuracy_score

import datafix as dfx
from datafix.balance import adjust_logits
from datafix.signals import SmallResNet
from longtail import LEVERS, train

RATIOS = (100, 10)


def long_tailed(labels: np.ndarray, ratio: float, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Positions kept: class c keeps ``scale * 6000 * ratio ** (-c / 9)`` of its images (at least one)."""
    kept = []
    for c in range(10):
        members = np.flatnonzero(labels == c)
        n = max(1, int(round(scale * len(members) * ratio ** (-c / 9))))
        kept.append(rng.choice(members, min(n, len(members)), replace=False))
    return np.sort(np.concatenate(kept))


def scores(model: torch.nn.Module, images: np.ndarray, y_te: np.ndarray, y_tr: np.ndarray, lever: str) -> dict:
    model.eval()
    with torch.inference_mode():
        logits = torch.cat([model(torch.tensor(images[i:i + 1000], dtype=torch.float32))
                            for i in range(0, len(images), 1000)])
    if lever == "post-hoc logit adjustment":
        logits = adjust_logits(logits, y_tr, tau=1.0)
    pred = logits.argmax(1).numpy()
    counts = np.bincount(y_tr, minlength=10)
    acc = np.array([(pred[y_te == c] == c).mean() for c in range(10)])
    group = {"many (>100)": counts > 100, "medium (20-100)": (counts >= 20) & (counts <= 100), "few (<20)": counts < 20}
    return {"balanced accuracy": balanced_accuracy_score(y_te, pred),
            **{name: acc[mask].mean() if mask.any() else np.nan for name, mask in group.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS))
    parser.add_argument("--scale", type=float, default=1.0, help="share of the long-tailed training set (smoke runs)")
    parser.add_argument("--root", default=None, help="a folder with Fashion-MNIST's IDX files (default: Debian's)")
    args = parser.parse_args()
    train_set = dfx.datasets.load_fashion_mnist("train", root=args.root)
    test_set = dfx.datasets.load_fashion_mnist("test", root=args.root)
    X_te, y_te = test_set.images / 255.0, test_set.labels.astype(np.int64)
    rows = []
    for ratio in args.ratios:
        for seed in args.seeds:
            keep = long_tailed(train_set.labels, ratio, args.scale, np.random.default_rng(seed))
            X, y = train_set.images[keep] / 255.0, train_set.labels[keep].astype(np.int64)
            plain = None
            for lever in LEVERS:  # "plain" comes first; post-hoc adjustment reuses its network
                started = time.perf_counter()
                model = plain if lever == "post-hoc logit adjustment" else train(
                    X, y, lever, seed, args.epochs, 10, make_model=lambda k: SmallResNet(1, k, width=24))
                plain = model if lever == "plain" else plain
                rows.append({"ratio": ratio, "seed": seed, "lever": lever, **scores(model, X_te, y_te, y, lever),
                             "s": time.perf_counter() - started})
                print(f"ratio {ratio:g} seed {seed} ({len(y)} images): {lever}: balanced accuracy "
                      f"{rows[-1]['balanced accuracy']:.3f} ({rows[-1]['s']:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    metrics = ["balanced accuracy", "many (>100)", "medium (20-100)", "few (<20)"]
    summary = table.groupby(["ratio", "lever"], sort=False)[metrics].agg(["mean", "sem"] if len(args.seeds) > 1
                                                                         else ["mean"])
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
