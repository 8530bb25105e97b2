"""Multilabel label errors: datafix vs cleanlab's multilabel ``find_label_issues`` on the same pred_probs.

The multilabel cases of ``benchmarks/longtail.py`` (generated: 8 labels with a long tail; digit
pairs: 8 x 16 images of two digits, 10 labels) with injected errors: a share of the samples get
one label flipped, half of them losing a label they carry (missing) and half gaining one they do
not (spurious). Both methods get the same out-of-sample per-label probabilities (5-fold, one
logistic regression per label: ``datafix.signals.multilabel_pred_probs``); datafix also reads the
features through its kNN graph. Sample-level precision, recall and F1 against the injected truth.

    .venv/bin/python benchmarks/multilabel_label_issues.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from cleanlab.multilabel_classification.filter import find_label_issues as cleanlab_multilabel

from datafix.checks import find_multilabel_issues
from datafix.signals import knn_graph, multilabel_pred_probs
from longtail import multilabel_cases

RATES = (0.05, 0.10, 0.20)


def inject(Y: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``rate`` of the samples get one label flipped: half lose a label they carry, half gain one."""
    given = Y.copy()
    chosen = rng.choice(len(Y), int(rate * len(Y)), replace=False)
    for k, i in enumerate(chosen):
        pool = np.flatnonzero(Y[i] == (1 if k % 2 == 0 else 0))
        pool = pool if len(pool) else np.arange(Y.shape[1])
        j = rng.choice(pool)
        given[i, j] = 1 - given[i, j]
    wrong = np.zeros(len(Y), dtype=bool)
    wrong[chosen] = True
    return given, wrong


def scores(found: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    hits = int((found & truth).sum())
    p, r = hits / max(int(found.sum()), 1), hits / max(int(truth.sum()), 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for seed in args.seeds:
        for name, X, Y, _, _ in multilabel_cases(seed):
            graph = knn_graph(X, k_neighbors=40)
            for rate in RATES:
                given, wrong = inject(Y, rate, np.random.default_rng([seed, int(rate * 100)]))
                P = multilabel_pred_probs(X, given, random_state=seed, verbose=False)
                ours = find_multilabel_issues(given, P, neighbors=graph)["is_label_issue"].to_numpy()
                theirs = np.zeros(len(Y), dtype=bool)
                theirs[cleanlab_multilabel([list(np.flatnonzero(r)) for r in given], P,
                                           return_indices_ranked_by="self_confidence")] = True
                row = {"data": name, "n": len(Y), "rate": rate, "seed": seed}
                for who, found in (("datafix", ours), ("cleanlab", theirs)):
                    row[f"{who} P"], row[f"{who} R"], row[f"{who} F1"] = scores(found, wrong)
                row["diff"] = row["datafix F1"] - row["cleanlab F1"]
                rows.append(row)
                print(f"{name:>12} n={len(Y)} rate {rate:.2f} seed {seed}: datafix P/R/F1 {row['datafix P']:.3f}/"
                      f"{row['datafix R']:.3f}/{row['datafix F1']:.3f}; cleanlab {row['cleanlab P']:.3f}/"
                      f"{row['cleanlab R']:.3f}/{row['cleanlab F1']:.3f}; diff {row['diff']:+.3f}", flush=True)
    table = pd.DataFrame(rows)
    print(table.groupby(["data", "rate"])[["datafix F1", "cleanlab F1", "diff"]].mean().round(3).to_string())
    print(f"mean F1: cleanlab {table['cleanlab F1'].mean():.3f}, datafix {table['datafix F1'].mean():.3f}; mean diff "
          f"{table['diff'].mean():+.3f} (target >= +0.05), worst {table['diff'].min():+.3f}; {len(table)} cases")


if __name__ == "__main__":
    main()
