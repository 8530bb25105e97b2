"""The outcome: is the model trained after datafix's fix better, on real noisy long-tailed data?

This benchmark guards the defaults of the label check, the signals, the fix steps and the
samplers: every change to one of them states its quick figures before and after.

Cases (real data that ship offline; 20 % of the training labels wrong):

- Fashion-MNIST (Debian's ``dataset-fashion-mnist``, ``make data``), 28 x 28 grey images, long
  tailed: class c keeps ``n_max * ratio ** (-c / 9)`` training images, ratios 10 and 50, with three
  kinds of noise: symmetric (a flipped label goes to any other class), confusable pairs (to the
  class it is most often confused with: T-shirt <-> shirt, pullover <-> coat, sneaker <-> ankle
  boot, ...), and by class frequency (to another class in proportion to its count, as annotators
  reach for common classes). Test: a balanced sample of the untouched test split.
- scikit-learn's digits as 8 x 8 images: half for training, long tailed (ratio 10), noise by class
  frequency; test: the other half.
- R's mlbench Vowel (Debian's ``r-cran-mlbench``; 990 rows, 11 vowels, 10 columns): two thirds for
  training, long tailed (ratio 10), noise by class frequency; test: the other third.

Arms, one model per case trained the same way (the same network, optimiser and number of steps):

- ``clean``: the long-tailed training set with its true labels, plain cross-entropy;
- ``raw``: the same images with the noisy labels, plain cross-entropy;
- ``hand``: what a user writes with the peers: cleanlab's ``find_label_issues`` on 5-fold
  logistic-regression probabilities of the raw pixels (scikit-learn's defaults), drop the flagged
  samples, imbalanced-learn's ``RandomOverSampler``, plain cross-entropy;
- ``datafix``: ``dfx.audit`` of the noisy training set, ``Pipeline.recommended(report)`` (what the
  report advises), and training as the plan says (its kept samples and labels, its sampler, its
  loss: ``plan.loss``).

Balanced accuracy on the clean balanced test set; the share of the clean-vs-raw gap an arm
recovers, ``(arm - raw) / (clean - raw)``; and datafix's per-seed difference to ``hand`` with its
standard error (datafix beats hand when the mean difference passes twice the standard error).

``--levers`` adds arms that each change one lever of the recommended pipeline (drop only, relabel,
reweight, no cap, the loss, a balanced sampler), to measure what each contributes.

``--ceilings`` adds what knowing the true labels would give, each with the recommended pipeline's
logit-adjusted loss: ``oracle drop`` (exactly the wrong labels dropped: the best any drop can do),
``oracle fix`` (every label true, nothing dropped) and ``oracle fix, false flags dropped`` (every
label true, and the samples datafix flagged although their label was right dropped: against
``oracle fix``, what datafix's false flags alone cost).

Run (quick mode: 4 cases (``QUICK_CASES``) x 3 seeds, at most 10 minutes on 2 quiet CPU cores;
``--cases all`` runs all 8 at the quick size; full mode: every case, larger training sets, more
test images, steps and seeds):

    .venv/bin/python benchmarks/outcome.py --quick
    .venv/bin/python benchmarks/outcome.py --quick --cases all
    .venv/bin/python benchmarks/outcome.py --full
    .venv/bin/python benchmarks/outcome.py --quick --levers --no-write
    .venv/bin/python benchmarks/outcome.py --quick --cases all --ceilings --no-write
    .venv/bin/python benchmarks/outcome.py --quick --variant "both:label.filter_by='both'" --no-write

``--variant NAME:SETTING=VALUE[,...]`` adds the datafix arm audited with other defaults: a module
constant (``datafix.checks.label.RARE_SHARE=0``) or a check's parameter (``label.filter_by='both'``,
passed as ``check_params``), for a default's before / after in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

import datafix as dfx
from _docs import write_section
from datafix.fix import Pipeline

#: Fashion-MNIST's confusable pairs: a confusable flip moves a label to this class.
CONFUSABLE = {0: 6, 6: 0, 2: 4, 4: 2, 7: 9, 9: 7, 5: 7, 3: 0, 1: 3, 8: 2}
NOISE_RATE = 0.2


@dataclass(frozen=True)
class Case:
    data: str
    ratio: float
    noise: str

    @property
    def name(self) -> str:
        return f"{self.data} LT{self.ratio:g} {self.noise}"


CASES = [Case("fmnist", ratio, noise) for ratio in (10, 50) for noise in ("symmetric", "confusable", "by_frequency")]
CASES += [Case("digits", 10, "by_frequency"), Case("vowel", 10, "by_frequency")]


@dataclass(frozen=True)
class Mode:
    """How large a run is: images per head class of Fashion-MNIST, test images per class, steps,
    seeds, and the cases it runs (``None``: all)."""

    name: str
    fmnist_head: int
    fmnist_test_per_class: int
    steps: int
    seeds: tuple[int, ...]
    cases: tuple[str, ...] | None = None


#: The quick mode's cases: one of each kind of data, and the two Fashion-MNIST cases at either end
#: (the mildest tail and noise, the steepest tail with the noise hardest to tell from the classes).
#: 4 cases x 3 seeds fit 10 minutes on 2 cores; ``--cases all`` runs every case at the quick size.
QUICK_CASES = ("fmnist LT10 symmetric", "fmnist LT50 confusable", "digits LT10 by_frequency", "vowel LT10 by_frequency")
MODES = {
    "quick": Mode("quick", fmnist_head=200, fmnist_test_per_class=100, steps=300, seeds=(0, 1, 2), cases=QUICK_CASES),
    "full": Mode("full", fmnist_head=1000, fmnist_test_per_class=1000, steps=1500, seeds=(0, 1, 2, 3, 4)),
}


# -- data -----------------------------------------------------------------------------------------


def long_tail(labels: np.ndarray, ratio: float, head: int, rng: np.random.Generator) -> np.ndarray:
    """Positions kept: class c keeps ``min(its size, head * ratio ** (-c / (K - 1)))`` samples, at least 2."""
    k = int(labels.max()) + 1
    kept = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        n = max(2, int(round(head * ratio ** (-c / (k - 1)))))
        kept.append(rng.choice(members, min(n, len(members)), replace=False))
    return np.sort(np.concatenate(kept))


def add_noise(truth: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Given labels with ``NOISE_RATE`` of them flipped by ``kind``."""
    k = int(truth.max()) + 1
    if kind == "confusable":
        given = truth.copy()
        flip = rng.random(len(truth)) < NOISE_RATE
        given[flip] = [CONFUSABLE[c] for c in truth[flip]]
        return given
    counts = np.bincount(truth, minlength=k)
    T = dfx.datasets.noise_matrix(k, NOISE_RATE, kind, class_counts=counts if kind == "by_frequency" else None,
                                  random_state=rng)
    return dfx.datasets.flip_labels(truth, T, random_state=rng)


