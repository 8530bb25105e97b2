"""CNN signals on real images: the audit with model="cnn" on a Fashion-MNIST subset with injected noise.

Noise between confusable classes (T-shirt <-> shirt, pullover <-> coat, sneaker <-> ankle boot, and
dress -> T-shirt, trouser -> dress, bag -> pullover, sandal -> sneaker), 20 % of the labels by
default. Prints the wall time, the label check's precision, recall and F1 against the injected
truth, and the CNN's held-out accuracy; on a GPU when there is one. Needs Fashion-MNIST
(`make data`, or --root a folder with the IDX files).

    .venv/bin/python benchmarks/cnn_signals.py --n 20000
    .venv/bin/python benchmarks/cnn_signals.py --n 2000 --model logistic   # the default below 1,000 images
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

import datafix as dfx

PAIRS = {0: 6, 6: 0, 2: 4, 4: 2, 7: 9, 9: 7, 5: 7, 3: 0, 1: 3, 8: 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--root", default=None, help="a folder with Fashion-MNIST's IDX files (default: Debian's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="cnn", help="the audit's model: cnn (default) or logistic (on the pixels)")
    args = parser.parse_args()
    data = dfx.datasets.load_fashion_mnist("train", root=args.root)
    rng = np.random.default_rng(args.seed)
    idx = rng.choice(len(data), min(args.n, len(data)), replace=False)
    images, truth = data.images[idx], data.labels[idx]
    flip = rng.random(len(truth)) < args.noise
    given = truth.copy()
    given[flip] = [PAIRS[c] for c in truth[flip]]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = dfx.audit(images, given, model=args.model, random_state=args.seed, verbose=False)
    seconds = time.perf_counter() - started
    found = report.issues["is_label_issue"].to_numpy(bool)
    wrong = given != truth
    precision = (found & wrong).sum() / max(found.sum(), 1)
    recall = (found & wrong).sum() / max(wrong.sum(), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    print(f"n={len(idx)}, noise {args.noise:.0%} between confusable classes, {device}: audit with model={args.model!r} "
          f"{seconds:.0f} s; label precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}; "
          f"{report.signals.get('pred_probs', '')}")


if __name__ == "__main__":
    main()
