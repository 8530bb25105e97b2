"""Plain-text rendering of a Report for terminals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from datafix.checks.advice import fix_advice

if TYPE_CHECKING:
    from datafix.report.report import Report


def fmt_number(value: float) -> str:
    """A score or measure for people: 3 decimals, scientific below 0.01 (so 0.0004 is not 0.000).

    Examples
    --------
    >>> fmt_number(0.1234), fmt_number(0.00042), fmt_number(0.0), fmt_number(12345.678)
    ('0.123', '4.20e-04', '0', '12,345.7')
    """
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    if abs(value) >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2e}"


def fmt_share(share: float) -> str:
    """A share of the samples as a percentage that is never 0.0 % or 100.0 % unless it is exactly that.

    One decimal as a rule; a share under 0.1 % (1 sample in 2,003) has two significant digits,
    and one within 0.1 % of all the samples is said as above 99.9 %.

    Examples
    --------
    >>> fmt_share(0.25), fmt_share(1 / 2003), fmt_share(0.0), fmt_share(2002 / 2003), fmt_share(1.0)
    ('25.0%', '0.05%', '0.0%', '>99.9%', '100.0%')
    """
    if 0 < share < 0.001:
        return f"{share * 100:.2g}%" if share >= 1e-6 else "<0.0001%"
    if 0.999 < share < 1:
        return ">99.9%"
    return f"{share:.1%}"


#: Columns that hold the user's label values.
LABEL_COLUMNS = ("given_label", "suggested_label", "suggested_value", "label", "old_label", "new_label")


def shows_alike(classes: list) -> bool:
    """Whether two label values would print alike ("churn" and "churn "): then reports show reprs.

    Examples
    --------
    >>> shows_alike(["churn", "churn "]), shows_alike(["churn", "stay"]), shows_alike([1, "1"])
    (True, False, True)
    """
    shown = [str(c).strip() for c in classes]
    return len(set(shown)) < len(shown)


def label_display(report: Report, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its label columns as reprs when the report's label values would print alike."""
    if not shows_alike(list(report.params.get("classes", []))):
        return frame
    out = frame.copy()
    for col in LABEL_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda v: v if v is None or v is pd.NA else repr(v))
    return out


def render_text(report: Report, max_rows: int = 10) -> str:
    """The summary table, then each issue type's worst ``max_rows`` flagged samples."""
    n = len(report.issues)
    lines = [f"datafix audit: {n} samples"]
    if report.signals:
        lines.append("signals: " + "; ".join(f"{k}: {v}" for k, v in report.signals.items()))
    summary = report.summary()
    ran = summary[summary["status"] == "ran"]
    table = ran.assign(share=ran["share"].map(lambda s: "" if pd.isna(s) else fmt_share(s)))
    table["count"] = table["count"].map(lambda c: "-" if pd.isna(c) else str(c))
    lines += ["", table.drop(columns="status").to_string(), ""]
    applies = [name for name in summary.index if name not in report.checks or report.checks[name].applies]
    skipped = summary[(summary["status"] == "skipped") & summary.index.isin(applies)]
    for reason, group in skipped.groupby("note", sort=False):
        lines.append(f"skipped ({reason}): {', '.join(group.index)}")
    if len(skipped):
        lines.append("")
    rules = [f"  {c.name}: {c.rule}" for c in report.checks.values() if c.ran and c.rule]
    if rules:
        lines += ["rules:", *rules, ""]
    advice = [f"  {c.name}: {c.advice}" for c in report.checks.values() if c.ran and c.advice]
    advice += [f"  fix: {line}" for line in fix_advice(report)]
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
        lines += [label_display(report, shown[cols]).to_string(float_format=fmt_number), ""]
    if "classes" in report.tables:
        classes = report.tables["classes"]
        if shows_alike(list(classes.index)):
            classes = classes.set_axis([repr(c) for c in classes.index])
        lines += ["classes:", classes.to_string(float_format=lambda v: f"{v:.3g}"), ""]
    if "annotators" in report.tables:
        lines += ["annotators (quality: CROWDLAB's estimate of accuracy; agreement: with the consensus):",
                  report.tables["annotators"].to_string(float_format=lambda v: f"{v:.3g}"), ""]
    columns = report.tables.get("columns")
    if columns is not None and columns["has_issue"].any():
        flagged_cols = columns[columns["has_issue"]].dropna(axis=1, how="all")  # first/last: date columns only
        lines += [f"columns with problems: {len(flagged_cols)}", flagged_cols.to_string(float_format=lambda v: f"{v:.3g}"), ""]
    if report.test_issues is not None:
        leaked = report.flagged("leakage")
        lines.append(f"leakage: {len(leaked)} of {len(report.test_issues)} test samples copy a training sample")
        if len(leaked):
            lines += [leaked.head(max_rows).to_string(float_format=fmt_number)]
        lines.append("")
    broken = report.issues[report.issues["is_broken"]]
    if len(broken):
        lines.append(f"broken: {len(broken)} sample{'s' * (len(broken) != 1)}")
        lines += [broken[["broken_reason"]].head(max_rows).to_string(), ""]
    return "\n".join(lines).rstrip() + "\n"
