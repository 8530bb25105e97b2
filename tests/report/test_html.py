import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import datafix as dfx
from datafix.fix import DropLabelIssues, Pipeline, Relabel

EVIL = "<script>alert(1)</script>"


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.stack_errors, self.stack = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("table", "tr", "svg", "ul", "p", "h2", "div"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in ("table", "tr", "svg", "ul", "p", "h2", "div"):
            if not self.stack or self.stack.pop() != tag:
                self.stack_errors += 1

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def audited():
    data = dfx.datasets.load_noisy("wine", noise=0.15, random_state=0)
    frame = data.frame("cultivar")
    frame["cultivar"] = frame["cultivar"].astype(str).where(frame.index != 3, EVIL)
    frame = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)  # a duplicate
    report = dfx.audit(frame, labels="cultivar", verbose=False)
    return frame, report


def parse(page):
    parser = Collect()
    parser.feed(page)
    return parser


def test_page_has_the_sections_and_numbers(audited):
    frame, report = audited
    page = report.to_html()
    parsed = parse(page)
    text = " ".join(parsed.text)
    for section in ("Summary", "Class distribution", "Label issues", "Given (rows) vs suggested (columns) label",
                    "Outliers", "Duplicates", "Rules"):
        assert section in text, section
    assert f"{int(report.issues['is_label_issue'].sum()):,} samples flagged" in text
    assert parsed.stack_errors == 0 and "script" not in parsed.tags
    assert "http://" not in page and "https://" not in page  # self-contained


def test_user_strings_are_escaped(audited):
    _, report = audited
    page = report.to_html()
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_plan_section_and_writing(audited, tmp_path):
    frame, report = audited
    plan = Pipeline([Relabel(0.9), DropLabelIssues()]).fit(frame, "cultivar", report=report)
    path = tmp_path / "audit.html"
    page = report.to_html(path, plan=plan)
    assert path.read_text(encoding="utf-8") == page and "What the plan changed" in page
    assert report.save(tmp_path / "again.html").exists()
    with pytest.raises(OSError, match="Cannot write '.*x.html': the folder '.*missing-dir' does not exist"):
        report.to_html(tmp_path / "missing-dir" / "x.html")


def test_page_stays_small_at_100k_rows(audited):
    _, report = audited
    reps = 100_000 // len(report.issues) + 1
    issues = pd.concat([report.issues] * reps, ignore_index=True).iloc[:100_000]
    big = dfx.Report(issues, report.checks, report.params, report.signals, report.versions, report.tables)
    page = big.to_html()
    assert len(page.encode()) < 5 * 2**20


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium package")
def test_page_renders_in_headless_chromium(audited, tmp_path):
    from PIL import Image

    _, report = audited
    path = tmp_path / "audit.html"
    report.to_html(path)
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,2000", path.as_uri()], check=True, timeout=120, capture_output=True)
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.std() > 5  # not a blank page


def test_thumbnails_of_flagged_images(tmp_path):
    import base64
    import io

    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = dfx.datasets.load_noisy("digits", noise=0.1, random_state=0)
    report = dfx.audit(data.X, labels=data.y, verbose=False)
    images = list(digits.images[: len(data.y)])
    images[int(report.issues.index.get_indexer(report.flagged("label").index[:1])[0])] = str(tmp_path / "missing.png")
    page = report.to_html(images=images)
    uris = [part.split("'")[0] for part in page.split("<img src='")[1:]]
    assert 0 < len(uris) <= 100 + 2 * 24  # the label gallery, then at most 24 per other section
    second = report.flagged("label").index[1]
    expected = dfx.report.html.thumbnail(digits.images[report.issues.index.get_loc(second)])
    assert expected in uris  # the second flagged sample, as rendered; the first (a missing file) is skipped
    shown = Image.open(io.BytesIO(base64.b64decode(uris[0].split(",", 1)[1])))
    assert shown.size == (64, 64)
    assert "<script" not in page


def test_label_gallery_shows_the_100_most_likely_issues_with_given_suggested_and_score():
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = dfx.datasets.load_noisy("digits", noise=0.2, random_state=0)
    report = dfx.audit(data.X, labels=data.y, checks=["label"], verbose=False)
    flagged = report.flagged("label")
    assert len(flagged) > 100
    page = report.to_html(images=list(digits.images[: len(data.y)]))
    gallery = page.split("The 100 most likely label issues", 1)[1]
    captions = [part.split("</figcaption>")[0].split("<br>") for part in gallery.split("<figcaption")[1:]]
    assert len(captions) == 100
    top = flagged.head(100)
    assert [c[0].split(">", 1)[1] for c in captions] == [str(i) for i in top.index]  # most likely first
    assert captions[0][1] == f"{top['given_label'].iloc[0]} \u2192 {top['suggested_label'].iloc[0]}"
    assert [float(c[2].removeprefix("score ")) for c in captions] == pytest.approx(top["label_score"].tolist(), abs=5e-4)


def test_duplicate_groups_get_thumbnails():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (8, 8), dtype=np.uint8) for _ in range(40)]
    images[5] = images[17].copy()
    X = np.stack([im.ravel() for im in images]).astype(float)
    report = dfx.audit(X, labels=np.arange(40) % 2, verbose=False)
    page = report.to_html(images=images)
    assert "group " in page and dfx.report.html.thumbnail(images[17]) in page


def test_repr_html_is_the_page_in_an_isolated_frame(audited):
    """Jupyter and the docs gallery show the report through _repr_html_: the page whole, its
    styles and the user's label values escaped inside srcdoc, nothing of it outside the frame."""
    import html as html_module

    _, report = audited
    shown = report._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"") and shown.endswith("</iframe>")
    inner = shown[len('<iframe srcdoc="'):shown.index('" title=')]
    assert '"' not in inner and "<" not in inner                  # nothing leaks into the host page
    assert html_module.unescape(inner) == report.to_html()
    assert EVIL not in shown


def test_a_plan_shows_the_report_page_with_its_changes(audited):
    import html as html_module

    frame, report = audited
    plan = Pipeline([DropLabelIssues()]).fit(frame, "cultivar", report=report)
    shown = plan._repr_html_()
    inner = html_module.unescape(shown[len('<iframe srcdoc="'):shown.index('" title=')])
    assert inner == report.to_html(plan=plan) and inner != report.to_html()
