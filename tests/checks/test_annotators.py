"""Several annotators: reading their tables, the consensus, the audit's report, the Consensus step, the CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from cleanlab.multiannotator import get_label_quality_multiannotator
from sklearn.datasets import load_digits

import datafix as dfx
from datafix.checks.annotators import find_consensus
from datafix.cli import main
from datafix.data.annotations import Annotations, read_annotations
from datafix.errors import DatafixWarning, InvalidInputError
from datafix.signals import cross_val_pred_probs, knn_graph

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


def simulate(y, accuracies, shares, seed=0):
    """(n, A) codes of annotators with the given accuracies, each labelling a share of the samples;
    a wrong label goes to the class after the true one (a systematic confusion)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    codes = np.full((n, len(accuracies)), -1)
    for a, (accuracy, share) in enumerate(zip(accuracies, shares, strict=True)):
        labelled = rng.random(n) < share
        right = rng.random(n) < accuracy
        codes[labelled, a] = np.where(right, y, (y + 1 + rng.integers(0, 2, n)) % 10)[labelled]
    nobody = (codes < 0).all(axis=1)
    codes[nobody, 0] = y[nobody]
    return codes


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def annotated(digits):
    X, y = digits
    codes = simulate(y, [0.9, 0.7, 0.65, 0.6], [0.5, 0.6, 0.5, 0.4])
    long = pd.DataFrame([(i, f"a{a}", NAMES[codes[i, a]]) for i, a in zip(*np.nonzero(codes >= 0), strict=True)],
                        columns=["sample", "annotator", "label"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        report = dfx.audit(X, annotators=long, verbose=False)
    return X, y, codes, long, report


def test_long_wide_and_array_tables_read_alike():
    long = pd.DataFrame({"sample": ["r2", "r0", "r0", "r1", "r2"], "annotator": ["bo", "al", "bo", "al", "al"],
                         "label": ["dog", "cat", "cat", "dog", "cat"]})
    index = pd.Index(["r0", "r1", "r2"])
    a = read_annotations(long, index)
    assert a.annotators == ["bo", "al"] and a.classes.tolist() == ["cat", "dog"]
    assert a.codes.tolist() == [[0, 0], [-1, 1], [1, 0]]
    wide = pd.DataFrame({"bo": ["cat", None, "dog"], "al": ["cat", "dog", "cat"]}, index=index)
    assert read_annotations(wide, index).codes.tolist() == a.codes.tolist()
    shuffled = wide.iloc[[2, 0, 1]]  # aligned on the index, not by position
    assert read_annotations(shuffled, index).codes.tolist() == a.codes.tolist()
    array = [["cat", "cat"], [np.nan, "dog"], ["dog", "cat"]]
    assert read_annotations(array, index).codes.tolist() == a.codes.tolist()
    same_twice = pd.concat([long, long.iloc[:1]])  # the same label given twice is one label
    assert read_annotations(same_twice, index).codes.tolist() == a.codes.tolist()


def test_majority_vote_breaks_ties_by_the_given_scores():
    a = Annotations(np.array([[0, 1, -1], [2, 2, 1]]), np.arange(3), ["x", "y", "z"])
    assert a.majority_vote(tie_break=np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1]])).tolist() == [1, 2]
    assert a.majority_vote(tie_break=np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])).tolist() == [0, 2]


