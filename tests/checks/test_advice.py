import numpy as np
import pandas as pd
import pytest

import datafix as dfx
from datafix.checks.advice import rebalancing_advice
from datafix.errors import InvalidInputError


def test_advice_follows_the_measured_imbalance():
    assert "no rebalancing needed" in rebalancing_advice(np.array([100, 90, 60]))
    strong = rebalancing_advice(np.array([1000, 100, 10]))
    assert strong.startswith("imbalance ratio 100: first try logit adjustment") and "Deferred" in strong
    assert "fewer than 5" not in strong
    assert "1 class has fewer than 5 samples" in rebalancing_advice(np.array([1000, 100, 2]))
    multilabel = rebalancing_advice(np.array([50, 1]), multilabel=True)
    assert multilabel.startswith("label imbalance ratio 50: first use label-first sampling")
    # thresholds tuned on a few validation positives lowered the rebalanced models' F1 in the benchmark
    assert "tune_thresholds) for a plainly trained model" in multilabel
    assert "nothing to rebalance" in rebalancing_advice(np.array([5, 0]))


def test_the_audit_report_carries_the_advice():
    data = dfx.datasets.load_noisy("iris", noise=0.0)
    keep = dfx.datasets.long_tail_subset(data.y, 20)
    report = dfx.audit(data.X[keep], labels=data.y[keep], verbose=False)
    advice = report.checks["class_imbalance"].advice
    assert "imbalance ratio 25" in advice and "logit adjustment" in advice  # 50 vs 2 samples
    assert "advice:" in report.render()
    assert dfx.Report.from_json(report.to_json()).checks["class_imbalance"].advice == advice
    balanced = dfx.audit(data.X, labels=data.y, verbose=False)
    assert "no rebalancing needed" in balanced.checks["class_imbalance"].advice


def test_multilabel_audit_reports_per_label_imbalance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    Y = pd.DataFrame({"a": 1, "b": (rng.random(200) < 0.4).astype(int), "c": (rng.random(200) < 0.04).astype(int)},
                     index=range(200))
    Y.iloc[5] = 0  # a sample without a label
    report = dfx.audit(X, multilabel=Y, verbose=False)
    table = report.tables["labels"]
    assert list(table.index) == ["a", "b", "c"] and table.loc["c", "is_rare"] and not table.loc["b", "is_rare"]
    assert "1 samples without a label" in report.checks["label_imbalance"].rule
    flagged = report.issues["is_rare_label"].to_numpy(bool)
    np.testing.assert_array_equal(flagged, Y["c"].to_numpy(bool))
    assert np.isnan(report.issues["rare_label_score"].iloc[5])
    assert report.summary().loc["label_imbalance", "count"] == Y["c"].sum()
    assert "pos_weight" in report.checks["label_imbalance"].advice
    assert report.checks["label"].ran and "suspect_labels" in report.issues  # issue 19: label sets are checked too


def test_multilabel_audit_bad_input():
    X = np.zeros((4, 2)) + np.arange(4)[:, None]
    with pytest.raises(InvalidInputError, match="got .labels. and .multilabel."):
        dfx.audit(X, labels=[0, 1, 0, 1], multilabel=[[1, 0]] * 4, verbose=False)
    with pytest.raises(InvalidInputError, match="3 rows for 4 samples"):
        dfx.audit(X, multilabel=[[1, 0]] * 3, verbose=False)
    with pytest.raises(InvalidInputError, match="0/1"):
        dfx.audit(X, multilabel=[[2, 0]] * 4, verbose=False)


def test_few_shot_classes_get_the_augmentation_recipe_that_won():
    from datafix.augment.recipes import RECIPES
    from datafix.checks.advice import rebalancing_advice

    text = rebalancing_advice(np.array([500, 3]))
    assert "recipe('autoaugment'" in text and "autoaugment" in RECIPES
    assert "recipe(" not in rebalancing_advice(np.array([500, 3]), multilabel=True)
    assert "recipe(" not in rebalancing_advice(np.array([500, 60]))  # no class is few-shot


def _digit_labels():
    """Digits with three tags: 'high' (5-9, 50 %), 'triple' (0, 3, 6, 9: 40 %) and 'low' (1, 2: 20 %)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    tags = pd.DataFrame({"high": y >= 5, "triple": y % 3 == 0, "low": np.isin(y, [1, 2])}).astype(int)
    return X[:800], tags.iloc[:800], y[:800]


def test_a_nearly_balanced_multilabel_set_has_no_rare_label():
    X, Y, _ = _digit_labels()
    report = dfx.audit(X, multilabel=Y, checks="label_imbalance", verbose=False)
    table = report.tables["labels"]
    assert table["irlbl"].max() < 3 and not table["is_rare"].any()
    assert report.summary().loc["label_imbalance", "count"] == 0
    assert "balanced enough" in report.checks["label_imbalance"].advice
    loose = dfx.audit(X, multilabel=Y, checks="label_imbalance", check_params={"label_imbalance": {"min_ratio": 1.0}},
                      verbose=False)  # without the floor, 'low' (IRLbl 2.4 > MeanIR 1.6) flags a fifth of the samples
    assert loose.tables["labels"]["is_rare"].tolist() == [False, False, True]
    assert loose.summary().loc["label_imbalance", "count"] == Y["low"].sum()


def test_only_a_label_rarer_than_the_imbalance_floor_is_rare():
    X, Y, y = _digit_labels()
    Y = Y.assign(zero=(y == 0) & (np.arange(len(y)) % 4 == 0)).astype(int)  # about 2 % of the samples
    report = dfx.audit(X, multilabel=Y, checks="label_imbalance", verbose=False)
    assert report.tables["labels"]["is_rare"].tolist() == [False, False, False, True]
    np.testing.assert_array_equal(report.issues["is_rare_label"].to_numpy(bool), Y["zero"].to_numpy(bool))


def test_multilabel_names_columns_of_the_frame():
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    tags = pd.DataFrame({"strong": wine["alcohol"] > 13, "first": wine["target"] == 0,
                         "dark": wine["color_intensity"] > 7}).astype(int)
    table = pd.concat([wine.drop(columns="target"), tags], axis=1)
    by_name = dfx.audit(table, multilabel=["strong", "first", "dark"], verbose=False)
    by_matrix = dfx.audit(wine.drop(columns="target"), multilabel=tags, verbose=False)
    pd.testing.assert_frame_equal(by_name.issues, by_matrix.issues)
    assert list(by_name.tables["labels"].index) == ["strong", "first", "dark"]
    assert "dark" not in by_name.audited[2].feature_names  # a label column is no feature
    with pytest.raises(InvalidInputError, match=r"'multilabel' argument names columns \['wet'\]"):
        dfx.audit(table, multilabel=["strong", "wet"], verbose=False)


def test_few_shot_advice_fits_the_kind_of_data():
    """A table with a class of 3 rows is not told to use image augmentation recipes; images are."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    table = pd.concat([wine[wine["target"] != 2], wine[wine["target"] == 2].head(3)])
    advice = dfx.audit(table, labels="target", checks="class_imbalance", verbose=False).checks["class_imbalance"].advice
    assert "1 class has fewer than 5 samples" in advice and "augment" not in advice and "image" not in advice
    images = rebalancing_advice(np.array([500, 3]), kind="images")
    assert "; train with augmentation: datafix.augment.recipes.recipe('autoaugment'" in images
    assert "for images" in rebalancing_advice(np.array([500, 3]))  # arrays: maybe images
