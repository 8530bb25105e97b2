"""Wrong regression targets: datafix's label check vs cleanlab's regression scores, same predictions.

Real tables that ship with installed packages (issue 19, part 1): scikit-learn's diabetes (442 x 10)
and three sets of Debian's ``r-cran-mlbench`` read with ``pyreadr`` (``make data`` installs both):
BostonHousing (506 x 13, median value ``medv``, one categorical column), Ozone (366 days, daily
maximum ozone ``V4``; the 5 days without it dropped, the features' 198 missing values imputed
with ``nan_policy="impute"``; month, day and weekday categorical) and Servo (167 x 4, all
categorical, rise time ``Class``). Injected corruptions (:func:`datafix.datasets.corrupt_targets`):
``outlying`` (a target moved by 2-4 standard deviations), ``swapped`` (targets permuted among the
chosen samples) and ``mixed`` (half each), at 5, 10 and 20 %.

Both methods read the same out-of-sample predictions: 5-fold cross-validation of datafix's default
regressor on the audit's features (:func:`datafix.signals.predictions.cross_val_predictions`).
datafix: ``audit(table, labels=target, task="regression", predictions=...)``, its own rule
(``is_label_issue``). cleanlab, two ways:

- ``cleanlab_rank``: ``cleanlab.regression.rank.get_label_quality_scores`` (method ``"outre"``, its
  default) on the same predictions. The ranking has no threshold, so it flags the lowest-scoring
  samples, as many as were truly corrupted: an oracle count no real rule has, so this column is
  an upper bound on cleanlab's scores with any rule.
- ``cleanlab_learn``: ``cleanlab.regression.learn.CleanLearning().find_label_issues(X, y)``, cleanlab's
  own complete method with its own rule (its default model, a linear regression, and its own
  cross-validation; with the gradient-boosting model it took about 100 s per case here).

F1 of the flagged against the corrupted targets; average precision of each score (datafix's and
cleanlab_rank's) as the threshold-free view. Mean and standard error over seeds.

    .venv/bin/python benchmarks/regression_labels.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from cleanlab.regression.learn import CleanLearning
from cleanlab.regression.rank import get_label_quality_scores
from sklearn.datasets import load_diabetes
from sklearn.metrics import average_precision_score, f1_score

import datafix as dfx
from datafix.data import as_view
from datafix.datasets import corrupt_targets
from datafix.signals import handle_non_finite
from datafix.signals.predictions import cross_val_predictions

MLBENCH = Path("/usr/lib/R/site-library/mlbench/data")
RATES = (0.05, 0.1, 0.2)
KINDS = ("outlying", "swapped", "mixed")


def load_tables() -> dict[str, tuple[pd.DataFrame, str]]:
    """Each real table with its target column's name."""
    data = load_diabetes(as_frame=True)
    tables = {"diabetes": (data.frame, "target")}
    try:
        import pyreadr
    except ImportError:
        print("pyreadr is not installed (pip install pyreadr): only diabetes")
        return tables
    for name, target in (("BostonHousing", "medv"), ("Ozone", "V4"), ("Servo", "Class")):
        path = MLBENCH / f"{name}.rda"
        if not path.exists():
            print(f"{path} is missing (make data installs r-cran-mlbench): skipped")
            continue
        frame = pyreadr.read_r(str(path))[name]
        tables[name] = (frame[frame[target].notna()].reset_index(drop=True), target)
    return tables


def run(frame: pd.DataFrame, target: str, rate: float, kind: str, seed: int) -> dict:
    corrupted, truth = corrupt_targets(frame[target].to_numpy(), rate, kind=kind, random_state=seed)
    noisy = frame.assign(**{target: corrupted})
    view = handle_non_finite(as_view(noisy, target, task="regression"), "impute")
    predictions, model = cross_val_predictions(np.asarray(view.features), corrupted, random_state=seed, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = dfx.audit(noisy, labels=target, task="regression", predictions=predictions, nan_policy="impute",
                           checks="label", random_state=seed, verbose=False)
    found = report.issues["is_label_issue"].to_numpy(bool)
    ours = report.issues["label_score"].to_numpy()
    theirs = get_label_quality_scores(corrupted, predictions)
    flagged = np.zeros(len(truth), bool)
    flagged[np.argsort(theirs, kind="stable")[: truth.sum()]] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learned = CleanLearning(seed=seed, verbose=False).find_label_issues(np.asarray(view.features), corrupted)
    return {"datafix": f1_score(truth, found), "cleanlab_rank": f1_score(truth, flagged),
            "cleanlab_learn": f1_score(truth, learned["is_label_issue"].to_numpy(bool)),
            "datafix_ap": average_precision_score(truth, -ours), "cleanlab_ap": average_precision_score(truth, -theirs),
            "n_flagged": int(found.sum()), "n_corrupted": int(truth.sum()), "model": model}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for name, (frame, target) in load_tables().items():
        for kind in KINDS:
            for rate in RATES:
                for seed in args.seeds:
                    rows.append({"data": name, "kind": kind, "rate": rate, "seed": seed,
                                 **run(frame, target, rate, kind, seed)})
    results = pd.DataFrame(rows)
    cases = results.groupby(["data", "kind", "rate"])[["datafix", "cleanlab_learn", "cleanlab_rank", "datafix_ap",
                                                       "cleanlab_ap", "n_flagged", "n_corrupted"]].mean()
    cases["diff_learn"] = cases["datafix"] - cases["cleanlab_learn"]
    cases["diff_rank"] = cases["datafix"] - cases["cleanlab_rank"]
    pd.set_option("display.width", 200)
    print(cases.round(3).to_string())
    per_seed = results.groupby("seed")[["datafix", "cleanlab_learn", "cleanlab_rank", "datafix_ap",
                                         "cleanlab_ap"]].mean()
    print(f"\n{len(cases)} cases x {len(args.seeds)} seeds; models chosen: "
          f"{results['model'].value_counts().to_dict()}")
    for other in ("cleanlab_learn", "cleanlab_rank"):
        diff = per_seed["datafix"] - per_seed[other]
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        print(f"mean F1: datafix {per_seed['datafix'].mean():.3f}, {other} {per_seed[other].mean():.3f}, difference "
              f"{diff.mean():+.3f} +- {se:.3f} (s.e. over seeds); worst case {cases['diff_' + other[9:]].min():+.3f}")
    print(f"mean average precision: datafix {per_seed['datafix_ap'].mean():.3f}, cleanlab "
          f"{per_seed['cleanlab_ap'].mean():.3f}")
    for kind in KINDS:
        part = cases.xs(kind, level="kind")
        print(f"  {kind:9s} F1 datafix {part['datafix'].mean():.3f} cleanlab_learn {part['cleanlab_learn'].mean():.3f} "
              f"cleanlab_rank {part['cleanlab_rank'].mean():.3f}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
