"""audit() end to end on every source type, and every bad input the foundation issue lists."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, TensorDataset

import datafix as dfx
from conftest import checksum
from datafix.errors import InvalidInputError, InvalidTypeError


def precision_recall(report, truth):
    found = report.issues["is_label_issue"].to_numpy(dtype=bool)
    hits = (found & truth).sum()
    return hits / max(found.sum(), 1), hits / truth.sum()


def test_arrays_find_injected_label_errors(noisy_digits):
    report = dfx.audit(noisy_digits.X, noisy_digits.y, verbose=False)
    p, r = precision_recall(report, noisy_digits.is_label_error)
    assert p > 0.9 and r > 0.85
    assert report.issues.index.equals(pd.RangeIndex(len(noisy_digits)))


def test_dataframe_keeps_its_index_and_label_values(noisy_iris):
    df = noisy_iris.frame("species")
    df.index = pd.Index([f"id{i}" for i in range(len(df))], name="sample")
    report = dfx.audit(df, labels="species", verbose=False)
    assert report.issues.index.equals(df.index)
    assert set(report.issues["suggested_label"]) <= {"setosa", "versicolor", "virginica"}
    assert (report.issues["given_label"] == df["species"]).all()
    p, r = precision_recall(report, noisy_iris.is_label_error)
    assert p > 0.6 and r > 0.6


class _FlakyDigits(Dataset):
    def __init__(self, data, bad):
        self.x = torch.tensor(data.X, dtype=torch.float32)
        self.y = torch.tensor(data.y)
        self.bad = set(bad)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        if i in self.bad:
            raise RuntimeError("decode failed")
        return self.x[i], self.y[i]


def test_torch_dataset_with_failing_items_audits_the_rest(noisy_digits):
    ds = _FlakyDigits(noisy_digits, bad=[0, 5, 10])
    report = dfx.audit(ds, features=torch.nn.Identity(), verbose=False)
    assert report.issues["is_broken"].sum() == 3
    assert report.issues.loc[5, "broken_reason"] == "RuntimeError: decode failed"
    assert report.issues["is_label_issue"].isna().sum() == 3
    assert report.issues["given_label"].dtype == "Int64"  # integer labels stay integers beside broken rows
    assert report.signals["features"] == "computed by Identity (64 columns)"
    back = dfx.Report.from_json(report.to_json())
    assert back.issues["given_label"].tolist()[:6] == report.issues["given_label"].tolist()[:6]
    ok = ~report.issues["is_broken"].to_numpy()
    found = report.issues["is_label_issue"].fillna(False).to_numpy(dtype=bool)
    truth = noisy_digits.is_label_error & ok
    assert (found & truth).sum() / found.sum() > 0.9


def test_image_folder_audit_flags_a_mislabelled_image_and_reports_corrupt_files(tmp_path):
    rng = np.random.default_rng(0)
    colours = {"red": (200, 30, 30), "blue": (30, 30, 200)}
    for name, rgb in colours.items():
        (tmp_path / name).mkdir()
        for i in range(15):
            img = np.clip(np.array(rgb) + rng.normal(0, 15, (12, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / name / f"{i:02d}.png")
    blue_in_red = np.clip(np.array(colours["blue"]) + rng.normal(0, 15, (12, 12, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(blue_in_red).save(tmp_path / "red" / "zz_wrong.png")
    (tmp_path / "blue" / "zz_broken.png").write_bytes(b"garbage")
    report = dfx.audit(tmp_path, image_size=8, verbose=False)
    assert report.issues.loc["red/zz_wrong.png", "is_label_issue"]
    assert report.issues.loc["red/zz_wrong.png", "suggested_label"] == "blue"
    assert report.issues.loc["blue/zz_broken.png", "is_broken"]
    assert report.issues["is_label_issue"].fillna(False).sum() <= 3


def test_given_pred_probs_are_used_and_classes_lists_a_class_without_samples():
    rng = np.random.default_rng(0)
    y = np.array([0, 2] * 30)  # class 1 has no sample
    P = np.full((60, 3), 0.05)
    P[np.arange(60), y] = 0.9
    P[3] = [0.9, 0.05, 0.05]  # sample 3 is labelled 2 but looks like 0
    report = dfx.audit(rng.normal(size=(60, 2)), y, pred_probs=P, classes=[0, 1, 2], checks="label",
                       check_params={"label": {"method": "cleanlab"}}, verbose=False)
    assert report.signals["pred_probs"] == "given" and report.params["classes"] == [0, 1, 2]
    assert report.issues["is_label_issue"].sum() == 1 and report.issues.loc[3, "is_label_issue"]
    assert report.issues.loc[3, "suggested_label"] == 0


def test_pred_probs_with_more_columns_than_classes_is_a_shape_error():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)  # classes 0 and 1
    P = np.full((len(y), 3), 1 / 3)
    with pytest.raises(InvalidInputError, match=r"3 columns but the labels have 2 classes \(\[0, 1\]\).*classes="):
        dfx.audit(X, y, pred_probs=P, verbose=False)
    with pytest.raises(InvalidInputError, match=r"classes \[1\] that are not in the 'classes' argument"):
        dfx.audit(X, y, pred_probs=P, classes=[0, 2, 3], verbose=False)
    report = dfx.audit(X, y, pred_probs=P, classes=[1, 0, 2], checks="class_imbalance", verbose=False)
    assert report.params["classes"] == [1, 0, 2]
    assert report.tables["classes"]["count"].tolist() == [357, 212, 0]


def test_same_seed_same_report(noisy_iris):
    a = dfx.audit(noisy_iris.X, noisy_iris.y, random_state=5, verbose=False)
    b = dfx.audit(noisy_iris.X, noisy_iris.y, random_state=5, verbose=False)
    pd.testing.assert_frame_equal(a.issues, b.issues)


def test_a_class_with_one_sample_is_audited_not_a_crash(noisy_iris):
    X = np.vstack([noisy_iris.X, [[9.0, 9.0, 9.0, 9.0]]])
    y = np.append(noisy_iris.y, "rare")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = dfx.audit(X, y, verbose=False)
    assert report.issues.loc[150, "given_label"] == "rare"
    assert not report.issues.loc[150, "is_label_issue"]  # never flag a class's only sample


def test_no_input_is_mutated(noisy_iris):
    X = noisy_iris.X.copy()
    y = noisy_iris.y.copy()
    df = noisy_iris.frame()
    df.iloc[2, 1] = np.nan
    P = dfx.signals.cross_val_pred_probs(X, np.unique(y, return_inverse=True)[1], verbose=False)
    ds = TensorDataset(torch.tensor(X), torch.tensor(np.unique(y, return_inverse=True)[1]))
    before = [checksum(o) for o in (X, y, df, P, ds.tensors[0], ds.tensors[1])]
    dfx.audit(X, y, pred_probs=P, verbose=False)
    dfx.audit(df, "label", nan_policy="impute", verbose=False)
    dfx.audit(df, "label", nan_policy="drop", verbose=False)
    dfx.audit(ds, features=torch.nn.Identity(), verbose=False)
    after = [checksum(o) for o in (X, y, df, P, ds.tensors[0], ds.tensors[1])]
    assert before == after


# ---- bad input: each one named, before any work ---------------------------------------

X4 = np.arange(8.0).reshape(4, 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"labels": [0, 1, 0]}, InvalidInputError, "'labels' argument has 3 entries but the data has 4"),
        ({"labels": [0, 1, 0, 1], "features": np.zeros((3, 2))}, InvalidInputError, "'features' argument has 3 rows"),
        ({"labels": [0, 1, 0, 1], "pred_probs": np.full((3, 2), 0.5)}, InvalidInputError, r"got \(3, 2\)"),
        ({"labels": ["a", "b", "a", "b"], "pred_probs": np.full((4, 3), 1 / 3)}, InvalidInputError,
         r"3 columns but the labels have 2 classes \(\['a', 'b'\]\)"),
        ({"labels": [0, 5, 0, 5], "pred_probs": np.full((4, 3), 1 / 3)}, InvalidInputError,
         r"3 columns but the labels have 2 classes \(\[0, 5\]\).*with classes=\.$"),
        ({"labels": [0, 1, 0, 1], "pred_probs": [[1.2, -0.2]] * 4}, InvalidInputError, "negative values"),
        ({"labels": [0, 1, 0, 1], "pred_probs": [[2.0, 3.0]] * 4}, InvalidInputError, "must sum to 1"),
        ({"labels": [0.0, 1.5, 0.0, 1.0]}, InvalidInputError, "non-integer floats such as 1.5"),
        ({"labels": ["a", "a", "a", "a"]}, InvalidInputError, "single class"),
        ({"labels": [0, 1, 0, 1], "cv": 1}, InvalidInputError, r"'cv' parameter must be an int in the range \[2, inf\)"),
        ({"labels": [0, 1, 0, 1], "nan_policy": "ignore"}, InvalidInputError, "'nan_policy' parameter must be one of"),
        ({"labels": [0, 1, 0, 1], "checks": ["outliers"]}, InvalidInputError, "unknown checks"),
        ({"labels": [0, 1, 0, 1], "check_params": {"label": {"knn_weight": 3}}}, InvalidInputError, "'knn_weight'"),
        ({"labels": [0, 1, 0, 1], "check_params": {"label": {"knn_wieght": 0.3}}}, InvalidTypeError, "knn_wieght"),
        ({"labels": [0, 1, 0, 1], "random_state": "seed"}, InvalidTypeError, "'random_state'"),
    ],
)
def test_bad_input_is_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        dfx.audit(X4, verbose=False, **kwargs)


def test_nan_features_name_rows_and_options_and_both_options_work(noisy_iris):
    X = noisy_iris.X.copy()
    X[[3, 40]] = np.nan
    with pytest.raises(InvalidInputError, match=r"2 rows at \[3, 40\].*nan_policy='impute'.*nan_policy='drop'"):
        dfx.audit(X, noisy_iris.y, verbose=False)
    dropped = dfx.audit(X, noisy_iris.y, nan_policy="drop", verbose=False)
    assert dropped.issues["is_broken"].sum() == 2
    imputed = dfx.audit(X, noisy_iris.y, nan_policy="impute", verbose=False)
    assert imputed.issues["is_broken"].sum() == 0
    assert imputed.issues["is_label_issue"].notna().all()


def test_empty_dataset_is_an_error():
    with pytest.raises(InvalidInputError, match="empty"):
        dfx.audit(np.zeros((0, 3)), labels=np.zeros(0, dtype=int), verbose=False)


def test_every_class_with_one_sample_is_an_error():
    with pytest.raises(InvalidInputError, match="distinct value for every sample"):
        dfx.audit(np.eye(3), ["a", "b", "c"], verbose=False)


def test_zero_dimensional_features_are_named():
    with pytest.raises(InvalidInputError, match="no feature columns"):
        dfx.audit(np.zeros((10, 0)), [0, 1] * 5, verbose=False)


def test_all_identical_points_are_one_duplicate_group_and_nothing_crashes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = dfx.audit(np.ones((40, 3)), [0, 1] * 20, verbose=False)
    issues = report.issues
    assert issues["is_exact_duplicate"].all() and issues["duplicate_group_size"].eq(40).all()
    assert not issues["is_outlier"].any()
    assert report.summary().loc["label", "status"] == "ran"


# -- identifier columns (issue 40, item 1) --------------------------------------------------------

def _wine_with_copies():
    """Wine, shuffled, with its first 5 rows appended again: 5 exact duplicate pairs."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame.sample(frac=1, random_state=0).reset_index(drop=True)
    return pd.concat([wine, wine.iloc[:5]], ignore_index=True)


