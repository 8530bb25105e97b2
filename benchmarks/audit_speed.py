"""Audit speed and detection: datafix.audit vs cleanlab's Datalab.find_issues, same data, one run.

Both get the same features (d=128) and pred_probs, and the same issue types: label, outlier,
near-duplicate, class imbalance, null. Data: 10 Gaussian classes in 128-d (one of them rare),
10 % label noise (among the common classes), 1 % far outliers, 1 % near copies; pred_probs out
of sample from a 5-fold torch linear probe on the noisy labels (not timed; the --scale run uses
the true-centre posteriors instead, as it compares nothing). For each n the script prints both times and the ratio, and per issue
type the Jaccard agreement of the flagged sets and precision/recall against the injected truth.

Datalab's kNN checks fail on NaN features (it logs the error and skips them), so nulls are timed
in a second call per tool on a copy with 0.5 % all-NaN rows (datafix: nan_policy="impute").

Run: .venv/bin/python benchmarks/audit_speed.py [--sizes 10000 50000 100000] [--scale 1000000]
Needs the bench extra (cleanlab[datalab]).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import warnings

import numpy as np
import pandas as pd

import datafix as dfx
from _docs import read_section, write_section
from datafix.signals import cross_val_pred_probs

ISSUES = {  # datafix check -> (datafix flag, Datalab issue type, Datalab flag)
    "label": ("is_label_issue", "label", "is_label_issue"),
    "outlier": ("is_outlier", "outlier", "is_outlier_issue"),
    "duplicate": ("is_duplicate", "near_duplicate", "is_near_duplicate_issue"),
    "class_imbalance": ("is_class_imbalance", "class_imbalance", "is_class_imbalance_issue"),
}


def make_data(n: int, d: int = 128, k: int = 10, seed: int = 0, realistic_probs: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 1.0, (k, d)) * 0.6
    share = np.r_[np.full(k - 1, 0.995 / (k - 1)), 0.005]
    y_true = rng.choice(k, size=n, p=share)
    X = centers[y_true] + rng.normal(0.0, 1.0, (n, d))
    logits = -((X[:, None, :] - centers[None]) ** 2).sum(-1) / 2.0 if n <= 200_000 else _chunked_logits(X, centers)
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    y = y_true.copy()
    flip = rng.random(n) < 0.10
    # a flipped label goes to another common class, so the rare class stays rare
    y[flip] = (y_true[flip] + rng.integers(1, k - 1, flip.sum())) % (k - 1)
    n_out, n_dup = n // 100, n // 100
    out_idx = rng.choice(n, n_out, replace=False)
    X[out_idx] = rng.normal(0.0, 1.0, (n_out, d)) * 4.0
    rest = np.setdiff1d(np.arange(n), out_idx)
    src, dst = rng.choice(rest, (2, n_dup), replace=False)
    X[dst] = X[src] + rng.normal(0.0, 1e-3, (n_dup, d))
    P[dst], y[dst], y_true[dst] = P[src], y[src], y_true[src]
    flip = y != y_true
    if realistic_probs:  # out-of-sample probabilities of a model trained on the noisy labels
        P = cross_val_pred_probs(X, y, n_classes=k, model="linear", random_state=seed, verbose=False)
    truth = {
        "label": flip,
        "outlier": np.isin(np.arange(n), out_idx),
        "duplicate": np.isin(np.arange(n), np.r_[src, dst]),
        "class_imbalance": y == k - 1,
    }
    return {"X": X, "y": y, "P": P, "truth": truth}


def _chunked_logits(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    out = np.empty((len(X), len(centers)))
    for s in range(0, len(X), 100_000):
        out[s : s + 100_000] = -((X[s : s + 100_000, None, :] - centers[None]) ** 2).sum(-1) / 2.0
    return out


def with_nulls(X: np.ndarray, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), max(1, len(X) // 200), replace=False)
    Xn = X.copy()
    Xn[rows] = np.nan
    return Xn, np.isin(np.arange(len(X)), rows)


def run_datalab(data: dict, Xn: np.ndarray) -> tuple[float, dict]:
    from cleanlab import Datalab

    t0 = time.perf_counter()
    lab = Datalab(data={"label": data["y"]}, label_name="label", verbosity=0)
    types = {v[1]: {} for v in ISSUES.values()}
    lab.find_issues(features=data["X"], pred_probs=data["P"], issue_types=types)
    issues = lab.get_issues()
    lab_null = Datalab(data={"label": data["y"]}, label_name="label", verbosity=0)
    lab_null.find_issues(features=Xn, issue_types={"null": {}})
    seconds = time.perf_counter() - t0
    flags = {name: issues[v[2]].to_numpy(bool) for name, v in ISSUES.items()}
    flags["null"] = lab_null.get_issues()["is_null_issue"].to_numpy(bool)
    return seconds, flags


def run_datafix(data: dict, Xn: np.ndarray) -> tuple[float, dict]:
    t0 = time.perf_counter()
    report = dfx.audit(data["X"], data["y"], pred_probs=data["P"], checks=[*ISSUES, "null"], verbose=False)
    nulls = dfx.audit(Xn, data["y"], checks=["null"], nan_policy="impute", verbose=False)
    seconds = time.perf_counter() - t0
    flags = {name: report.issues[v[0]].to_numpy(bool) for name, v in ISSUES.items()}
    flags["null"] = nulls.issues["is_null"].to_numpy(bool)
    return seconds, flags


def pr(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hits = (found & truth).sum()
    return hits / max(found.sum(), 1), hits / max(truth.sum(), 1)


def compare(n: int, seed: int) -> list[dict]:
    data = make_data(n, seed=seed)
    Xn, null_truth = with_nulls(data["X"])
    truth = {**data["truth"], "null": null_truth}
    t_dl, f_dl = run_datalab(data, Xn)
    t_df, f_df = run_datafix(data, Xn)
    print(f"n={n}: Datalab {t_dl:.1f}s, datafix {t_df:.1f}s, ratio {t_dl / t_df:.1f}x", flush=True)
    rows = []
    for name in [*ISSUES, "null"]:
        a, b = f_dl[name], f_df[name]
        jaccard = (a & b).sum() / max((a | b).sum(), 1)
        p_dl, r_dl = pr(a, truth[name])
        p_df, r_df = pr(b, truth[name])
        print(f"  {name:>15}: Jaccard {jaccard:.3f}; Datalab P/R {p_dl:.3f}/{r_dl:.3f}; "
              f"datafix P/R {p_df:.3f}/{r_df:.3f}", flush=True)
        rows.append({"n": n, "issue": name, "Datalab s": t_dl, "datafix s": t_df, "speed-up": t_dl / t_df,
                     "Jaccard": jaccard, "Datalab P": p_dl, "Datalab R": r_dl, "datafix P": p_df, "datafix R": r_df})
    return rows


def scale_run(n: int, seed: int) -> str:
    data = make_data(n, seed=seed, realistic_probs=False)
    t0 = time.perf_counter()
    report = dfx.audit(data["X"], data["y"], pred_probs=data["P"], checks=[*ISSUES, "null"], verbose=False)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    recall = {name: pr(report.issues[v[0]].to_numpy(bool), data["truth"][name])[1] for name, v in ISSUES.items()}
    line = (f"n={n}, d=128, pred_probs given: full audit (label, outlier, duplicate, class_imbalance, null) "
            f"{seconds:.0f} s, peak memory of the process {peak:.1f} GiB; kNN backend {report.signals['neighbors']}; "
            "recall vs injected truth " + ", ".join(f"{k} {v:.3f}" for k, v in recall.items()))
    print(line, flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 50_000, 100_000])
    parser.add_argument("--scale", type=int, default=0, help="also time datafix alone at this n (e.g. 1000000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = [r for n in args.sizes for r in compare(n, args.seed)]
    scale = scale_run(args.scale, args.seed) if args.scale else ""
    if not args.no_write:
        write_doc(pd.DataFrame(rows), scale, args)


def write_doc(table: pd.DataFrame, scale: str, args: argparse.Namespace) -> None:
    shown = table.copy()
    for col in shown.columns:
        if shown[col].dtype == float:
            shown[col] = shown[col].map(lambda v: f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}")
    cmd = f".venv/bin/python benchmarks/audit_speed.py --sizes {' '.join(map(str, args.sizes))}"
    cmd += f" --scale {args.scale}" if args.scale else ""
    speed = table.groupby("n")["speed-up"].first()
    lines = [
        "## Audit speed: datafix vs cleanlab Datalab",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU, Python {platform.python_version()}, "
        f"cleanlab {dfx.report.library_versions()['cleanlab']}, datafix {dfx.__version__}. Command: `{cmd}`.",
        "",
        "Same features (d=128) and out-of-sample pred_probs (5-fold torch linear probe, not timed) for both; issue types label, outlier, near-duplicate, class "
        "imbalance, null (nulls timed in a second call on a copy with 0.5 % all-NaN rows, since Datalab's "
        "kNN checks skip NaN features). Times are whole calls. P/R are against the injected truth.",
        "",
        "```",
        shown.to_string(index=False),
        "```",
        "",
        "**Speed-up (Datalab time / datafix time):** " + ", ".join(f"n={n}: {v:.1f}x" for n, v in speed.items()) + ".",
    ]
    previous = read_section("audit_speed")
    if scale:
        lines += ["", f"**Scale** (`{cmd}`): {scale}."]
    elif previous:  # keep the last scale measurement, which names its own command
        lines += ["", *[ln for ln in previous.splitlines() if ln.startswith("**Scale")]]
    write_section("audit_speed", "\n".join(lines))


if __name__ == "__main__":
    main()