@dataclass
class Split:
    X: np.ndarray          # training inputs: (N, 1, H, W) float32 images in [0, 1], or (N, d) rows
    truth: np.ndarray      # true training labels
    given: np.ndarray      # noisy training labels
    X_test: np.ndarray
    y_test: np.ndarray
    images: bool


_FMNIST: dict[str, object] = {}


def load_case(case: Case, mode: Mode, seed: int) -> Split:
    rng = np.random.default_rng([seed, int(case.ratio)])  # the subset: the same for every kind of noise
    if case.data == "fmnist":
        if not _FMNIST:
            _FMNIST["train"] = dfx.datasets.load_fashion_mnist("train")
            _FMNIST["test"] = dfx.datasets.load_fashion_mnist("test")
        train, test = _FMNIST["train"], _FMNIST["test"]
        keep = long_tail(train.labels.astype(np.int64), case.ratio, mode.fmnist_head, rng)
        X, truth = train.images[keep].astype(np.float32) / 255.0, train.labels[keep].astype(np.int64)
        test_rng = np.random.default_rng(1000 + seed)
        test_keep = np.sort(np.concatenate([test_rng.choice(np.flatnonzero(test.labels == c), mode.fmnist_test_per_class,
                                                            replace=False) for c in range(10)]))
        X_test, y_test = test.images[test_keep].astype(np.float32) / 255.0, test.labels[test_keep].astype(np.int64)
        images = True
    elif case.data == "digits":
        X_all, y_all = load_digits(return_X_y=True)
        X_all = (X_all / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
        X_tr, X_test, y_tr, y_test = train_test_split(X_all, y_all, test_size=0.5, stratify=y_all, random_state=seed)
        keep = long_tail(y_tr, case.ratio, int(np.bincount(y_tr).min()), rng)
        X, truth, images = X_tr[keep], y_tr[keep].astype(np.int64), True
    elif case.data == "vowel":
        frame = vowel()
        X_all = frame.drop(columns="Class").to_numpy(np.float64)
        y_all = frame["Class"].cat.codes.to_numpy(np.int64)
        X_tr, X_test, y_tr, y_test = train_test_split(X_all, y_all, test_size=1 / 3, stratify=y_all, random_state=seed)
        mean, std = X_tr.mean(0), X_tr.std(0) + 1e-9
        X_tr, X_test = ((X_tr - mean) / std).astype(np.float32), ((X_test - mean) / std).astype(np.float32)
        keep = long_tail(y_tr, case.ratio, int(np.bincount(y_tr).min()), rng)
        X, truth, images = X_tr[keep], y_tr[keep], False
    else:
        raise ValueError(case.data)
    noise_rng = np.random.default_rng([seed, int(case.ratio), sum(map(ord, case.noise))])
    return Split(X, truth, add_noise(truth, case.noise, noise_rng), X_test, y_test.astype(np.int64), images)


def vowel() -> pd.DataFrame:
    """mlbench's Vowel (990 rows, 10 numeric columns, 11 classes), read from Debian's r-cran-mlbench."""
    import pyreadr

    frame = next(iter(pyreadr.read_r("/usr/lib/R/site-library/mlbench/data/Vowel.rda").values()))
    return frame.assign(V1=frame["V1"].astype(float)).reset_index(drop=True)


# -- the model, trained the same way for every arm -------------------------------------------------


def make_model(split: Split, k: int) -> torch.nn.Module:
    """Two convolutions and a linear head for images (better and faster here than three
    convolutions with global pooling: 0.795 against 0.740 clean on the ratio-10 case); a
    one-hidden-layer MLP for rows."""
    if split.images:
        c, side = split.X.shape[1], split.X.shape[2]
        return torch.nn.Sequential(
            torch.nn.Conv2d(c, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Dropout(0.25), torch.nn.Linear(32 * (side // 4) ** 2, k))
    return torch.nn.Sequential(torch.nn.Linear(split.X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, k))


@dataclass
class Recipe:
    """What an arm trains on: positions of the training set, their labels, and optionally a
    sampler's draws (an iterable of positions per epoch, ``set_epoch`` honoured) and a loss."""

    positions: np.ndarray
    labels: np.ndarray
    sampler: object = None
    loss: torch.nn.Module | None = None
    weights: np.ndarray | None = None


def train_and_score(split: Split, recipe: Recipe, k: int, seed: int, steps: int, batch: int = 64) -> float:
    torch.manual_seed(seed)
    net = make_model(split, k)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.2)
    X = torch.from_numpy(split.X[recipe.positions])
    y = torch.from_numpy(np.asarray(recipe.labels, dtype=np.int64))
    w = None if recipe.weights is None else torch.from_numpy(np.asarray(recipe.weights, dtype=np.float32))
    loss_fn = recipe.loss if recipe.loss is not None else torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)

    def draws():
        epoch = 0
        while True:
            if recipe.sampler is None:
                order = rng.permutation(len(y))
            else:
                recipe.sampler.set_epoch(epoch)
                order = np.fromiter(iter(recipe.sampler), dtype=np.int64)
            yield from order
            epoch += 1

    stream = draws()
    net.train()
    for _ in range(steps):
        idx = torch.from_numpy(np.fromiter((next(stream) for _ in range(batch)), dtype=np.int64, count=batch))
        logits = net(X[idx])
        if w is None:
            loss = loss_fn(logits, y[idx])
        else:
            shift = getattr(loss_fn, "adjustment", None)  # a logit-adjusted loss, per sample
            per = torch.nn.functional.cross_entropy(logits if shift is None else logits + shift, y[idx], reduction="none")
            loss = (per * w[idx]).sum() / w[idx].sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.inference_mode():
        X_test = torch.from_numpy(split.X_test)
        pred = torch.cat([net(X_test[i:i + 2048]) for i in range(0, len(X_test), 2048)]).argmax(1).numpy()
    return float(balanced_accuracy_score(split.y_test, pred))


# -- the arms -------------------------------------------------------------------------------------


def hand_baseline(split: Split, k: int, seed: int) -> Recipe:
    """cleanlab on 5-fold logistic regression of the raw pixels, drop, RandomOverSampler: as a user writes it."""
    from cleanlab.filter import find_label_issues
    from imblearn.over_sampling import RandomOverSampler
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    flat = split.X.reshape(len(split.X), -1)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    P = cross_val_predict(model, flat, split.given, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                          method="predict_proba")
    keep = np.flatnonzero(~find_label_issues(split.given, P, n_jobs=1))
    positions, labels = RandomOverSampler(random_state=seed).fit_resample(keep[:, None], split.given[keep])
    return Recipe(positions[:, 0], labels)


def datafix_recipe(split: Split, report: dfx.Report, pipeline: Callable | None = None) -> tuple[Recipe, dict]:
    """The recommended pipeline (or ``pipeline(report)``) on the audit: the plan's training set, sampler and loss."""
    pipe = Pipeline.recommended(report) if pipeline is None else pipeline(report)
    plan = pipe.fit(split.X, split.given, report=report)
    codes = np.searchsorted(plan.classes, plan.training_labels.astype(plan.classes.dtype))
    truth_kept = split.truth[plan.kept]
    info = {"kept": len(plan.kept), "wrong kept": float((codes[: len(plan.kept)] != truth_kept).mean()),
            "pipeline": " > ".join(s.name for s in pipe.steps)}
    weights = plan.weights if not np.all(plan.weights == 1) else None
    return Recipe(plan.kept, codes, plan.sampler, plan.loss, weights), info


def lever_pipelines() -> dict[str, Callable]:
    """Arms that each change one lever of the recommended pipeline (``--levers``)."""
    from datafix.fix import (
        AdjustLogits,
        DropBroken,
        DropLabelIssues,
        DropNearDuplicates,
        Rebalance,
        Relabel,
        Reweight,
    )

    return {
        "drop, plain loss": lambda r: Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates()]),
        "drop, logit-adjusted": lambda r: Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates(),
                                                    AdjustLogits()]),
        "drop uncapped, logit-adjusted": lambda r: Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates(),
                                                             AdjustLogits()], max_drop_share=1.0),
        "relabel 0.9 then drop, logit-adjusted": lambda r: Pipeline([DropBroken(), Relabel(0.9), DropLabelIssues(),
                                                                     DropNearDuplicates(), AdjustLogits()]),
        "reweight, logit-adjusted": lambda r: Pipeline([DropBroken(), Reweight(), DropNearDuplicates(),
                                                        AdjustLogits()]),
        "drop, reweight what the cap keeps, logit-adjusted": lambda r: Pipeline([DropBroken(), DropLabelIssues(),
                                                                                 Reweight(), DropNearDuplicates(),
                                                                                 AdjustLogits()]),
        "drop, balanced sampler": lambda r: Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates(),
                                                      Rebalance()]),
        # the flags Reweight would give its floor weight (label score <= 0.1) dropped, the others down-weighted
        "drop below the floor, reweight the rest, logit-adjusted": lambda r: Pipeline([
            DropBroken(), DropLabelIssues(max_score=0.1), Reweight(), DropNearDuplicates(), AdjustLogits()]),
    }