def _row_ids(n, kind):
    if kind == "integers":
        return np.arange(n) + 1
    if kind == "text":
        return [f"row-{i:04d}" for i in range(n)]
    customer = np.arange(n)  # the copied rows repeat their customer too
    customer[-5:] = customer[:5]
    return customer


@pytest.mark.parametrize(("column", "kind"), [("row_id", "integers"), ("row_id", "text"), ("Unnamed: 0", "integers"),
                                              ("customer", "repeating")])
def test_an_identifier_column_hides_no_duplicate(column, kind):
    wine = _wine_with_copies()
    table = wine.assign(**{column: _row_ids(len(wine), kind)})
    with pytest.warns(dfx.errors.DatafixWarning, match=f"'{column}'.*index_col="):
        report = dfx.audit(table, labels="target", verbose=False)
    issues = report.issues
    assert issues["is_exact_duplicate"].sum() == 10 and issues["is_duplicate"].sum() == 10
    assert set(issues.index[issues["is_exact_duplicate"]]) == {0, 1, 2, 3, 4, *range(178, 183)}
    assert report.tables["columns"].loc[column, "is_id_like"]
    assert column not in report.audited[2].feature_names


# -- a labels Series is matched by index (issue 40, item 2) ---------------------------------------

def _wine_indexed():
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    return wine.set_axis(pd.RangeIndex(1000, 1000 + len(wine)))


