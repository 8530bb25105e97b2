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
    table = summary.assign(share=summary["share"].map(lambda s: "" if pd.isna(s) else f"{s:.1%}"))
    table["count"] = table["count"].map(lambda c: "-" if pd.isna(c) else str(c))
    lines += ["", table.to_string(), ""]
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
    broken = report.issues[report.issues["is_broken"]]
    if len(broken):
        lines.append(f"broken: {len(broken)} samples")
        lines += [broken[["broken_reason"]].head(max_rows).to_string(), ""]
    return "\n".join(lines).rstrip() + "\n"
