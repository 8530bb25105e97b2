"""Several annotators: datafix's consensus vs majority vote vs cleanlab's CROWDLAB alone.

Real images with simulated annotators of mixed quality (issue 19, part 3): scikit-learn's digits
(1,797 images, 8 x 8) and a class-balanced Fashion-MNIST subset (10,000 of the training split,
28 x 28). For each seed, 3 to 5 annotators, each with an accuracy drawn from [0.6, 0.95], each
labelling a random 30-60 % of the samples (a sample nobody drew gets one random annotator). A
wrong label follows a class-conditional confusion (each class errs towards a few classes, the way
people confuse shirts with T-shirts), drawn per annotator.

All three read the same annotations. Majority vote: ties broken by the model. cleanlab:
``get_label_quality_multiannotator`` on out-of-sample pred_probs (5-fold logistic regression on the
pixels, trained on the majority vote). datafix: :func:`datafix.checks.annotators.find_consensus` on
the same pred_probs and the kNN graph of the pixels. Accuracy of the consensus against the true
labels, mean and standard error over seeds.

    .venv/bin/python benchmarks/annotators.py --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from cleanlab.multiannotator import get_label_quality_multiannotator
from sklearn.datasets import load_digits

from datafix.checks.annotators import find_consensus
from datafix.data.annotations import Annotations
from datafix.datasets import load_fashion_mnist
from datafix.datasets.noise import noise_matrix
from datafix.signals import cross_val_pred_probs, knn_graph


def simulate(y: np.ndarray, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, A) label codes (-1 = not labelled) of 3-5 simulated annotators, and their accuracies."""
    n = len(y)
    n_annotators = int(rng.integers(3, 6))
    accuracy = rng.uniform(0.6, 0.95, n_annotators)
    codes = np.full((n, n_annotators), -1, dtype=np.int64)
    confusions = [noise_matrix(n_classes, 1.0 - a, "class_conditional", random_state=rng) for a in accuracy]
    for a, T in enumerate(confusions):
        labelled = rng.random(n) < rng.uniform(0.3, 0.6)
        cumulative = T.cumsum(axis=0)[:, y].T  # (n, K): P(given <= k | true y)
        given = (rng.random((n, 1)) > cumulative).sum(axis=1)
        codes[labelled, a] = np.minimum(given[labelled], n_classes - 1)
    nobody = np.flatnonzero((codes < 0).all(axis=1))
    for i in nobody:
        a = int(rng.integers(n_annotators))
        codes[i, a] = int(rng.choice(n_classes, p=confusions[a][:, y[i]]))
    return codes, accuracy


def mean_se(values: np.ndarray) -> str:
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():.4f} +- {se:.4f}"


def datasets() -> list[tuple[str, np.ndarray, np.ndarray]]:
    digits = load_digits()
    fmnist = load_fashion_mnist("train")
    rng = np.random.default_rng(0)
    labels = fmnist.labels
    subset = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), 1000, replace=False)
                                     for c in range(10)]))
    X = fmnist.images[subset].reshape(len(subset), -1).astype(np.float64) / 255.0
    return [("digits", digits.data / 16.0, digits.target), ("fashion-mnist 10k", X, labels[subset])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for name, X, y in datasets():
        graph = knn_graph(X, k_neighbors=40, verbose=False)
        for seed in args.seeds:
            rng = np.random.default_rng([seed, 19])
            codes, accuracy = simulate(y, 10, rng)
            annotations = Annotations(codes, np.arange(10), [f"a{j}" for j in range(codes.shape[1])])
            majority0 = annotations.majority_vote()
            start = time.perf_counter()
            P = cross_val_pred_probs(X, majority0, n_classes=10, random_state=seed, verbose=False)
            model_s = time.perf_counter() - start
            majority = annotations.majority_vote(tie_break=P)
            cl = get_label_quality_multiannotator(annotations.wide(), P, verbose=False,
                                                  return_detailed_quality=False)["label_quality"]
            start = time.perf_counter()
            ours, _ = find_consensus(annotations, P, neighbors=graph)
            ours_s = time.perf_counter() - start
            row = {"data": name, "seed": seed, "annotators": codes.shape[1],
                   "accuracies": " ".join(f"{a:.2f}" for a in accuracy),
                   "labels per sample": (codes >= 0).sum(1).mean(),
                   "majority": (majority == y).mean(), "cleanlab": (cl["consensus_label"].to_numpy() == y).mean(),
                   "datafix": (ours["consensus_label"].to_numpy() == y).mean(), "model s": model_s,
                   "consensus s": ours_s}
            rows.append(row)
            print(pd.DataFrame([row]).round(4).to_string(index=False, header=len(rows) == 1), flush=True)
    frame = pd.DataFrame(rows)
    print("\nConsensus accuracy, mean +- standard error over seeds:")
    summary = []
    for name, part in frame.groupby("data", sort=False):
        line = {"data": name, "seeds": len(part)}
        for method in ("majority", "cleanlab", "datafix"):
            line[method] = mean_se(part[method].to_numpy())
        line["datafix - majority"] = mean_se((part["datafix"] - part["majority"]).to_numpy())
        line["datafix - cleanlab"] = mean_se((part["datafix"] - part["cleanlab"]).to_numpy())
        line["worst vs cleanlab"] = f"{(part['datafix'] - part['cleanlab']).min():+.4f}"
        summary.append(line)
    print(pd.DataFrame(summary).to_string(index=False))


if __name__ == "__main__":
    main()
