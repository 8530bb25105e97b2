"""A report folder opened lazily: its summary, flagged rows and batches without loading every row."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pandas as pd

from datafix.report.report import Report
from datafix.report.shared import flag_columns, leaked_rows, read_report_meta, summary_table


class LazyReport:
    """A report folder (:meth:`Report.to_parquet_dataset`, ``audit_ray(output=...)``) or file
    (:meth:`Report.to_parquet`) opened without reading its per-sample rows:
    ``LazyReport.read_parquet(path)`` (or ``LazyReport(path)``), where
    :meth:`Report.read_parquet` reads every row.

    What the audit found per check, its tables and parameters come from ``report.json``; the
    per-sample rows stay in the Parquet files until asked for. :meth:`summary` counts each
    check's flags in the files (one boolean column at a time), :meth:`flagged` reads only the
    flagged rows (the filter runs in the Parquet scan), :meth:`iter_batches` streams the rows in
    batches, and :meth:`to_report` reads them whole. Memory stays at one column or one batch, so
    a report of a hundred million samples can be read on a laptop.

    Parameters
    ----------
    path : str or os.PathLike
        The report folder or file.

    Attributes
    ----------
    checks, params, signals, versions, tables, test_issues
        As on :class:`Report`.
    n_samples : int
        Rows of the report (from the Parquet footers; nothing is read).
    columns : list of str
        The per-sample columns.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
    >>> folder = report.to_parquet_dataset(pathlib.Path(tempfile.mkdtemp()) / "audit")
    >>> lazy = dfx.report.LazyReport.read_parquet(folder)
    >>> lazy.n_samples, lazy.summary().equals(report.summary())
    (150, True)
    >>> lazy.flagged("label").equals(report.flagged("label"))
    True
    >>> sum(len(batch) for batch in lazy.iter_batches(batch_size=64, columns=["label_score"]))
    150
    """

    def __init__(self, path: str | os.PathLike) -> None:
        import pyarrow.dataset as pads

        self.path, files, meta = read_report_meta(path)
        self.checks = meta["checks"]
        self.params, self.signals, self.versions = meta["params"], meta["signals"], meta["versions"]
        self.tables, self.test_issues = meta["tables"], meta["test_issues"]
        self._dataset = pads.dataset([str(f) for f in files], format="parquet")
        pandas_meta = self._dataset.schema.pandas_metadata or {}
        self._index = [c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)]
        self.columns = [c for c in self._dataset.schema.names if c not in self._index]
        self.n_samples = self._dataset.count_rows()

    @classmethod
    def read_parquet(cls, path: str | os.PathLike) -> LazyReport:
        """Open a report file or folder lazily: nothing but its metadata is read.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "audit.parquet"
        >>> dfx.audit(data.X, labels=data.y, verbose=False).to_parquet(path)
        >>> LazyReport.read_parquet(path).n_samples
        150
        """
        return cls(path)

    def __repr__(self) -> str:
        ran = [c.name for c in self.checks.values() if c.ran]
        return f"LazyReport({str(self.path)!r}, n_samples={self.n_samples}, checks={ran})"

    def summary(self) -> pd.DataFrame:
        """:meth:`Report.summary`, from the flag columns counted in the files."""
        import pyarrow.compute as pc

        flags = ["is_broken", *(c.flag for c in self.checks.values() if c.ran)]
        counts = {flag: self._dataset.count_rows(filter=pc.field(flag) == True) for flag in flags}  # noqa: E712
        return summary_table(self.checks, counts, self.n_samples, self.test_issues)

    def flagged(self, issue: str, columns: list[str] | None = None) -> pd.DataFrame:
        """:meth:`Report.flagged`, reading only the flagged rows (and ``columns``, default all)."""
        import pyarrow.compute as pc

        if issue == "leakage" and self.test_issues is not None:  # the test rows live in report.json
            return leaked_rows(self.test_issues)
        flag, score = flag_columns(self.checks, issue)
        shown = self._columns(columns)
        wanted = shown if score is None or score in shown else [*shown, score]
        rows = self._frame(self._dataset.to_table(columns=[*wanted, *self._index], filter=pc.field(flag) == True))  # noqa: E712
        if score is not None:
            rows = rows.sort_values(score, kind="stable")
        return rows[shown]

    def iter_batches(self, batch_size: int = 65_536, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
        """The rows in order, ``batch_size`` at a time, as DataFrames indexed like the report."""
        import pyarrow as pa

        wanted = [*self._columns(columns), *self._index]
        for batch in self._dataset.to_batches(columns=wanted, batch_size=int(batch_size)):
            yield self._frame(pa.Table.from_batches([batch]))

    def to_report(self, columns: list[str] | None = None) -> Report:
        """Every row (of ``columns``) in memory: :meth:`Report.read_parquet`."""
        return Report.read_parquet(self.path, columns=columns)

    def _columns(self, columns: list[str] | None) -> list[str]:
        if columns is None:
            return list(self.columns)
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise KeyError(f"The report has no column {unknown[0]!r}; its columns are {self.columns}.")
        return list(columns)

    def _frame(self, table: Any) -> pd.DataFrame:
        # the pandas metadata (kept by the scan) restores the index and every dtype
        return table.replace_schema_metadata(self._dataset.schema.metadata).to_pandas()
