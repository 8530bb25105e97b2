import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import datafix as dfx
from datafix.cli import main


def test_demo_prints_summary_and_scores_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo.json"
    page = tmp_path / "demo.html"
    assert main(["demo", "-q", "-o", str(out), "--html", str(page), "--noise", "0.2"]) == 0
    text = capsys.readouterr().out
    scores = next(ln for ln in text.splitlines() if ln.startswith("logistic regression on 75 %"))
    raw = float(scores.split("raw labels ")[1].split(",")[0])
    fixed = float(scores.split("fixed data ")[1].split(" ")[0])
    assert fixed > raw, scores
    assert "What the plan changed" in page.read_text()
    for check in ("label", "outlier", "duplicate"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"{check} check: precision"))
        recall = float(line.split("recall ")[1].split(",")[0])
        assert recall > 0.85, line
    label_line = next(ln for ln in text.splitlines() if ln.strip().startswith("label check"))
    assert float(label_line.split("precision ")[1].split(",")[0]) > 0.9
    data = json.loads(out.read_text())
    assert data["format"] == "datafix.report/1"
    assert data["summary"][1]["issue"] == "label"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_audit_a_table_file(tmp_path, capsys, suffix):
    df = dfx.datasets.load_noisy("wine", noise=0.1, random_state=0).frame("target")
    path = tmp_path / f"wine{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    report_path = tmp_path / "report.parquet"
    assert main(["audit", str(path), "--label", "target", "-q", "-o", str(report_path)]) == 0
    assert "label" in capsys.readouterr().out
    back = pd.read_parquet(report_path)
    assert len(back) == len(df) and back["is_label_issue"].astype(bool).sum() > 0


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["audit", str(tmp_path / "missing.csv"), "--label", "y"]) == 2
    assert "no such file" in capsys.readouterr().err
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": np.arange(6.0), "y": [0, 1] * 3}).to_csv(path, index=False)
    assert main(["audit", str(path), "--label", "target", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datafix: error:") and "column 'target'" in err and "Traceback" not in err


@pytest.mark.slow  # new Python processes importing torch: 14-17 s
def test_console_script_help_and_version():
    version = subprocess.run([sys.executable, "-m", "datafix", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"datafix {dfx.__version__}"
    helptext = subprocess.run([sys.executable, "-m", "datafix", "--help"], capture_output=True, text=True, check=True)
    assert "audit" in helptext.stdout and "demo" in helptext.stdout


def test_audit_with_a_test_table_reports_leakage(tmp_path, capsys):
    df = dfx.datasets.load_noisy("wine", random_state=0).frame("target")
    df.iloc[:150].to_csv(tmp_path / "train.csv", index=False)
    df.iloc[140:].to_csv(tmp_path / "test.csv", index=False)  # 10 rows overlap
    assert main(["audit", str(tmp_path / "train.csv"), "--label", "target", "--test", str(tmp_path / "test.csv"), "-q"]) == 0
    assert "leakage: 10 of 38 test samples copy a training sample" in capsys.readouterr().out


def test_fix_writes_the_kept_rows_and_an_html_report(tmp_path, capsys):
    import pandas as pd

    import datafix as dfx
    from datafix.cli import main

    data = dfx.datasets.load_noisy("wine", noise=0.15, random_state=1)
    frame = data.frame("cultivar")
    path = tmp_path / "wine.csv"
    frame.to_csv(path, index=False)
    out, page = tmp_path / "clean.parquet", tmp_path / "report.html"
    assert main(["fix", str(path), "--label", "cultivar", "-o", str(out), "--report", str(page), "-q"]) == 0
    fixed = pd.read_parquet(out)
    text = capsys.readouterr().out
    assert 0 < len(fixed) < len(frame) and f"{len(fixed)} of {len(frame)} rows kept" in text
    assert "What the plan changed" in page.read_text()
    config = tmp_path / "p.yaml"
    config.write_text("steps:\n  - step: relabel\n    min_confidence: 0.5\n")
    marked = tmp_path / "marked.csv"
    assert main(["fix", str(path), "--label", "cultivar", "-o", str(marked), "--config", str(config),
                 "--actions", "-q"]) == 0
    assert "datafix_action" in pd.read_csv(marked).columns and len(pd.read_csv(marked)) == len(frame)
    config.write_text("steps:\n  - step: shuffle\n")
    assert main(["fix", str(path), "--label", "cultivar", "-o", str(marked), "--config", str(config), "-q"]) == 2
    assert "Unknown step 'shuffle'" in capsys.readouterr().err
    assert main(["fix", str(path), "--label", "cultivar", "-o", str(tmp_path / "x.txt"), "-q"]) == 2


def test_audit_writes_html(tmp_path):
    import datafix as dfx
    from datafix.cli import main

    data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    path = tmp_path / "iris.csv"
    data.frame("species").to_csv(path, index=False)
    page = tmp_path / "a.html"
    assert main(["audit", str(path), "--label", "species", "--html", str(page), "-q"]) == 0
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_the_duplicate_gate_sees_rows_that_differ_only_in_the_written_index(tmp_path, capsys):
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    pd.concat([wine, wine.iloc[:5]], ignore_index=True).to_csv(tmp_path / "wine.csv")  # index as "Unnamed: 0"
    status = main(["audit", str(tmp_path / "wine.csv"), "--label", "target", "--fail-on", "duplicate=0"])
    err = capsys.readouterr().err
    assert status == 1 and "duplicate flags 5.5% of the samples" in err
    assert "'Unnamed: 0' holds one identifier per row" in err and "--index-col 'Unnamed: 0'" in err
    assert main(["audit", str(tmp_path / "wine.csv"), "--label", "target", "--index-col", "Unnamed: 0", "-q",
                 "--fail-on", "duplicate=0"]) == 1


def test_pred_probs_for_a_class_the_table_misses_need_classes(tmp_path, capsys):
    from sklearn.datasets import load_breast_cancer

    table = load_breast_cancer(as_frame=True).frame
    table.to_csv(tmp_path / "cancer.csv", index=False)
    probs = np.full((len(table), 3), 1 / 3)
    np.save(tmp_path / "p.npy", probs)
    args = ["audit", str(tmp_path / "cancer.csv"), "--label", "target", "--pred-probs", str(tmp_path / "p.npy"), "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "The --pred-probs file has 3 columns but the labels have 2 classes" in err
    assert "--classes 0,1,2" in err and "classes=" not in err
    assert main([*args, "--classes", "0,1,2"]) == 0


def test_fix_counts_every_dropped_row_under_a_step(tmp_path, capsys):
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine["target"] = wine["target"].astype(float)
    wine.loc[[7, 8], "target"] = np.nan  # unlabelled: a plan cannot train on them
    wine.to_csv(tmp_path / "wine.csv", index=False)
    (tmp_path / "none.yaml").write_text("steps: []\n")
    assert main(["fix", str(tmp_path / "wine.csv"), "--label", "target", "-o", str(tmp_path / "out.csv"), "-q",
                 "--config", str(tmp_path / "none.yaml")]) == 0
    out = capsys.readouterr().out
    assert "no changes" not in out and re.search(r"^unlabelled\s+2 ", out, re.M)
    assert "176 of 178 rows kept, 2 dropped" in out and len(pd.read_csv(tmp_path / "out.csv")) == 176
    wine.loc[3, "alcohol"] = np.nan
    wine.to_csv(tmp_path / "wine.csv", index=False)
    assert main(["fix", str(tmp_path / "wine.csv"), "--label", "target", "-o", str(tmp_path / "out.csv"), "-q"]) == 2
    assert "--nan-policy impute to fill them" in capsys.readouterr().err


def test_skip_notes_name_flags(tmp_path, capsys):
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine[["target"]].assign(name=[f"bottle {i}" for i in range(len(wine))]).to_csv(tmp_path / "w.csv", index=False)
    assert main(["audit", str(tmp_path / "w.csv"), "--label", "target", "-q"]) == 0  # no feature column: a name only
    out = capsys.readouterr().out
    assert ("skipped (no pred_probs were given and there are no features to compute them from: pass --features "
            "FILE.npy or --pred-probs FILE.npy): label") in out
    assert "skipped (no features for a neighbour graph: pass --features FILE.npy" in out


@pytest.mark.parametrize("command", ["audit", "fix", "demo"])
def test_help_says_percent_once(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "%%" not in text
    if command == "audit":
        assert "more than 5% of the samples" in " ".join(text.split())


def test_report_flag_says_it_writes_html_only(tmp_path, capsys):
    wine = dfx.datasets.load_noisy("wine", random_state=0).frame("target")
    wine.to_csv(tmp_path / "wine.csv", index=False)
    report = tmp_path / "r.json"
    assert main(["fix", str(tmp_path / "wine.csv"), "--label", "target", "-o", str(tmp_path / "out.csv"),
                 "--report", str(report), "-q"]) == 2
    err = capsys.readouterr().err
    assert "--report writes a self-contained HTML page only" in err and repr(str(tmp_path / "r.html")) in err
    assert "datafix audit PATH -o report.json" in err and not report.exists()


def test_fix_on_a_folder_says_it_takes_tables_and_names_the_python_api(tmp_path, capsys):
    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    assert main(["fix", str(tmp_path / "imgs"), "-o", str(tmp_path / "out.csv"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is a folder: datafix fix takes a table (.csv, .tsv or .parquet)" in err
    assert "Pipeline([DropBroken(), DropLabelIssues()]).fit(" in err and "plan.dataset" in err


def test_fix_without_features_names_the_flags_not_python(tmp_path, capsys):
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine[["target"]].assign(name=[f"bottle {i}" for i in range(len(wine))]).to_csv(tmp_path / "w.csv", index=False)
    assert main(["fix", str(tmp_path / "w.csv"), "--label", "target", "-o", str(tmp_path / "o.csv"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Give --features FILE.npy or --pred-probs FILE.npy from your own model" in err and "--config" in err
    assert "feature module" not in err and "features=" not in err


@pytest.mark.slow  # new Python processes importing torch: 14-17 s
def test_a_reader_that_stops_early_ends_the_output_quietly(tmp_path):
    """``datafix audit ... | head``: no 'Broken pipe' error, the report is still written, exit as the gate says."""
    wine = dfx.datasets.load_noisy("wine", noise=0.1, random_state=0).frame("target")
    wine.to_csv(tmp_path / "wine.csv", index=False)
    out = tmp_path / "report.json"
    command = [sys.executable, "-m", "datafix", "audit", str(tmp_path / "wine.csv"), "--label", "target", "-q",
               "-o", str(out)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdout.close()  # the reader is gone before the first line
    err = run.stderr.read().decode()
    assert run.wait(timeout=300) == 0, err
    assert err == "" and out.exists()
    piped = subprocess.run(shlex.join(command) + " | head -1", shell=True, capture_output=True, text=True,
                           timeout=300)
    assert piped.stdout == "datafix audit: 178 samples\n" and piped.stderr == ""
