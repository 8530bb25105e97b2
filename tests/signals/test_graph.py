"""The graph contract (issue 41, point 3): ``k`` is what the graph serves, ``nearest(k)`` is how
checks read neighbours, and a graph whose rows live elsewhere overrides the methods that read all
of them."""

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import datafix as dfx
from datafix.checks import CHECKS, resolve_checks
from datafix.data.view import DataView
from datafix.report.assemble import run_checks
from datafix.scale.sharded_graph import ShardedGraph
from datafix.signals import HeldOutSet, KNNGraph, Signals, knn_graph

SRC = Path(dfx.__file__).parent


def _sharded(local: KNNGraph, calls: list) -> ShardedGraph:
    """A ShardedGraph whose 'cluster' is ``local``, recording what is fetched and cast there."""

    def fetch(k):
        calls.append(("fetch", k))
        return local.nearest(k)

    def votes(v, smoothing):
        calls.append(("votes", local.k))
        return local.label_votes(v, smoothing=smoothing)

    return ShardedGraph(local.k, local.metric, local.knn_backend, fetch=fetch, votes=votes,
                        median=lambda v, skip, fallback: local.neighbor_median(v, skip=skip, fallback=fallback),
                        pairs=local.close_pairs)


def test_sharded_graph_k_is_what_it_serves():
    """``k`` is the neighbours per row; ``indices`` and ``nearest(j)`` hold exactly that many columns
    (main: ``k`` said 40 while ``indices`` held the driver's 10 or 11)."""
    X = np.random.default_rng(0).normal(size=(60, 3))
    local, calls = knn_graph(X, 12), []
    g = _sharded(local, calls)
    assert g.k == 12 and g.nearest(12) is g and g.nearest(40) is g
    for j in (1, 5, 11):
        near = g.nearest(j)
        assert type(near) is KNNGraph and near.k == j and near.indices.shape == (60, j)
        np.testing.assert_array_equal(near.indices, local.indices[:, :j])
    assert g.indices.shape == (60, g.k) and g.distances.shape == (60, g.k)
    np.testing.assert_array_equal(g.indices, local.indices)
    assert calls == [("fetch", 1), ("fetch", 5), ("fetch", 11), ("fetch", 12)]  # the widest held serves the rest


def test_a_graph_subclass_that_overrides_the_votes_is_used_by_the_label_check():
    """The label votes are a graph method: the label check casts them through the override."""
    X, y = np.random.default_rng(1).normal(size=(80, 2)), np.arange(80) % 2
    local, calls = knn_graph(X, 8), []
    P = np.full((80, 2), 0.5)
    out = CHECKS["label"].func(Signals(y, 2, pred_probs=P, neighbors=_sharded(local, calls), k_neighbors=8,
                                       verbose=False))
    expected = CHECKS["label"].func(Signals(y, 2, pred_probs=P, neighbors=local, k_neighbors=8, verbose=False))
    assert ("votes", 8) in calls and not any(c[0] == "fetch" for c in calls)  # cast on the 'cluster', none fetched
    pd.testing.assert_frame_equal(out.columns, expected.columns)
    assert out.rule == expected.rule


def test_graph_methods_match_their_definitions():
    g = KNNGraph(np.array([[1, 2], [0, 2], [0, 1]]), np.array([[0.1, 1.0], [0.1, 2.0], [1.0, 2.0]]), "euclidean")
    votes = g.label_votes(np.eye(2)[[0, 1, 1]], smoothing=0.0)
    assert votes.sum(axis=1) == pytest.approx(1.0)
    assert g.neighbor_median(np.array([1.0, 5.0, 9.0]), skip=np.array([False, True, False]),
                             fallback=np.zeros(3)).tolist() == [9.0, 1.0, 1.0]
    assert g.close_pairs(0.5).tolist() == [[0, 1], [1, 0]]


def test_no_graph_is_detected_by_its_attributes():
    """No ``hasattr`` on a graph: the methods are the contract (main: label.py and regression.py
    asked ``hasattr(graph, ...)``)."""
    for path in [*(SRC / "checks").glob("*.py"), SRC / "signals" / "graph.py", SRC / "scale" / "sharded_graph.py",
                 SRC / "scale" / "blocks.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hasattr":
                raise AssertionError(f"{path.name}:{node.lineno} detects a type with hasattr")


def test_the_graph_holds_what_the_checks_that_run_read():
    X, y = dfx.datasets.load_noisy("iris", noise=0.1, random_state=0).X, np.arange(150) % 3
    only_outlier = dfx.audit(X, y, checks=["outlier"], verbose=False)
    assert "k=10," in only_outlier.signals["neighbors"]
    lof = dfx.audit(X, y, checks=["outlier"], check_params={"outlier": {"method": "lof"}}, verbose=False)
    assert "k=11," in lof.signals["neighbors"]
    assert "k=40," in dfx.audit(X, y, checks=["outlier", "label"], verbose=False).signals["neighbors"]
    assert "k=25," in dfx.audit(X, y, checks=["duplicate"], k_neighbors=25, verbose=False).signals["neighbors"]


def _view(n):
    return DataView(index=pd.RangeIndex(n), codes=None, classes=None, kind="array")


def test_isolation_forest_given_only_a_graph_says_it_needs_features():
    """main: scikit-learn's ValueError on ``IsolationForest().fit(None)``."""
    X = np.random.default_rng(2).normal(size=(50, 3))
    signals = Signals(np.arange(50) % 2, 2, pred_probs=np.full((50, 2), 0.5), neighbors=knn_graph(X, 10),
                      verbose=False)
    options = {"outlier": {"method": "isolation_forest"}}
    _, outcomes, _, _ = run_checks(resolve_checks("outlier"), signals, options, "single", _view(50))
    assert not outcomes["outlier"].ran and "pass features=" in outcomes["outlier"].reason
    ran = run_checks(resolve_checks("outlier"), signals, {"outlier": {"method": "knn"}}, "single", _view(50))[1]
    assert ran["outlier"].ran


def test_leakage_does_not_depend_on_the_order_of_checks(monkeypatch):
    """Leakage reads the shared graph's nearest neighbour whatever ran before it, so the graph is
    built once and the reports are equal (main: run first, it built a graph of its own)."""
    import datafix.checks.leakage as leakage
    import datafix.signals.bundle as bundle

    built = []

    def counting(real):
        def search(*args, **kwargs):
            built.append(args[1] if len(args) > 1 else kwargs.get("k_neighbors"))
            return real(*args, **kwargs)
        return search

    monkeypatch.setattr(bundle, "knn_graph", counting(bundle.knn_graph))
    monkeypatch.setattr(leakage, "knn_graph", counting(leakage.knn_graph))
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    test = np.r_[X[:5] + 1e-6, rng.normal(size=(20, 4))]
    specs = resolve_checks(["outlier", "leakage"])
    reports = []
    for order in (specs, specs[::-1]):
        built.clear()
        signals = Signals(None, 0, features=X, test=HeldOutSet(test, None), k_neighbors=10, verbose=False)
        reports.append(run_checks(order, signals, {}, "single", _view(200), _view(25)))
        assert built == [10]  # one graph, the shared one
    pd.testing.assert_frame_equal(reports[0][0], reports[1][0])
    pd.testing.assert_frame_equal(reports[0][3], reports[1][3])
    assert reports[0][3]["is_leaked"].sum() == 5
