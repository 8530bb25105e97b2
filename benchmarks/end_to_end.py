"""End to end: does fixing the data raise the accuracy of the model trained afterwards?

On noisy (25 % class-conditional label noise) and long-tailed (ratio 15) training versions of
scikit-learn's digits, breast cancer and wine, the same small MLP is trained on (a) the clean
long-tailed data, (b) the raw noisy long-tailed data, (c) a hand-assembled baseline: cleanlab's
``find_label_issues`` on 5-fold logistic-regression probabilities, drop, then imbalanced-learn
SMOTE (k lowered by hand for tiny classes, random oversampling for a one-sample class), and
(d) datafix: ``Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates()])`` on its own
audit, trained with ``LogitAdjustedLoss`` (the audit's advice for this imbalance). Balanced
accuracy on a clean, balanced test half; the share of the clean-vs-raw gap that (c) and (d)
recover. Mean over seeds.

Run: .venv/bin/python benchmarks/end_to_end.py [--seeds 0 1 2] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

import datafix as dfx
from _docs import write_section
from datafix.fix import DropBroken, DropLabelIssues, DropNearDuplicates, Pipeline
from datafix.signals import cross_val_pred_probs

LOADERS = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine}


def train_mlp(X, y, n_classes, seed, *, logit_adjusted=False, epochs=80):
    from longtail import train  # the training loop of the long-tail benchmark

    return train(X, y, "logit-adjusted loss" if logit_adjusted else "plain", seed, epochs, n_classes)


def score(model, X, y):
    with torch.no_grad():
        return balanced_accuracy_score(y, model(torch.tensor(X, dtype=torch.float32)).argmax(1).numpy())


def baseline(X, y, seed):
    """cleanlab find_label_issues, drop, then SMOTE as a user would write it."""
    from cleanlab.filter import find_label_issues
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    P = cross_val_pred_probs(X, y, random_state=seed, verbose=False)
    keep = ~find_label_issues(y, P, n_jobs=1)
    Xk, yk = X[keep], y[keep]
    smallest = np.bincount(yk)[np.bincount(yk) > 0].min()
    if smallest < 2:
        Xk, yk = RandomOverSampler(random_state=seed).fit_resample(Xk, yk)
    else:
        Xk, yk = SMOTE(k_neighbors=min(5, smallest - 1), random_state=seed).fit_resample(Xk, yk)
    return Xk, yk


def run_case(name, seed, epochs):
    X, y = LOADERS[name](return_X_y=True)
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
    keep = dfx.datasets.long_tail_subset(y_tr, 15, random_state=seed)
    X_lt, y_clean = X_tr[keep], y_tr[keep]
    k = len(np.unique(y))
    noise = dfx.datasets.noise_matrix(k, 0.25, kind="class_conditional", random_state=seed)
    y_noisy = dfx.datasets.flip_labels(y_clean, noise, random_state=seed)
    out = {"data": name, "seed": seed, "train rows": len(y_clean), "noisy share": float((y_noisy != y_clean).mean())}
    out["clean"] = score(train_mlp(X_lt, y_clean, k, seed, epochs=epochs), X_te, y_te)
    out["raw"] = score(train_mlp(X_lt, y_noisy, k, seed, epochs=epochs), X_te, y_te)
    Xb, yb = baseline(X_lt, y_noisy, seed)
    out["cleanlab + SMOTE"] = score(train_mlp(Xb, yb, k, seed, epochs=epochs), X_te, y_te)
    plan = Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates()]).fit(X_lt, y_noisy, verbose=False)
    labels = plan.labels.astype(int)
    out["datafix"] = score(train_mlp(X_lt[plan.kept], labels, k, seed, logit_adjusted=True, epochs=epochs), X_te, y_te)
    gap = out["clean"] - out["raw"]
    for m in ("cleanlab + SMOTE", "datafix"):
        out[f"{m} gap recovered"] = (out[m] - out["raw"]) / gap if abs(gap) > 1e-9 else np.nan
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for name in LOADERS:
        for seed in args.seeds:
            rows.append(run_case(name, seed, args.epochs))
            r = rows[-1]
            print(f"{name} seed {seed}: clean {r['clean']:.3f}, raw {r['raw']:.3f}, cleanlab + SMOTE "
                  f"{r['cleanlab + SMOTE']:.3f}, datafix {r['datafix']:.3f}", flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby("data", sort=False)[["train rows", "noisy share", "clean", "raw", "cleanlab + SMOTE",
                                                  "datafix"]].mean()
    summary["cleanlab + SMOTE gap recovered"] = (summary["cleanlab + SMOTE"] - summary["raw"]) / (summary["clean"] - summary["raw"])
    summary["datafix gap recovered"] = (summary["datafix"] - summary["raw"]) / (summary["clean"] - summary["raw"])
    summary = summary.round(3)
    print(summary.to_string())
    verdict = [f"{name}: datafix recovers {r['datafix gap recovered']:.0%} of the gap, cleanlab + SMOTE "
               f"{r['cleanlab + SMOTE gap recovered']:.0%}" for name, r in summary.iterrows()]
    print("\n".join(verdict))
    if not args.no_write:
        write_section("end_to_end", "\n".join([
            "## End to end: accuracy of the model trained after the fix", "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch "
            f"{torch.__version__}, datafix {dfx.__version__}. Command: `.venv/bin/python benchmarks/end_to_end.py "
            f"--seeds {' '.join(map(str, args.seeds))} --epochs {args.epochs}`.", "",
            __doc__.split("\n\n")[1].replace("\n", " "), "", "```", summary.to_string(), "```", "",
            *[f"- {v}" for v in verdict]]))


if __name__ == "__main__":
    main()