def test_a_labels_series_in_another_order_is_matched_by_index():
    wine = _wine_indexed()
    features, target = wine.drop(columns="target"), wine["target"]
    by_column = dfx.audit(wine, labels="target", verbose=False).issues
    shuffled = target.sample(frac=1, random_state=0)
    by_series = dfx.audit(features, labels=shuffled, verbose=False).issues
    assert (by_series["given_label"] == target).all()
    pd.testing.assert_series_equal(by_series["is_label_issue"], by_column["is_label_issue"])
    assert by_series.index.equals(wine.index)


def test_a_labels_series_with_other_index_values_is_refused_naming_them():
    wine = _wine_indexed()
    positional = wine["target"].reset_index(drop=True)  # index 0..177 for rows 1000..1177
    with pytest.raises(InvalidInputError, match=r"'labels' Series.*index.*\[1000, 1001, 1002.*\[0, 1, 2.*"
                                                r"labels\.to_numpy\(\)"):
        dfx.audit(wine.drop(columns="target"), labels=positional, verbose=False)


def test_params_record_the_folds_that_ran():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)  # classes of 59, 71 and 48 samples: at most 71 stratified folds
    report = dfx.audit(X, y, cv=500, checks="label", verbose=False)
    assert report.params["cv"] == 71
    assert report.signals["pred_probs"].startswith("71-fold cross-validation") and "cv=500" in report.signals["pred_probs"]
    assert dfx.audit(X, y, cv=4, checks="label", verbose=False).params["cv"] == 4


