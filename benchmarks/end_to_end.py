"""End to end: does fixing the data raise the accuracy of the model trained afterwards?

On noisy (25 % label noise) and long-tailed (ratio 15) training versions of scikit-learn's
digits (as pixel rows for an MLP, and as 8 x 8 images for a small CNN), breast cancer and wine,
the same model (per case) is trained on (a) the clean long-tailed data, (b) the raw noisy
long-tailed data, (c) a hand-assembled baseline: cleanlab's ``find_label_issues`` on 5-fold
logistic-regression probabilities, drop, then imbalanced-learn SMOTE (k lowered by hand for tiny
classes, random oversampling for a one-sample class), and (d) datafix: ``Pipeline([DropBroken(),
DropLabelIssues(), DropNearDuplicates()])`` on its own audit, trained with ``LogitAdjustedLoss``
(the audit's advice for this imbalance). Two noise models, drawn on the long-tailed subset:
class-conditional (each class flips towards a few others, Dirichlet shares) and by class
frequency (a flipped label lands on another class in proportion to its count; with two classes,
as in breast cancer, both models are the same). Balanced accuracy on a clean, stratified test
half; the share of the clean-vs-raw gap that (c) and (d) recover. Mean over seeds; (d) beats (c)
when their mean per-seed difference passes twice its standard error, and ties otherwise.

Run: .venv/bin/python benchmarks/end_to_end.py [--seeds 0 1 2] [--no-write]
"""

from __future__ import annotations

import argparse
import itertools
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
from _stats import compare
from datafix.fix import DropBroken, DropLabelIssues, DropNearDuplicates, Pipeline
from datafix.signals import cross_val_pred_probs

LOADERS = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine}


def cnn(n_classes: int) -> torch.nn.Module:
    """A small conv net for digits' 8 x 8 images."""
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 4 * 4, n_classes),
    )


def train_model(X, y, n_classes, seed, *, model="mlp", logit_adjusted=False, epochs=80):
    from longtail import train  # the training loop of the long-tail benchmark

    return train(X, y, "logit-adjusted loss" if logit_adjusted else "plain", seed, epochs, n_classes,
                 make_model=cnn if model == "cnn" else None)


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


CASES = {  # case name: (dataset, model)
    "digits": ("digits", "mlp"),
    "digits (CNN on 8 x 8 images)": ("digits", "cnn"),
    "breast_cancer": ("breast_cancer", "mlp"),
    "wine": ("wine", "mlp"),
}


NOISE = {  # noise model: kind of dfx.datasets.noise_matrix
    "class-conditional": "class_conditional",
    "by class frequency": "by_frequency",
}


def run_case(case, noise_model, seed, epochs):
    name, model = CASES[case]
    X, y = LOADERS[name](return_X_y=True)
    # images keep their pixel scale (0..1) for the conv net; tables are standardised per column
    X = X / 16.0 if model == "cnn" else (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
    keep = dfx.datasets.long_tail_subset(y_tr, 15, random_state=seed)
    X_lt, y_clean = X_tr[keep], y_tr[keep]
    k = len(np.unique(y))
    noise = dfx.datasets.noise_matrix(k, 0.25, kind=NOISE[noise_model], class_counts=np.bincount(y_clean, minlength=k),
                                      random_state=seed)
    y_noisy = dfx.datasets.flip_labels(y_clean, noise, random_state=seed)
    rarest = np.bincount(y_clean, minlength=k).argmin()
    out = {"noise": noise_model, "data": case, "seed": seed, "train rows": len(y_clean), "noisy share": float((y_noisy != y_clean).mean()),
           # of the samples that carry the rarest class's label, the share whose label is wrong
           "rarest label wrong": float((y_clean[y_noisy == rarest] != rarest).mean())}

    def fit_score(X_fit, y_fit, logit_adjusted=False):
        trained = train_model(X_fit, y_fit, k, seed, model=model, logit_adjusted=logit_adjusted, epochs=epochs)
        return score(trained, X_te, y_te)

    out["clean"] = fit_score(X_lt, y_clean)
    out["raw"] = fit_score(X_lt, y_noisy)
    out["cleanlab + SMOTE"] = fit_score(*baseline(X_lt, y_noisy, seed))
    plan = Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates()]).fit(X_lt, y_noisy, verbose=False)
    out["datafix"] = fit_score(X_lt[plan.kept], plan.labels.astype(int), logit_adjusted=True)
    gap = out["clean"] - out["raw"]
    for m in ("cleanlab + SMOTE", "datafix"):
        out[f"{m} gap recovered"] = (out[m] - out["raw"]) / gap if abs(gap) > 1e-9 else np.nan
    return out