def ceiling_recipes(split: Split, report: dfx.Report, k: int) -> dict[str, Recipe]:
    """What knowing the true labels would give, with the logit-adjusted loss (``--ceilings``)."""
    from datafix.balance import LogitAdjustedLoss

    def recipe(positions: np.ndarray, labels: np.ndarray) -> Recipe:
        return Recipe(positions, labels, loss=LogitAdjustedLoss(labels, classes=np.arange(k)))

    wrong = split.given != split.truth
    right = np.flatnonzero(~wrong)
    flagged = report.issues["is_label_issue"].fillna(False).to_numpy(bool)
    kept = np.flatnonzero(~flagged | wrong)  # every sample but datafix's false flags
    return {"oracle drop": recipe(right, split.given[right]),
            "oracle fix": recipe(np.arange(len(split.X)), split.truth),
            "oracle fix, false flags dropped": recipe(kept, split.truth[kept])}


CEILINGS = ("oracle drop", "oracle fix", "oracle fix, false flags dropped")

#: The arms on the true labels (clean, oracle fix) of a (data, ratio, seed, mode): the same images and
#: labels for every kind of noise, so each is trained once.
_TRUE_LABELS: dict[tuple, float] = {}


def trained_once(arm: str, key: tuple, train: Callable[[], float]) -> float:
    """``train()`` the first time ``arm`` is asked for at ``key``, its score remembered after."""
    if (arm, *key) not in _TRUE_LABELS:
        _TRUE_LABELS[(arm, *key)] = train()
    return _TRUE_LABELS[(arm, *key)]