# -- a skipped check names the way out (issue 40, item 11) ----------------------------------------

def test_every_skip_note_names_the_argument_that_makes_the_check_run():
    class Sentences(torch.utils.data.Dataset):  # text items: no features datafix can derive
        def __len__(self) -> int:
            return 40

        def __getitem__(self, i: int):
            return f"review number {i}", i % 2

    report = dfx.audit(Sentences(), verbose=False)
    skipped = {name: c.reason for name, c in report.checks.items() if not c.ran and c.applies}
    assert {"label", "outlier"} <= set(skipped)
    for name in ("label", "outlier"):
        assert "features=" in skipped[name], (name, skipped[name])
    assert "pred_probs=" in skipped["label"]
    assert "annotators=" in report.checks["annotators"].reason  # for other inputs: left out of the text report


def test_feature_columns_pick_a_dataframes_features_and_a_string_is_a_model_name():
    """Issue 41, point 4: columns go through feature_columns=; features= given a string names a model."""
    data = dfx.datasets.load_noisy("wine", noise=0.1, random_state=0)
    frame = data.frame("cultivar")
    columns = list(frame.columns[:5])
    frame["noise"] = np.random.default_rng(0).normal(size=len(frame)) * 100
    picked = dfx.audit(frame, labels="cultivar", feature_columns=columns, checks=["label", "outlier"], verbose=False)
    cut = dfx.audit(frame[[*columns, "cultivar"]], labels="cultivar", checks=["label", "outlier"], verbose=False)
    pd.testing.assert_frame_equal(picked.issues, cut.issues)
    whole = dfx.audit(frame, labels="cultivar", checks=["label", "outlier"], verbose=False)
    assert not whole.issues["label_score"].equals(picked.issues["label_score"])  # the noise column counted there
    with pytest.raises(ValueError, match="columns \\['nope'\\] that the DataFrame does not have"):
        dfx.audit(frame, labels="cultivar", feature_columns=["nope"], verbose=False)
    with pytest.raises(ValueError, match="Give one of 'features'"):
        dfx.audit(frame, labels="cultivar", features=frame[columns].to_numpy(), feature_columns=columns, verbose=False)
    with pytest.raises(ValueError, match="names columns of a DataFrame"):
        dfx.audit(data.X, data.y, feature_columns=["a"], verbose=False)
    with pytest.raises(TypeError, match="list of column names"):
        dfx.audit(frame, labels="cultivar", feature_columns="alcohol", verbose=False)
    with pytest.raises(ValueError, match="'alcohol'"):  # a model's name, and no model has that name
        dfx.audit(frame, labels="cultivar", features="alcohol", verbose=False)


