import json

import numpy as np
import pandas as pd
import pytest
import torch

import datafix as dfx
from conftest import checksum
from datafix.errors import InvalidInputError, InvalidTypeError
from datafix.fix import (
    DropBroken,
    DropLabelIssues,
    DropNearDuplicates,
    DropOutliers,
    Pipeline,
    Rebalance,
    Relabel,
    Reweight,
)


@pytest.fixture(scope="module")
def noisy():
    data = dfx.datasets.load_noisy("digits", noise=0.15, random_state=0)
    report = dfx.audit(data.X, labels=data.y, verbose=False)
    return data, report


def test_dropping_label_issues_removes_mostly_wrong_labels(noisy):
    data, report = noisy
    before = checksum(data.X)
    plan = Pipeline([DropLabelIssues()]).fit(data.X, data.y, report=report)
    dropped = ~plan.samples["kept"].to_numpy(bool)
    assert dropped.sum() == report.issues["is_label_issue"].sum()
    kept_error_rate = data.is_label_error[plan.kept].mean()
    assert kept_error_rate < data.is_label_error.mean() / 3
    assert set(plan.changes["action"]) == {"drop"} and (plan.changes["reason"] == "label issue").all()
    assert checksum(data.X) == before


def test_relabel_then_drop_and_explain(noisy):
    data, report = noisy
    plan = Pipeline([Relabel(0.8), DropLabelIssues()]).fit(data.X, data.y, report=report)
    relabelled = plan.changes[plan.changes["action"] == "relabel"]
    assert len(relabelled) > 0
    truth = data.y_true[relabelled.index.to_numpy()]
    assert (relabelled["new_label"].to_numpy(int) == truth).mean() > 0.8  # suggestions are mostly right
    # a relabelled sample is not dropped by the later step
    assert plan.samples.loc[relabelled.index, "kept"].all()
    i = relabelled.index[0]
    text = plan.explain(i)
    assert "relabel ->" in text and "threshold 0.8" in text and "kept" in text
    np.testing.assert_array_equal(plan.samples.loc[relabelled.index, "label"].to_numpy(int), relabelled["new_label"].to_numpy(int))


def test_caps_never_empty_a_class_and_say_so():
    X = np.vstack([np.random.default_rng(0).normal(size=(40, 2)), [[9.0, 9.0], [9.1, 9.0], [9.2, 9.1]]])
    y = np.array([0] * 40 + [1] * 3)
    report = dfx.audit(X, labels=y, verbose=False)
    issues = report.issues.copy()
    issues["is_label_issue"] = y == 1  # pretend every sample of class 1 is flagged
    report = dfx.Report(issues, report.checks, report.params, report.signals, report.versions, report.tables)
    plan = Pipeline([DropLabelIssues()], max_drop_share=0.5).fit(X, y, report=report)
    assert (plan.labels == 1).sum() == 2  # floor(0.5 * 3) = 1 dropped
    assert (plan.changes["action"] == "kept (cap)").sum() == 2 and plan.caps and "drop_label_issues" in plan.caps[0]
    one = Pipeline([DropLabelIssues()], max_drop_share=1.0).fit(X, y, report=report)
    assert (one.labels == 1).sum() == 1  # never the last sample


def test_duplicates_outliers_reweight_and_broken():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    X[10] = X[11] = X[12]  # a duplicate group of three
    X[50] = [25.0, 25.0, 25.0]
    y = rng.integers(0, 2, 120)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    frame.loc[7, "a"] = np.nan
    report = dfx.audit(frame, labels="y", nan_policy="drop", verbose=False)
    plan = Pipeline([DropBroken(), DropNearDuplicates(), DropOutliers(), Reweight(floor=0.2)]).fit(
        frame, "y", report=report, nan_policy="drop")
    samples = plan.samples
    assert not samples.loc[7, "kept"] and samples.loc[7, "dropped_by"] == "drop_broken"
    assert samples.loc[[10, 11, 12], "kept"].sum() == 1
    assert not samples.loc[50, "kept"]
    assert (plan.weights >= 0.2).all() and (plan.weights <= 1).all()
    out = plan.to_frame()
    assert len(out) == len(plan.kept) and list(out.columns) == ["a", "b", "c", "y"]
    marked = plan.to_frame(actions=True)
    assert marked.loc[7, "datafix_action"] == "drop_broken" and len(marked) == 120


