"""One parity suite (issue 41, point 8): every check and every label kind audited on both engines,
through the one flow, gives equal reports.

Each case is a small table (or an image folder) that gives every check of its label kind something
to find; the local audit and ``engine="ray"`` (exact search, every row in the probe, so the
single-machine cross-validation) must agree on every per-sample column, every check's outcome and
rule, the tables, the test set's rows, the labels' provenance and the parameters the engines share.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import datafix as dfx  # noqa: E402
from datafix.checks import list_checks  # noqa: E402

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.slow]

#: ``params`` entries that say which engine ran, not what was audited.
ENGINE_PARAMS = {"engine", "n_shards", "probe_rows", "seconds", "knn_backend", "source", "nan_policy"}


def _features(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers, a text category, a date column (seconds on both engines), 12 outliers, 10 copied rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) + rng.integers(0, 3, n)[:, None]
    X[:12] *= 8
    X[20:30] = X[30:40]
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["colour"] = np.array(["red", "green", "blue"])[rng.integers(0, 3, n)]
    frame.loc[20:29, "colour"] = frame.loc[30:39, "colour"].to_numpy()
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    frame["day"] = days.strftime("%Y-%m-%d")
    frame.loc[20:29, "day"] = frame.loc[30:39, "day"].to_numpy()
    return frame, X


def classes_case(n: int = 900) -> dict:
    """Classes with flipped labels, a rare class, a misspelt label value, and a leaky test set."""
    frame, X = _features(n, seed=1)
    y = np.array(["cat", "dog", "eel"])[(X[:, 0] + X[:, 1] > 2).astype(int) + (X[:, 2] > 1.5)]
    y[50:80] = np.roll(y[50:80], 1)
    y[100:110] = "owl"  # a rare class
    y[120:123] = "cat "  # a label value that is another class written differently
    test = pd.concat([frame.iloc[200:220], _features(60, seed=9)[0]], ignore_index=True)
    return {"data": frame.assign(y=y), "labels": "y", "test": test}


def unlabelled_case() -> dict:
    case = classes_case()
    case["data"].loc[::9, "y"] = None
    del case["test"]
    return case


def regression_case(n: int = 900) -> dict:
    frame, X = _features(n, seed=2)
    target = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + np.random.default_rng(2).normal(scale=0.3, size=n)
    target[200:215] += 15
    return {"data": frame.assign(target=target), "labels": "target", "task": "regression"}


def multilabel_case(n: int = 900) -> dict:
    frame, X = _features(n, seed=3)
    Y = pd.DataFrame({"a": X[:, 0] > 1, "b": X[:, 1] > 1, "c": X[:, 2] > 2.5}).astype(np.int64)
    Y.iloc[60:90, 0] = 1 - Y.iloc[60:90, 0]
    return {"data": pd.concat([frame, Y], axis=1), "multilabel": ["a", "b", "c"]}


def annotators_case(n: int = 900) -> dict:
    frame, X = _features(n, seed=4)
    truth = np.array(["cat", "dog", "eel"])[(X[:, 0] + X[:, 1] > 2).astype(int) + (X[:, 2] > 1.5)]
    rng = np.random.default_rng(4)
    wide = {}
    for j, accuracy in enumerate((0.95, 0.8, 0.6)):
        given = truth.astype(object).copy()
        wrong = rng.random(n) > accuracy
        given[wrong] = rng.choice(["cat", "dog", "eel"], wrong.sum())
        given[rng.random(n) < 0.2] = None
        wide[f"ann{j}"] = given
    wide = pd.DataFrame(wide)
    wide.loc[wide.isna().all(axis=1), "ann0"] = truth[wide.isna().all(axis=1).to_numpy()]
    return {"data": pd.concat([frame, wide], axis=1), "annotators": list(wide.columns)}


CASES = {"classes": classes_case, "unlabelled": unlabelled_case, "regression": regression_case,
         "multilabel": multilabel_case, "annotators": annotators_case}


def assert_equal_reports(on_ray: dfx.Report, local: dfx.Report, rtol: float = 1e-6) -> None:
    pd.testing.assert_frame_equal(on_ray.issues, local.issues, check_exact=False, rtol=rtol, atol=1e-9)
    pd.testing.assert_frame_equal(on_ray.summary(), local.summary(), check_exact=False, rtol=1e-6)
    assert set(on_ray.checks) == set(local.checks)
    for name, outcome in local.checks.items():
        other = on_ray.checks[name]
        assert (other.ran, other.reason, other.rule, other.columns) == (
            outcome.ran, outcome.reason, outcome.rule, outcome.columns), name
    assert set(on_ray.tables) == set(local.tables)
    for name, table in local.tables.items():
        pd.testing.assert_frame_equal(on_ray.tables[name], table, check_exact=False, rtol=1e-6, obj=name)
    if local.test_issues is None:
        assert on_ray.test_issues is None
    else:
        pd.testing.assert_frame_equal(on_ray.test_issues, local.test_issues, check_exact=False, rtol=1e-6,
                                      atol=1e-9)
    for signal in ("labels", "pred_probs", "predictions"):
        assert on_ray.signals.get(signal) == local.signals.get(signal), signal
    shared = {k: v for k, v in local.params.items() if k not in ENGINE_PARAMS}
    assert {k: on_ray.params[k] for k in shared} == shared


def _said(caught: list) -> list[str]:
    """datafix's own warnings, sorted (Ray's and pyarrow's are left out)."""
    return sorted(str(w.message) for w in caught if issubclass(w.category, dfx.errors.DatafixWarning))


