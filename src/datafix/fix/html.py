"""The plan's section of the HTML report: what changed, where a cap stopped drops, what was added."""

from __future__ import annotations

from typing import Any

from datafix.report.html import MAX_ROWS, _e, _table


def plan_section(plan: Any) -> list[str]:
    """HTML blocks for a :class:`~datafix.fix.Plan` (see :meth:`Plan.html_section`)."""
    out = ["<h2>What the plan changed</h2>"]
    summary = plan.summary()
    out.append(_table(summary) if len(summary) else "<p>No changes.</p>")
    out += [f"<p class=advice>{_e(c)}</p>" for c in plan.caps]
    if len(plan.changes):
        shown = plan.changes[["step", "action", "reason", "score", "old_label", "new_label"]].head(MAX_ROWS)
        out += [f"<p>First {len(shown)} of {len(plan.changes):,} changes:</p>",
                _table(shown, left=("step", "action", "reason", "old_label", "new_label"))]
    synthetic = plan.synthetic
    if len(synthetic):
        shown = synthetic.head(MAX_ROWS).assign(parents=lambda t: t["parents"].map(
            lambda p: ", ".join(map(str, p)) or "class model"))
        out += [f"<h3>Synthetic samples</h3><p>First {len(shown)} of {len(synthetic):,}, with the samples "
                "they were made from:</p>", _table(shown, left=("label", "parents", "method"))]
    return out
