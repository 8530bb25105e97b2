"""Every registered check, run through the same contract (the way imblearn checks its samplers)."""

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from datafix._validation import Options
from datafix.checks import CHECKS, CheckResult, list_checks, resolve_checks
from datafix.checks.registry import TASKS
from datafix.data import as_view
from datafix.data.annotations import Annotations
from datafix.errors import DatafixError, InvalidInputError, InvalidTypeError
from datafix.report.assemble import run_checks
from datafix.signals import HeldOutSet, KNNGraph, Signals


def _signals(view, multilabel=None, test=None, annotations=None):
    return Signals(view.codes, view.n_classes, features=np.asarray(view.features), classes=view.classes,
                   hashes=view.hashes, table=view.table, image_stats=view.image_stats, multilabel=multilabel,
                   test=test, annotations=annotations, verbose=False)


@pytest.fixture(scope="module")
def sources(noisy_iris, tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (root / c).mkdir()
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, (16, 20, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    Image.new("RGB", (16, 20)).save(root / "a" / "black.png")
    table = as_view(noisy_iris.frame(), labels="label")
    Y = np.column_stack([table.codes == 0, table.codes >= 1, table.codes == 2, np.arange(len(table)) % 17 == 0])
    held_out = HeldOutSet(features=np.asarray(table.features)[::7] + 1e-9, hashes=table.hashes[::7])
    votes = np.stack([table.codes, np.where(np.arange(len(table)) % 3 == 0, -1, table.codes),
                      np.where(np.arange(len(table)) % 5 == 0, (table.codes + 1) % 3, table.codes)], axis=1)
    annotations = Annotations(votes, table.classes, ["a", "b", "c"])
    return {"table": _signals(table), "images": _signals(as_view(root, image_size=8, verbose=False)),
            "multilabel": _signals(table, multilabel=Y), "test": _signals(table, test=held_out),
            "annotators": _signals(table, annotations=annotations),
            "unlabelled": _signals(replace(table, codes=np.where(np.arange(len(table)) % 4 == 0, -1, table.codes))),
            "regression": _regression_signals(table)}


@pytest.fixture(scope="module")
def iris_view(noisy_iris):
    return as_view(noisy_iris.frame(), labels="label")


def _regression_signals(table):
    """Iris with petal width as a regression target (two of them moved far off), the other columns as features."""
    X = np.asarray(table.features)
    y = X[:, 3].copy()
    y[[5, 60]] += 5.0
    return Signals(None, 0, features=X[:, :3], targets=y, hashes=table.hashes, table=table.table, verbose=False)


def _pick(spec, sources):
    for signals in sources.values():
        if all(signals.has(req) for req in spec.requires):
            return signals
    raise AssertionError(f"no test source provides {spec.requires} for check {spec.name!r}")


@pytest.mark.parametrize("name", list_checks())
def test_check_contract(name, sources):
    spec = CHECKS[name]
    signals = _pick(spec, sources)
    result = spec.func(signals, **spec.defaults)
    assert isinstance(result, CheckResult)
    out = result.columns
    n = len(signals.test) if spec.target == "test" else len(signals.features)
    assert isinstance(out, pd.DataFrame)
    assert len(out) == n
    assert out.index.equals(pd.RangeIndex(n))
    assert out[spec.flag].dtype == bool
    scores = out[spec.score].dropna()  # a sample without any label has no rarity score
    assert np.isfinite(scores).all()
    if spec.target == "train":
        assert scores.between(0, 1).all()
    assert isinstance(result.rule, str) and result.rule
    assert all(isinstance(t, pd.DataFrame) for t in result.tables.values()) and isinstance(result.advice, str)
    for col in spec.label_columns:  # -1: no label (an unlabelled sample)
        assert out[col].between(-1, signals.n_classes - 1).all()
        assert (out[col] >= 0).any()
    for req in spec.requires + spec.requirements(spec.defaults):
        assert set(req.split("|")) <= {"labels", "features", "pred_probs", "neighbors", "hashes", "table", "image_stats",
                                       "multilabel", "test", "annotations", "unlabelled", "targets", "predictions"}
    assert spec.description and set(spec.tasks) <= set(TASKS) and spec.target in ("train", "test")


@pytest.mark.parametrize("name", [n for n in list_checks() if "regression" in CHECKS[n].tasks])
def test_check_contract_on_a_regression_target(name, sources):
    """Each check for regression targets runs on one, one row per sample, flags bool, scores in [0, 1]."""
    spec = CHECKS[name]
    signals = sources["regression"]
    if not all(signals.has(req) for req in spec.requires):
        assert any(r in ("test", "image_stats") for r in spec.requires)  # another kind of source
        return
    out = spec.func(signals, **spec.defaults).columns
    assert len(out) == len(signals.targets) and out[spec.flag].dtype == bool
    assert out[spec.score].dropna().between(0, 1).all()
    if name == "label":
        assert np.flatnonzero(out["is_label_issue"]).tolist() == [5, 60]
        assert out["given_label"].to_numpy() == pytest.approx(signals.targets)


@pytest.mark.parametrize("name", list_checks())
def test_check_is_deterministic(name, sources):
    spec = CHECKS[name]
    signals = _pick(spec, sources)
    pd.testing.assert_frame_equal(spec.func(signals).columns, spec.func(signals).columns)


@pytest.mark.parametrize("name", list_checks())
def test_check_declares_its_options_once_and_validates_them(name):
    """Every keyword option has a declared constraint and a default that satisfies it; bad ones raise."""
    spec = CHECKS[name]
    assert spec.check_options(spec.defaults) == spec.defaults
    with pytest.raises(InvalidTypeError, match=f"check {name!r} has no option 'no_such_option'"):
        spec.check_options({"no_such_option": 1})
    for option in spec.params:
        with pytest.raises((InvalidInputError, InvalidTypeError), match=repr(option)):
            spec.check_options({option: "not a valid value"})


def test_unknown_check_names_are_listed():
    with pytest.raises(InvalidInputError, match=r"unknown checks \['lable'\]; the checks are \[.*'label'"):
        resolve_checks(["lable"])


READS: list[int] = []


class _Recording(KNNGraph):
    """The shared graph, recording how many of each sample's neighbours a check reads through it."""

    def __getattribute__(self, name):
        if name in ("indices", "distances", "label_votes", "neighbor_median", "close_pairs"):
            READS.append(object.__getattribute__(self, "indices").shape[1])
        return object.__getattribute__(self, name)

    def nearest(self, k):
        held = object.__getattribute__(self, "indices").shape[1]
        READS.append(min(k, held))
        if k >= held:
            return self
        return KNNGraph(object.__getattribute__(self, "indices")[:, :k],
                        object.__getattribute__(self, "distances")[:, :k], self.metric, self.knn_backend)


def _option_values(spec):
    """The defaults, then each value of each option that is a choice (one option changed at a time)."""
    yield {}
    for option, constraint in spec.params.items():
        for c in constraint if isinstance(constraint, list) else [constraint]:
            if isinstance(c, Options):
                yield from ({option: v} for v in c.values if v != spec.defaults[option])


@pytest.mark.parametrize("name", list_checks())
def test_check_reads_no_more_neighbours_than_it_declares(name, sources):
    """Whatever its options, a check reads at most the neighbours it declares (``spec.neighbors``),
    through ``nearest(k)`` or the graph's methods, and none when it declares none."""
    spec = CHECKS[name]
    for options in _option_values(spec):
        signals = next((s for s in sources.values() if all(s.has(r) for r in spec.requirements(options))), None)
        if signals is None or "margins" in str(options) or options.get("score", "probs") != "probs":
            continue  # (score="dynamics" needs training margins, a CNN's)
        shared = signals.neighbors
        signals = copy.copy(signals)
        signals.__dict__["neighbors"] = _Recording(shared.indices, shared.distances, shared.metric)
        declared = spec.neighbors(options, signals.k_neighbors)
        assert 0 <= declared <= signals.k_neighbors
        READS.clear()
        spec.func(signals, **options)
        assert max(READS, default=0) <= declared, (options, READS, declared)


@pytest.mark.parametrize("name", list_checks())
def test_check_without_what_it_requires_is_skipped_naming_the_argument(name, sources, iris_view):
    """Given only labels and a neighbour graph (as an engine that holds the features elsewhere
    gives them), every check with every choice of options runs or is skipped with a reason: one
    that names the argument to pass, unless the check is for another kind of data."""
    spec = CHECKS[name]
    graph = sources["table"].neighbors
    for options in _option_values(spec):
        signals = Signals(iris_view.codes, iris_view.n_classes, classes=iris_view.classes, neighbors=graph,
                          verbose=False)
        try:
            _, outcomes, _, _ = run_checks([spec], signals, {name: options}, "single", iris_view)
        except DatafixError as error:  # refused by the check itself, with datafix's own message
            assert "=" in str(error), (options, error)
            continue
        if name in outcomes and not outcomes[name].ran and outcomes[name].applies:
            assert "=" in outcomes[name].reason, (options, outcomes[name].reason)
