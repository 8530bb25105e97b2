"""The ``datafix`` command: ``audit`` a table, or run the ``demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from datafix._version import __version__
from datafix.errors import DatafixError

READERS = {".csv": pd.read_csv, ".tsv": lambda p: pd.read_csv(p, sep="\t"), ".parquet": pd.read_parquet}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``datafix`` command."""
    parser = argparse.ArgumentParser(
        prog="datafix", description="Find and fix what is wrong with training data before training."
    )
    parser.add_argument("--version", action="version", version=f"datafix {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    audit = sub.add_parser("audit", help="audit a CSV or Parquet table", description="Audit a labelled table.")
    audit.add_argument("path", type=Path, help="a .csv, .tsv or .parquet file")
    audit.add_argument("--label", required=True, help="name of the label column")
    audit.add_argument("-o", "--output", type=Path, help="write the report (.json, .parquet, .csv or .html)")
    audit.add_argument("--html", type=Path, help="also write the report as a self-contained HTML page")
    audit.add_argument("--index-col", help="column to use as the sample identifier")
    audit.add_argument("--test", type=Path, help="a held-out table: flag its rows that copy training rows")
    _common(audit)

    fix = sub.add_parser(
        "fix", help="audit a table and write the fixed one",
        description="Audit a labelled table, apply a fix pipeline (default: drop broken rows, label issues and "
        "near-duplicates, at most half of any class) and write the kept rows with their labels.",
    )
    fix.add_argument("path", type=Path, help="a .csv, .tsv or .parquet file")
    fix.add_argument("--label", required=True, help="name of the label column")
    fix.add_argument("-o", "--output", type=Path, required=True, help="the fixed table (.csv or .parquet)")
    fix.add_argument("--report", type=Path, help="write the audit and the plan as an HTML page")
    fix.add_argument("--config", type=Path, help="a pipeline config (.json or .yaml; see Pipeline.to_config)")
    fix.add_argument("--actions", action="store_true", help="keep every row and add a datafix_action column")
    fix.add_argument("--index-col", help="column to use as the sample identifier")
    _common(fix)

    demo = sub.add_parser(
        "demo", help="audit noisy digits and score the result", description="Audit scikit-learn's digits with "
        "injected label noise, print the report and the label check's precision and recall."
    )
    demo.add_argument("-o", "--output", type=Path, default=Path("datafix-demo-report.json"),
                      help="where to write the report (default: %(default)s)")
    demo.add_argument("--html", type=Path, default=Path("datafix-demo-report.html"),
                      help="where to write the HTML page with the audit and the fix (default: %(default)s)")
    demo.add_argument("--noise", type=float, default=0.2, help="share of labels to flip (default: %(default)s)")
    demo.add_argument("--noise-type", choices=["symmetric", "class_conditional"], default="class_conditional")
    _common(demo)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default: %(default)s)")
    p.add_argument("--nan-policy", choices=["raise", "drop", "impute"], default="raise",
                   help="what to do with NaN/inf features (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``datafix`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "audit":
            return _audit(args)
        if args.command == "fix":
            return _fix(args)
        return _demo(args)
    except (DatafixError, FileNotFoundError, ValueError, OSError) as err:
        print(f"datafix: error: {err}", file=sys.stderr)
        return 2


def _audit(args: argparse.Namespace) -> int:
    from datafix.audit import audit

    frame = _read_table(args.path, args.index_col)
    test = None if args.test is None else _read_table(args.test, args.index_col)
    report = audit(frame, labels=args.label, cv=args.cv, nan_policy=args.nan_policy, test=test,
                   random_state=args.seed, verbose=not args.quiet)
    print(report.render())
    if args.output:
        print(f"report written to {report.save(args.output)}")
    if args.html:
        report.to_html(args.html)
        print(f"HTML report written to {args.html}")
    return 0


def _fix(args: argparse.Namespace) -> int:
    from datafix.audit import audit
    from datafix.fix import DropBroken, DropLabelIssues, DropNearDuplicates, Pipeline

    writers = {".csv": lambda f, p: f.to_csv(p), ".parquet": lambda f, p: f.to_parquet(p)}
    if args.output.suffix.lower() not in writers:
        raise ValueError(f"Cannot tell the output format from {str(args.output)!r}: use .csv or .parquet.")
    pipeline = (Pipeline.from_config(args.config) if args.config else
                Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates()]))
    frame = _read_table(args.path, args.index_col)
    report = audit(frame, labels=args.label, cv=args.cv, nan_policy=args.nan_policy, random_state=args.seed,
                   verbose=not args.quiet)
    plan = pipeline.fit(frame, args.label, report=report)
    print(plan.summary().to_string() if len(plan.summary()) else "no changes")
    for cap in plan.caps:
        print(f"cap: {cap}")
    fixed = plan.to_frame(actions=args.actions)
    writers[args.output.suffix.lower()](fixed, args.output)
    print(f"{len(plan.kept)} of {len(frame)} rows kept; fixed table written to {args.output}")
    if args.report:
        report.to_html(args.report, plan=plan)
        print(f"HTML report written to {args.report}")
    return 0


