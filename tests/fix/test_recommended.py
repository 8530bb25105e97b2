"""The recommended fix (issue 39, point 3): one table, RECOMMENDED_FIX, that Pipeline.recommended
builds, the report's advice says and the CLI's fix runs by default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_wine

import datafix as dfx
from datafix.checks.advice import RECOMMENDED_FIX
from datafix.cli import main
from datafix.fix import Pipeline


def steps_of(report) -> list[str]:
    return [s.name for s in Pipeline.recommended(report).steps]


def advised(report) -> list[str]:
    line = next(x for x in report.render().splitlines() if x.startswith("  fix: "))
    return [part.split(" (")[0] for part in line.removeprefix("  fix: Pipeline.recommended(report): ").split(" > ")]


def test_every_advised_step_is_a_fix_step():
    from datafix.fix.steps import STEPS

    assert {s.config["step"] for s in RECOMMENDED_FIX} <= set(STEPS)


def test_a_balanced_table_gets_the_drops_and_the_report_says_the_same_pipeline():
    data = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0)
    report = dfx.audit(data.X, labels=data.y, verbose=False)
    assert steps_of(report) == ["drop_broken", "drop_label_issues", "drop_near_duplicates"]
    assert advised(report) == steps_of(report)


def test_a_long_tail_adds_the_logit_adjusted_loss():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), max(5, int(170 * 10 ** (-c / 9))), replace=False)
                           for c in range(10)])
    report = dfx.audit(X[keep], labels=y[keep], verbose=False)
    assert steps_of(report)[-1] == "adjust_logits" and advised(report) == steps_of(report)
    plan = Pipeline.recommended(report).fit(X[keep], y[keep], report=report)
    assert type(plan.loss).__name__ == "LogitAdjustedLoss"


def test_a_regression_target_gets_no_logit_adjusted_loss():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    report = dfx.audit(X, labels=y, task="regression", verbose=False)
    assert steps_of(report) == ["drop_broken", "drop_label_issues", "drop_near_duplicates"]  # doubtful targets


def test_annotators_add_their_consensus():
    wine = load_wine(as_frame=True).frame
    rng = np.random.default_rng(0)
    votes = pd.DataFrame({f"a{i}": np.where(rng.random(len(wine)) < 0.2, (wine["target"] + 1) % 3, wine["target"])
                          for i in range(3)})
    report = dfx.audit(wine.drop(columns="target"), annotators=votes, verbose=False)
    assert steps_of(report)[:2] == ["drop_broken", "consensus"] and advised(report) == steps_of(report)


def test_the_cli_fix_runs_the_recommended_pipeline(tmp_path, capsys):
    data = dfx.datasets.load_noisy("wine", noise=0.15, random_state=0)
    frame = pd.DataFrame(data.X, columns=[f"x{j}" for j in range(data.X.shape[1])]).assign(label=data.y)
    frame.to_csv(tmp_path / "wine.csv", index=False)
    assert main(["fix", str(tmp_path / "wine.csv"), "--label", "label", "-o", str(tmp_path / "out.csv"), "-q"]) == 0
    written = pd.read_csv(tmp_path / "out.csv")
    report = dfx.audit(frame, labels="label", verbose=False)
    plan = Pipeline.recommended(report).fit(frame, "label", report=report)
    assert len(written) == len(plan.to_frame()) < len(frame)


@pytest.mark.parametrize("args, message", [
    (["--weights", "w.pth"], "--weights goes with --features MODEL"),
    (["--features", "resnet18"], "a model name applies to image folders"),
])
def test_cli_feature_model_flags_are_checked(tmp_path, capsys, args, message):
    load_wine(as_frame=True).frame.to_csv(tmp_path / "w.csv", index=False)
    (tmp_path / "w.pth").write_bytes(b"")
    args = [a if a != "w.pth" else str(tmp_path / "w.pth") for a in args]
    assert main(["audit", str(tmp_path / "w.csv"), "--label", "target", "-q", *args]) == 2
    assert message in capsys.readouterr().err