def run_case(case: Case, mode: Mode, seed: int, levers: bool, variants: dict[str, list[str]] | None = None,
             ceilings: bool = False) -> dict:
    split = load_case(case, mode, seed)
    k = int(max(split.truth.max(), split.y_test.max())) + 1
    everything = np.arange(len(split.X))
    row = {"case": case.name, "seed": seed, "train": len(split.X), "wrong": float((split.given != split.truth).mean()),
           "tail label wrong": float((split.truth[split.given == k - 1] != k - 1).mean())}
    started = time.perf_counter()
    key = (case.data, case.ratio, seed, mode.name)
    row["clean"] = trained_once("clean", key, functools.partial(train_and_score, split, Recipe(everything, split.truth),
                                                                k, seed, mode.steps))
    row["raw"] = train_and_score(split, Recipe(everything, split.given), k, seed, mode.steps)
    row["hand"] = train_and_score(split, hand_baseline(split, k, seed), k, seed, mode.steps)
    report = dfx.audit(split.X, labels=split.given, random_state=seed, verbose=False)
    recipe, info = datafix_recipe(split, report)
    row["datafix"] = train_and_score(split, recipe, k, seed, mode.steps)
    row.update({f"datafix {key}": value for key, value in info.items()})
    if levers:
        for name, pipeline in lever_pipelines().items():
            row[name] = train_and_score(split, datafix_recipe(split, report, pipeline)[0], k, seed, mode.steps)
    if ceilings:
        for name, recipe in ceiling_recipes(split, report, k).items():
            train = functools.partial(train_and_score, split, recipe, k, seed, mode.steps)
            row[name] = trained_once(name, key, train) if name == "oracle fix" else train()
    for name, settings in (variants or {}).items():  # the datafix arm with other defaults (a rule's before / after)
        constants = [x for x in settings if x.startswith("datafix.")]
        with overridden(constants):
            other = dfx.audit(split.X, labels=split.given, random_state=seed, verbose=False,
                              check_params=check_params([x for x in settings if x not in constants]))
            recipe, info = datafix_recipe(split, other)
            row[name] = train_and_score(split, recipe, k, seed, mode.steps)
    row["seconds"] = time.perf_counter() - started
    return row


