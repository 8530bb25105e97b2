"""Wrong labels under a strong model (issue 43): each lever on the same CNN probabilities, vs cleanlab.

Fashion-MNIST, a fixed subset of the training split (``--split train``, where defaults are chosen)
or the test split (``--split test``, held-out cases: reported, not tuned on). For each noise case
and seed, one K-fold CNN cross-validation (``datafix.signals.cnn_cross_val``, what
``audit(model="cnn")`` runs) gives out-of-sample probabilities, embeddings and training margins;
then every arm reads those same probabilities:

- ``cleanlab``: ``cleanlab.filter.find_label_issues`` (its score: self-confidence);
- ``own votes``: the label check with kNN votes among each fold's held-out CNN embeddings
  (``audit(model="cnn", vote_features=None)``);
- ``dynamics`` / ``pooled``: the same, ranked by training margins, or by their mean with the
  pooled probability (``score=``);
- ``pretrained votes``: the votes from a second, independent feature space, ImageNet-pretrained
  EfficientNet-Lite0's embeddings (``audit(model="cnn")``'s default ``vote_features``);
- ``pretrained votes + pooled``: both levers;
- ``..., both``: the same with cleanlab's ``filter_by="both"`` (flagged only where prune-by-noise-rate
  and prune-by-class agree) instead of its default prune-by-noise-rate; ``cleanlab, both``: that
  filter on the CNN's probabilities alone (cleanlab's ``find_label_issues(filter_by="both")``);
- ``..., both, pair margin``: each class's count of that filter, flagged on the class's lowest
  ``score="pair_margin"`` (cleanlab's normalized margin in a class confused with one other,
  self-confidence elsewhere); ``..., low score, pair margin``: cleanlab's ``num_label_issues`` in
  all, flagged on the lowest pair-margin scores over all samples (``filter_by="low_score"``);
  ``ensemble, low score, pair margin`` is what ``audit(model="cnn")`` does now (``pretrained
  votes, ...``: the same without the second model); ``cleanlab, low self-confidence``: cleanlab's
  own global filter (``filter_by="low_self_confidence"``) on the CNN's probabilities;
- ``ensemble``: an ensemble of two architectures, the mean of the CNN's probabilities and those
  of a K-fold logistic regression on the pretrained embeddings (datafix's
  ``signals.cross_val_pred_probs``, what the audit's image default reads), with the pretrained
  votes (``ensemble + pooled``: and the training margins); ``cleanlab on the ensemble``: cleanlab
  given those same averaged probabilities.

The pretrained embeddings are computed once per split and size and kept in ``--cache``; with
``--keep-cnn`` each CNN cross-validation is kept there too, so that a later run (a new arm) reads
the same probabilities without training again.

Each arm's F1, precision and recall against the injected truth, and the area under the
precision-recall curve of its score (average precision, wrong labels as positives).

    .venv/bin/python benchmarks/strong_model_labels.py --n 20000 --seeds 0 1
    .venv/bin/python benchmarks/strong_model_labels.py --split test --seeds 0 1
"""

from __future__ import annotations

import argparse
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from cleanlab.filter import find_label_issues as cleanlab_find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.metrics import average_precision_score

import datafix as dfx
from datafix.checks import find_label_issues
from datafix.datasets.noise import flip_labels, noise_matrix
from datafix.signals import cnn_cross_val, knn_graph
from datafix.signals.cnn import ImageSignals, fold_graph
from datafix.signals.image_default import default_extractor, embed_valid
from datafix.signals.pred_probs import cross_val_pred_probs

#: Each class's most confusable class (T-shirt <-> shirt, pullover <-> coat, sneaker <-> ankle boot ...).
CONFUSABLE = {0: 6, 6: 0, 2: 4, 4: 2, 7: 9, 9: 7, 5: 7, 3: 0, 1: 3, 8: 2}
CASES = (("symmetric", 0.2), ("symmetric", 0.4), ("confusable", 0.2), ("by_frequency", 0.2))
K = 40


