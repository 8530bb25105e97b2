"""The audit report: per-sample table, summary, renderings."""

from datafix.report.lazy import LazyReport
from datafix.report.report import Report, library_versions
from datafix.report.shared import CheckOutcome

__all__ = ["CheckOutcome", "LazyReport", "Report", "library_versions"]