def test_undo_dataset_and_sampler(noisy):
    data, report = noisy
    plan = Pipeline([Relabel(0.8), DropLabelIssues(), Rebalance(deferred_epoch=2)]).fit(data.X, data.y, report=report)
    undone = plan.undo("drop_label_issues")
    assert len(undone.kept) == len(data.y) and (undone.changes["action"] == "relabel").all()
    ds = plan.dataset
    assert len(ds) == len(plan.kept)
    x, label = ds[0]
    assert isinstance(x, torch.Tensor) and x.shape == (64,) and plan.classes[label] == plan.labels[0]
    sampler = plan.sampler
    assert len(sampler) == len(plan.kept) and sampler.shares(0)[0] != sampler.shares(2)[0]
    loader = torch.utils.data.DataLoader(ds, sampler=sampler, batch_size=64)
    assert sum(len(xb) for xb, _ in loader) == len(plan.kept)
    assert Pipeline([DropLabelIssues()]).fit(data.X, data.y, report=report).sampler is None


def test_torch_dataset_items_get_the_new_labels():
    data = dfx.datasets.load_noisy("iris", noise=0.2, random_state=0)
    y = np.unique(data.y, return_inverse=True)[1]
    ds = torch.utils.data.TensorDataset(torch.tensor(data.X), torch.tensor(y))
    plan = Pipeline([Relabel(0.5)]).fit(ds, features=data.X, verbose=False)
    relabelled = plan.changes.index[plan.changes["action"] == "relabel"]
    assert len(relabelled)
    pos = int(np.flatnonzero(plan.kept == relabelled[0])[0])
    x, label = plan.dataset[pos]
    assert torch.equal(x, ds[relabelled[0]][0]) and plan.classes[label] == plan.changes.loc[relabelled[0], "new_label"]


def test_config_round_trip_json_and_yaml(tmp_path):
    pipe = Pipeline([DropBroken(), Relabel(0.95), DropLabelIssues(max_score=0.3), Rebalance("sqrt")], max_drop_share=0.3)
    config = pipe.to_config()
    (tmp_path / "p.json").write_text(json.dumps(config))
    import yaml

    (tmp_path / "p.yaml").write_text(yaml.safe_dump(config))
    for path in ("p.json", "p.yaml"):
        again = Pipeline.from_config(tmp_path / path)
        assert again.to_config() == config


@pytest.mark.parametrize(
    "config, match",
    [
        ({"steps": [{"step": "drop_everything"}]}, "Unknown step 'drop_everything'.*drop_label_issues"),
        ({"steps": [{"step": "relabel", "confidence": 0.9}]}, r"no parameter \['confidence'\].*min_confidence"),
        ({"steps": [], "speed": "fast"}, "Unknown pipeline keys"),
        ({"stages": []}, "'steps' list"),
    ],
)
def test_bad_configs_name_the_problem(config, match):
    with pytest.raises(InvalidInputError, match=match):
        Pipeline.from_config(config)


def test_a_report_from_other_data_is_refused(noisy):
    data, report = noisy
    with pytest.raises(InvalidInputError, match="report is from other data"):
        Pipeline([DropLabelIssues()]).fit(data.X[:100], data.y[:100], report=report)
    with pytest.raises(InvalidTypeError, match="Report"):
        Pipeline([DropLabelIssues()]).fit(data.X, data.y, report={"issues": []})
    with pytest.raises(InvalidTypeError, match="steps"):
        Pipeline(["drop_label_issues"])
    plan = Pipeline([DropLabelIssues()]).fit(data.X, data.y, report=report)
    with pytest.raises(InvalidInputError, match="no step 'relabel'"):
        plan.undo("relabel")
    with pytest.raises(InvalidInputError, match="No sample"):
        plan.explain(10**6)


def test_the_plan_builds_its_sampler_once(noisy):
    data, report = noisy
    plan = Pipeline([Rebalance()]).fit(data.X, data.y, report=report)
    plan.sampler.set_epoch(3)
    assert plan.sampler is plan.sampler and plan.sampler.epoch == 3 and plan.dataset is plan.dataset


def test_samplers_take_a_plan_as_labels(noisy):
    from datafix.balance import ClassBalancedSampler

    data, report = noisy
    plan = Pipeline([Relabel(0.8), DropLabelIssues()]).fit(data.X, data.y, report=report)
    sampler = ClassBalancedSampler(plan.training_labels, num_samples=5000)
    drawn = sampler.indices()
    assert drawn.max() < len(plan.dataset) and len(sampler.classes) == len(set(plan.labels))
    shares = np.bincount(plan.labels[drawn].astype(int), minlength=10) / len(drawn)
    assert np.abs(shares - 0.1).max() < 0.03  # balanced over the plan's labels


