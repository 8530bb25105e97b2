"""Synthetic generation: torch SMOTE speed vs imbalanced-learn, and whether generated rows help.

Parts:
- ``speed``: SMOTE at n = 1,000,000, d = 32 (90/10 classes), datafix's TorchSMOTE (approximate
  and exact neighbours) vs imbalanced-learn's SMOTE, in one run.
- ``outcome``: small-data (5 % of the data) and long-tailed (ratio 20) versions of scikit-learn's
  digits, breast cancer and wine; the same logistic regression trained on the real rows alone and
  on real + rows from each generator (small data: every class doubled; long tail: every class
  brought up to the largest); balanced accuracy
  and minority recall on held-out real rows, mean over seeds; then the quality metrics of
  ``datafix.synth.evaluate`` for each generator.

Run: .venv/bin/python benchmarks/synth.py [--parts speed outcome] [--seeds 0 1 2 3 4] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import datafix as dfx
from _docs import write_section
from datafix.balance import Resampler
from datafix.synth import ConditionalVAEGenerator, GaussianCopulaGenerator, TorchSMOTE, evaluate

GENERATORS = ("SMOTE (imbalanced-learn)", "TorchSMOTE", "Gaussian copula", "conditional VAE")


def speed_part() -> list[str]:
    from imblearn.over_sampling import SMOTE

    X, y = make_classification(n_samples=1_000_000, n_features=32, n_informative=16, weights=[0.9, 0.1], random_state=0)
    X = X.astype(np.float32)
    t0 = time.perf_counter()
    _, y_imb = SMOTE(random_state=0).fit_resample(X, y)
    t_imb = time.perf_counter() - t0
    lines = [f"n=1,000,000, d=32, classes 90/10 %: imbalanced-learn SMOTE {t_imb:.1f} s ({len(y_imb) - len(y):,} new rows)"]
    for neighbors in ("auto", "exact"):
        t0 = time.perf_counter()
        new = TorchSMOTE(knn_backend=neighbors, random_state=0, device="cpu").sample(X, y)
        t_df = time.perf_counter() - t0
        lines.append(f"TorchSMOTE (CPU, neighbours {neighbors}{' = inverted-file search' if neighbors == 'auto' else ''}): "
                     f"{t_df:.1f} s ({len(new.y):,} new rows) -> {t_imb / t_df:.1f}x")
    if torch.cuda.is_available():
        Xt = torch.tensor(X, device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        TorchSMOTE(random_state=0).sample(Xt, y)
        torch.cuda.synchronize()
        lines.append(f"TorchSMOTE (GPU): {time.perf_counter() - t0:.2f} s")
    else:
        lines.append("no GPU on this machine: the GPU path was not timed")
    return lines


def load(name: str):
    loader = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine}[name]
    X, y = loader(return_X_y=True)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y


def generate(name: str, train: pd.DataFrame, seed: int) -> pd.DataFrame:
    X, y = train.drop(columns="label").to_numpy(), train["label"].to_numpy()
    counts = pd.Series(y).value_counts()
    if name == "SMOTE (imbalanced-learn)":
        r = Resampler("smote", random_state=seed)
        X_res, y_res = r.fit_resample(X, y)
        new_X, new_y = X_res[len(y):], y_res[len(y):]  # synthetic rows, and copies for one-row classes
    elif name == "TorchSMOTE":
        rows = TorchSMOTE(random_state=seed, device="cpu").sample(X, y)
        new_X, new_y = rows.X, rows.y
    else:
        gen = (GaussianCopulaGenerator(random_state=seed) if name == "Gaussian copula"
               else ConditionalVAEGenerator(epochs=300, random_state=seed)).fit(train, labels="label")
        parts = [gen.sample(int(counts.max() - n), label=c) for c, n in counts.items() if n < counts.max()]
        out = pd.concat(parts, ignore_index=True)
        return out
    out = pd.DataFrame(new_X, columns=train.columns[:-1])
    out["label"] = new_y
    return out


def synthetic_like(name: str, train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A synthetic table with the real one's class counts (every class doubled, the new half kept)."""
    X, y = train.drop(columns="label").to_numpy(), train["label"].to_numpy()
    counts = pd.Series(y).value_counts()
    doubled = {c: 2 * int(n) for c, n in counts.items()}
    if name in ("SMOTE (imbalanced-learn)", "TorchSMOTE"):
        if name == "TorchSMOTE":
            rows = TorchSMOTE(doubled, random_state=seed, device="cpu").sample(X, y)
            new_X, new_y = rows.X, rows.y
        else:
            X_res, y_res = Resampler("smote", sampling_strategy=doubled, random_state=seed).fit_resample(X, y)
            new_X, new_y = X_res[len(y):], y_res[len(y):]
        return pd.DataFrame(new_X, columns=train.columns[:-1]).assign(label=new_y)
    gen = (GaussianCopulaGenerator(random_state=seed) if name == "Gaussian copula"
           else ConditionalVAEGenerator(epochs=300, random_state=seed)).fit(train, labels="label")
    return pd.concat([gen.sample(int(n), label=c) for c, n in counts.items()], ignore_index=True)


