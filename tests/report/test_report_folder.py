"""Report.to_parquet_dataset / read_parquet: the report folder the Ray engine writes (issue 21)."""

import pandas as pd
import pytest

import datafix as dfx
from datafix.report import Report


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