def test_changes_keep_integer_labels_where_some_rows_have_no_new_label():
    """Found writing the gallery: with relabels and drops together, new_label became float64
    (NaN for the drops), so explain() said "relabel -> 4.0" for the integer label 4."""
    data = dfx.datasets.load_noisy("digits", noise=0.25, random_state=0)
    plan = Pipeline([Relabel(min_confidence=0.9), DropLabelIssues()]).fit(data.X, data.y, verbose=False)
    changes = plan.changes
    assert set(changes["action"]) >= {"relabel", "drop"}
    assert changes["new_label"].dtype == "Int64" and changes["old_label"].dtype == data.y.dtype
    relabelled = changes[changes["action"] == "relabel"]
    assert relabelled["new_label"].notna().all() and changes.loc[changes["action"] == "drop", "new_label"].isna().all()
    first = relabelled.index[0]
    assert f"-> {int(relabelled['new_label'].iloc[0])} (" in plan.explain(first)
    assert ".0 (" not in plan.explain(first)


def test_adjust_logits_gives_the_plan_a_logit_adjusted_loss_over_its_training_labels():
    from datafix.balance import LogitAdjustedLoss
    from datafix.fix import AdjustLogits

    rng = np.random.default_rng(0)
    y = np.repeat(["cat", "dog", "emu"], [60, 15, 5])
    X = rng.normal(size=(80, 3)) + (y == "dog")[:, None] * 3 + (y == "emu")[:, None] * 6
    plan = Pipeline([DropLabelIssues(), AdjustLogits(tau=0.5)]).fit(X, y, verbose=False)
    assert isinstance(plan.loss, LogitAdjustedLoss)
    counts = pd.Series(plan.training_labels).value_counts().reindex(plan.classes).to_numpy(float)
    np.testing.assert_allclose(plan.loss.adjustment.numpy(), 0.5 * np.log(counts / counts.sum()), rtol=1e-6)
    logits = torch.zeros(2, 3)
    codes = torch.tensor([0, 2])
    assert float(plan.loss(logits, codes)) != pytest.approx(float(torch.nn.CrossEntropyLoss()(logits, codes)))
    plain = Pipeline([DropLabelIssues()]).fit(X, y, verbose=False)
    assert type(plain.loss) is torch.nn.CrossEntropyLoss


def test_adjust_logits_refuses_a_regression_target():
    from sklearn.datasets import load_diabetes

    from datafix.fix import AdjustLogits

    X, y = load_diabetes(return_X_y=True)
    plan = Pipeline([AdjustLogits()]).fit(X, y, task="regression", verbose=False)
    with pytest.raises(InvalidInputError, match="regression"):
        plan.loss  # noqa: B018


# -- every dropped row is counted under a named step (issue 40, item 5) ----------------------------

@pytest.fixture(scope="module")
def wine_with_gaps():
    """Wine with 3 rows missing a feature and 2 rows missing their label."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine.loc[[3, 50, 100], "alcohol"] = np.nan
    wine["target"] = wine["target"].astype(float)
    wine.loc[[7, 8], "target"] = np.nan
    return wine


@pytest.mark.parametrize("steps", [[], [DropBroken(), DropLabelIssues()]])
def test_unlabelled_rows_are_dropped_under_a_step_of_their_own(wine_with_gaps, steps):
    plan = Pipeline(steps).fit(wine_with_gaps, "target", nan_policy="drop", verbose=False)
    summary = plan.summary()
    assert summary.loc["unlabelled", "drop"] == 2
    assert int(summary["drop"].sum()) == plan.counts()["dropped"]
    assert plan.changes.loc[[7, 8], "step"].tolist() == ["unlabelled", "unlabelled"]
    assert "no label" in plan.explain(7)


def test_the_nan_error_says_what_fix_does_with_the_rows(wine_with_gaps):
    with pytest.raises(InvalidInputError, match=r"nan_policy='impute'.*stay.*fixed table.*nan_policy='drop'.*"
                                                r"DropBroken.*drops them from the fixed table"):
        Pipeline([DropBroken()]).fit(wine_with_gaps, "target", verbose=False)
