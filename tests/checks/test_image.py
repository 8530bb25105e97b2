"""An image folder with every kind of bad image the audit must survive and report."""

import numpy as np
import pytest
from PIL import Image, ImageFilter

import datafix as dfx


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (root / c).mkdir()
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / c / f"ok{i}.png")
    d = root / "cat"
    Image.fromarray(rng.integers(0, 12, (48, 64, 3), dtype=np.uint8)).save(d / "dark.png")
    Image.fromarray(rng.integers(243, 256, (48, 64, 3), dtype=np.uint8)).save(d / "bright.png")
    Image.new("RGB", (64, 48), (120, 120, 120)).save(d / "flat.png")
    sharp = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    sharp.filter(ImageFilter.GaussianBlur(6)).save(d / "blurry.png")
    Image.new("RGB", (1, 1), (10, 200, 30)).save(d / "tiny.png")
    Image.fromarray(rng.integers(0, 255, (10, 20000, 3), dtype=np.uint8)).save(d / "wide.png")
    Image.fromarray(rng.integers(0, 255, (48, 64), dtype=np.uint8), mode="L").save(d / "gray.png")
    (d / "empty.png").write_bytes(b"")
    (d / "text.jpg").write_text("this is not an image")
    raw = (d / "ok0.png").read_bytes()
    (d / "truncated.png").write_bytes(raw[: len(raw) // 3])
    buf = d / "ok1.jpg"
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, quality=90)
    (d / "cut.jpg").write_bytes(buf.read_bytes()[:200])
    (d / "copy.png").write_bytes((root / "dog" / "ok3.png").read_bytes())
    return root


@pytest.fixture(scope="module")
def report(folder):
    return dfx.audit(folder, image_size=16, verbose=False)


def test_unreadable_files_are_broken_not_a_crash(report):
    broken = report.issues.index[report.issues["is_broken"]].tolist()
    assert sorted(broken) == ["cat/cut.jpg", "cat/empty.png", "cat/text.jpg", "cat/truncated.png"]
    assert report.issues.loc["cat/empty.png", "broken_reason"].startswith("UnidentifiedImageError")


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ("dark", ["cat/dark.png"]),
        ("overexposed", ["cat/bright.png"]),
        ("low_information", ["cat/flat.png", "cat/tiny.png"]),
        ("blurry", ["cat/blurry.png"]),
        ("odd_size", ["cat/tiny.png", "cat/wide.png"]),
        ("odd_aspect_ratio", ["cat/wide.png"]),
        ("odd_mode", ["cat/gray.png"]),
    ],
)
def test_each_image_problem_is_flagged(report, check, expected):
    assert sorted(report.flagged(check).index) == expected
    assert report.checks[check].rule


def test_identical_files_are_exact_duplicates(report):
    issues = report.issues
    assert issues.loc["cat/copy.png", "is_exact_duplicate"] and issues.loc["dog/ok3.png", "is_exact_duplicate"]
    assert issues.loc["cat/copy.png", "duplicate_group"] == issues.loc["dog/ok3.png", "duplicate_group"]


def test_image_statistics_are_read_with_dataloader_workers(folder):
    serial = dfx.data.from_image_folder(folder, image_size=8, num_workers=0, verbose=False)
    parallel = dfx.data.from_image_folder(folder, image_size=8, num_workers=2, verbose=False)
    assert serial.broken == parallel.broken
    np.testing.assert_array_equal(serial.hashes, parallel.hashes)
    assert serial.image_stats.equals(parallel.image_stats)
    np.testing.assert_array_equal(serial.features, parallel.features)
