"""Label-issue detection: datafix vs cleanlab.filter.find_label_issues on the same pred_probs.

Both get the same out-of-sample predicted probabilities (5-fold logistic regression on
standardised features); datafix also uses the features (its kNN graph). For each case the
script prints precision, recall, F1 and time of both, and the F1 difference, then the means.
It rewrites its section of docs/benchmarks.md.

Run: .venv/bin/python benchmarks/label_issues.py [--seeds 0 1 2] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues as cleanlab_find_label_issues

import datafix as dfx
from _docs import write_section
from datafix.checks import find_label_issues
from datafix.signals import cross_val_pred_probs, knn_graph

DATASETS = ("digits", "classification", "blobs")
RATES = (0.1, 0.2, 0.4)
NOISE_TYPES = ("symmetric", "class_conditional")


def scores(found: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    hits = int((found & truth).sum())
    p = hits / max(int(found.sum()), 1)
    r = hits / max(int(truth.sum()), 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


def run_case(name: str, rate: float, noise_type: str, seed: int, k: int = 40) -> dict:
    data = dfx.datasets.load_noisy(name, noise=rate, noise_type=noise_type, random_state=seed)
    labels = np.unique(data.y, return_inverse=True)[1]
    P = cross_val_pred_probs(data.X, labels, random_state=seed, verbose=False)

    t0 = time.perf_counter()
    theirs = cleanlab_find_label_issues(labels, P, n_jobs=1)
    t_cl = time.perf_counter() - t0

    t0 = time.perf_counter()
    graph = knn_graph(data.X, k)
    ours = find_label_issues(labels, P, neighbors=graph)["is_label_issue"].to_numpy()
    t_df = time.perf_counter() - t0

    pc, rc, fc = scores(theirs, data.is_label_error)
    pd_, rd, fd = scores(ours, data.is_label_error)
    return {
        "data": name, "n": len(labels), "noise": rate, "type": noise_type, "seed": seed,
        "cleanlab P": pc, "cleanlab R": rc, "cleanlab F1": fc, "cleanlab s": t_cl,
        "datafix P": pd_, "datafix R": rd, "datafix F1": fd, "datafix s": t_df,
        "F1 diff": fd - fc,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--k", type=int, default=40, help="neighbours in the kNN graph (datafix default: 40)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for seed in args.seeds:
        for name in DATASETS:
            for rate in RATES:
                for noise_type in NOISE_TYPES:
                    row = run_case(name, rate, noise_type, seed, args.k)
                    rows.append(row)
                    print(
                        f"{name:>14} n={row['n']} noise={rate:.1f} {noise_type:>17} seed={seed}: "
                        f"cleanlab P/R/F1 {row['cleanlab P']:.3f}/{row['cleanlab R']:.3f}/{row['cleanlab F1']:.3f} "
                        f"({row['cleanlab s']:.3f}s)  datafix P/R/F1 {row['datafix P']:.3f}/{row['datafix R']:.3f}/"
                        f"{row['datafix F1']:.3f} ({row['datafix s']:.3f}s)  "
                        f"F1 diff {row['F1 diff']:+.3f}",
                        flush=True,
                    )
    table = pd.DataFrame(rows)
    diff = table["F1 diff"]
    verdict = (
        f"mean F1: cleanlab {table['cleanlab F1'].mean():.3f}, datafix {table['datafix F1'].mean():.3f}; "
        f"mean F1 diff {diff.mean():+.3f} (target >= +0.05), worst case {diff.min():+.3f} (target >= -0.01), "
        f"{len(table)} cases"
    )
    print(verdict)
    if not args.no_write:
        write_doc(table, verdict, args.seeds, args.k)


def write_doc(table: pd.DataFrame, verdict: str, seeds: list[int], k: int) -> None:
    shown = table.copy()
    for col in shown.columns:
        if shown[col].dtype == float and col not in ("noise",):
            shown[col] = shown[col].map(lambda v: f"{v:.3f}")
    seed_args = " ".join(map(str, seeds))
    section = "\n".join([
        "## Label issues: datafix vs cleanlab `find_label_issues`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"cleanlab {dfx.report.library_versions()['cleanlab']}, datafix {dfx.__version__}. "
        f"Command: `.venv/bin/python benchmarks/label_issues.py --seeds {seed_args} --k {k}`.",
        "",
        "Both methods get the same out-of-sample `pred_probs` (5-fold logistic regression); datafix "
        f"also reads the features through its kNN graph (k={k}). Times are the detection step only "
        "(datafix's includes building the kNN graph).",
        "",
        shown.to_markdown(index=False) if _has_tabulate() else "```\n" + shown.to_string(index=False) + "\n```",
        "",
        f"**Result:** {verdict}.",
    ])
    write_section("label_issues", section)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
