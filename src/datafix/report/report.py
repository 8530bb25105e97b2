"""The Report: one row per sample, a summary per issue type, and how the audit was run."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datafix._io import atomic_write
from datafix.report.shared import (
    REPORT_KEY,
    CheckOutcome,
    flag_columns,
    leaked_rows,
    read_report_meta,
    read_table,
    report_fields,
    summary_table,
    table_json,
)
from datafix.report.text import render_text

#: Packages whose versions every report records.
VERSIONED = ("datafix", "numpy", "pandas", "scikit-learn", "torch", "cleanlab")


@dataclass(frozen=True)
class Report:
    """The result of :func:`datafix.audit`.

    Attributes
    ----------
    issues : pandas.DataFrame
        One row per sample of the source, indexed like it. ``is_broken`` and ``broken_reason``
        for samples that could not be read; then each check's columns (``is_<issue>``,
        ``<issue>_score``, ...), NaN for broken samples.
    checks : dict of str to CheckOutcome
        Every check the audit considered, run or skipped with the reason.
    params : dict
        The audit's parameters.
    signals : dict of str to str
        Where each signal came from (given, cross-validation, ...).
    versions : dict of str to str
        Versions of Python, datafix and the libraries it used.
    tables : dict of str to pandas.DataFrame
        Findings that are not per sample: ``classes`` (one row per class), ``columns`` (one row
        per column of a table).
    test_issues : pandas.DataFrame or None
        With ``audit(..., test=...)``: one row per test sample, indexed like the test source:
        ``is_leaked``, ``is_exact_leak``, ``leak_distance``, ``nearest_train`` (a training index).
    audited : tuple or None
        ``(data, labels, view)``: the objects the audit read and the :class:`~datafix.data.DataView`
        it built, so that ``Pipeline.fit`` on the same objects reads the data once. Not
        serialised (None in a report read back from a file).

    Examples
    --------
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
    >>> report.summary().loc["label", "count"] > 0
    np.True_
    """

    issues: pd.DataFrame
    checks: dict[str, CheckOutcome]
    params: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    test_issues: pd.DataFrame | None = None
    audited: tuple[Any, Any, Any] | None = field(default=None, repr=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """One row per issue type: ``count``, ``share`` of all samples, ``status`` and ``note``.

        Skipped checks have no count and say why in ``note``.
        """
        counts = {c.flag: int(self.issues[c.flag].fillna(False).astype(bool).sum())
                  for c in self.checks.values() if c.ran}
        counts["is_broken"] = int(self.issues["is_broken"].sum())
        return summary_table(self.checks, counts, len(self.issues), self.test_issues)

    def flagged(self, issue: str) -> pd.DataFrame:
        """The samples flagged for ``issue``, most likely first (lowest score).

        Examples
        --------
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
        >>> bool(report.flagged("label")["is_label_issue"].all())
        True
        """
        if issue == "leakage" and self.test_issues is not None:
            return leaked_rows(self.test_issues)
        flag, score = flag_columns(self.checks, issue)
        rows = self.issues[self.issues[flag].fillna(False).astype(bool)]
        return rows if score is None else rows.sort_values(score, kind="stable")

    def render(self, max_rows: int = 10) -> str:
        """A plain-text rendering for terminals: the summary and the worst flagged samples."""
        return render_text(self, max_rows=max_rows)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        ran = [c.name for c in self.checks.values() if c.ran]
        return f"Report(n_samples={len(self.issues)}, checks={ran})"

    def _repr_html_(self) -> str:
        """The page of :meth:`to_html` in an isolated frame (Jupyter, the docs' gallery)."""
        from datafix.report.html import framed

        return framed(self.to_html())

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of everything in the report."""
        return self._to_dict(issues=True)

    def _to_dict(self, *, issues: bool) -> dict[str, Any]:
        """:meth:`to_dict`, with the per-sample rows only when ``issues`` (a report folder keeps
        them in Parquet, so they are not turned into JSON there)."""
        summary = self.summary().reset_index()
        out = {
            "format": "datafix.report/1",
            "params": _jsonable(self.params),
            "signals": dict(self.signals),
            "versions": dict(self.versions),
            "checks": {k: vars(v) for k, v in self.checks.items()},
            "summary": json.loads(summary.to_json(orient="records")),
            "issues": table_json(self.issues) if issues else {"rows": len(self.issues),
                                                                "columns": [str(c) for c in self.issues.columns]},
            "tables": {name: table_json(t) for name, t in self.tables.items()},
            "test_issues": None if self.test_issues is None else table_json(self.test_issues),
        }
        return out

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int | None = 1) -> str:
        """Write the report as JSON to ``path`` (when given) and return the text.

        :meth:`from_json` reads it back.
        """
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> Report:
        """Read a report written by :meth:`to_json` (a path, or the JSON text itself).

        Examples
        --------
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
        >>> back = Report.from_json(report.to_json())
        >>> back.summary().equals(report.summary())
        True
        """
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        data = json.loads(text)
        return cls(read_table(data["issues"]), **report_fields(data))

    def to_parquet(self, path: str | os.PathLike) -> None:
        """Write ``issues`` (with its index) as a Parquet file, the rest of the report (checks,
        tables, parameters) in its metadata; :meth:`read_parquet` reads it back, and any Parquet
        reader reads the rows.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(_stringify_objects(self.issues), preserve_index=True)
        meta = json.dumps(self._to_dict(issues=False)).encode("utf-8")
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), REPORT_KEY: meta})
        atomic_write(path, lambda tmp: pq.write_table(table, tmp))

    def to_parquet_dataset(self, path: str | os.PathLike, *, rows_per_file: int = 1_000_000) -> Path:
        """Write the report as a folder: ``issues/part-NNNNN.parquet`` (one row per sample, with
        the index, at most ``rows_per_file`` rows per file), ``report.json`` (everything but the
        per-sample rows: checks, summary, tables, parameters) and ``report.html``.

        The folder is written beside ``path`` and renamed into place, so a reader sees the old
        report or the whole new one; an existing folder that is not a datafix report is never
        replaced. :meth:`read_parquet` reads it back.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
        >>> folder = report.to_parquet_dataset(pathlib.Path(tempfile.mkdtemp()) / "audit")
        >>> sorted(p.name for p in folder.iterdir())
        ['issues', 'report.html', 'report.json']
        >>> Report.read_parquet(folder).issues.equals(report.issues)
        True
        """
        import shutil
        import tempfile

        path = Path(path)
        if path.exists() and not (path / "report.json").is_file():
            raise FileExistsError(f"Cannot write the report to {str(path)!r}: it exists and is not a datafix report "
                                  "folder (no report.json); choose a new folder.")
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            (staging / "issues").mkdir()
            table = _stringify_objects(self.issues)
            step = max(1, int(rows_per_file))
            for part, start in enumerate(range(0, max(len(table), 1), step)):
                table.iloc[start : start + step].to_parquet(staging / "issues" / f"part-{part:05d}.parquet", index=True)
            (staging / "report.json").write_text(json.dumps(self._to_dict(issues=False), indent=1), encoding="utf-8")
            self.to_html(staging / "report.html")
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                path.rename(old)
                staging.rename(path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return path

    @classmethod
    def read_parquet(cls, path: str | os.PathLike, *, columns: list[str] | None = None) -> Report:
        """Read a report written by :meth:`to_parquet` (a file) or :meth:`to_parquet_dataset` (a
        folder, the Ray engine's output).

        The per-sample rows are read with pyarrow, memory-mapped, and only the ``columns`` asked
        for (default: all; the flag and score columns suffice for :meth:`summary`). To read no
        row at all, :meth:`LazyReport.read_parquet <datafix.report.LazyReport.read_parquet>`
        opens the same file or folder as a :class:`~datafix.report.LazyReport`, whose summary
        counts flags in the files and whose ``flagged`` reads only the flagged rows.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import datafix as dfx
        >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
        >>> report = dfx.audit(data.X, labels=data.y, verbose=False)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "audit.parquet"
        >>> report.to_parquet(path)
        >>> Report.read_parquet(path).summary().equals(report.summary())
        True

        See :meth:`to_parquet_dataset` and :class:`~datafix.report.LazyReport` for folders.
        """
        path, _, meta = read_report_meta(path)
        import pyarrow.parquet as pq

        read = pq.read_table(path if path.is_file() else path / "issues", columns=None if columns is None else [*columns],
                             memory_map=True)
        return cls(read.to_pandas(), **meta)

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write ``issues`` (with its index) as a CSV file."""
        atomic_write(path, lambda tmp: self.issues.to_csv(tmp, index=True))

    def to_html(self, path: str | os.PathLike | None = None, *, plan: Any = None, title: str = "datafix audit",
                images: Any = None) -> str:
        """One self-contained HTML page (no scripts, no network); written to ``path`` if given.

        ``plan``: a :class:`datafix.fix.Plan` whose changes and class counts the page shows too.
        ``images``: the audited samples by position (Dataset, list, array, paths) for thumbnails
        of flagged samples (default: the plan's source when it holds images).
        """
        from datafix.report.html import render_html

        page = render_html(self, plan, title=title, images=images)
        if path is not None:
            atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
        return page

    def save(self, path: str | os.PathLike) -> Path:
        """Write the report in the format its file ending names: ``.json``, ``.parquet``, ``.csv``, ``.html``."""
        path = Path(path)
        writers = {".json": self.to_json, ".parquet": self.to_parquet, ".csv": self.to_csv, ".html": self.to_html}
        if path.suffix.lower() not in writers:
            raise ValueError(f"Cannot tell the report format from {str(path)!r}: use .json, .parquet, .csv or .html.")
        writers[path.suffix.lower()](path)
        return path


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries datafix used.

    Examples
    --------
    >>> sorted(library_versions())[:3]
    ['cleanlab', 'datafix', 'numpy']
    """
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _stringify_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs one type per column: object columns mixing types become strings."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col].dropna()}
            if len(kinds) > 1:
                out[col] = out[col].map(lambda v: None if v is None else str(v))
    return out
