"""Imbalanced regression: error on the rare target ranges, plain training vs datafix's levers.

The real tables of ``benchmarks/regression_labels.py`` (diabetes; BostonHousing, Ozone and Servo
from Debian's ``r-cran-mlbench``). For each seed a random 70 / 30 split; a model is trained on the
training split plain, with :func:`datafix.balance.density_weights` as ``sample_weight`` (LDS
inverse density, ``alpha`` 0.5 and 1; DenseWeight, ``alpha`` 1), or on the rows that
``Resampler("smoter")`` / ``Resampler("gaussian_noise")`` add. Test targets count as rare when
their training density (the smoothed density at the nearest training target) is at most a fifth
of the most common target's: the ranges SMOTER oversamples. Mean absolute error on the rare test
targets and on all of them, mean and standard error over seeds, for two models: scikit-learn's
``HistGradientBoostingRegressor`` and a ridge regression on standardised features.

    .venv/bin/python benchmarks/imbalanced_regression.py --seeds 0 1 2 3 4 5 6 7 8 9
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from datafix.balance import Resampler, density_weights, target_density  # noqa: E402
from datafix.data import as_view  # noqa: E402
from datafix.signals import handle_non_finite  # noqa: E402
from regression_labels import load_tables  # noqa: E402

LEVERS = ("plain", "lds_sqrt", "lds_inverse", "denseweight", "smoter", "gaussian_noise")
MODELS = {
    "boosting": lambda seed: HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, random_state=seed),
    "ridge": lambda seed: make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))),
}


def rare_mask(y_train: np.ndarray, y_test: np.ndarray) -> np.ndarray:
    """Test targets whose training density (at the nearest training target) is under 1/5 of the mode's."""
    density = target_density(y_train)
    order = np.argsort(y_train)
    pos = np.clip(np.searchsorted(y_train[order], y_test), 0, len(y_train) - 1)
    left = np.clip(pos - 1, 0, len(y_train) - 1)
    nearest = np.where(np.abs(y_train[order][left] - y_test) < np.abs(y_train[order][pos] - y_test), left, pos)
    return density[order][nearest] <= 0.2 * density.max()


def fit_predict(lever: str, model: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int) -> np.ndarray:
    est = MODELS[model](seed)
    weight = None
    if lever == "lds_sqrt":
        weight = density_weights(y, alpha=0.5).numpy()
    elif lever == "lds_inverse":
        weight = density_weights(y, alpha=1.0).numpy()
    elif lever == "denseweight":
        weight = density_weights(y, "dense", alpha=1.0).numpy()
    elif lever in ("smoter", "gaussian_noise"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X, y = Resampler(lever, random_state=seed).fit_resample(X, y)
    step = est.steps[-1][0] if hasattr(est, "steps") else None
    if weight is not None:
        est.fit(X, y, **({f"{step}__sample_weight": weight} if step else {"sample_weight": weight}))
    else:
        est.fit(X, y)
    return est.predict(X_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for name, (frame, target) in load_tables().items():
        view = handle_non_finite(as_view(frame, target, task="regression"), "impute")
        X, y = np.asarray(view.features), view.targets
        for seed in args.seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=seed)
            rare = rare_mask(y_tr, y_te)
            for model in MODELS:
                for lever in LEVERS:
                    error = np.abs(fit_predict(lever, model, X_tr, y_tr, X_te, seed) - y_te)
                    rows.append({"data": name, "model": model, "lever": lever, "seed": seed,
                                 "rare_mae": error[rare].mean() if rare.any() else np.nan, "mae": error.mean(),
                                 "n_rare": int(rare.sum()), "n_test": len(y_te)})
    results = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    for (name, model), part in results.groupby(["data", "model"], sort=False):
        plain = part[part.lever == "plain"].set_index("seed")
        print(f"\n{name}, {model} (rare test targets per split: {plain['n_rare'].mean():.1f} of "
              f"{plain['n_test'].iloc[0]})")
        for lever in LEVERS:
            this = part[part.lever == lever].set_index("seed")
            diff = (this["rare_mae"] - plain["rare_mae"]).dropna()
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
            change = (this["rare_mae"].mean() / plain["rare_mae"].mean() - 1) * 100
            print(f"  {lever:15s} rare MAE {this['rare_mae'].mean():8.3f} ({change:+5.1f} %, diff s.e. {se:.3f})   "
                  f"all MAE {this['mae'].mean():8.3f} ({(this['mae'].mean() / plain['mae'].mean() - 1) * 100:+5.1f} %)")
    relative = results.assign(  # each row against plain on the same table, model and split (its group's first)
        rare_rel=results["rare_mae"] / results.groupby(["data", "model", "seed"])["rare_mae"].transform(
            lambda s: s.iloc[0]),
        all_rel=results["mae"] / results.groupby(["data", "model", "seed"])["mae"].transform(lambda s: s.iloc[0]))
    print("\nmean ratio to plain over tables, models and seeds (below 1: better):")
    print(relative.groupby("lever")[["rare_rel", "all_rel"]].mean().reindex(LEVERS).round(3).to_string())
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
