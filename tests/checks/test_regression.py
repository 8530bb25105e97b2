"""Regression targets: reading them, the task's inference, wrong targets found, the report, the fix pipeline, the CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

import datafix as dfx
from datafix.checks.regression import find_target_issues
from datafix.cli import main
from datafix.data.targets import infer_task, read_targets
from datafix.datasets import corrupt_targets
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError
from datafix.signals.predictions import cross_val_predictions


@pytest.fixture(scope="module")
def diabetes():
    data = load_diabetes(as_frame=True)
    frame = data.frame.rename(columns={"target": "progression"})
    frame.index = pd.Index([f"patient-{i}" for i in range(len(frame))], name="patient")
    return frame


@pytest.fixture(scope="module")
def corrupted(diabetes):
    """Diabetes with 8 % of the targets moved by 2-4 standard deviations, and its audit."""
    y, truth = corrupt_targets(diabetes["progression"].to_numpy(), 0.08, kind="outlying", random_state=0)
    frame = diabetes.assign(progression=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        report = dfx.audit(frame, labels="progression", verbose=False)
    return frame, truth, report


def test_float_target_is_audited_as_regression_with_a_note(diabetes):
    X = diabetes.drop(columns="progression").to_numpy()
    y = diabetes["progression"].to_numpy() + 0.5  # many distinct non-integral values
    with pytest.warns(DatafixWarning, match="regression target"):
        report = dfx.audit(X, labels=y, checks="label", verbose=False)
    assert report.params["task"] == "regression"
    assert report.signals["labels"] == "given (a regression target)"
    assert "cross-validation" in report.signals["predictions"]


def test_integral_float_class_ids_stay_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(float) + 1.0  # 1.0 and 2.0
    assert infer_task(y) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatafixWarning)  # no regression note
        report = dfx.audit(X, labels=y, checks="label", verbose=False)
    assert report.params["task"] == "classification" and report.params["classes"] == [1, 2]


def test_outlying_targets_are_found(corrupted):
    frame, truth, report = corrupted
    found = report.issues["is_label_issue"].to_numpy(bool)
    assert (found & truth).sum() / truth.sum() >= 0.65  # recall (a shift of 2 sd hides in this noisy target)
    assert (found & truth).sum() / found.sum() >= 0.7  # precision
    assert report.issues["label_score"][truth].median() < 0.01 < report.issues["label_score"][~truth].median()


def test_report_keeps_one_row_per_sample_and_the_users_index(corrupted, diabetes):
    frame, truth, report = corrupted
    assert report.issues.index.equals(diabetes.index)
    columns = {"is_label_issue", "label_score", "given_label", "suggested_label", "suggested_confidence", "residual_z"}
    assert columns <= set(report.issues.columns)
    assert report.issues["given_label"].to_numpy(float) == pytest.approx(frame["progression"].to_numpy())
    assert report.checks["label"].ran and "residual" in report.checks["label"].rule
    assert not report.checks["class_imbalance"].ran and not report.checks["class_imbalance"].applies
    assert report.checks["outlier"].ran and report.checks["duplicate"].ran
    assert "label" in report.summary().index
    advice = report.checks["label"].advice
    assert "DropLabelIssues" in advice and "rare ranges" in advice and "Resampler('smoter')" in advice
    text = report.to_text() if hasattr(report, "to_text") else str(report)
    assert "label" in text


def test_html_report_renders(corrupted, tmp_path):
    _, _, report = corrupted
    report.to_html(tmp_path / "audit.html")
    page = (tmp_path / "audit.html").read_text()
    assert "label" in page and "residual" in page


def test_given_predictions_are_used_as_they_are(diabetes):
    X = diabetes.drop(columns="progression").to_numpy()
    y = diabetes["progression"].to_numpy().copy()
    predictions, _ = cross_val_predictions(X, y, model="huber", verbose=False)
    y[5] += 400.0
    report = dfx.audit(X, labels=y, task="regression", predictions=predictions, checks="label", verbose=False)
    assert report.signals["predictions"] == "given"
    assert bool(report.issues["is_label_issue"].iloc[5])


def test_a_scikit_learn_regressor_and_the_torch_probe_work(diabetes):
    X = diabetes.drop(columns="progression").to_numpy()
    y = diabetes["progression"].to_numpy().copy()
    y[3] -= 500.0
    for model in (LinearRegression(), "linear"):
        report = dfx.audit(X, labels=y, task="regression", model=model, checks="label", verbose=False)
        assert bool(report.issues["is_label_issue"].iloc[3])


def test_find_target_issues_local_spread_tolerates_a_noisy_region():
    """Noise 10x larger for x > 5: a residual of 2 there is ordinary (2 local sd), the same residual where
    x < 5 is not (20 local sd); with the global spread alone both would be flagged."""
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0, 10, 1000))
    sd = np.where(x > 5, 1.0, 0.1)
    y = x + rng.normal(size=1000) * sd
    quiet, loud = int(np.searchsorted(x, 2.5)), int(np.searchsorted(x, 7.5))
    y[quiet] = x[quiet] + 2.0
    y[loud] = x[loud] + 2.0
    graph = dfx.signals.knn_graph(x[:, None], 20, verbose=False)
    found, _ = find_target_issues(y, x, neighbors=graph)
    assert found["is_label_issue"].iloc[quiet] and not found["is_label_issue"].iloc[loud]
    assert found["is_label_issue"].mean() < 0.02
    global_only, _ = find_target_issues(y, x)
    assert global_only["is_label_issue"].iloc[loud]


def test_regression_inputs_are_never_modified(diabetes):
    frame = diabetes.copy()
    before = frame.copy()
    y = frame["progression"].to_numpy()
    y_before = y.copy()
    dfx.audit(frame, labels="progression", task="regression", checks="label", verbose=False)
    read_targets(y)
    pd.testing.assert_frame_equal(frame, before)
    assert np.array_equal(y, y_before)


@pytest.mark.parametrize("bad, error", [
    (np.nan, "missing value"),
    (np.inf, "infinite value"),
    (-np.inf, "infinite value"),
])
def test_bad_targets_are_refused_naming_the_rows(diabetes, bad, error):
    frame = diabetes.copy()
    frame.iloc[7, frame.columns.get_loc("progression")] = bad
    with pytest.raises(InvalidInputError, match=f"{error}.*patient-7"):
        dfx.audit(frame, labels="progression", task="regression", verbose=False)


def test_text_targets_are_refused():
    with pytest.raises(InvalidTypeError, match="numbers for a regression target; found 'low'"):
        dfx.audit(np.zeros((4, 2)), labels=["low", "high", "low", "mid"], task="regression", verbose=False)


@pytest.mark.parametrize("kwargs, error", [
    ({"task": "ranking"}, "'task' parameter must be one of"),
    ({"task": "regression", "pred_probs": np.full((40, 2), 0.5)}, "predictions="),
    ({"task": "regression", "unlabelled": -1}, "'unlabelled' argument applies to class labels"),
    ({"task": "regression", "model": "cnn"}, "model='cnn' trains a classifier"),
    ({"task": "regression", "model": "forest"}, "'model' parameter must be None"),
    ({"task": "classification", "predictions": np.zeros(40)}, "'predictions' argument holds predictions"),
    ({"task": "regression", "predictions": np.zeros(39)}, r"shape \(n_samples,\) = \(40,\)"),
])
def test_bad_arguments_are_refused(kwargs, error):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    with pytest.raises(InvalidInputError, match=error):
        dfx.audit(X, labels=y, verbose=False, **kwargs)


def test_a_classifier_model_is_refused_for_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    with pytest.raises(InvalidInputError, match="classifier"):
        dfx.audit(rng.normal(size=(40, 3)), labels=rng.normal(size=40), task="regression", model=LogisticRegression(),
                  verbose=False)


def test_regression_with_multilabel_or_annotators_or_no_target_is_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    with pytest.raises(InvalidInputError, match="'multilabel' is for classes"):
        dfx.audit(X, multilabel=rng.integers(0, 2, (40, 2)), task="regression", verbose=False)
    with pytest.raises(InvalidInputError, match="'annotators' is for classes"):
        dfx.audit(X, annotators=rng.integers(0, 2, (40, 3)), task="regression", verbose=False)
    with pytest.raises(InvalidInputError, match="needs the targets"):
        dfx.audit(X, task="regression", verbose=False)


def test_regression_of_a_torch_dataset_is_refused_with_the_way_out():
    data = torch.utils.data.TensorDataset(torch.zeros(10, 3), torch.linspace(0, 1, 10))
    with pytest.raises(InvalidInputError, match="array of its features"):
        dfx.audit(data, task="regression", verbose=False)


def test_pipeline_drops_relabels_and_rebalances_a_regression(corrupted):
    frame, truth, report = corrupted
    plan = dfx.fix.Pipeline([dfx.fix.DropLabelIssues()]).fit(frame, "progression", report=report)
    dropped = ~plan.samples["kept"].to_numpy(bool)
    assert dropped.sum() == report.issues["is_label_issue"].sum()
    out = plan.to_frame()
    assert out["progression"].dtype == frame["progression"].dtype and len(out) == len(frame) - dropped.sum()
    x, y = plan.dataset[0]
    assert y.dtype == torch.float32 and float(y) == pytest.approx(out["progression"].iloc[0])

    relabel = dfx.fix.Pipeline([dfx.fix.Relabel(min_confidence=0.99)]).fit(frame, "progression", report=report)
    changed = relabel.changes
    assert len(changed) == report.issues["is_label_issue"].sum()
    fixed = relabel.to_frame()["progression"]
    clean = load_diabetes().target
    moved = fixed.index[fixed.to_numpy() != frame["progression"].to_numpy()]
    positions = frame.index.get_indexer(moved)
    assert np.abs(fixed[moved].to_numpy() - clean[positions]).mean() < np.abs(
        frame["progression"].to_numpy()[positions] - clean[positions]).mean() / 2  # closer to the truth
    assert relabel.undo("relabel").changes.empty
    with pytest.raises(InvalidInputError, match="class_counts counts classes"):
        relabel.class_counts()

    balanced = dfx.fix.Pipeline([dfx.fix.Rebalance()]).fit(frame, "progression", report=report)
    sampler = balanced.sampler
    assert isinstance(sampler, dfx.balance.DensitySampler)
    targets = frame["progression"].to_numpy()
    top = targets > np.quantile(targets, 0.9)
    assert top[sampler.indices()].mean() > top.mean()
    with pytest.raises(InvalidInputError, match="inverse target density"):
        dfx.fix.Pipeline([dfx.fix.Rebalance(weighting="sqrt")]).fit(frame, "progression", report=report).sampler  # noqa: B018


def test_pipeline_with_a_report_of_a_copy_reads_the_targets(corrupted):
    frame, _, report = corrupted
    plan = dfx.fix.Pipeline([dfx.fix.DropLabelIssues()]).fit(frame.copy(), "progression", report=report)
    assert len(plan.kept) == len(frame) - report.issues["is_label_issue"].sum()


def test_cli_audits_and_fixes_a_regression(corrupted, tmp_path, capsys):
    frame, _, _ = corrupted
    source = tmp_path / "diabetes.csv"
    frame.to_csv(source)
    code = main(["audit", str(source), "--label", "progression", "--index-col", "patient", "--task", "regression",
                 "-o", str(tmp_path / "audit.html")])
    assert code == 0
    code = main(["fix", str(source), "--label", "progression", "--index-col", "patient", "--task", "regression",
                 "-o", str(tmp_path / "clean.csv")])
    assert code == 0
    clean = pd.read_csv(tmp_path / "clean.csv", index_col="patient")
    assert 0 < len(frame) - len(clean) <= 0.2 * len(frame)
    assert pd.read_csv(source, index_col="patient").equals(frame)  # the input file is untouched


@pytest.mark.parametrize("container", ["array", "series", "column"])
def test_integer_labels_are_classes_whatever_holds_them(container):
    from sklearn.datasets import load_digits

    X = load_digits().data[:300]
    y = np.arange(300) % 100  # 100 distinct integers over 300 rows
    data, labels = X, {"array": y, "series": pd.Series(y)}.get(container)
    if container == "column":
        data, labels = pd.DataFrame(X).add_prefix("px").assign(y=y), "y"
    assert infer_task(y) is None and infer_task(pd.Series(y)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatafixWarning)  # no regression note
        report = dfx.audit(data, labels=labels, checks="class_imbalance", verbose=False)
    assert report.params["task"] == "classification" and report.params["n_classes"] == 100
