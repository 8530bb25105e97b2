"""Real label errors: the CNN-signal audit of the unmodified Fashion-MNIST training split.

Audits all 60,000 training images with ``model="cnn"`` (nothing injected), prints the wall time,
the CNN's held-out accuracy and the 50 most likely label issues (index, given and suggested label,
score), writes the report (JSON and HTML with a gallery of the 100 most likely label issues) and,
with ``--screenshot``, a screenshot of that gallery (headless ``chromium``). Needs Fashion-MNIST
(``make data``, or --root a folder with the IDX files).

    .venv/bin/python benchmarks/real_label_errors.py --out /tmp/fmnist-audit --screenshot docs/fmnist-label-issues.png

``--reuse`` renders again from the report JSON in ``--out`` without auditing again.
"""

from __future__ import annotations

import argparse
import subprocess
import time
import warnings
from pathlib import Path

import torch

import datafix as dfx


def screenshot(page: Path, out: Path, height: int = 1300) -> None:
    """A PNG of the page's label-issue gallery (headless chromium, as docs/make_screenshots.py)."""
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={out.resolve()}", f"--window-size=1200,{height}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=300)


def gallery_page(report: dfx.Report, images, path: Path) -> None:
    """A page with only the label-issue gallery of the report, so the screenshot shows it whole."""
    from datafix.report.html import CSS, _label_issues

    section = "\n".join(_label_issues(report, images=images))
    gallery = section[section.index("<h3>The 100 most likely"):]
    path.write_text(f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><style>{CSS}</style></head><body>"
                    f"<h2>Fashion-MNIST training split, unmodified: datafix audit with model='cnn'</h2>{gallery}"
                    "</body></html>", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="a folder with Fashion-MNIST's IDX files (default: Debian's)")
    parser.add_argument("--out", default="/tmp/fmnist-audit", help="folder for the report files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="render from OUT/report.json without auditing again")
    parser.add_argument("--screenshot", default=None, help="PNG path for a screenshot of the label-issue gallery")
    parser.add_argument("--verbose", action="store_true", help="progress bars")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = dfx.datasets.load_fashion_mnist("train", root=args.root)
    if args.reuse:
        report = dfx.Report.from_json(out / "report.json")
    else:
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = dfx.audit(data.images, data.names, model="cnn", random_state=args.seed, verbose=args.verbose)
        seconds = time.perf_counter() - started
        print(f"{len(data)} Fashion-MNIST training images, {device}: audit with model='cnn' {seconds:.0f} s; "
              f"{report.signals['pred_probs']}")
        report.to_json(out / "report.json")
    flagged = report.flagged("label")
    print(f"{len(flagged)} label issues flagged ({len(flagged) / len(data):.2%} of the split)")
    for idx, row in flagged.head(50).iterrows():
        print(f"  {idx:>6}  given {row['given_label']:<12} suggested {row['suggested_label']:<12} "
              f"score {row['label_score']:.3f}")
    report.to_html(out / "report.html", images=data.images, title="Fashion-MNIST training split")
    if args.screenshot:
        gallery_page(report, data.images, out / "gallery.html")
        screenshot(out / "gallery.html", Path(args.screenshot))
        print(f"screenshot: {args.screenshot}")
    print(f"report: {out / 'report.html'}")


if __name__ == "__main__":
    main()
