"""Report.to_parquet_dataset / read_parquet: the report folder the Ray engine writes (issue 21)."""

import pandas as pd
import pytest

import datafix as dfx
from datafix.report import LazyReport, Report


@pytest.fixture(scope="module")
def report():
    data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    return dfx.audit(data.X, labels=data.y, verbose=False)


def test_the_folder_reads_back_whole_and_is_replaced_whole(report, tmp_path):
    folder = report.to_parquet_dataset(tmp_path / "audit", rows_per_file=40)
    assert len(list((folder / "issues").iterdir())) == 4  # 150 rows, 40 per file
    pd.testing.assert_frame_equal(Report.read_parquet(folder).issues, report.issues)
    report.to_parquet_dataset(folder, rows_per_file=100)  # a datafix report folder is replaced, not merged
    assert len(list((folder / "issues").iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit"]  # no staging folder left behind


def test_a_folder_that_is_not_a_report_is_never_overwritten(report, tmp_path):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "keep.txt").write_text("the user's file")
    with pytest.raises(FileExistsError, match="not a datafix report folder"):
        report.to_parquet_dataset(mine)
    assert (mine / "keep.txt").read_text() == "the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]
    with pytest.raises(FileNotFoundError, match="not a datafix report folder"):
        Report.read_parquet(mine)


@pytest.fixture(scope="module")
def messy_report():
    """Named string index, string labels, broken rows, duplicates and outliers: every column kind."""
    data = dfx.datasets.load_noisy("wine", noise=0.15, n_duplicates=4, n_outliers=3, random_state=1)
    frame = data.frame("cultivar")
    frame.index = pd.Index([f"bottle-{i:03d}" for i in range(len(frame))], name="bottle")
    frame.loc["bottle-007", "alcohol"] = float("nan")
    return dfx.audit(frame, labels="cultivar", nan_policy="drop", verbose=False)


def test_a_lazy_folder_gives_what_the_report_in_memory_gives(messy_report, tmp_path):
    report = messy_report
    folder = report.to_parquet_dataset(tmp_path / "audit", rows_per_file=50)   # 4 files
    lazy = LazyReport.read_parquet(folder)
    assert lazy.n_samples == len(report.issues) and lazy.columns == list(report.issues.columns)
    pd.testing.assert_frame_equal(lazy.summary(), report.summary())
    assert report.summary().loc["broken", "count"] == 1
    for issue in ["broken", *(c.name for c in report.checks.values() if c.ran)]:
        pd.testing.assert_frame_equal(lazy.flagged(issue), report.flagged(issue))
    subset = lazy.flagged("label", columns=["given_label", "suggested_label"])
    pd.testing.assert_frame_equal(subset, report.flagged("label")[["given_label", "suggested_label"]])
    batches = list(lazy.iter_batches(batch_size=30, columns=["is_outlier", "outlier_score"]))
    assert max(len(b) for b in batches) <= 30
    pd.testing.assert_frame_equal(pd.concat(batches), report.issues[["is_outlier", "outlier_score"]])
    pd.testing.assert_frame_equal(lazy.to_report().issues, report.issues)
    assert lazy.tables["classes"].equals(Report.read_parquet(folder).tables["classes"])


def test_a_lazy_folder_refuses_what_it_does_not_have(report, tmp_path):
    folder = report.to_parquet_dataset(tmp_path / "audit")
    lazy = LazyReport.read_parquet(folder)
    with pytest.raises(KeyError, match="No results for issue 'blurry'"):
        lazy.flagged("blurry")
    with pytest.raises(KeyError, match="no column 'labl_score'.*label_score"):
        lazy.flagged("label", columns=["labl_score"])
    with pytest.raises(TypeError, match="lazy"):  # one return type: the lazy reader is LazyReport's own
        Report.read_parquet(folder, lazy=True)
    with pytest.raises(FileNotFoundError, match="not a datafix report folder"):
        LazyReport.read_parquet(tmp_path)


def test_a_lazy_folder_gives_the_leaked_test_rows_as_the_report_does(tmp_path):
    data = dfx.datasets.load_noisy("iris", random_state=0)
    report = dfx.audit(data.X[:120], labels=data.y[:120], test=data.X[100:150], verbose=False)
    lazy = LazyReport.read_parquet(report.to_parquet_dataset(tmp_path / "audit"))
    assert len(report.flagged("leakage")) >= 20                      # rows 100..119 are in both (iris repeats a row too)
    pd.testing.assert_frame_equal(lazy.flagged("leakage"), report.flagged("leakage"))
    pd.testing.assert_frame_equal(lazy.summary(), report.summary())
