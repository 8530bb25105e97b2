"""The audit report: per-sample table, summary, renderings."""

from datafix.report.report import CheckOutcome, Report, library_versions

__all__ = ["CheckOutcome", "Report", "library_versions"]
