"""Unlabelled data: a model trained on the labelled samples alone vs with datafix's pseudo-labels vs scikit-learn.

Issue 19, part 4. Real images: scikit-learn's digits (1,797 images: 1,078 to train, 719 to test,
stratified) and Fashion-MNIST (a class-balanced 10,000 of the training split to train, the 10,000
of the test split to test), pixels as features. For each seed, 1 %, 5 % and 10 % of the training
labels are kept (class-balanced, at least one per class); the rest are unlabelled.

The same model everywhere: logistic regression on the standardised pixels
(``datafix.signals.make_model``). Test accuracy of

- **labelled only**: the model trained on the kept labels;
- **datafix**: the audit's pseudo-labels (:func:`datafix.checks.unlabelled.find_pseudo_labels`:
  out-of-sample pred_probs of the model trained on the labelled samples, label spreading over the
  shared kNN graph), the confident ones (``--min-confidence``) added to the training set,
  class-balanced as the PseudoLabel step does by default;
- **SelfTrainingClassifier**: scikit-learn's self-training of the same model (threshold 0.75);
- **LabelSpreading**: scikit-learn's label spreading (kNN kernel, 10 neighbours) predicting the
  test set itself, and the same model trained on its labels of the training set.

Mean and standard error over seeds.

    .venv/bin/python benchmarks/semi_supervised.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from datafix.checks.unlabelled import find_pseudo_labels
from datafix.datasets import load_fashion_mnist
from datafix.fix.steps import balanced_pseudo_labels
from datafix.signals import cross_val_pred_probs, knn_graph, make_model

SHARES = (0.01, 0.05, 0.10)


def datasets() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.4, stratify=y, random_state=0)
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    rng = np.random.default_rng(0)
    subset = np.sort(np.concatenate([rng.choice(np.flatnonzero(train.labels == c), 1000, replace=False)
                                     for c in range(10)]))
    flat = lambda images: images.reshape(len(images), -1).astype(np.float64) / 255.0  # noqa: E731
    return [("digits", X_train, y_train, X_test, y_test),
            ("fashion-mnist 10k", flat(train.images[subset]), train.labels[subset], flat(test.images), test.labels)]


def keep_labels(y: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of the kept labels: ``share`` of each class, at least one."""
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), max(1, round(share * (y == c).sum())),
                                              replace=False) for c in np.unique(y)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--min-confidence", type=float, default=0.5)
    parser.add_argument("--data", nargs="+", default=["digits", "fashion-mnist 10k"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for name, X, y, X_test, y_test in datasets():
        if name not in args.data:
            continue
        graph = knn_graph(X, k_neighbors=40, verbose=False)
        for share in SHARES:
            for seed in args.seeds:
                kept = keep_labels(y, share, np.random.default_rng([seed, int(share * 1000)]))
                partial = np.full(len(y), -1)
                partial[kept] = y[kept]
                def score(model, X_test=X_test, y_test=y_test) -> float:
                    return float((model.predict(X_test) == y_test).mean())

                row = {"data": name, "labels kept": f"{share:.0%}", "seed": seed, "n labelled": len(kept)}
                row["labelled only"] = score(make_model(None, random_state=seed).fit(X[kept], y[kept]))
                start = time.perf_counter()
                P = cross_val_pred_probs(X, partial, n_classes=10, random_state=seed, verbose=False)
                found = find_pseudo_labels(partial, P, neighbors=graph, min_confidence=args.min_confidence)
                chosen = balanced_pseudo_labels(found["pseudo_label"].to_numpy(), found["pseudo_confidence"].to_numpy(),
                                                y[kept], args.min_confidence)
                train = np.concatenate([kept, chosen])
                labels = np.concatenate([y[kept], found["pseudo_label"].to_numpy()[chosen]])
                row["datafix"] = score(make_model(None, random_state=seed).fit(X[train], labels))
                row["datafix s"] = time.perf_counter() - start
                row["pseudo-labels"] = len(chosen)
                row["pseudo-label accuracy"] = float((found["pseudo_label"].to_numpy()[chosen] == y[chosen]).mean())
                self_training = SelfTrainingClassifier(make_model(None, random_state=seed), threshold=0.75)
                row["SelfTraining"] = score(self_training.fit(X, partial))
                spreading = LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100).fit(X, partial)
                row["LabelSpreading"] = score(spreading)
                row["model on LabelSpreading"] = score(make_model(None, random_state=seed).fit(X, spreading.transduction_))
                rows.append(row)
                print(pd.DataFrame([row]).round(4).to_string(index=False, header=len(rows) == 1), flush=True)
    frame = pd.DataFrame(rows)
    print("\nTest accuracy, mean +- standard error over seeds:")
    methods = ["labelled only", "datafix", "SelfTraining", "LabelSpreading", "model on LabelSpreading"]
    summary = []
    for (name, share), part in frame.groupby(["data", "labels kept"], sort=False):
        line = {"data": name, "labels kept": share, "seeds": len(part)}
        for m in methods:
            v = part[m].to_numpy()
            line[m] = f"{v.mean():.4f} +- {v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float('nan'):.4f}"
        line["datafix - labelled only"] = f"{(part['datafix'] - part['labelled only']).mean():+.4f}"
        line["datafix - best sklearn"] = f"{(part['datafix'] - part[methods[2:]].max(axis=1)).mean():+.4f}"
        summary.append(line)
    print(pd.DataFrame(summary).to_string(index=False))


if __name__ == "__main__":
    main()