TAIL_NOTE = (
    "`rarest label wrong`: of the training samples that carry the rarest class's label, the share "
    "whose label is wrong. Noise drawn on a long-tailed set can send more majority samples into a tail "
    "class than the tail has: class-conditional noise often does, noise by class frequency does when there "
    "are too few classes to spread the flips over (two in breast cancer, three in wine). That share then "
    "passes one half (here: {}). The given tail label "
    "is then mostly wrong: cleanlab's noise generator rejects such a matrix as invalid, because a "
    "label-noise method needs most carriers of a label to be right to learn what the class looks like."
    " With two classes no noise model avoids it in the issue's range (20 to 30 % wrong labels, ratio 10 to 20): "
    "if a share s of all labels is wrong and the true class counts have ratio r, with s (r + 1) > 1, at least "
    "s (r + 1) / (s (r + 1) + 1) of the minority label's carriers are wrong (the bound is reached when no minority "
    "sample is flipped): 69 % at s = 20 %, r = 10; 80 % at s = 25 %, r = 15, the breast cancer case here."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for noise_model, name, seed in itertools.product(NOISE, CASES, args.seeds):
        rows.append(run_case(name, noise_model, seed, args.epochs))
        r = rows[-1]
        print(f"{noise_model} noise, {name} seed {seed}: clean {r['clean']:.3f}, raw {r['raw']:.3f}, cleanlab + SMOTE "
              f"{r['cleanlab + SMOTE']:.3f}, datafix {r['datafix']:.3f}", flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["noise", "data"], sort=False)[["train rows", "noisy share", "rarest label wrong", "clean", "raw",
                                                  "cleanlab + SMOTE", "datafix"]].mean()
    summary["cleanlab + SMOTE gap recovered"] = (summary["cleanlab + SMOTE"] - summary["raw"]) / (summary["clean"] - summary["raw"])
    summary["datafix gap recovered"] = (summary["datafix"] - summary["raw"]) / (summary["clean"] - summary["raw"])
    summary = summary.round(3)
    print(summary.to_string())
    verdict = []
    for (noise_model, name), r in summary.iterrows():
        by_seed = table[(table["noise"] == noise_model) & (table["data"] == name)].set_index("seed")
        verdict.append(f"{noise_model} noise, {name}: datafix recovers {r['datafix gap recovered']:.0%} of the gap, "
                       f"cleanlab + SMOTE {r['cleanlab + SMOTE gap recovered']:.0%}; datafix "
                       f"{compare(by_seed['datafix'], by_seed['cleanlab + SMOTE'], 'cleanlab + SMOTE')}")
    print("\n".join(verdict))
    if not args.no_write:
        write_section("end_to_end", "\n".join([
            "## End to end: accuracy of the model trained after the fix", "",
            REGIME_NOTE, "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch "
            f"{torch.__version__}, datafix {dfx.__version__}. Command: `.venv/bin/python benchmarks/end_to_end.py "
            f"--seeds {' '.join(map(str, args.seeds))} --epochs {args.epochs}`.", "",
            __doc__.split("\n\n")[1].replace("\n", " "), "", "```", summary.to_string(), "```", "",
            *[f"- {v}" for v in verdict], "", TAIL_NOTE.format(
                "; ".join(f"{noise_model} noise, {name}" for noise_model, name in
                          summary.index[summary["rarest label wrong"] > 0.5]) or "none")]))


#: What this table is since issue 17: the small embedded cases, kept as the regime where no cleaner
#: can close the gap.
REGIME_NOTE = (
    "**The regime of this table: tiny embedded sets where most tail labels are impostors.** With 32 to 318 "
    "training rows, a long tail and 25 % noise, the rarest label's carriers are mostly wrong in six of the eight "
    "cases (the bound below), and no label cleaner can learn the class from them. The 90 % gap-recovery target "
    "belongs to the end-to-end benchmark on noisy, long-tailed Fashion-MNIST (issue 17, benchmark 2), not to "
    "this table.")


if __name__ == "__main__":
    main()
