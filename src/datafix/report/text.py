"""Plain-text rendering of a Report for terminals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from datafix.report.report import Report


def render_text(report: Report, max_rows: int = 10) -> str:
    """The summary table, then each issue type's worst ``max_rows`` flagged samples."""
    n = len(report.issues)
    lines = [f"datafix audit: {n} samples"]
    if report.signals:
        lines.append("signals: " + "; ".join(f"{k}: {v}" for k, v in report.signals.items()))
    summary = report.summary()
    ran = summary[summary["status"] == "ran"]
    table = ran.assign(share=ran["share"].map(lambda s: "" if pd.isna(s) else f"{s:.1%}"))
    table["count"] = table["count"].map(lambda c: "-" if pd.isna(c) else str(c))
    lines += ["", table.drop(columns="status").to_string(), ""]
    skipped = summary[summary["status"] == "skipped"]
    for reason, group in skipped.groupby("note", sort=False):
        lines.append(f"skipped ({reason}): {', '.join(group.index)}")
    if len(skipped):
        lines.append("")
    rules = [f"  {c.name}: {c.rule}" for c in report.checks.values() if c.ran and c.rule]
    if rules:
        lines += ["rules:", *rules, ""]
    advice = [f"  {c.name}: {c.advice}" for c in report.checks.values() if c.ran and c.advice]
    if advice:
        lines += ["advice:", *advice, ""]
    for c in report.checks.values():
        if not c.ran:
            continue
        flagged = report.flagged(c.name)
        if flagged.empty:
            continue
        lines.append(f"{c.name}: {len(flagged)} flagged, most likely first")
        shown = flagged.head(max_rows)
        cols = [col for col in c.columns if col != c.flag]
        lines += [shown[cols].to_string(float_format=lambda v: f"{v:.3f}"), ""]
    if "classes" in report.tables:
        lines += ["classes:", report.tables["classes"].to_string(float_format=lambda v: f"{v:.3g}"), ""]
    columns = report.tables.get("columns")
    if columns is not None and columns["has_issue"].any():
        flagged_cols = columns[columns["has_issue"]]
        lines += [f"columns with problems: {len(flagged_cols)}", flagged_cols.to_string(float_format=lambda v: f"{v:.3g}"), ""]
    if report.test_issues is not None:
        leaked = report.flagged("leakage")
        lines.append(f"leakage: {len(leaked)} of {len(report.test_issues)} test samples copy a training sample")
        if len(leaked):
            lines += [leaked.head(max_rows).to_string(float_format=lambda v: f"{v:.3f}")]
        lines.append("")
    broken = report.issues[report.issues["is_broken"]]
    if len(broken):
        lines.append(f"broken: {len(broken)} samples")
        lines += [broken[["broken_reason"]].head(max_rows).to_string(), ""]
    return "\n".join(lines).rstrip() + "\n"