def test_counts_stay_integers_beside_broken_images(tmp_path):
    """duplicate_group_size of an image folder with a broken file: 2, not 2.000."""
    rng = np.random.default_rng(0)
    for name, level in {"dark": 60, "light": 190}.items():
        (tmp_path / name).mkdir()
        for i in range(12):
            img = np.clip(level + rng.normal(0, 20, (10, 10)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / name / f"{i:02d}.png")
    (tmp_path / "dark" / "copy.png").write_bytes((tmp_path / "dark" / "00.png").read_bytes())
    (tmp_path / "light" / "broken.png").write_bytes(b"garbage")
    report = dfx.audit(tmp_path, image_size=8, verbose=False)
    sizes = report.issues["duplicate_group_size"]
    assert sizes.dtype == "Int64" and sizes["dark/copy.png"] == 2 and sizes.isna().sum() == 1
    text = report.render()
    row = next(line for line in text.splitlines() if line.startswith("dark/copy.png") and "True" in line)
    assert row.split()[-1] == "2", row


def test_the_label_verdict_agrees_with_the_outlier_and_label_value_checks():
    """An outlier (radius 999) is not judged by the label check; a misspelt label's suggested label is the class
    the spelling is for, in both columns, whatever the model thinks of the row."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    table = data.frame[["mean radius", "mean texture", "mean smoothness", "mean concave points"]].assign(
        target=np.asarray(data.target_names)[data.target])
    benign = table.index[table["target"] == "benign"]
    malignant = table.index[table["target"] == "malignant"]
    outlier, typo, typo_malignant_looking = benign[0], benign[1], malignant[0]
    table.loc[outlier, "mean radius"] = 999.0
    table.loc[[typo, typo_malignant_looking], "target"] = "bengin"
    given = table.copy()
    report = dfx.audit(table, labels="target", verbose=False)
    rows = report.issues
    assert rows.loc[outlier, "is_outlier"] and not rows.loc[outlier, "is_label_issue"]
    assert pd.isna(rows.loc[outlier, "suggested_label"]) and pd.isna(rows.loc[outlier, "suggested_confidence"])
    for row in (typo, typo_malignant_looking):
        assert rows.loc[row, "is_label_value_issue"] and rows.loc[row, "is_label_issue"]
        assert rows.loc[row, "suggested_label"] == rows.loc[row, "suggested_value"] == "benign"
        assert pd.isna(rows.loc[row, "suggested_confidence"])
    assert "the 2 samples whose label value is another class written differently" in report.checks["label"].rule
    assert "not judged" in report.checks["label"].rule
    flagged = report.flagged("label")
    assert outlier not in flagged.index and {typo, typo_malignant_looking} <= set(flagged.index)
    pd.testing.assert_frame_equal(table, given)  # the input is untouched


def test_ids_that_pandas_reads_as_years_are_ids_and_old_dates_do_not_crash():
    """'T0000', 'T0001', ... parse (dateutil) as the years 0-399: they crashed the audit with OutOfBoundsDatetime."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    table = wine.assign(ticket=[f"T{i:04d}" for i in range(len(wine))])
    with pytest.warns(UserWarning, match="Column 'ticket' holds one identifier per row"):
        report = dfx.audit(table, labels="target", checks=["null", "duplicate"], verbose=False)
    assert report.tables["columns"].loc["ticket", "kind"] == "text"
    assert report.tables["columns"].loc["ticket", "is_id_like"]
    old = wine.assign(founded=pd.Series(np.datetime64("0800-01-01", "s"), index=wine.index).astype("datetime64[s]")
                      + pd.to_timedelta(np.arange(len(wine)), unit="D"))
    report = dfx.audit(old, labels="target", checks=["null"], verbose=False)
    assert report.tables["columns"].loc["founded", "kind"] == "date"


def test_the_ray_engine_refuses_from_its_capabilities_before_any_cluster_work():
    """Issue 41: what the Ray engine cannot do is declared once and refused, naming the argument, before
    Ray is imported or a cluster reached; ``cv`` is checked first on every engine (audit_ray checked it
    only for model='lda', after the cluster work)."""
    from datafix.scale import RAY_CAPABILITIES, RayEngine, audit_ray

    frame = pd.DataFrame({"x": np.arange(20.0), "y": ["a", "b"] * 10})
    nowhere = RayEngine(address="127.0.0.1:9")  # a cluster that does not answer: never reached below
    with pytest.raises(InvalidInputError, match="'cv' parameter"):
        audit_ray(frame, labels="y", cv=1, address="127.0.0.1:9", verbose=False)
    for argument, value in (("nan_policy", "drop"), ("unlabelled", -1), ("classes", ["a", "b"]),
                            ("label_fn", len), ("test_features", np.zeros((2, 1)))):
        assert argument in RAY_CAPABILITIES.refused
        with pytest.raises(InvalidInputError, match=f"'{argument}' argument is not supported by engine='ray'"):
            dfx.audit(frame, labels="y", engine=nowhere, verbose=False, **{argument: value})
    with pytest.raises(InvalidInputError, match="'features' argument is a function of a batch.*arrays stay"):
        dfx.audit(frame, labels="y", features=np.zeros((20, 2)), engine=nowhere, verbose=False)
    with pytest.raises(InvalidInputError, match="the 'annotators' argument names columns"):
        dfx.audit(frame, annotators=pd.DataFrame({"a": ["a"] * 20, "b": ["b"] * 20}), engine=nowhere, verbose=False)
    with pytest.raises(InvalidInputError, match="'knn_backend' parameter must be one of 'auto', 'exact', 'ivf'"):
        dfx.audit(frame, labels="y", knn_backend="faiss", engine=nowhere, verbose=False)
    with pytest.raises(InvalidInputError, match="for classes pass pred_probs="):  # the task's arguments, once
        dfx.audit(frame, labels="y", task="classification", predictions="p", engine=nowhere, verbose=False)
    annotated = frame.assign(a=frame["y"], b=frame["y"])
    with pytest.raises(InvalidInputError, match="model='lda' on Ray reads each row's label in its block"):
        dfx.audit(annotated, annotators=["a", "b"], model="lda", engine=nowhere, verbose=False)