@pytest.mark.parametrize(("table", "message"), [
    (pd.DataFrame({"only": ["a", "b", "a"]}), "1 annotator"),
    (pd.DataFrame({"x": ["a", None, "b"], "y": ["a", None, "a"]}), r"labelled by no annotator: \[1\]"),
    (pd.DataFrame({"sample": [0, 0, 1, 2], "annotator": ["x", "x", "y", "x"], "label": ["a", "b", "a", "b"]}),
     r"conflicting labels .* sample 0 by annotator 'x': \['a', 'b'\]"),
    (pd.DataFrame({"sample": [0, 1, 2, 7], "annotator": ["x", "y", "x", "y"], "label": ["a", "b", "a", "b"]}),
     r"1 samples that are not in the data: \[7\]"),
    (pd.DataFrame({"x": ["a", "b", "a"], "y": [None, None, None], "z": ["a", "a", "b"]}), r"Annotators \['y'\]"),
    (pd.DataFrame({"x": ["a", "b"], "y": ["a", "a"]}, index=[5, 6]), "2 rows for 3 samples"),
    (pd.DataFrame({"x": [1.5, 2.0, 1.0], "y": [1.0, 2.0, 1.0]}), "non-integer floats"),
])
def test_bad_annotator_tables_are_refused_with_the_reason(table, message):
    with pytest.raises(InvalidInputError, match=message):
        read_annotations(table, pd.RangeIndex(3))


def test_integral_float_labels_are_classes():
    a = read_annotations(pd.DataFrame({"x": [1.0, 2.0, np.nan], "y": [1.0, 1.0, 2.0]}), pd.RangeIndex(3))
    assert a.classes.tolist() == [1, 2] and a.codes.tolist() == [[0, 0], [1, 0], [-1, 1]]


def test_consensus_beats_majority_vote_and_matches_cleanlab_on_the_same_predictions(digits):
    X, y = digits
    codes = simulate(y, [0.9, 0.7, 0.65, 0.6], [0.5, 0.6, 0.5, 0.4])
    annotations = Annotations(codes, np.arange(10), ["a", "b", "c", "d"])
    P = cross_val_pred_probs(X, annotations.majority_vote(), n_classes=10, verbose=False)
    majority = annotations.majority_vote(tie_break=P)
    samples, people = find_consensus(annotations, P, neighbors=knn_graph(X, 40, verbose=False))
    cleanlab = get_label_quality_multiannotator(annotations.wide(), P, verbose=False)["label_quality"]
    ours = (samples["consensus_label"].to_numpy() == y).mean()
    assert ours >= (majority == y).mean() + 0.05
    assert ours >= (cleanlab["consensus_label"].to_numpy() == y).mean()
    assert people["n_labelled"].tolist() == (codes >= 0).sum(axis=0).tolist()
    assert people["quality"].idxmax() == "a"  # the 0.9 annotator is rated best
    doubtful = samples["is_annotation_issue"].to_numpy()
    assert (samples["consensus_label"].to_numpy()[doubtful] != y[doubtful]).mean() > (
        samples["consensus_label"].to_numpy()[~doubtful] != y[~doubtful]).mean()


def test_audit_with_annotators_reports_consensus_in_the_users_values(annotated):
    X, y, codes, _, report = annotated
    issues = report.issues
    assert len(issues) == len(X)
    assert set(issues["consensus_label"]) <= set(NAMES) and set(issues["majority_label"]) <= set(NAMES)
    assert (issues["consensus_label"].to_numpy() == NAMES[y]).mean() > 0.95
    assert issues["n_annotations"].tolist() == (codes >= 0).sum(axis=1).tolist()
    table = report.tables["annotators"]
    assert sorted(table.index) == ["a0", "a1", "a2", "a3"] and set(table["worst_class"]) <= set(NAMES)
    assert report.signals["labels"] == "majority vote of 4 annotators"
    assert report.checks["annotators"].ran and "Consensus step" in report.checks["annotators"].advice
    assert "annotators" not in dfx.audit(X[:300], labels=y[:300], verbose=False).summary().query("status == 'ran'").index


