"""The audit report as one self-contained HTML page: no scripts, no network, every user string
escaped. Tables show the worst examples and counts (the full data belongs in Parquet or JSON),
so the page stays small at any size of data; charts are inline SVG."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from datafix.checks.advice import fix_advice
from datafix.report.text import fmt_number, fmt_share, label_display, shows_alike

MAX_ROWS = 50
CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d1d1f;max-width:1100px}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #ddd;border-radius:8px;padding:.7rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}.muted{color:#666}table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}th{background:#f5f5f7}td.l,th.l{text-align:left}
.advice{background:#f0f7ff;border-left:4px solid #3478f6;padding:.5rem 1rem}
"""


def render_html(report: Any, plan: Any = None, *, title: str = "datafix audit", images: Any = None) -> str:
    """The report (and optionally a fix Plan) as a standalone HTML page.

    ``images``: the audited samples, indexable by position (a Dataset, a list or array of images,
    file paths), to show thumbnails of the flagged samples; by default the plan's source when it
    holds images. Thumbnails are inline PNG (data URIs): the 100 most likely label issues, at most
    24 samples in every other section.

    Examples
    --------
    >>> import datafix as dfx
    >>> data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    >>> page = render_html(dfx.audit(data.X, labels=data.y, verbose=False))
    >>> page.startswith("<!DOCTYPE html>") and "Label issues" in page and "<script" not in page
    True
    """
    issues = report.issues
    view = plan.view if plan is not None else (report.audited[2] if report.audited is not None else None)
    if images is None and view is not None and view.has_images:
        images = _PlanImages(view)
    values = None if view is None else view.shown_values(VALUE_COLUMNS)
    parts = [f"<h1>{_e(title)}</h1>",
             f"<p class=muted>{len(issues):,} samples; datafix {_e(report.versions.get('datafix', ''))}</p>",
             _cards(report)]
    parts += _advice(report)
    parts += _classes(report, plan)
    for outcome in report.checks.values():
        if outcome.ran:
            parts += SECTIONS.get(outcome.name, _check_section)(report, outcome, images, values)
    parts += _quality(report)
    if plan is not None:
        parts += plan.html_section()
    parts += _rules(report)
    body = "\n".join(parts)
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


#: Source columns shown beside the scores of flagged table rows.
VALUE_COLUMNS = 6


def framed(page: str) -> str:
    """``page`` whole inside an iframe's ``srcdoc``, for ``_repr_html_`` (Jupyter, the docs' gallery).

    Its styles never touch the host page's, and nothing of it is markup outside the frame.
    """
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" title="datafix audit" '
            'style="width: 100%; height: 640px; border: 1px solid #ccc;"></iframe>')


def _with_values(rows: pd.DataFrame, values: pd.DataFrame | None) -> pd.DataFrame:
    if values is None or not len(rows):
        return rows
    shown = values.reindex(rows.index)
    shown.columns = [c if c not in rows.columns else f"{c} (value)" for c in shown.columns]
    return rows.join(shown)


def _check_section(report: Any, outcome: Any, images: Any, values: pd.DataFrame | None) -> list[str]:
    """The generic section of a check: how many, its rule, the worst samples with their scores."""
    flagged = report.flagged(outcome.name)
    if not len(flagged):
        return []
    heading = outcome.name.replace("_", " ").capitalize()
    cols = [c for c in outcome.columns if c != outcome.flag]
    out = [f"<h2>{_e(heading)}</h2><p>{len(flagged):,} {_plural(len(flagged), 'sample')} flagged"
           f"{' (' + _e(outcome.description) + ')' if outcome.description else ''}; the "
           f"{min(len(flagged), MAX_ROWS)} most affected:</p>",
           _table(_with_values(label_display(report, flagged[cols].head(MAX_ROWS)), values))]
    score = outcome.score
    out += _gallery(report, images, flagged, lambda r: f"{score} {r.get(score, float('nan')):.3g}",
                    f"The most affected samples ({heading.lower()})")
    return out


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


THUMBNAILS = 24  # per section
LABEL_THUMBNAILS = 100  # the label-issue gallery: the 100 most likely label issues


class _PlanImages:
    """A plan's source images by position."""

    def __init__(self, view: Any) -> None:
        self.view = view

    def __getitem__(self, position: int) -> Any:
        return self.view.item(position)


