"""Augmentation-based oversampling of rare classes with logit adjustment, on Fashion-MNIST-LT (issue 18, benchmark 2).

Training set: class c keeps ``6000 * ratio ** (-c / 9)`` of its training images (ratio 50); test set:
the balanced 10,000-image test split (so accuracy is balanced accuracy). The same small ResNet
(width 16), AdamW with a one-cycle schedule, batch 64 and number of steps for three arms:

- ``logit adjustment``: uniform shuffling, no augmentation, the logit-adjusted loss (priors = the
  training distribution);
- ``logit adjustment + augmentation``: the same with ``recipe("autoaugment")`` (flips, crops,
  AutoAugment), every sample augmented afresh each time it is drawn;
- ``augmented oversampling + logit adjustment``: the same augmentation over ``datafix.synth.KeyedOversampler``'s
  view, which adds virtual copies of rare-class images up to sqrt(n_max * n_c) per class (so classes
  are drawn in proportion to sqrt(n_c)); the Compose is keyed by the virtual index, so every copy is
  augmented differently, and again every epoch; the logit-adjusted loss uses the priors of that
  oversampled distribution (so the loss corrects what the oversampling leaves).

CopyPaste-style rare-class augmentation does not apply (Fashion-MNIST has no instance masks).

    .venv/bin/python benchmarks/longtail_augment.py --seeds 0 1 2 --steps 3000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import datafix as dfx
from datafix.augment.recipes import recipe
from datafix.balance import logit_adjustment
from datafix.signals.cnn import SmallResNet
from datafix.synth import KeyedOversampler
from fmnist_longtail import long_tailed

ARMS = ("logit adjustment", "logit adjustment + augmentation", "augmented oversampling + logit adjustment")


def train(arm: str, X: torch.Tensor, y: torch.Tensor, steps: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = SmallResNet(1, 10, width=16)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    aug = recipe("none" if arm == "logit adjustment" else "autoaugment", size=28, num_classes=10, seed=seed)
    counts = np.bincount(y.numpy(), minlength=10)
    sources = torch.arange(len(y))  # the item behind each (virtual) index
    if arm.startswith("augmented oversampling"):
        targets = {c: int(round(np.sqrt(counts.max() * n))) for c, n in enumerate(counts)}
        view = KeyedOversampler(torch.utils.data.TensorDataset(X, y), y.numpy(), sampling_strategy=targets,
                                seed=seed)
        sources = torch.cat([sources, torch.as_tensor(view.provenance["source"].to_numpy())])
    drawn = np.bincount(y[sources].numpy(), minlength=10)  # the class distribution the batches follow
    adjustment = logit_adjustment(priors=drawn / drawn.sum(), tau=1.0)
    gen = torch.Generator().manual_seed(seed)
    batch = 64
    model.train()
    for step in range(steps):
        idx = torch.randint(len(sources), (batch,), generator=gen)  # (virtual) indices
        aug.set_epoch(step)  # keyed draws: an index drawn again is augmented afresh
        xb, tb = aug(X[sources[idx]], y[sources[idx]], sample_ids=idx)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb) + adjustment, tb).backward()
        opt.step()
        schedule.step()
    return model.eval()


def evaluate(model: torch.nn.Module, X_test: torch.Tensor, y_test: torch.Tensor, counts: np.ndarray) -> dict:
    with torch.no_grad():
        pred = torch.cat([model(X_test[i:i + 1000].float() / 255).argmax(1) for i in range(0, len(X_test), 1000)])
    acc = np.array([(pred[y_test == c] == c).float().mean().item() for c in range(10)])
    groups = {"many (>1000)": counts > 1000, "medium (200-1000)": (counts >= 200) & (counts <= 1000),
              "few (<200)": counts < 200}
    return {"balanced accuracy": acc.mean(), **{k: acc[m].mean() for k, m in groups.items() if m.any()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--ratio", type=float, default=50.0)
    parser.add_argument("--arms", nargs="+", default=list(ARMS))
    args = parser.parse_args()
    torch.set_num_threads(2)
    train_set, test_set = dfx.datasets.load_fashion_mnist("train"), dfx.datasets.load_fashion_mnist("test")
    X_test, y_test = torch.from_numpy(test_set.images), torch.from_numpy(test_set.labels.astype(np.int64))
    rows = []
    start = time.perf_counter()
    for seed in args.seeds:
        keep = long_tailed(train_set.labels, args.ratio, 1.0, np.random.default_rng(seed))
        X = torch.from_numpy(train_set.images[keep])
        y = torch.from_numpy(train_set.labels[keep].astype(np.int64))
        counts = np.bincount(y.numpy(), minlength=10)
        for arm in args.arms:
            rows.append({"seed": seed, "arm": arm, **evaluate(train(arm, X, y, args.steps, seed), X_test, y_test,
                                                              counts)})
            print(f"seed {seed} ({len(y)} images, smallest class {counts.min()}): {arm}: balanced accuracy "
                  f"{rows[-1]['balanced accuracy']:.4f}, few {rows[-1].get('few (<200)', np.nan):.4f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    metrics = [c for c in table.columns if c not in ("seed", "arm")]
    print(table.groupby("arm", sort=False)[metrics].agg(["mean", "sem"]).round(4).to_string())
    base = table[table.arm == "logit adjustment"].set_index("seed")["balanced accuracy"]
    for arm in args.arms[1:]:
        diff = table[table.arm == arm].set_index("seed")["balanced accuracy"] - base
        print(f"{arm} - logit adjustment: {diff.mean():+.4f} +- {diff.sem():.4f} (paired over seeds)")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