def _read_table(path: Path, index_col: str | None) -> pd.DataFrame:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"Cannot read {str(path)!r}: use a .csv, .tsv or .parquet file.")
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {str(path)!r}")
    frame = reader(path)
    if index_col:
        if index_col not in frame.columns:
            raise ValueError(f"--index-col {index_col!r} is not a column of {str(path)!r}.")
        frame = frame.set_index(index_col)
    return frame


def _demo(args: argparse.Namespace) -> int:
    from datafix.audit import audit
    from datafix.datasets import load_noisy

    data = load_noisy("digits", noise=args.noise, noise_type=args.noise_type, n_duplicates=20, n_outliers=10,
                      random_state=args.seed)
    print(f"datafix demo: scikit-learn digits ({len(data)} images, 10 classes), "
          f"{int(data.is_label_error.sum())} labels flipped ({args.noise_type} noise), "
          f"{int(data.is_duplicate.sum())} duplicated images, {int(data.is_outlier.sum())} outliers\n")
    report = audit(data.frame(), labels="label", cv=args.cv, nan_policy=args.nan_policy,
                   random_state=args.seed, verbose=not args.quiet)
    print(report.render(max_rows=5))
    copies = data.is_duplicate.copy()
    copies[data.duplicate_of[data.is_duplicate]] = True  # a copy and its original form a group
    truths = {"label": ("is_label_issue", data.is_label_error), "outlier": ("is_outlier", data.is_outlier),
              "duplicate": ("is_duplicate", copies)}
    print("against the injected truth:")
    for name, (flag, truth) in truths.items():
        found = report.issues[flag].to_numpy(dtype=bool)
        hits = int((found & truth).sum())
        precision = hits / max(int(found.sum()), 1)
        recall = hits / max(int(truth.sum()), 1)
        print(f"  {name} check: precision {precision:.3f}, recall {recall:.3f}, "
              f"F1 {2 * precision * recall / max(precision + recall, 1e-12):.3f} "
              f"({hits} of {int(truth.sum())} found, {int(found.sum())} flagged)")
    _demo_fix(data, report, args)
    print(f"report written to {report.save(args.output)}")
    return 0


def _demo_fix(data, report, args: argparse.Namespace) -> None:
    """Fix the audited data and train the same model before and after, scored on true labels."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from datafix.fix import DropBroken, DropLabelIssues, DropNearDuplicates, Pipeline

    plan = Pipeline([DropBroken(), DropLabelIssues(), DropNearDuplicates()]).fit(data.frame(), "label", report=report)
    print("\nfix plan (drop broken rows, label issues, near-duplicates):")
    print(plan.summary().to_string())
    positions = np.arange(len(data.y))
    train, test = train_test_split(positions, test_size=0.25, stratify=data.y_true, random_state=args.seed)
    kept = plan.samples["kept"].to_numpy(bool)
    fixed = train[kept[train]]
    scores = {}
    for name, rows, labels in (("the raw labels", train, data.y), ("the fixed data", fixed,
                                                                    plan.samples["label"].to_numpy())):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        model.fit(data.X[rows], np.asarray(labels[rows]).astype(int))
        scores[name] = balanced_accuracy_score(data.y_true[test], model.predict(data.X[test]))
    print(f"logistic regression on 75 % of the rows, balanced accuracy on the other 25 % (true labels): "
          f"trained on the raw labels {scores['the raw labels']:.3f}, on the fixed data "
          f"{scores['the fixed data']:.3f} ({len(fixed)} of {len(train)} training rows kept)")
    report.to_html(args.html, plan=plan, title="datafix demo: noisy digits")
    print(f"HTML report written to {args.html}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