@pytest.mark.parametrize("kind", list(CASES))
def test_every_check_and_label_kind_gives_equal_reports_on_both_engines(cluster, kind):
    case = CASES[kind]()
    with warnings.catch_warnings(record=True) as said_locally:
        warnings.simplefilter("always")
        local = dfx.audit(**case, verbose=False)
    with warnings.catch_warnings(record=True) as said_on_ray:
        warnings.simplefilter("always")
        on_ray = dfx.audit(**case, engine="ray", verbose=False)
    assert_equal_reports(on_ray, local)
    assert _said(said_on_ray) == _said(said_locally)  # the unlabelled, regression and column warnings too
    ran = {name for name, outcome in local.checks.items() if outcome.ran}
    assert on_ray.params["engine"] == "ray" and "Ray actors" in on_ray.signals["neighbors"]
    expected = {"classes": {"label", "label_values", "outlier", "duplicate", "null", "class_imbalance", "leakage"},
                "unlabelled": {"label", "unlabelled", "outlier", "duplicate", "null", "class_imbalance"},
                "regression": {"label", "outlier", "duplicate", "null"},
                "multilabel": {"label", "label_imbalance", "outlier", "duplicate", "null"},
                "annotators": {"label", "annotators", "outlier", "duplicate", "null", "class_imbalance"}}[kind]
    assert expected <= ran | ({"leakage"} if local.test_issues is not None else set())
    flagged = {name for name in ran if local.checks[name].flag in local.issues
               and local.issues[local.checks[name].flag].fillna(False).any()}
    assert {"label", "outlier", "duplicate"} <= flagged, kind


def test_every_registered_check_is_covered_by_a_case():
    covered = {"label", "label_values", "outlier", "duplicate", "null", "class_imbalance", "leakage", "unlabelled",
               "label_imbalance", "annotators", "dark", "overexposed", "low_information", "blurry", "odd_size",
               "odd_aspect_ratio", "odd_mode"}  # the image checks: test_image_folder_checks_are_equal_on_both
    assert set(list_checks()) <= covered