def inject(truth: np.ndarray, kind: str, rate: float, seed: int) -> np.ndarray:
    """Given labels with ``rate`` of them wrong."""
    rng = np.random.default_rng([seed, int(rate * 100), len(kind)])
    if kind == "confusable":
        given, flip = truth.copy(), rng.random(len(truth)) < rate
        given[flip] = [CONFUSABLE[c] for c in truth[flip]]
        return given
    T = noise_matrix(10, rate, kind, class_counts=np.bincount(truth, minlength=10), random_state=rng)
    return flip_labels(truth, T, random_state=rng)


def measured(found: pd.DataFrame | np.ndarray, score: np.ndarray, wrong: np.ndarray) -> dict[str, float]:
    flags = found if isinstance(found, np.ndarray) else found["is_label_issue"].to_numpy(bool)
    hits = int((flags & wrong).sum())
    p, r = hits / max(int(flags.sum()), 1), hits / max(int(wrong.sum()), 1)
    return {"P": p, "R": r, "F1": 2 * p * r / max(p + r, 1e-12), "AP": average_precision_score(wrong, -score)}


def cross_validated(images: torch.Tensor, given: np.ndarray, seed: int, cached: Path | None) -> tuple[ImageSignals, float]:
    """The CNN's K-fold signals and their seconds, read from ``cached`` when an earlier run kept them."""
    if cached is not None and cached.exists():
        with open(cached, "rb") as f:
            return pickle.load(f)
    started = time.perf_counter()
    cnn = cnn_cross_val(images, given, random_state=seed, verbose=False)
    got = (cnn, time.perf_counter() - started)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with open(cached.with_suffix(".tmp"), "wb") as f:
            pickle.dump(got, f)
        cached.with_suffix(".tmp").replace(cached)
    return got