# -- the tables -----------------------------------------------------------------------------------


def summarise(table: pd.DataFrame, arms: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Means over seeds, gap recovered, and datafix against hand per case (difference, its standard error)."""
    rows, verdicts = [], []
    for name, group in table.groupby("case", sort=False):
        gap = group["clean"] - group["raw"]
        out = {"case": name, "train": group["train"].mean(), "tail label wrong": group["tail label wrong"].mean()}
        for arm in arms:
            out[arm] = group[arm].mean()
        for arm in arms[2:]:
            out[f"{arm} gap"] = float(((group[arm] - group["raw"]) / gap).mean()) if (gap.abs() > 1e-9).all() else np.nan
        diff = group["datafix"] - group["hand"]
        se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else np.inf
        out["datafix - hand"], out["s.e."] = diff.mean(), se
        word = "beats" if diff.mean() > 2 * se else "loses to" if diff.mean() < -2 * se else "ties with"
        verdicts.append(f"{name}: datafix {word} hand ({diff.mean():+.3f}, s.e. {se:.3f} over {len(diff)} seeds), "
                        f"recovers {out['datafix gap']:.0%} of the clean-vs-raw gap (hand {out['hand gap']:.0%})")
        rows.append(out)
    return pd.DataFrame(rows).set_index("case"), verdicts


def check_params(settings: list[str]) -> dict[str, dict]:
    """``CHECK.PARAM=value`` settings (a Python literal) as the audit's ``check_params``."""
    import ast

    params: dict[str, dict] = {}
    for setting in settings:
        target, _, value = setting.partition("=")
        check, _, name = target.partition(".")
        if not (value and name):
            raise SystemExit(f"--variant: {setting!r} is neither datafix.MODULE.NAME=VALUE nor CHECK.PARAM=VALUE "
                             "(e.g. \"label.filter_by='both'\")")
        params.setdefault(check, {})[name] = ast.literal_eval(value)
    return params


@contextlib.contextmanager
def overridden(settings: list[str]):
    """Set module constants (``module.NAME=value``, a Python literal) for the ``with`` block."""
    import ast
    import importlib

    saved = []
    try:
        for setting in settings:
            target, value = setting.split("=", 1)
            module, name = target.rsplit(".", 1)
            mod = importlib.import_module(module)
            if not hasattr(mod, name):
                raise SystemExit(f"{module} has no {name}")
            saved.append((mod, name, getattr(mod, name)))
            setattr(mod, name, ast.literal_eval(value))
        yield
    finally:
        for mod, name, value in reversed(saved):
            setattr(mod, name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="mode", const="quick", help="about 10 minutes on 2 cores")
    size.add_argument("--full", action="store_const", dest="mode", const="full")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--cases", nargs="+", default=None,
                        help="case names (default: the mode's), e.g. 'fmnist LT10 symmetric', or 'all'")
    parser.add_argument("--levers", action="store_true", help="also the arms that change one lever each")
    parser.add_argument("--ceilings", action="store_true",
                        help="also what knowing the true labels would give (drop the wrong, fix every label, fix every "
                             "label but drop datafix's false flags)")
    parser.add_argument("--variant", nargs="+", default=[], metavar="NAME:SETTING=VALUE[,...]",
                        help="also the datafix arm with module constants (datafix.MODULE.NAME=VALUE) or a check's "
                             "parameters (CHECK.PARAM=VALUE) overridden (a default's before / after), e.g. "
                             "'no rare rule:datafix.checks.label.RARE_SHARE=0' or \"both:label.filter_by='both'\"")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    variants = {v.split(":", 1)[0]: v.split(":", 1)[1].split(",") for v in args.variant}
    mode = MODES[args.mode or "quick"]
    seeds = tuple(args.seeds) if args.seeds else mode.seeds
    names = [c.name for c in CASES] if args.cases == ["all"] else args.cases or mode.cases or [c.name for c in CASES]
    unknown = set(names) - {c.name for c in CASES}
    if unknown:
        raise SystemExit(f"unknown cases {sorted(unknown)}; the cases are {[c.name for c in CASES]} (or 'all')")
    cases = [next(c for c in CASES if c.name == name) for name in names]
    warnings.filterwarnings("ignore")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    started = time.perf_counter()
    rows = []
    levers = list(lever_pipelines()) if args.levers else []
    ceilings = list(CEILINGS) if args.ceilings else []
    for case in cases:
        for seed in seeds:
            row = run_case(case, mode, seed, args.levers, variants, args.ceilings)
            rows.append(row)
            print(f"{case.name} seed {seed}: clean {row['clean']:.3f} raw {row['raw']:.3f} hand {row['hand']:.3f} "
                  f"datafix {row['datafix']:.3f} (kept {row['datafix kept']} of {row['train']}, "
                  f"{row['datafix wrong kept']:.1%} wrong; {row['seconds']:.0f} s)"
                  + "".join(f"; {name} {row[name]:.3f}" for name in [*levers, *ceilings, *variants]), flush=True)
    table = pd.DataFrame(rows)
    arms = ["clean", "raw", "hand", "datafix", *levers, *ceilings, *variants]
    summary, verdicts = summarise(table, arms)
    minutes = (time.perf_counter() - started) / 60
    shown = summary.round(3).to_string()
    print(shown)
    print("\n".join(verdicts))
    print(f"{mode.name} mode, {len(seeds)} seeds, {minutes:.1f} minutes; recommended pipeline: "
          f"{table['datafix pipeline'].iloc[0]}")
    if not args.no_write:
        command = f".venv/bin/python benchmarks/outcome.py --{mode.name}" + (" --levers" if args.levers else "") + \
            (" --ceilings" if args.ceilings else "") + \
            ("" if args.cases is None else " --cases " + " ".join(f"'{c}'" for c in args.cases)) + \
            "".join(f" --variant '{v}'" for v in args.variant)
        write_section(f"outcome_{mode.name}", "\n".join([
            f"## The outcome: the model trained after the fix ({mode.name} mode)", "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch "
            f"{torch.__version__}, datafix {dfx.__version__}. Command: `{command}` ({minutes:.0f} minutes).", "",
            "```", shown, "```", "", *[f"- {v}" for v in verdicts]]))


if __name__ == "__main__":
    main()
