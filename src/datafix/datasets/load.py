"""Noisy versions of datasets that ship with scikit-learn, and generated ones."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import datasets as skd

from datafix._validation import RandomState, check_choice, check_random_state, seed_from
from datafix.datasets.inject import InjectedData, make_noisy

NAMES = ("digits", "iris", "wine", "breast_cancer", "blobs", "classification")


def load_noisy(name: str = "digits", *, random_state: RandomState = 0, **inject: Any) -> InjectedData:
    """Load an embedded dataset and inject problems into it (see :func:`make_noisy`).

    Parameters
    ----------
    name : {"digits", "iris", "wine", "breast_cancer", "blobs", "classification"}
        The first four ship with scikit-learn (no download). ``"blobs"`` (2000 samples, 5 classes,
        10 features) and ``"classification"`` (2000 samples, 5 classes, 20 features, 10
        informative) are generated from ``random_state``.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of every random draw.
    **inject
        ``noise``, ``noise_type``, ``matrix``, ``imbalance``, ``n_duplicates``, ``n_outliers``.

    Returns
    -------
    InjectedData

    Examples
    --------
    >>> data = load_noisy("digits", noise=0.2, noise_type="class_conditional", random_state=1)
    >>> data.X.shape, round(float(data.is_label_error.mean()), 1)
    ((1797, 64), 0.2)
    """
    check_choice(name, "name", NAMES)
    rng = check_random_state(random_state)
    if name == "blobs":
        X, y = skd.make_blobs(n_samples=2000, centers=5, n_features=10, cluster_std=2.5, random_state=seed_from(rng))
        names = [f"x{j}" for j in range(10)]
    elif name == "classification":
        X, y = skd.make_classification(
            n_samples=2000, n_features=20, n_informative=10, n_classes=5, n_clusters_per_class=1,
            class_sep=1.5, random_state=seed_from(rng),
        )
        names = [f"x{j}" for j in range(20)]
    else:
        bunch = getattr(skd, f"load_{name}")()
        X, y = bunch.data, bunch.target
        names = list(bunch.feature_names) if name != "digits" else [f"pixel_{j}" for j in range(X.shape[1])]
        if name in ("iris", "wine", "breast_cancer"):
            y = np.asarray(bunch.target_names)[y]
    return make_noisy(X, y, feature_names=names, name=name, random_state=rng, **inject)
