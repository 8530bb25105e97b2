"""The Ray engine's prediction signals: a K-fold probe on a sample of rows (the single-machine
cross-validation when the sample is every row), its model predicting the other rows block by
block; or, with ``model="lda"``, a linear discriminant cross-validated on every row from sums."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from datafix._validation import RandomState, seed_from
from datafix.scale import blocks as B
from datafix.scale import lda as L
from datafix.scale.ingest import Passes
from datafix.signals import Signals
from datafix.signals.pred_probs import make_model
from datafix.signals.predictions import make_regressor


def sample_rows(n: int, probe_rows: int, rng: np.random.Generator) -> np.ndarray:
    """The row ids of the probe's sample (sorted): every row when there are at most ``probe_rows``."""
    if n <= probe_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed_from(rng)).choice(n, probe_rows, replace=False))


def probe(passes: Passes, encoded: Any, row_ids: np.ndarray, codes: np.ndarray, layout: B.Layout, sample: np.ndarray,
          model: Any, cv: int, random_state: RandomState) -> tuple[np.ndarray, str]:
    """Out-of-sample pred_probs of the usable rows ``row_ids`` (``codes`` theirs): cross-validation
    on the ``sample`` of row ids (the single-machine audit's own, on the same seed), the
    sample's model for the other rows."""
    everyone = len(sample) == len(row_ids)
    X = passes.collect(encoded, [B.FEATURES], None if everyone else sample)[B.FEATURES]
    at = np.searchsorted(row_ids, sample)
    y = codes[at]
    probe = Signals(y, len(layout.classes), features=np.asarray(X, np.float64), classes=layout.classes,
                    model=model, cv=cv, random_state=random_state, verbose=passes.verbose)
    P = np.zeros((len(row_ids), len(layout.classes)))
    P[at] = probe.pred_probs
    described = probe.provenance.get("pred_probs", "cross-validation")
    if everyone:
        return P, described
    labelled = y >= 0
    fitted = make_model(model, random_state=0).fit(X[labelled], y[labelled])
    passes.predict_others(P, encoded, row_ids, sample, B.predict_block, B.PROBS, model=fitted,
                        n_classes=len(layout.classes), fitted_classes=np.asarray(fitted.classes_))
    return P, f"{described} on a sample of {len(sample):,} rows; the other rows by its model trained on the sample"


def regression_probe(passes: Passes, encoded: Any, row_ids: np.ndarray, targets: np.ndarray, sample: np.ndarray,
                     model: Any, cv: int, random_state: RandomState) -> tuple[np.ndarray, str]:
    """Out-of-sample predictions of the regression target of the usable rows ``row_ids``
    (``targets`` theirs): cross-validation on the ``sample`` of row ids (the single-machine
    audit's own, on the same seed), the sample's model for the other rows."""
    everyone = len(sample) == len(row_ids)
    X = passes.collect(encoded, [B.FEATURES], None if everyone else sample)[B.FEATURES]
    at = np.searchsorted(row_ids, sample)
    probe = Signals(None, 0, features=np.asarray(X, np.float64), targets=targets[at], model=model, cv=cv,
                    random_state=random_state, verbose=passes.verbose)
    fitted = np.zeros(len(row_ids))
    fitted[at] = probe.predictions
    described = probe.provenance["predictions"]
    if everyone:
        return fitted, described
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # Huber's iterations: the fit is still usable
        regressor = make_regressor(probe.prediction_model).fit(np.asarray(X, np.float64), targets[at])
    passes.predict_others(fitted, encoded, row_ids, sample, B.regress_block, B.PREDICTION, model=regressor)
    return fitted, f"{described} on a sample of {len(sample):,} rows; the other rows by its model trained on it"


def multilabel_probe(passes: Passes, encoded: Any, row_ids: np.ndarray, Y: np.ndarray, sample: np.ndarray, model: Any,
                     cv: int, random_state: RandomState) -> tuple[np.ndarray, str]:
    """Each label's out-of-sample probability for the usable rows ``row_ids`` (``Y`` their
    indicators): cross-validation on the ``sample`` of row ids, as the single-machine audit
    runs it, and for the other rows one binary model per label trained on the sample."""
    everyone = len(sample) == len(row_ids)
    X = np.asarray(passes.collect(encoded, [B.FEATURES], None if everyone else sample)[B.FEATURES], np.float64)
    at = np.searchsorted(row_ids, sample)
    probe = Signals(None, 0, features=X, multilabel=Y[at], model=model, cv=cv, random_state=random_state,
                    verbose=passes.verbose)
    P = np.zeros(Y.shape)
    P[at] = probe.pred_probs
    described = probe.provenance.get("pred_probs", "cross-validation")
    if everyone:
        return P, described
    models: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for j in range(Y.shape[1]):
            seen = Y[at, j].astype(np.int64)
            models.append(float(seen[0]) if seen.min() == seen.max() else
                          make_model(model, random_state=0).fit(X, seen))
    passes.predict_others(P, encoded, row_ids, sample, B.multilabel_predict_block, B.PROBS, models=models)
    return P, f"{described} on a sample of {len(sample):,} rows; the other rows by its models trained on it"


def lda_probe(passes: Passes, encoded: Any, layout: B.Layout, cv: int, seed: int, center: np.ndarray
              ) -> tuple[np.ndarray, str]:
    """Out-of-sample pred_probs of every row from a ``cv``-fold linear discriminant fitted from
    per-fold sums (:mod:`datafix.scale.lda`): no row is gathered on the driver."""
    K = len(layout.classes)
    parts = encoded.map_batches(L.lda_sums_block, fn_kwargs={"n_classes": K, "cv": cv, "seed": seed,
                                "center": center}, batch_format="numpy", batch_size=passes.batch_size).take_all()
    total = pickle.loads(parts[0]["sums"])
    for part in parts[1:]:
        total = total + pickle.loads(part["sums"])
    coef, intercept = L.lda_models(total)
    probs = encoded.map_batches(L.lda_predict_block, fn_kwargs={"coef": coef, "intercept": intercept, "seed": seed,
                                "center": center}, batch_format="numpy", batch_size=passes.batch_size)
    return passes.collect(probs, [B.PROBS])[B.PROBS], (
        f"{cv}-fold cross-validation of a linear discriminant on every row, fitted from per-fold sums on "
        "the cluster (no row gathered)")

