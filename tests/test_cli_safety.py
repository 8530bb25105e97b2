"""The command line with real-looking tables and bad input: paths checked first, inputs never
overwritten, outputs atomic and faithful (dtypes, index, columns), errors in flags."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from datafix.cli import main


def customers(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A churn table as users have them: an ID, numbers, a category, dates as text, free text."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "customer_id": [f"C{100000 + i}" for i in range(n)],
        "age": rng.integers(18, 80, n),
        "spend": (x * 30 + 100).round(2),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "signup": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
        "y": np.where(x + rng.normal(scale=0.3, size=n) > 0.5, "churn", "stay"),
    })


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "data.csv"
    customers().to_csv(path, index=False)
    return path


def test_fix_refuses_to_overwrite_its_input_and_leaves_it_intact(table, capsys):
    before = table.read_bytes()
    assert main(["fix", str(table), "--label", "y", "-o", str(table), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is the input PATH file" in err and "never overwrites" in err
    link = table.parent / "alias.csv"
    os.symlink(table, link)  # the same file under another name
    assert main(["fix", str(table), "--label", "y", "-o", str(link), "-q"]) == 2
    assert table.read_bytes() == before


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "{d}/report.txt"], "-o/--output '{d}/report.txt': cannot tell the format from its ending '.txt'"),
    (["-o", "{d}/missing/report.json"], "the folder '{d}/missing' does not exist"),
    (["-o", "{d}"], "is a folder; give a file name inside it"),
    (["--html", "{d}/page.htm"], "--html '{d}/page.htm': --html writes a self-contained HTML page only"),
    (["-o", "{d}/r.html", "--html", "{d}/r.html"], "--html and -o/--output name the same file"),
    (["--fail-on", "labels=0.1"], "unknown check 'labels'"),
    (["--fail-on", "label=1.5"], "SHARE in [0, 1]"),
])
def test_audit_checks_every_output_before_any_work(table, tmp_path, capsys, monkeypatch, args, message):
    import importlib

    def no_audit(*a, **k):
        raise AssertionError("the audit ran before the paths were checked")

    monkeypatch.setattr(importlib.import_module("datafix.audit"), "audit", no_audit)
    args = [a.format(d=tmp_path) for a in args]
    assert main(["audit", str(table), "--label", "y", "-q", *args]) == 2
    assert message.format(d=tmp_path) in capsys.readouterr().err


def test_fix_checks_its_report_path_before_writing_the_table(table, tmp_path, capsys):
    out = tmp_path / "clean.parquet"
    assert main(["fix", str(table), "--label", "y", "-o", str(out), "--report", str(tmp_path / "no" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()


def test_outputs_are_written_atomically(table, tmp_path, monkeypatch):
    """A writer that fails half-way leaves no partial file and keeps the old one."""
    out = tmp_path / "clean.csv"
    out.write_text("old,content\n")

    def broken_to_csv(self, path, *args, **kwargs):
        with open(path, "w") as f:
            f.write("half a tab")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    assert main(["fix", str(table), "--label", "y", "-o", str(out), "-q"]) == 2
    assert out.read_text() == "old,content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.csv", "data.csv"]


def test_outputs_get_ordinary_permissions_not_the_temporary_files(table, tmp_path):
    """Atomic writes go through a 0o600 temporary file; the output must not stay owner-only."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        new = tmp_path / "clean.csv"
        assert main(["fix", str(table), "--label", "y", "-o", str(new), "-q", "--report", str(tmp_path / "r.html")]) == 0
        assert stat.S_IMODE(new.stat().st_mode) == 0o644 and stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o644
        new.chmod(0o640)  # a replaced file keeps its own permissions
        assert main(["fix", str(table), "--label", "y", "-o", str(new), "-q"]) == 0
        assert stat.S_IMODE(new.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_csv_round_trip_keeps_columns_and_adds_no_index(table, tmp_path, capsys):
    out = tmp_path / "clean.csv"
    assert main(["fix", str(table), "--label", "y", "-o", str(out), "-q"]) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == list(pd.read_csv(table).columns)  # no unnamed row-number column
    line = capsys.readouterr().out.splitlines()[-1]
    assert f"of 200 rows kept, {200 - len(written)} dropped, 0 synthetic added" in line


def test_csv_with_an_index_column_keeps_it_by_name(table, tmp_path):
    out = tmp_path / "clean.csv"
    assert main(["fix", str(table), "--label", "y", "--index-col", "customer_id", "-o", str(out), "-q"]) == 0
    assert pd.read_csv(out).columns[0] == "customer_id"


def test_actions_line_counts_what_is_written(table, tmp_path, capsys):
    out = tmp_path / "marked.csv"
    assert main(["fix", str(table), "--label", "y", "--actions", "-o", str(out), "-q"]) == 0
    assert len(pd.read_csv(out)) == 200
    assert "all 200 rows written, marked in datafix_action" in capsys.readouterr().out


def test_repeated_index_col_is_refused_by_name(tmp_path, capsys):
    df = customers(60)
    df["group"] = np.arange(60) // 3
    path = tmp_path / "dupid.csv"
    df.to_csv(path, index=False)
    assert main(["audit", str(path), "--label", "y", "--index-col", "group", "-o", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "--index-col 'group' repeats 20 values (0, 1, 2, 3, 4 ...)" in err and "leave --index-col out" in err
    assert not (tmp_path / "r.json").exists()


def test_synthesize_config_writes_parquet_with_a_source_column(table, tmp_path, capsys):
    config = tmp_path / "p.yaml"
    config.write_text("steps:\n  - step: synthesize\n    method: copula\n")
    out = tmp_path / "more.parquet"
    assert main(["fix", str(table), "--label", "y", "--config", str(config), "-o", str(out), "-q"]) == 0
    back = pd.read_parquet(out)
    real = back["datafix_source"] == "real"
    assert real.sum() == 200 and (~real).sum() > 0 and back.index.is_unique
    assert back.loc[~real, "customer_id"].isna().all()  # no copied keys
    assert back["age"].dtype == np.int64 and back["y"].dtype == pd.read_csv(table)["y"].dtype
    assert f"200 of 200 rows kept, 0 dropped, {(~real).sum()} synthetic added" in capsys.readouterr().out


def test_malformed_yaml_names_the_file_and_line(table, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("steps:\n  - step: drop_broken\n   bad: [\n")
    assert main(["fix", str(table), "--label", "y", "--config", str(config), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{config}" in err and "line 3" in err and "<unicode string>" not in err and "Traceback" not in err


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty: it has no header and no rows"),
    ("a,y\n", "has a header but no rows"),
])
def test_empty_tables_name_the_file(tmp_path, capsys, content, message):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    assert main(["audit", str(path), "--label", "y"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err


def test_a_table_with_only_the_label_column_is_audited(tmp_path, capsys):
    path = tmp_path / "only.csv"
    pd.DataFrame({"y": ["a", "b"] * 20}).to_csv(path, index=False)
    assert main(["audit", str(path), "--label", "y", "-q"]) == 0
    assert "skipped (no pred_probs were given and there are no features" in capsys.readouterr().out


def test_errors_speak_in_flags(tmp_path, capsys):
    df = customers(80)
    df.loc[3, "spend"] = np.nan
    path = tmp_path / "nan.csv"
    df.to_csv(path, index=False)
    assert main(["audit", str(path), "--label", "y", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--nan-policy drop" in err and "nan_policy=" not in err
    df = customers(80).assign(y=[f"u{i}" for i in range(80)])
    df.to_csv(path, index=False)
    assert main(["audit", str(path), "--label", "y", "-q"]) == 2
    err = capsys.readouterr().err
    assert "distinct value for every sample" in err and "ID" in err and "--label" in err


def test_pred_probs_and_features_files(table, tmp_path, capsys):
    n = 200
    rng = np.random.default_rng(0)
    P = rng.dirichlet([1, 1], size=n)
    np.save(tmp_path / "p.npy", P)
    np.save(tmp_path / "f.npy", rng.normal(size=(n, 4)))
    np.save(tmp_path / "short.npy", P[:10])
    out = tmp_path / "r.json"
    assert main(["audit", str(table), "--label", "y", "-q", "--pred-probs", str(tmp_path / "p.npy"),
                 "--features", str(tmp_path / "f.npy"), "-o", str(out)]) == 0
    assert "pred_probs: given" in capsys.readouterr().out
    assert main(["audit", str(table), "--label", "y", "-q", "--pred-probs", str(tmp_path / "short.npy")]) == 2
    assert "--pred-probs" in capsys.readouterr().err


def test_warnings_print_once_in_words_and_quiet_silences_them(table, tmp_path, capfd):
    out = tmp_path / "clean.csv"
    assert main(["fix", str(table), "--label", "y", "-o", str(out)]) == 0
    err = capfd.readouterr().err
    assert err.count("datafix: warning: Column 'customer_id' holds one identifier per row") == 1 and ".py:" not in err
    assert main(["fix", str(table), "--label", "y", "-o", str(out), "-q"]) == 0
    assert "warning" not in capfd.readouterr().err


def test_fail_on_is_a_quality_gate(table, tmp_path, capsys):
    assert main(["audit", str(table), "--label", "y", "-q", "--fail-on", "label=0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("datafix: quality gate failed: label flags") and "(more than 0.0%)" in err
    assert main(["audit", str(table), "--label", "y", "-q", "--fail-on", "label=100%", "--fail-on", "null=0.5"]) == 0


def test_audit_an_image_folder_with_html(tmp_path, capsys):
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(12):
            base = 40 if c == "cat" else 200
            pixels = np.clip(rng.normal(base, 20, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i}.png")
    Image.new("L", (16, 16), 0).save(root / "cat" / "dark.png")
    (root / "dog" / "broken.png").write_bytes(b"not a png")
    page = tmp_path / "audit.html"
    assert main(["audit", str(root), "-q", "--html", str(page)]) == 0
    text = capsys.readouterr().out
    assert "26 samples" in text and "broken" in text
    html = page.read_text()
    assert "cat/dark.png" in html and "<img" in html
    assert main(["audit", str(root), "--label", "y"]) == 2
    assert "leave out --label" in capsys.readouterr().err