def outcome_part(seeds: list[int]) -> tuple[list[str], pd.DataFrame]:
    rows, quality = [], []
    for name in ("digits", "breast_cancer", "wine"):
        X, y = load(name)
        for regime in ("5 % of the data", "long-tailed, ratio 20"):
            for seed in seeds:
                if regime.startswith("5"):
                    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=0.05, stratify=y, random_state=seed)
                else:
                    X_half, X_te, y_half, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
                    keep = dfx.datasets.long_tail_subset(y_half, 20, random_state=seed)
                    X_tr, y_tr = X_half.iloc[keep], y_half[keep]
                train = X_tr.assign(label=y_tr).reset_index(drop=True)
                counts = np.bincount(y_tr, minlength=len(np.unique(y)))
                minority = np.argsort(counts, kind="stable")[: max(1, len(counts) // 3)]
                for gen in ("real only", *GENERATORS):
                    # small data: every class doubled; long tail: every class brought up to the largest
                    new = None if gen == "real only" else (
                        synthetic_like(gen, train, seed) if regime.startswith("5") else generate(gen, train, seed))
                    data = train if new is None else pd.concat([train, new], ignore_index=True)
                    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
                    model.fit(data.drop(columns="label"), data["label"].astype(int))
                    pred = model.predict(X_te)
                    recall = recall_score(y_te, pred, labels=minority, average="macro", zero_division=0)
                    rows.append({"data": name, "regime": regime, "seed": seed, "training rows": gen,
                                 "balanced accuracy": balanced_accuracy_score(y_te, pred), "minority recall": recall})
                    if seed == seeds[0] and gen != "real only" and regime.startswith("long"):
                        q = evaluate(train, synthetic_like(gen, train, seed), "label",
                                     test=X_te.assign(label=y_te), random_state=seed)
                        quality.append({"data": name, "generator": gen, **q.summary})
            print(f"{name}, {regime}: done", flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["data", "regime", "training rows"], sort=False)[["balanced accuracy", "minority recall"]].mean()
    lines = []
    for (name, regime), part in summary.groupby(level=[0, 1], sort=False):
        part = part.droplevel([0, 1])
        base = part.loc["real only"]
        gains = part.drop("real only")
        ok = gains[(gains["minority recall"] - base["minority recall"] >= 0.05)
                   & (gains["balanced accuracy"] >= base["balanced accuracy"] - 1e-9)]
        best = (ok if len(ok) else gains)["minority recall"].idxmax()
        lines.append(
            f"{name}, {regime}: real only balanced accuracy {base['balanced accuracy']:.3f}, minority recall "
            f"{base['minority recall']:.3f}; best {best}: {gains.loc[best, 'balanced accuracy']:.3f} / "
            f"{gains.loc[best, 'minority recall']:.3f} "
            f"({'meets' if len(ok) else 'misses'} +5 points of minority recall without losing balanced accuracy)"
        )
    return lines, summary.round(3), pd.DataFrame(quality).round(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["speed", "outcome"], choices=["speed", "outcome"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    body = ["## Synthetic generation", "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}, datafix {dfx.__version__}. Command: `.venv/bin/python benchmarks/synth.py "
            f"--parts {' '.join(args.parts)} --seeds {' '.join(map(str, args.seeds))}`."]
    if "speed" in args.parts:
        lines = speed_part()
        print("\n".join(lines), flush=True)
        body += ["", "### SMOTE at n = 1M", "", *[f"- {line}" for line in lines]]
    if "outcome" in args.parts:
        lines, summary, quality = outcome_part(args.seeds)
        print(summary.to_string())
        print(quality.to_string())
        print("\n".join(lines))
        body += ["", "### Do generated rows help? (logistic regression, held-out real rows, mean over seeds)", "",
                 "Minority recall: mean recall of the third of the classes with the fewest training rows "
                 "(one class for the binary and 3-class sets). Rows added: in the 5 % regime (stratified, so "
                 "near balanced) each generator doubles every class; in the long-tailed one it brings every "
                 "class up to the largest.", "", "```", summary.to_string(), "```", "",
                 *[f"- {line}" for line in lines], "",
                 "Quality of each generator's rows (long-tailed case, first seed; a synthetic table with the real "
                 "one's class counts; `datafix.synth.evaluate` with its default random forest: TSTR "
                 "and TRTR balanced accuracy, mean per-column KS / total variation, correlation difference, "
                 "median distance to the closest real row relative to real-real distances, share of near-copies, "
                 "real-vs-synthetic AUC, where values under 0.5 on these small tables mean held-out real rows are "
                 "surrounded by synthetic rows made from them):", "", "```", quality.to_string(index=False), "```"]
    if not args.no_write:
        write_section("synth", "\n".join(body))


if __name__ == "__main__":
    main()
