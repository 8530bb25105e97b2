"""What :class:`~datafix.report.Report` and :class:`~datafix.report.LazyReport` share: each
check's outcome, the summary table, the flagged test rows, and a stored report's metadata."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


class SummaryFrame(pd.DataFrame):
    """A summary table that prints whole: no column cut to pandas' 50 characters, no row hidden."""

    @property
    def _constructor(self) -> type[SummaryFrame]:
        return SummaryFrame

    def __repr__(self) -> str:
        return self.to_string()


@dataclass(frozen=True)
class CheckOutcome:
    """What happened to one check in an audit.

    Attributes
    ----------
    name : str
        The check's registry name.
    ran : bool
        Whether it ran.
    flag, score : str
        Its flag and score columns in ``Report.issues``.
    columns : tuple of str
        All its columns in ``Report.issues``.
    reason : str
        Why it was skipped (empty when it ran).
    description : str
        One line about the issue type.
    rule : str
        The threshold rule the check applied, with its numbers.
    advice : str
        What to do about it, where the check knows (the imbalance checks do).
    applies : bool
        False when the check was skipped because it is for another kind of data (an image
        check on a table): reports then leave it out of their "skipped" lists.
    """

    name: str
    ran: bool
    flag: str
    score: str
    columns: tuple[str, ...] = ()
    reason: str = ""
    description: str = ""
    rule: str = ""
    advice: str = ""
    applies: bool = True


#: The key of a report's metadata (all but its rows) in a Parquet file that :meth:`Report.to_parquet` wrote.
REPORT_KEY = b"datafix.report"


def read_report_meta(path: str | os.PathLike) -> tuple[Path, list[Path], dict[str, Any]]:
    """A report's path, its Parquet files and the keyword arguments of :class:`Report` (all but
    ``issues``): a folder's ``report.json`` and ``issues/*.parquet``, or one Parquet file with
    the report in its metadata; an error when ``path`` is neither."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.is_file():
        try:
            metadata = pq.read_schema(path).metadata or {}
        except Exception:  # noqa: BLE001 - pyarrow's errors for a file that is not Parquet vary by version
            metadata = {}
        if REPORT_KEY not in metadata:
            raise FileNotFoundError(f"{str(path)!r} is not a datafix report (a Parquet file without the report's "
                                    "metadata); write one with Report.to_parquet.")
        return path, [path], report_fields(json.loads(metadata[REPORT_KEY]))
    if not (path / "report.json").is_file():
        raise FileNotFoundError(f"{str(path)!r} is not a datafix report folder (no report.json); write one with "
                                "Report.to_parquet_dataset or audit_ray(output=...), or a file with Report.to_parquet.")
    data = json.loads((path / "report.json").read_text(encoding="utf-8"))
    return path, sorted((path / "issues").glob("*.parquet")), report_fields(data)


def report_fields(data: dict[str, Any]) -> dict[str, Any]:
    """:meth:`Report.to_dict`'s content, but the rows, as the keyword arguments of :class:`Report`."""
    test = data.get("test_issues")
    return {"checks": {k: CheckOutcome(**{**v, "columns": tuple(v["columns"])}) for k, v in data["checks"].items()},
            "params": data["params"], "signals": data["signals"], "versions": data["versions"],
            "tables": {name: read_table(t) for name, t in data.get("tables", {}).items()},
            "test_issues": None if test is None else read_table(test)}


def flag_columns(checks: dict[str, CheckOutcome], issue: str) -> tuple[str, str | None]:
    """The flag and score columns of ``issue`` (``"broken"`` has no score); a KeyError naming
    what the report has for an issue it has no results for."""
    if issue == "broken":
        return "is_broken", None
    if issue in checks and checks[issue].ran:
        return checks[issue].flag, checks[issue].score
    ran = ["broken", *(c.name for c in checks.values() if c.ran)]
    raise KeyError(f"No results for issue {issue!r}; this report has {ran}.")


def leaked_rows(test_issues: pd.DataFrame) -> pd.DataFrame:
    """The test samples that copy a training sample, closest first."""
    leaked = test_issues[test_issues["is_leaked"].fillna(False).astype(bool)]
    return leaked.sort_values("leak_distance", kind="stable")


def summary_table(checks: dict[str, CheckOutcome], counts: dict[str, int], n: int,
                  test_issues: pd.DataFrame | None = None) -> SummaryFrame:
    """The summary of :meth:`Report.summary` from the number flagged per flag column: one code
    path for a report in memory and one read lazily from its folder."""
    rows = [{"issue": "broken", "count": counts["is_broken"], "status": "ran",
             "note": "samples that could not be read or used"}]
    for c in checks.values():
        rows.append({"issue": c.name, "count": counts[c.flag] if c.ran else pd.NA,
                     "status": "ran" if c.ran else "skipped", "note": c.description if c.ran else c.reason})
    out = pd.DataFrame(rows).set_index("issue")
    out["count"] = out["count"].astype("Int64")
    out.insert(1, "share", (out["count"] / n).astype("Float64") if n else pd.NA)
    if test_issues is not None:
        leaked = int(test_issues["is_leaked"].fillna(False).astype(bool).sum())
        n_test = len(test_issues)
        out.loc["leakage"] = [leaked, leaked / n_test if n_test else pd.NA, "ran",
                              "test samples that copy a training sample (share of the test set)"]
    return SummaryFrame(out)


def table_json(frame: pd.DataFrame) -> dict:
    """pandas' table JSON of ``frame``, its floats written exactly (pandas rounds them to 10 digits)."""
    table = json.loads(frame.to_json(orient="table", index=True))
    names = [field["name"] for field in table["schema"]["fields"]]
    values = [frame.index.get_level_values(i) for i in range(frame.index.nlevels)]
    values += [frame.iloc[:, j] for j in range(frame.shape[1])]
    for name, column in zip(names, values, strict=True):
        if pd.api.types.is_float_dtype(column.dtype):
            exact = pd.Series(column).to_numpy(dtype=np.float64, na_value=np.nan)
            for row, value in zip(table["data"], exact.tolist(), strict=True):
                row[name] = None if value != value else value  # NaN is null, as pandas writes it
    return table


def read_table(data: dict) -> pd.DataFrame:
    return pd.read_json(io.StringIO(json.dumps(data)), orient="table", precise_float=True)