def thumbnail(item: Any, size: int = 64) -> str | None:
    """A sample as an inline PNG data URI (None when it is not an image)."""
    import base64
    import io

    from PIL import Image

    image = item[0] if isinstance(item, tuple) else item
    try:
        if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
            image = Image.open(image)
        if not isinstance(image, Image.Image):
            array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
            if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[2] not in (1, 3):
                array = np.moveaxis(array, 0, -1)  # CHW tensor
            if array.ndim == 3 and array.shape[2] == 1:
                array = array[:, :, 0]
            if array.dtype != np.uint8:
                low, high = float(np.nanmin(array)), float(np.nanmax(array))
                array = ((array - low) / (high - low or 1.0) * 255).astype(np.uint8)
            image = Image.fromarray(array)
        image = image.convert("RGB") if image.mode not in ("L", "RGB") else image.copy()
        scale = size / max(image.size)
        image = image.resize((max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale))),
                             Image.NEAREST if scale > 1 else Image.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    except Exception:  # a broken or non-image sample gets no thumbnail, never a broken page
        return None
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _gallery(report: Any, images: Any, flagged: pd.DataFrame | None, caption: Any,
             title: str = "The first flagged samples", limit: int = THUMBNAILS) -> list[str]:
    if images is None or flagged is None or not len(flagged):
        return []
    positions = report.issues.index.get_indexer(flagged.index[:limit])
    cells = []
    for (idx, row), pos in zip(flagged.head(limit).iterrows(), positions, strict=True):
        try:
            uri = thumbnail(images[int(pos)])
        except Exception:  # an unreadable sample: no thumbnail
            uri = None
        if uri is not None:
            cells.append(f"<figure style='display:inline-block;margin:4px;text-align:center'><img src='{uri}' "
                         f"width=64 alt='sample {_e(idx)}'><figcaption class=muted style='font-size:.7rem'>{_e(idx)}"
                         f"<br>{_caption(caption(row))}</figcaption></figure>")
    return [f"<h3>{_e(title)}</h3><div>{''.join(cells)}</div>"] if cells else []


def _caption(lines: str | tuple[str, ...]) -> str:
    return "<br>".join(_e(line) for line in ((lines,) if isinstance(lines, str) else lines))