def test_consensus_step_trains_on_the_consensus_and_undoes(annotated):
    X, y, _, _, report = annotated
    plan = dfx.fix.Pipeline([dfx.fix.Consensus()]).fit(X, report=report)
    labels = plan.samples["label"].to_numpy()
    assert (labels == report.issues["consensus_label"].to_numpy()).all()
    relabelled = plan.changes.index[plan.changes["action"] == "relabel"]
    assert len(relabelled) == int((report.issues["consensus_label"] != report.issues["majority_label"]).sum()) > 0
    assert (plan.changes["old_label"] == report.issues.loc[relabelled, "majority_label"]).all()
    undone = plan.undo("consensus").samples["label"].to_numpy()
    assert (undone == report.issues["majority_label"].to_numpy()).all()
    other = dfx.fix.Pipeline([dfx.fix.Consensus()]).fit(X.copy(), report=report)  # not the audited object
    assert (other.samples["label"].to_numpy() == labels).all()
    middle = float(plan.changes["score"].median())
    strict = dfx.fix.Pipeline([dfx.fix.Consensus(min_score=middle)]).fit(X, report=report)
    assert 0 < (strict.changes["action"] == "relabel").sum() < len(relabelled)
    assert (strict.changes["score"] >= middle).all()
    x, label = plan.dataset[0]
    assert plan.classes[label] == labels[0]


def test_audit_refuses_labels_and_annotators_together(annotated):
    X, y, _, long, _ = annotated
    with pytest.raises(InvalidInputError, match="'labels' and 'annotators'"):
        dfx.audit(X, labels=y, annotators=long)


def test_broken_rows_keep_their_place_in_the_annotator_columns(digits):
    X, y = digits
    X = X[:400].copy()
    X[3, 0] = np.nan
    wide = pd.DataFrame(simulate(y[:400], [0.9, 0.8, 0.7], [0.7, 0.7, 0.7]), columns=["p", "q", "r"]).replace(-1, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        report = dfx.audit(X, annotators=wide, nan_policy="drop", verbose=False)
    assert pd.isna(report.issues.loc[3, "consensus_label"]) and report.issues.loc[3, "is_broken"]
    assert report.issues["consensus_label"].notna().sum() == 399


def test_cli_audits_and_fixes_with_an_annotator_file(tmp_path, capsys, annotated):
    X, y, _, long, _ = annotated
    data = pd.DataFrame(X[:, :16], columns=[f"p{j}" for j in range(16)])
    data.insert(0, "id", [f"img{i}" for i in range(len(data))])
    data.to_csv(tmp_path / "data.csv", index=False)
    named = long.assign(sample=[f"img{i}" for i in long["sample"]])
    named.to_csv(tmp_path / "long.csv", index=False)
    args = ["--index-col", "id", "--annotators", str(tmp_path / "long.csv"), "-q"]
    assert main(["audit", str(tmp_path / "data.csv"), *args, "-o", str(tmp_path / "r.parquet")]) == 0
    assert "majority vote of 4 annotators" in capsys.readouterr().out
    written = pd.read_parquet(tmp_path / "r.parquet")
    assert written.index.name == "id" and "consensus_label" in written
    assert main(["fix", str(tmp_path / "data.csv"), *args, "-o", str(tmp_path / "fixed.csv")]) == 0
    out = capsys.readouterr().out
    assert "consensus" in out
    fixed = pd.read_csv(tmp_path / "fixed.csv", index_col="id")
    assert (fixed["label"] == written.loc[fixed.index, "consensus_label"]).mean() > 0.99
    assert main(["audit", str(tmp_path / "data.csv"), *args, "--label", "p0"]) == 2
    assert "Give --label (one label per row) or --annotators" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "data.csv"), "--annotators", str(tmp_path / "long.csv"), "-q"]) == 2
    assert "The --annotators table names" in capsys.readouterr().err


def test_annotators_name_columns_of_the_frame(digits):
    X, y = digits
    wide = pd.DataFrame(simulate(y[:300], [0.9, 0.8, 0.7], [0.7, 0.7, 0.7]), columns=["p", "q", "r"]).replace(-1, np.nan)
    table = pd.DataFrame(X[:300]).add_prefix("px").join(wide)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        by_name = dfx.audit(table, annotators=["p", "q", "r"], verbose=False)
        by_table = dfx.audit(table.drop(columns=["p", "q", "r"]), annotators=wide, verbose=False)
    pd.testing.assert_frame_equal(by_name.issues, by_table.issues)
    with pytest.raises(InvalidInputError, match="names columns, but the data is a ndarray"):
        dfx.audit(X[:300], annotators=["p", "q", "r"], verbose=False)
