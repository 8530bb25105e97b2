"""Label issues on Fashion-MNIST: datafix with CNN signals vs cleanlab on the same pred_probs.

For each noise setting (symmetric: a flipped label moves to any other class; confusable: it moves
to the class it is most often confused with, T-shirt <-> shirt, pullover <-> coat, sneaker <->
ankle boot and so on) and each seed: K-fold CNN cross-validation gives out-of-sample pred_probs
and embeddings (``datafix.signals.cnn_cross_val``, what ``audit(model="cnn")`` runs); then

- datafix: the audit's label check on those pred_probs and the embeddings' kNN graph,
- cleanlab: ``cleanlab.filter.find_label_issues`` on the same pred_probs,
- with ``--pixels``, datafix's earlier image default: 5-fold logistic regression on the raw pixels
  and their kNN graph (slow on wide tables),

and prints precision, recall and F1 against the injected truth, then the mean F1 over seeds with
its standard error. Issue 17's protocol is the full training split (``--n 60000``), rates 0.10,
0.25, 0.40, both noise types, 3 seeds: about 16 minutes of CNN training per run on 2 CPU cores.
Needs Fashion-MNIST (``make data``).

    .venv/bin/python benchmarks/fmnist_label_issues.py --n 60000 --seeds 0 1 2
    .venv/bin/python benchmarks/fmnist_label_issues.py --n 10000 --seeds 0 --pixels   # a 2-core check
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from cleanlab.filter import find_label_issues as cleanlab_find_label_issues

import datafix as dfx
from datafix.signals import cnn_cross_val, cross_val_pred_probs

CONFUSABLE = {0: 6, 6: 0, 2: 4, 4: 2, 7: 9, 9: 7, 5: 7, 3: 0, 1: 3, 8: 2}
RATES = (0.10, 0.25, 0.40)
NOISE_TYPES = ("symmetric", "confusable")


def inject(truth: np.ndarray, rate: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Given labels: ``rate`` of them moved to another class (any other, or the confusable one)."""
    given = truth.copy()
    flip = rng.random(len(truth)) < rate
    if kind == "symmetric":
        given[flip] = (truth[flip] + rng.integers(1, 10, flip.sum())) % 10
    else:
        given[flip] = [CONFUSABLE[c] for c in truth[flip]]
    return given


def scores(found: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    hits = int((found & truth).sum())
    p, r = hits / max(int(found.sum()), 1), hits / max(int(truth.sum()), 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


def datafix_flags(features: np.ndarray, given: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    report = dfx.audit(features, given, pred_probs=pred_probs, checks=["label"], verbose=False)
    return report.issues["is_label_issue"].to_numpy(bool)


def run(images: torch.Tensor, truth: np.ndarray, rate: float, kind: str, seed: int, pixels: bool) -> dict:
    given = inject(truth, rate, kind, np.random.default_rng([seed, int(rate * 100), len(kind)]))
    wrong = given != truth
    started = time.perf_counter()
    signals = cnn_cross_val(images, given, random_state=seed, verbose=False)
    cnn_seconds = time.perf_counter() - started
    row = {"noise": kind, "rate": rate, "seed": seed, "n": len(truth), "cnn s": cnn_seconds,
           "cv accuracy": signals.cv_accuracy}
    for name, found in (("datafix", datafix_flags(signals.embeddings, given, signals.pred_probs)),
                        ("cleanlab", cleanlab_find_label_issues(given, signals.pred_probs, n_jobs=1))):
        row[f"{name} P"], row[f"{name} R"], row[f"{name} F1"] = scores(found, wrong)
    if pixels:
        flat = images.reshape(len(images), -1).numpy().astype(np.float64)
        started = time.perf_counter()
        P = cross_val_pred_probs(flat, given, random_state=seed, verbose=False)
        row["pixels F1"] = scores(datafix_flags(flat, given, P), wrong)[2]
        row["pixels s"] = time.perf_counter() - started
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60000, help="training images (a random subset below 60,000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    parser.add_argument("--noise", nargs="+", default=list(NOISE_TYPES), choices=NOISE_TYPES)
    parser.add_argument("--pixels", action="store_true", help="also the earlier default: logistic on pixels")
    parser.add_argument("--root", default=None, help="a folder with Fashion-MNIST's IDX files (default: Debian's)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    data = dfx.datasets.load_fashion_mnist("train", root=args.root)
    idx = np.random.default_rng(0).choice(len(data), min(args.n, len(data)), replace=False)
    images, truth = torch.from_numpy(data.images[np.sort(idx)]), data.labels[np.sort(idx)].astype(np.int64)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    print(f"Fashion-MNIST training split, {len(truth)} images, {device}")
    rows = []
    for kind in args.noise:
        for rate in args.rates:
            for seed in args.seeds:
                row = run(images, truth, rate, kind, seed, args.pixels)
                rows.append(row)
                extra = f"; pixels F1 {row['pixels F1']:.3f} ({row['pixels s']:.0f} s)" if args.pixels else ""
                print(f"{kind:>10} {rate:.2f} seed {seed}: CNN {row['cnn s']:.0f} s, held-out accuracy "
                      f"{row['cv accuracy']:.3f}; datafix P/R/F1 {row['datafix P']:.3f}/{row['datafix R']:.3f}/"
                      f"{row['datafix F1']:.3f}; cleanlab {row['cleanlab P']:.3f}/{row['cleanlab R']:.3f}/"
                      f"{row['cleanlab F1']:.3f}; diff {row['datafix F1'] - row['cleanlab F1']:+.3f}{extra}",
                      flush=True)
    table = pd.DataFrame(rows)
    table["diff"] = table["datafix F1"] - table["cleanlab F1"]
    cols = ["datafix F1", "cleanlab F1", "diff"] + (["pixels F1"] if args.pixels else [])
    summary = table.groupby(["noise", "rate"])[cols].agg(["mean", "sem"]) if len(args.seeds) > 1 else \
        table.groupby(["noise", "rate"])[cols].mean()
    print(summary.round(3).to_string())
    print(f"mean F1 diff {table['diff'].mean():+.3f} (target >= +0.05), worst {table['diff'].min():+.3f} "
          f"(target >= -0.01); {len(table)} runs")


if __name__ == "__main__":
    main()
