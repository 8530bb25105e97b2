"""Which signals should the label check use for images when the user gives none? Measured by size.

Fashion-MNIST training subsets (Debian's ``dataset-fashion-mnist``, ``make data``) of several
sizes, 20 % of the labels flipped (symmetric: to any other class; confusable: to the class most
often mistaken for it), and for each the label check's F1 against the flips and its time with:

- ``pretrained``: ImageNet-pretrained EfficientNet-Lite0 embeddings (``datafix[pretrained]``, no
  download; the 28 x 28 images at 112 px), then the audit on them: a cross-validated linear probe
  and kNN label votes;
- ``cnn``: the audit's small ResNet, trained by K-fold cross-validation (``model="cnn"``);
- ``pixels``: the audit on the raw pixels (a cross-validated logistic regression and kNN votes);
- ``pooled``: the pretrained embeddings' kNN votes pooled with the CNN's held-out probabilities
  (two independent views of each image);
- ``default``: what ``dfx.audit(images, labels)`` does with nothing else given (with
  ``datafix[pretrained]`` installed: the pretrained embeddings for the kNN graph, and the mean
  of cross-validated logistic regressions on the embeddings and on the pixels, two views of
  each image, for the label check's probabilities);
- ``cleanlab``: ``cleanlab.filter.find_label_issues`` on 5-fold logistic-regression probabilities
  of the pixels (scikit-learn's defaults), the baseline.

Times are wall-clock seconds on this machine, the embedding included (``pretrained``, ``pooled``)
and the CNN's training included (``cnn``, ``pooled``).

    .venv/bin/python benchmarks/image_default.py --sizes 250 500 1000 3000 --seeds 0 1
    .venv/bin/python benchmarks/image_default.py --sizes 1000 5000 --methods default --seeds 0   # the time targets
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
from _docs import write_section

#: Fashion-MNIST's confusable pairs (as in ``benchmarks/outcome.py``).
CONFUSABLE = {0: 6, 6: 0, 2: 4, 4: 2, 7: 9, 9: 7, 5: 7, 3: 0, 1: 3, 8: 2}
METHODS = ("cleanlab", "pixels", "pretrained", "cnn", "pooled", "default")


def noisy(truth: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    flip = rng.random(len(truth)) < 0.2
    given = truth.copy()
    if kind == "confusable":
        given[flip] = [CONFUSABLE[c] for c in truth[flip]]
    else:
        given[flip] = (truth[flip] + rng.integers(1, 10, flip.sum())) % 10
    return given


def f1(found: np.ndarray, wrong: np.ndarray) -> float:
    return float(2 * (found & wrong).sum() / max(found.sum() + wrong.sum(), 1))


def embed(images: np.ndarray) -> np.ndarray:
    """The default's embeddings (the network the audit picks for these images, at its input size)."""
    from datafix.data.torch_dataset import embed_images
    from datafix.signals.image_default import default_extractor

    return embed_images(default_extractor(images.shape[1:], device="cpu"), torch.from_numpy(images))


def cleanlab_baseline(images: np.ndarray, given: np.ndarray, seed: int) -> np.ndarray:
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    flat = images.reshape(len(images), -1).astype(np.float64) / 255.0
    P = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), flat, given,
                          cv=StratifiedKFold(5, shuffle=True, random_state=seed), method="predict_proba")
    return find_label_issues(given, P, n_jobs=1)


def run(size: int, seed: int, kinds: list[str], methods: list[str], cache: dict) -> list[dict]:
    data = cache.setdefault("train", dfx.datasets.load_fashion_mnist("train"))
    rng = np.random.default_rng([seed, size])
    idx = np.sort(rng.choice(len(data.labels), size, replace=False))
    images, truth = data.images[idx], data.labels[idx].astype(np.int64)
    embedding_seconds = None
    E = None
    if {"pretrained", "pooled"} & set(methods):
        started = time.perf_counter()
        E = embed(images)
        embedding_seconds = time.perf_counter() - started
    rows = []
    for kind in kinds:
        given = noisy(truth, kind, np.random.default_rng([seed, size, len(kind)]))
        wrong = given != truth
        row = {"size": size, "noise": kind, "seed": seed}
        cnn_probs, cnn_seconds = None, None
        for method in methods:
            started = time.perf_counter()
            if method == "cleanlab":
                found = cleanlab_baseline(images, given, seed)
            elif method == "pixels":
                found = dfx.audit(images, given, model="logistic", checks="label", random_state=seed,
                                  verbose=False).issues["is_label_issue"].to_numpy(bool)
            elif method == "pretrained":
                found = dfx.audit(E, given, checks="label", random_state=seed,
                                  verbose=False).issues["is_label_issue"].to_numpy(bool)
            elif method == "cnn":
                signals = dfx.signals.cnn_cross_val(images, given, random_state=seed, verbose=False)
                cnn_probs = signals.pred_probs
                found = dfx.audit(images, given, pred_probs=cnn_probs, features=signals.embeddings, checks="label",
                                  random_state=seed, verbose=False).issues["is_label_issue"].to_numpy(bool)
            elif method == "pooled":
                if cnn_probs is None:
                    cnn_probs = dfx.signals.cnn_cross_val(images, given, random_state=seed, verbose=False).pred_probs
                found = dfx.audit(E, given, pred_probs=cnn_probs, checks="label", random_state=seed,
                                  verbose=False).issues["is_label_issue"].to_numpy(bool)
            elif method == "default":
                report = dfx.audit(images, given, checks="label", random_state=seed, verbose=False)
                found = report.issues["is_label_issue"].to_numpy(bool)
                row["default is"] = report.signals.get("features", report.signals.get("pred_probs", ""))[:40]
            else:
                raise SystemExit(f"unknown method {method!r}; the methods are {list(METHODS)}")
            seconds = time.perf_counter() - started
            if method == "cnn":
                cnn_seconds = seconds
            if method == "pretrained":
                seconds += embedding_seconds
            if method == "pooled":
                seconds += embedding_seconds + (cnn_seconds or 0.0)
            row[f"{method} F1"], row[f"{method} s"] = f1(found, wrong), seconds
            print(f"{size} {kind} seed {seed} {method}: F1 {row[f'{method} F1']:.3f} in {seconds:.0f} s", flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 3000, 10000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--noise", nargs="+", default=["symmetric", "confusable"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    started = time.perf_counter()
    cache: dict = {}
    rows = [row for size in args.sizes for seed in args.seeds for row in run(size, seed, args.noise, args.methods, cache)]
    table = pd.DataFrame(rows)
    means = table.drop(columns=["seed", "default is"], errors="ignore").groupby(["size", "noise"]).mean()
    shown = means.round(3).to_string()
    print(shown)
    minutes = (time.perf_counter() - started) / 60
    if not args.no_write:
        command = ".venv/bin/python benchmarks/image_default.py " + " ".join(
            f"--{k} {' '.join(map(str, v))}" for k, v in (("sizes", args.sizes), ("seeds", args.seeds),
                                                         ("noise", args.noise), ("methods", args.methods)))
        write_section("image_default", "\n".join([
            "## The image default: label F1 and audit seconds by size", "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, datafix "
            f"{dfx.__version__}. Command: `{command}` ({minutes:.0f} minutes). Means over seeds "
            f"{args.seeds}; 20 % noise.", "", "```", shown, "```"]))


if __name__ == "__main__":
    main()
