import json

import numpy as np
import pandas as pd
import pytest

import datafix as dfx
from datafix.report import LazyReport, Report


@pytest.fixture(scope="module")
def report():
    data = dfx.datasets.load_noisy("wine", noise=0.2, random_state=0)
    df = data.frame()
    df.index = [f"w{i}" for i in range(len(df))]
    df.iloc[4, 0] = np.nan
    return dfx.audit(df, labels="label", nan_policy="drop", verbose=False), data


def test_summary_counts_match_the_table(report):
    rep, data = report
    s = rep.summary()
    assert list(s.index[:7]) == ["broken", "label", "label_values", "outlier", "duplicate", "null", "class_imbalance"]
    assert (s.loc[s.index[7:], "status"] == "skipped").all()  # image checks on a table
    assert s.loc["broken", "count"] == 1
    assert s.loc["label", "count"] == int(rep.issues["is_label_issue"].sum())
    assert s.loc["label", "share"] == pytest.approx(s.loc["label", "count"] / len(data))
    assert rep.issues.loc["w4", "is_broken"] and pd.isna(rep.issues.loc["w4", "is_label_issue"])
    assert set(rep.issues["given_label"].dropna()) <= set(data.y)


def test_json_round_trip_keeps_everything(report, tmp_path):
    rep, _ = report
    path = tmp_path / "r.json"
    rep.to_json(path)
    back = Report.from_json(path)
    pd.testing.assert_frame_equal(back.issues, rep.issues, check_dtype=False)
    assert back.summary().equals(rep.summary())
    assert back.params == json.loads(json.dumps(rep.params))
    assert back.versions["datafix"] == dfx.__version__


def test_parquet_and_csv_read_back(report, tmp_path):
    rep, _ = report
    rep.save(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert back.index.tolist() == rep.issues.index.tolist()
    assert back["is_label_issue"].sum() == rep.issues["is_label_issue"].sum()
    rep.save(tmp_path / "r.csv")
    assert len(pd.read_csv(tmp_path / "r.csv", index_col=0)) == len(rep.issues)
    with pytest.raises(ValueError, match="use .json, .parquet, .csv or .html"):
        rep.save(tmp_path / "r.xlsx")


def test_text_rendering_shows_summary_worst_samples_and_broken(report):
    rep, _ = report
    text = str(rep)
    worst = rep.flagged("label").index[0]
    assert "label" in text and "broken" in text and str(worst) in text
    assert "non-finite features" in text
    assert "rules:" in text and "Q3 + 5 x IQR on their logarithms" in text
    assert "dark" not in text and "not an image folder" not in text  # image checks do not apply to a table
    assert "broken: 1 sample\n" in text
    with pytest.raises(KeyError, match="No results for issue 'dark'"):
        rep.flagged("dark")


def test_skipped_checks_say_why():
    import torch

    class Sentences(torch.utils.data.Dataset):  # text items: no features to derive
        def __len__(self) -> int:
            return 20

        def __getitem__(self, i: int):
            return f"sentence {i}", i % 2

    rep = dfx.audit(Sentences(), verbose=False)
    s = rep.summary()
    assert s.loc["label", "status"] == "skipped"
    assert "no features" in s.loc["label", "note"]
    assert pd.isna(s.loc["label", "count"])


# -- one reader per format, exact round trips, missing folders named (issue 40, item 7) -----------

def test_json_round_trip_is_exact(report):
    rep, _ = report
    back = Report.from_json(rep.to_json())
    pd.testing.assert_frame_equal(back.issues, rep.issues, check_dtype=False, check_exact=True)
    for name, table in rep.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], table, check_dtype=False, check_exact=True)


def test_read_parquet_reads_the_file_to_parquet_writes(report, tmp_path):
    rep, _ = report
    rep.to_parquet(tmp_path / "r.parquet")
    back = Report.read_parquet(tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(back.issues, rep.issues, check_exact=True)
    assert back.summary().equals(rep.summary()) and back.checks == rep.checks
    assert LazyReport.read_parquet(tmp_path / "r.parquet").summary().equals(rep.summary())
    assert Report.read_parquet(tmp_path / "r.parquet", columns=["is_label_issue"]).issues.columns.tolist() == [
        "is_label_issue"]
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(FileNotFoundError, match="'.*other.parquet' is not a datafix report"):
        Report.read_parquet(tmp_path / "other.parquet")


@pytest.mark.parametrize("ending", [".json", ".parquet", ".csv", ".html"])
def test_a_missing_folder_is_named(report, tmp_path, ending):
    rep, _ = report
    with pytest.raises(FileNotFoundError, match=r"the folder '.*nodir' does not exist; create it first") as err:
        rep.save(tmp_path / "nodir" / f"x{ending}")
    assert ".tmp" not in str(err.value) and not (tmp_path / "nodir").exists()


def test_one_sample_in_two_thousand_is_not_zero_percent(tmp_path, capsys):
    from datafix.cli import main

    X = np.random.default_rng(0).normal(size=(2003, 2))
    X[7] = [60.0, -60.0]  # the one outlier
    rep = dfx.audit(X, np.arange(2003) % 2, checks="outlier", verbose=False)
    assert int(rep.summary().loc["outlier", "count"]) == 1
    line = next(ln for ln in rep.render().splitlines() if ln.startswith("outlier "))
    assert line.split()[2] == "0.05%", line
    assert "<span class=muted>0.05%</span>" in rep.to_html()
    pd.DataFrame(X, columns=["a", "b"]).assign(y=np.arange(2003) % 2).to_csv(tmp_path / "t.csv", index=False)
    assert main(["audit", str(tmp_path / "t.csv"), "--label", "y", "-q", "--fail-on", "outlier=0"]) == 1
    err = capsys.readouterr().err
    assert "outlier flags 0.05% of the samples (more than 0.0%)" in err, err