def run(images: torch.Tensor, truth: np.ndarray, pretrained: np.ndarray, kind: str, rate: float, seed: int,
        cached: Path | None = None) -> list[dict]:
    given = inject(truth, kind, rate, seed)
    wrong = given != truth
    cnn, seconds = cross_validated(images, given, seed, cached)
    P = cnn.pred_probs
    own = fold_graph(cnn.held_out_embeddings, cnn.folds, K)
    other = knn_graph(pretrained, K)
    arms = {"cleanlab": (cleanlab_find_label_issues(given, P, n_jobs=1), get_label_quality_scores(given, P))}
    arms["cleanlab, both"] = (cleanlab_find_label_issues(given, P, filter_by="both", n_jobs=1),
                              get_label_quality_scores(given, P))
    for name, graph, score in (("own votes", own, "probs"), ("dynamics", own, "dynamics"), ("pooled", own, "pooled"),
                               ("pretrained votes", other, "probs"), ("pretrained votes + pooled", other, "pooled")):
        for filter_by, suffix in (("prune_by_noise_rate", ""), ("both", ", both")):
            if suffix and graph is own:
                continue
            found = find_label_issues(given, P, neighbors=graph, score=score, margins=cnn.margins, filter_by=filter_by)
            arms[name + suffix] = (found, found["label_score"].to_numpy())
    t0 = time.perf_counter()
    ensemble = (P + cross_val_pred_probs(pretrained, given, n_classes=10, random_state=seed, verbose=False)) / 2
    ensemble_seconds = time.perf_counter() - t0
    for name, score in (("ensemble", "probs"), ("ensemble + pooled", "pooled")):
        for filter_by, suffix in (("prune_by_noise_rate", ""), ("both", ", both")):
            found = find_label_issues(given, ensemble, neighbors=other, score=score, margins=cnn.margins, filter_by=filter_by)
            arms[name + suffix] = (found, found["label_score"].to_numpy())
    for name, probs in (("pretrained votes", P), ("ensemble", ensemble)):
        for filter_by, suffix in (("both", ", both"), ("low_score", ", low score")):
            found = find_label_issues(given, probs, neighbors=other, score="pair_margin", filter_by=filter_by)
            arms[name + suffix + ", pair margin"] = (found, found["label_score"].to_numpy())
    arms["cleanlab, low self-confidence"] = (cleanlab_find_label_issues(given, P, filter_by="low_self_confidence",
                                                                        n_jobs=1), get_label_quality_scores(given, P))
    arms["cleanlab on the ensemble"] = (cleanlab_find_label_issues(given, ensemble, n_jobs=1),
                                        get_label_quality_scores(given, ensemble))
    rows = []
    for name, (found, score) in arms.items():
        rows.append({"noise": kind, "rate": rate, "seed": seed, "n": len(truth), "arm": name, "cnn s": seconds,
                     "ensemble s": ensemble_seconds, "cnn accuracy": cnn.cv_accuracy,
                     "ensemble accuracy": float((ensemble.argmax(1) == given).mean()),
                     **measured(found, score, wrong)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["train", "test"], default="train")
    parser.add_argument("--n", type=int, default=20000, help="images of the split (a fixed subset below its size)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--cases", nargs="+", default=[f"{k}:{r}" for k, r in CASES],
                        help="noise cases as kind:rate (default: %(default)s)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "datafix-benchmarks"),
                        help="folder for the pretrained embeddings (default: %(default)s)")
    parser.add_argument("--keep-cnn", action="store_true",
                        help="keep each CNN cross-validation in --cache and reuse it (the seconds are the first run's)")
    parser.add_argument("--csv", help="write every run's rows to this file (rewritten after each run)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    data = dfx.datasets.load_fashion_mnist(args.split)
    idx = np.sort(np.random.default_rng(1234).choice(len(data), min(args.n, len(data)), replace=False))
    images, truth = torch.from_numpy(data.images[idx]), data.labels[idx].astype(np.int64)
    t0 = time.perf_counter()
    cached = Path(args.cache) / f"fashion-mnist-{args.split}-{len(idx)}-efficientnet_lite0.npy"
    if cached.exists():
        pretrained = np.load(cached)
    else:
        pretrained = embed_valid(default_extractor(tuple(images.shape[1:])), images, np.ones(len(images), bool))
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached.with_suffix(".tmp.npy"), pretrained)
        cached.with_suffix(".tmp.npy").replace(cached)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    print(f"Fashion-MNIST {args.split} split, {len(truth)} images, {device}; pretrained embeddings "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    rows = []
    for case in args.cases:
        kind, rate = case.split(":")
        for seed in args.seeds:
            kept = (Path(args.cache) / f"fashion-mnist-{args.split}-{len(idx)}-cnn-{kind}-{rate}-{seed}.pkl"
                    if args.keep_cnn else None)
            got = run(images, truth, pretrained, kind, float(rate), seed, kept)
            rows += got
            if args.csv:  # after every run: an interrupted run keeps what it measured
                pd.DataFrame(rows).to_csv(args.csv, index=False)
            print(f"{kind} {float(rate):.2f} seed {seed}: CNN {got[0]['cnn s']:.0f} s, held-out accuracy "
                  f"{got[0]['cnn accuracy']:.3f}; " + "; ".join(
                      f"{r['arm']} F1 {r['F1']:.3f} (P {r['P']:.3f} R {r['R']:.3f} AP {r['AP']:.3f})" for r in got),
                  flush=True)
            print(f"  ensemble: logistic regression on the embeddings {got[0]['ensemble s']:.0f} s, held-out "
                  f"accuracy {got[0]['ensemble accuracy']:.3f}", flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["noise", "rate", "arm"], sort=False)[["F1", "P", "R", "AP"]].mean().unstack("arm")
    print(summary["F1"].round(3).to_string())
    print(summary["AP"].round(3).to_string())
    base = table[table["arm"] == "cleanlab"].set_index(["noise", "rate", "seed"])["F1"]
    for arm in table["arm"].unique():
        if arm == "cleanlab":
            continue
        diff = table[table["arm"] == arm].set_index(["noise", "rate", "seed"])["F1"] - base
        print(f"{arm}: mean F1 - cleanlab {diff.mean():+.3f}, worst case {diff.min():+.3f}, {len(diff)} runs")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
