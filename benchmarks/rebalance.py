"""Rebalancing: sampler speed vs WeightedRandomSampler, resampling speed vs imbalanced-learn,
and the accuracy a small model gains from each lever on long-tailed data.

Parts (all by default):
- ``sampler``: one epoch of indices at n = 10M with 1,000 long-tailed classes, datafix's
  ClassBalancedSampler vs torch's WeightedRandomSampler, and the n where the latter fails.
- ``resample``: ADASYN, BorderlineSMOTE, Tomek links and ENN at n = 100k, d = 32, datafix vs
  imbalanced-learn, with datafix's own search and with a neighbour graph built once and shared;
  checks that the outputs are identical.
- ``outcome``: long-tailed digits (imbalance ratio 50 and 100), the same MLP trained with plain
  sampling, ClassBalancedSampler, effective-number class weights and logit adjustment;
  balanced accuracy and tail-class recall on a balanced test set, mean over seeds.

Run: .venv/bin/python benchmarks/rebalance.py [--parts sampler resample outcome] [--no-write]
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

import datafix as dfx
from _docs import read_section, write_section
from datafix.balance import ClassBalancedSampler, Resampler
from datafix.signals import knn_graph


def timed(fn, *args, repeat: int = 1, **kwargs):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return out, best


# -- sampler ---------------------------------------------------------------------------------------

def long_tailed_labels(n: int, n_classes: int, seed: int = 0) -> np.ndarray:
    p = 1.0 / np.arange(1, n_classes + 1)
    return np.random.default_rng(seed).choice(n_classes, size=n, p=p / p.sum()).astype(np.int64)


def sampler_part() -> list[str]:
    lines = []
    n, n_classes = 10_000_000, 1000
    labels = long_tailed_labels(n, n_classes)
    counts = np.bincount(labels)
    (sampler, t_init) = timed(ClassBalancedSampler, labels)
    _, t_df = timed(sampler.indices, 0, repeat=3)
    _, t_df_iter = timed(list, sampler)
    weights = torch.from_numpy(1.0 / counts[labels])
    wrs = torch.utils.data.WeightedRandomSampler(weights, num_samples=n)
    _, t_wrs = timed(torch.multinomial, weights, n, replacement=True, repeat=3)
    _, t_wrs_iter = timed(list, wrs)
    lines.append(
        f"n={n:,}, {n_classes} classes (largest {counts.max():,}, smallest {counts.min():,}): one epoch of indices: "
        f"datafix {t_df:.3f} s, WeightedRandomSampler {t_wrs:.3f} s -> {t_wrs / t_df:.1f}x faster; "
        f"iterating the sampler (Python ints): datafix {t_df_iter:.2f} s, WeightedRandomSampler {t_wrs_iter:.2f} s; "
        f"datafix set-up {t_init:.2f} s once"
    )
    drawn = np.bincount(labels[sampler.indices(0)], minlength=n_classes) / n
    lines.append(f"class shares drawn by datafix: min {drawn.min():.5f}, max {drawn.max():.5f} (target {1 / n_classes:.5f})")
    big = (1 << 24) + 1
    labels = long_tailed_labels(big, n_classes, seed=1)
    try:
        torch.multinomial(torch.ones(big, dtype=torch.float64), 10, replacement=True)
        failure = "did not fail"
    except RuntimeError as err:
        failure = f"fails: `{str(err).splitlines()[0]}`"
    big_sampler = ClassBalancedSampler(labels)
    _, t_big = timed(big_sampler.indices, 0)
    lines.append(f"n=2**24+1={big:,}: WeightedRandomSampler {failure}; datafix draws the epoch in {t_big:.3f} s")
    return lines


# -- resampling ------------------------------------------------------------------------------------

def resample_part() -> list[str]:
    from imblearn.over_sampling import ADASYN, BorderlineSMOTE
    from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=100_000, n_features=32, n_informative=16, weights=[0.9, 0.1],
                               class_sep=1.0, random_state=0)
    cases = [
        ("ADASYN", "adasyn", lambda: ADASYN(random_state=0), True),
        ("BorderlineSMOTE", "borderline_smote", lambda: BorderlineSMOTE(random_state=0), True),
        ("TomekLinks", "tomek_links", TomekLinks, False),
        ("EditedNearestNeighbours", "edited_nearest_neighbours", EditedNearestNeighbours, False),
    ]
    graph, t_graph = timed(knn_graph, X, k_neighbors=10, standardize=False, knn_backend="exact")
    lines = [f"data: make_classification n=100,000, d=32, classes 90/10 %; shared exact graph (k=10): built once in {t_graph:.1f} s"]
    total_imb = total_own = total_shared = 0.0
    for label, name, peer, seeded in cases:
        kwargs = {"random_state": 0} if seeded else {}
        (expected, t_imb) = timed(peer().fit_resample, X, y)
        (own, t_own) = timed(Resampler(name, **kwargs).fit_resample, X, y)
        (shared, t_shared) = timed(Resampler(name, **kwargs).fit_resample, X, y, neighbors=graph)
        same = all(
            a[0].shape == expected[0].shape and np.array_equal(a[1], expected[1]) and np.allclose(a[0], expected[0])
            for a in (own, shared)
        )
        total_imb += t_imb
        total_own += t_own
        total_shared += t_shared
        lines.append(
            f"{label}: imbalanced-learn {t_imb:.2f} s; datafix own search {t_own:.2f} s ({t_imb / t_own:.1f}x); "
            f"datafix with the shared graph {t_shared:.3f} s ({t_imb / t_shared:.0f}x); identical output: {same}"
        )
    lines.append(
        f"all four: imbalanced-learn {total_imb:.1f} s; datafix own search {total_own:.1f} s "
        f"({total_imb / total_own:.1f}x); datafix graph + shared {t_graph + total_shared:.1f} s "
        f"({total_imb / (t_graph + total_shared):.1f}x)"
    )
    return lines


# -- outcome ---------------------------------------------------------------------------------------

LEVERS = ("plain", "ClassBalancedSampler", "effective-number weights", "logit adjustment")
LEVER_NAMES = {  # the same levers under benchmarks/longtail.py's names
    "plain": "plain",
    "ClassBalancedSampler": "balanced sampler from epoch 0",
    "effective-number weights": "class-balanced loss",
    "logit adjustment": "logit-adjusted loss",
}


def train_and_score(X_tr, y_tr, X_te, y_te, lever: str, seed: int, epochs: int = 60) -> tuple[float, float]:
    from sklearn.metrics import balanced_accuracy_score, recall_score

    from longtail import train  # one training loop for both benchmarks

    n_classes = 10
    model = train(X_tr, y_tr, LEVER_NAMES[lever], seed, epochs, n_classes)
    with torch.no_grad():
        pred = model(torch.tensor(X_te, dtype=torch.float32)).argmax(1).numpy()
    counts = np.bincount(y_tr, minlength=n_classes)
    tail = np.argsort(counts, kind="stable")[:3]
    recalls = recall_score(y_te, pred, labels=np.arange(n_classes), average=None, zero_division=0)
    return balanced_accuracy_score(y_te, pred), float(recalls[tail].mean())


def outcome_part(seeds: list[int]) -> list[str]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    lines, rows = [], []
    for ratio in (50, 100):
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
            keep = dfx.datasets.long_tail_subset(y_tr, ratio, random_state=seed)
            X_lt, y_lt = X_tr[keep], y_tr[keep]
            for lever in LEVERS:
                bal, tail = train_and_score(X_lt, y_lt, X_te, y_te, lever, seed)
                rows.append({"ratio": ratio, "seed": seed, "lever": lever, "balanced accuracy": bal, "tail recall": tail,
                             "n train": len(y_lt), "smallest class": int(np.bincount(y_lt).min())})
    table = pd.DataFrame(rows)
    summary = table.groupby(["ratio", "lever"], sort=False)[["balanced accuracy", "tail recall"]].agg(["mean", "std"])
    for (ratio, lever), r in summary.iterrows():
        sub = table[(table.ratio == ratio) & (table.lever == lever)]
        lines.append(
            f"ratio {ratio} (train n={sub['n train'].iloc[0]}, smallest class {sub['smallest class'].iloc[0]}), {lever}: "
            f"balanced accuracy {r[('balanced accuracy', 'mean')]:.3f} +- {r[('balanced accuracy', 'std')]:.3f}, "
            f"recall of the 3 rarest classes {r[('tail recall', 'mean')]:.3f} +- {r[('tail recall', 'std')]:.3f}"
        )
    for ratio in (50, 100):
        means = table[table.ratio == ratio].groupby("lever")["balanced accuracy"].mean()
        best = means.drop("plain").idxmax()
        lines.append(
            f"ratio {ratio}: best lever {best} {means[best]:.3f} vs plain {means['plain']:.3f}: "
            f"{100 * (means[best] - means['plain']):+.1f} points of balanced accuracy (target >= +5)"
        )
    return lines


def write_doc(sections: dict[str, list[str]], command: str) -> None:
    old = {}
    previous = read_section("rebalance")
    if previous:
        for block in previous.split("\n### ")[1:]:
            title, _, rest = block.partition("\n")
            old[title.strip()] = rest.strip()
    titles = {
        "sampler": "Sampler: one epoch at n = 10M",
        "resample": "Resampling at n = 100k, d = 32",
        "outcome": "Outcome: long-tailed digits, small MLP",
    }
    for key, lines in sections.items():
        old[titles[key]] = (f"Command: `{command}`\n\n" + "\n".join(f"- {line}" for line in lines))
    parts = ["## Rebalancing: datafix vs WeightedRandomSampler and imbalanced-learn", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"torch {torch.__version__}, datafix {dfx.__version__}."]
    for title in titles.values():
        if title in old:
            parts += ["", f"### {title}", "", old[title]]
    write_section("rebalance", "\n".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["sampler", "resample", "outcome"],
                        choices=["sampler", "resample", "outcome"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    runners = {"sampler": sampler_part, "resample": resample_part, "outcome": lambda: outcome_part(args.seeds)}
    sections = {}
    for part in args.parts:
        print(f"== {part}", flush=True)
        sections[part] = runners[part]()
        for line in sections[part]:
            print(line, flush=True)
    if not args.no_write:
        parts = " ".join(args.parts)
        seeds = " ".join(map(str, args.seeds))
        write_doc(sections, f".venv/bin/python benchmarks/rebalance.py --parts {parts} --seeds {seeds}")


if __name__ == "__main__":
    main()