def _digit_folder(root, n: int, *, dark: int = 0) -> None:
    """``n`` scikit-learn digits as 16-px PNG files in three class folders (the first ``dark`` ones
    darkened)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for c in range(3):
        (root / f"d{c}").mkdir()
    for i in range(n):
        pixels = (digits.images[i] * 255 / 16).astype(np.uint8) // (20 if i < dark else 1)
        size = (16, 24) if i in (40, 41) else (16, 16)  # 2 of an odd size
        Image.fromarray(pixels).resize(size, Image.NEAREST).save(root / f"d{i % 3}" / f"{i:04d}.png")


def test_image_folder_checks_are_equal_on_both_engines(cluster, tmp_path):
    _digit_folder(tmp_path, 450, dark=8)
    (tmp_path / "d0" / "copy.png").write_bytes((tmp_path / "d1" / "0100.png").read_bytes())
    (tmp_path / "d1" / "broken.png").write_bytes(b"not an image")
    local = dfx.audit(str(tmp_path), model="logistic", image_size=16, verbose=False)
    on_ray = dfx.audit(str(tmp_path), model="logistic", image_size=16, engine="ray", verbose=False)
    assert_equal_reports(on_ray, local)
    assert local.issues["is_dark"].sum() >= 8 and local.issues["is_broken"].sum() == 1


def test_the_image_default_is_the_same_on_both_engines(cluster, tmp_path):
    """An image folder given no features or model: both engines embed it with the pretrained
    network and score the labels by the same two views (embeddings and pixels)."""
    from datafix.signals.image_default import pretrained_installed

    if not pretrained_installed():
        pytest.skip("needs datafix[pretrained] (the default network's packages)")
    _digit_folder(tmp_path, 120)
    (tmp_path / "d1" / "broken.png").write_bytes(b"not an image")
    local = dfx.audit(str(tmp_path), image_size=16, checks=["label", "outlier", "duplicate"], verbose=False)
    on_ray = dfx.audit(str(tmp_path), image_size=16, checks=["label", "outlier", "duplicate"], engine="ray",
                       verbose=False)
    assert "two views of each image" in local.signals["pred_probs"]
    assert "efficientnet_lite0 ImageNet embeddings" in on_ray.signals["features"]
    flags = [c for c in local.issues if c.startswith("is_")]
    pd.testing.assert_frame_equal(on_ray.issues[flags], local.issues[flags])  # the same findings, exactly
    # the scores to 1e-4: the network's float32 sums differ in the last bits between batch sizes
    # (Ray's blocks of files against the local batches of 256)
    assert_equal_reports(on_ray, local, rtol=1e-4)


def test_a_registered_check_runs_on_ray_when_the_engine_provides_what_it_declares(cluster, monkeypatch):
    """A user's check declares what it reads; the Ray engine runs it when it provides those signals
    (labels, pred_probs) and skips it, saying why, when it does not (the features stay on the cluster)."""
    from datafix.checks import registry
    from datafix.checks.registry import CheckResult, register_check

    monkeypatch.setattr(registry, "CHECKS", dict(registry.CHECKS))  # the registrations end with the test

    @register_check("low_given_prob", requires=("labels", "pred_probs"), flag="is_low_given_prob",
                    score="given_prob", description="The given label is unlikely")
    def low_given_prob(signals):
        p = signals.pred_probs[np.arange(len(signals.labels)), signals.labels]
        return CheckResult(pd.DataFrame({"is_low_given_prob": p < 0.2, "given_prob": p}), "given label's p < 0.2")

    @register_check("far_from_zero", requires=("features",), flag="is_far_from_zero", score="norm")
    def far_from_zero(signals):
        norm = np.linalg.norm(signals.features, axis=1)
        return CheckResult(pd.DataFrame({"is_far_from_zero": norm > 10, "norm": norm}), "norm > 10")

    case = classes_case()
    frame = case["data"]
    checks = ["low_given_prob", "far_from_zero"]
    local = dfx.audit(frame, labels="y", checks=checks, verbose=False)
    on_ray = dfx.audit(ray.data.from_pandas(frame).repartition(3), labels="y", checks=checks, engine="ray",
                       verbose=False)
    assert local.checks["low_given_prob"].ran and on_ray.checks["low_given_prob"].ran
    pd.testing.assert_series_equal(on_ray.issues["given_prob"], local.issues["given_prob"], rtol=1e-6)
    assert local.issues["is_low_given_prob"].sum() > 0
    assert local.checks["far_from_zero"].ran and not on_ray.checks["far_from_zero"].ran
    assert "features" in on_ray.checks["far_from_zero"].reason