def _duplicate_gallery(report: Any, images: Any) -> list[str]:
    """Thumbnails of the largest duplicate groups (up to 8 groups, 3 members each)."""
    if images is None or "duplicate_group" not in report.issues:
        return []
    groups = report.issues["duplicate_group"].dropna()
    groups = groups[groups >= 0]
    if groups.empty:
        return []
    largest = groups.value_counts().index[:8]
    frames = [pd.DataFrame({"group": [int(g)] * min(3, int((groups == g).sum()))},
                           index=groups.index[(groups == g).to_numpy()][:3]) for g in largest]
    members = pd.concat(frames)
    return _gallery(report, images, members, lambda r: f"group {r['group']}", "The largest duplicate groups")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(frame: pd.DataFrame, *, index: bool = True, left: tuple[str, ...] = ()) -> str:
    head = ([f"<th class=l>{_e(frame.index.name or '')}</th>"] if index else []) + [
        f"<th{' class=l' if c in left else ''}>{_e(c)}</th>" for c in frame.columns]
    rows = []
    for idx, row in frame.iterrows():
        cells = [f"<td class=l>{_e(idx)}</td>"] if index else []
        for c, v in row.items():
            text = fmt_number(v) if isinstance(v, (float, np.floating)) and not pd.isna(v) else ("" if pd.isna(v) else v)
            cells.append(f"<td{' class=l' if c in left else ''}>{_e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{''.join(head)}</tr>{''.join(rows)}</table>"


def _cards(report) -> str:
    summary = report.summary()
    cards = []
    for issue, row in summary.iterrows():
        if row.get("status") != "ran" or pd.isna(row.get("count")):
            continue
        share = row.get("share")
        share_text = fmt_share(share) if pd.notna(share) else ""
        cards.append(f"<div class=card><span class=muted>{_e(issue)}</span><b>{int(row['count']):,}</b>"
                     f"<span class=muted>{_e(share_text)}</span></div>")
    return "<h2>Summary</h2><div class=cards>" + "".join(cards) + "</div>"


def _advice(report) -> list[str]:
    advice = [(c.name, c.advice) for c in report.checks.values() if c.ran and c.advice]
    advice += [("fix", line) for line in fix_advice(report)]
    return [f"<p class=advice><b>{_e(name)}:</b> {_e(text)}</p>" for name, text in advice]


def _bars(counts: pd.DataFrame) -> str:
    """Horizontal grouped bars (one row per class) as inline SVG."""
    top = counts.head(40)
    width, row_h = 600, 18
    peak = max(float(top.to_numpy().max()), 1.0)
    colours = ["#3478f6", "#f5a623"]
    rows = []
    for i, (name, values) in enumerate(top.iterrows()):
        y = i * row_h * len(top.columns)
        rows.append(f"<text x=0 y={y + 13} font-size=11>{_e(name)}</text>")
        for j, (col, v) in enumerate(values.items()):
            w = 380 * float(v) / peak
            yy = y + j * row_h
            rows.append(f"<rect x=160 y={yy + 2} width={w:.1f} height={row_h - 4} fill={colours[j % 2]}>"
                        f"<title>{_e(col)}: {int(v)}</title></rect><text x={165 + w:.1f} y={yy + 13} "
                        f"font-size=10>{int(v)}</text>")
    height = len(top) * row_h * len(top.columns) + 4
    legend = " ".join(f"<span style='color:{colours[j % 2]}'>&#9632; {_e(c)}</span>" for j, c in enumerate(top.columns))
    return f"<p>{legend}</p><svg width={width} height={height} role=img>{''.join(rows)}</svg>"


def _classes(report, plan) -> list[str]:
    table = report.tables.get("classes")
    if table is None:
        return []
    counts = table[["count"]].rename(columns={"count": "before"})
    if plan is not None:
        counts["after"] = plan.class_counts()["after"].reindex(counts.index).fillna(0).astype(int)
    if shows_alike(list(counts.index)):
        counts = counts.set_axis([repr(c) for c in counts.index])
    return ["<h2>Class distribution</h2>", _bars(counts)]


def _label_issues(report, outcome: Any = None, images: Any = None, values: pd.DataFrame | None = None) -> list[str]:
    if "is_label_issue" not in report.issues:
        return []
    flagged = report.flagged("label")
    out = [f"<h2>Label issues</h2><p>{len(flagged):,} {_plural(len(flagged), 'sample')} flagged; the "
           f"{min(len(flagged), MAX_ROWS)} most likely wrong:</p>"]
    cols = [c for c in ("label_score", "given_label", "suggested_label", "suggested_confidence", "suspect_labels")
            if c in flagged]
    out.append(_table(_with_values(label_display(report, flagged[cols].head(MAX_ROWS)), values),
                      left=("given_label", "suggested_label", "suspect_labels")))
    if "suspect_labels" in flagged:  # multilabel: no given -> suggested matrix; the gallery names the labels
        out += _gallery(report, images, flagged, lambda r: (r["suspect_labels"], f"score {r['label_score']:.3f}"),
                        f"The {min(len(flagged), LABEL_THUMBNAILS)} most likely label issues (+label: looks missing, "
                        "-label: looks spurious)", limit=LABEL_THUMBNAILS)
        return out
    if len(flagged):
        shown = label_display(report, flagged[["given_label", "suggested_label"]])
        matrix = pd.crosstab(shown["given_label"].astype(str), shown["suggested_label"].astype(str))
        peak = max(int(matrix.to_numpy().max()), 1)
        head = "".join(f"<th>{_e(c)}</th>" for c in matrix.columns)
        rows = []
        for given, row in matrix.head(30).iterrows():
            cells = "".join(
                f"<td style='background:rgba(52,120,246,{0.1 + 0.8 * v / peak:.2f})'>{int(v) or ''}</td>" for v in row)
            rows.append(f"<tr><th class=l>{_e(given)}</th>{cells}</tr>")
        out.append("<h3>Given (rows) vs suggested (columns) label</h3>"
                   f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>")
    shown = label_display(report, flagged[[c for c in ("given_label", "suggested_label", "label_score") if c in flagged]])
    out += _gallery(report, images, shown, lambda r: (f"{r.get('given_label', '')} \u2192 {r.get('suggested_label', '')}",
                                   f"score {r.get('label_score', float('nan')):.3f}"),
                    f"The {min(len(flagged), LABEL_THUMBNAILS)} most likely label issues (given \u2192 suggested "
                    "label, label score: lower is more likely wrong)", limit=LABEL_THUMBNAILS)
    return out


def _outliers(report, outcome: Any = None, images: Any = None, values: pd.DataFrame | None = None) -> list[str]:
    if "outlier_score" not in report.issues:
        return []
    score = report.issues["outlier_score"].dropna().to_numpy(float)
    flagged = report.issues["is_outlier"].fillna(False).to_numpy(bool)
    if not len(score):
        return []
    hist, edges = np.histogram(score, bins=30, range=(0.0, 1.0))
    peak = max(int(hist.max()), 1)
    bars = "".join(f"<rect x={20 * i} y={120 - 110 * h / peak:.1f} width=18 height={110 * h / peak:.1f} fill=#3478f6>"
                   f"<title>{edges[i]:.2f}-{edges[i + 1]:.2f}: {h}</title></rect>" for i, h in enumerate(hist))
    cut = report.issues.loc[report.issues["is_outlier"].fillna(False).to_numpy(bool), "outlier_score"].max()
    line = f"<line x1={600 * cut:.1f} x2={600 * cut:.1f} y1=0 y2=120 stroke=#d0021b stroke-dasharray=4/>" if pd.notna(cut) else ""
    worst = _with_values(report.flagged("outlier")[["outlier_score"]].head(MAX_ROWS), values)
    return [f"<h2>Outliers</h2><p>{int(flagged.sum()):,} flagged (red line: highest flagged score; lower is more "
            "unusual).</p>", f"<svg width=600 height=125 role=img>{bars}{line}</svg>", _table(worst) if len(worst) else "",
            *_gallery(report, images, report.flagged("outlier"),
                      lambda r: f"score {r.get('outlier_score', float('nan')):.2f}")]


def _duplicates(report, outcome: Any = None, images: Any = None, values: Any = None) -> list[str]:
    if "duplicate_group" not in report.issues:
        return []
    groups = report.issues.dropna(subset=["duplicate_group"])
    groups = groups[groups["duplicate_group"] >= 0]
    if groups.empty:
        return ["<h2>Duplicates</h2><p>None found.</p>"]
    members = groups.groupby("duplicate_group").apply(lambda g: ", ".join(map(str, g.index[:8])) +
                                                      (" ..." if len(g) > 8 else ""), include_groups=False)
    sizes = groups.groupby("duplicate_group").size()
    table = pd.DataFrame({"size": sizes, "members": members}).sort_values("size", ascending=False).head(MAX_ROWS)
    table.index = table.index.astype(int)
    return [f"<h2>Duplicates</h2><p>{len(sizes):,} groups, {len(groups):,} samples.</p>",
            _table(table, left=("members",)), *_duplicate_gallery(report, images)]


def _quality(report) -> list[str]:
    out = []
    columns = report.tables.get("columns")
    if columns is not None and len(columns):
        out += ["<h2>Columns</h2>", _table(columns.head(MAX_ROWS).dropna(axis=1, how="all"))]
    broken = report.issues[report.issues["is_broken"].to_numpy(bool)]
    if len(broken):
        out += [f"<h2>Broken samples</h2><p>{len(broken):,} samples could not be used.</p>",
                _table(broken[["broken_reason"]].head(MAX_ROWS), left=("broken_reason",))]
    labels = report.tables.get("labels")
    if labels is not None:
        out += ["<h2>Labels (multilabel)</h2>", _table(labels.head(MAX_ROWS))]
    annotators = report.tables.get("annotators")
    if annotators is not None:
        out += ["<h2>Annotators</h2><p>quality: CROWDLAB's estimate of each annotator's accuracy; agreement: share "
                "of their labels equal to the consensus.</p>", _table(annotators.sort_values("quality").head(MAX_ROWS))]
    return out


def _no_section(report, outcome, images, values) -> list[str]:
    return []


#: The sections of checks with a section of their own; every other check (image checks, a
#: registered third-party check) gets the generic section: its rule, its worst samples and their
#: thumbnails. The null check's findings are the columns table, shown with the data quality.
SECTIONS = {"label": _label_issues, "outlier": _outliers, "duplicate": _duplicates, "null": _no_section}


def _rules(report) -> list[str]:
    rows = [(c.name, c.rule) for c in report.checks.values() if c.ran and c.rule]
    skipped = [(c.name, c.reason) for c in report.checks.values() if not c.ran and c.applies]
    out = ["<h2>Rules</h2><ul>" + "".join(f"<li><b>{_e(n)}</b>: {_e(r)}</li>" for n, r in rows) + "</ul>"]
    if skipped:
        out.append("<p class=muted>Skipped: " + "; ".join(f"{_e(n)} ({_e(r)})" for n, r in skipped) + "</p>")
    return out
