"""The audit report: per-sample table, summary, renderings."""

from datafix.report.lazy import LazyReport
from datafix.report.report import CheckOutcome, Report, library_versions

__all__ = ["CheckOutcome", "LazyReport", "Report", "library_versions"]
