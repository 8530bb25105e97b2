"""Label errors in multilabel data: per label missing (+) or spurious (-), pooled with kNN votes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cleanlab.multilabel_classification.filter import find_label_issues as cleanlab_multilabel

import datafix as dfx
from datafix.checks import find_multilabel_issues
from datafix.errors import InvalidInputError
from datafix.fix import Pipeline, Relabel
from datafix.signals import knn_graph, multilabel_pred_probs


def blobs_with_tags(n: int = 600, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Three well-separated groups in 2-D; each group has its own set of tags."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    X = rng.normal(scale=0.4, size=(n, 2)) + np.array([[0, 0], [4, 0], [0, 4]])[group]
    tags = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])[group]
    return X, pd.DataFrame(tags, columns=["cat", "indoor", "dog", "outdoor"])


def test_the_audit_finds_missing_and_spurious_labels_and_names_them():
    X, Y = blobs_with_tags()
    noisy = Y.copy()
    noisy.loc[3, "cat"] = 1 - noisy.loc[3, "cat"]
    noisy.loc[10, "outdoor"] = 1 - noisy.loc[10, "outdoor"]
    report = dfx.audit(X, multilabel=noisy, verbose=False)
    flagged = report.flagged("label")
    assert {3, 10} <= set(flagged.index) and len(flagged) <= 6
    expected = {3: ("-" if noisy.loc[3, "cat"] else "+") + "cat", 10: ("-" if noisy.loc[10, "outdoor"] else "+") + "outdoor"}
    for i, text in expected.items():
        assert report.issues.loc[i, "suspect_labels"] == text and report.issues.loc[i, "n_suspect_labels"] == 1
    assert "one model per label" in report.signals["pred_probs"]
    assert "per label" in report.checks["label"].rule and "missing (+) or spurious (-)" in report.checks["label"].rule
    assert Y.equals(blobs_with_tags()[1])  # the input is untouched
    page = report.to_html()
    assert "Label issues" in page and expected[3] in page


def test_given_per_label_probabilities_are_used_and_checked():
    X, Y = blobs_with_tags(300)
    P = np.clip(Y.to_numpy() * 0.9 + 0.05, 0, 1)
    noisy = Y.copy()
    noisy.loc[0, "dog"] = 1 - noisy.loc[0, "dog"]
    report = dfx.audit(X, multilabel=noisy, pred_probs=P, verbose=False)
    assert report.signals["pred_probs"] == "given" and bool(report.issues.loc[0, "is_label_issue"])
    with pytest.raises(InvalidInputError, match=r"shape \(n_samples, n_labels\) = \(300, 4\)"):
        dfx.audit(X, multilabel=noisy, pred_probs=P[:, :3], verbose=False)
    with pytest.raises(InvalidInputError, match=r"values above 1 in rows \[0\].*sigmoid outputs"):
        dfx.audit(X, multilabel=noisy, pred_probs=np.where(np.arange(300)[:, None] == 0, 3.0, P), verbose=False)


def test_a_multilabel_matrix_that_is_not_0_1_is_refused():
    X, Y = blobs_with_tags(50)
    with pytest.raises(InvalidInputError, match="multilabel"):
        dfx.audit(X, multilabel=Y * 2, verbose=False)


def test_relabel_says_it_needs_one_label_per_sample():
    X, Y = blobs_with_tags(200)
    report = dfx.audit(X, multilabel=Y, verbose=False)
    with pytest.raises(InvalidInputError, match="Relabel sets one suggested label per sample; this report is multilabel"):
        Pipeline([Relabel()]).fit(X, report=report)


def test_kNN_votes_beat_cleanlab_alone_on_the_same_probabilities():
    """Tags that follow the neighbourhood: the votes recover errors the per-label model misses."""
    X, Y = blobs_with_tags(900, seed=1)
    rng = np.random.default_rng(1)
    given = Y.to_numpy().copy()
    wrong = rng.choice(900, 60, replace=False)
    given[wrong, rng.integers(0, 4, 60)] ^= 1
    P = multilabel_pred_probs(X, given, verbose=False)
    ours = find_multilabel_issues(given, P, neighbors=knn_graph(X, k_neighbors=40))["is_label_issue"].to_numpy()
    theirs = np.zeros(900, bool)
    theirs[cleanlab_multilabel([list(np.flatnonzero(r)) for r in given], P, return_indices_ranked_by="self_confidence")] = True
    truth = np.zeros(900, bool)
    truth[wrong] = True
    f1 = [2 * (f & truth).sum() / (f.sum() + truth.sum()) for f in (ours, theirs)]
    assert f1[0] >= f1[1] and f1[0] > 0.8
