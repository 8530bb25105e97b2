"""Every registered check, run through the same contract (the way imblearn checks its samplers)."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from datafix.checks import CHECKS, list_checks, resolve_checks
from datafix.data import as_view
from datafix.errors import InvalidInputError
from datafix.signals import Signals


def _signals(view):
    return Signals(view.codes, view.n_classes, features=np.asarray(view.features), classes=view.classes,
                   hashes=view.hashes, table=view.table, image_stats=view.image_stats, verbose=False)


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
    return {"table": _signals(table), "images": _signals(as_view(root, image_size=8, verbose=False))}


def _pick(spec, sources):
    for signals in sources.values():
        if all(signals.has(req) for req in spec.requires):
            return signals
    raise AssertionError(f"no test source provides {spec.requires} for check {spec.name!r}")


@pytest.mark.parametrize("name", list_checks())
def test_check_contract(name, sources):
    spec = CHECKS[name]
    signals = _pick(spec, sources)
    out = spec.func(signals)
    n = len(signals.labels)
    assert isinstance(out, pd.DataFrame)
    assert len(out) == n
    assert out.index.equals(pd.RangeIndex(n))
    assert out[spec.flag].dtype == bool
    assert np.isfinite(out[spec.score]).all()
    assert out[spec.score].between(0, 1).all()
    assert isinstance(out.attrs.get("rule", ""), str)
    for col in spec.label_columns:
        assert out[col].between(0, signals.n_classes - 1).all()
    for req in spec.requires:
        assert set(req.split("|")) <= {"labels", "features", "pred_probs", "neighbors", "hashes", "table", "image_stats"}
    assert spec.description


@pytest.mark.parametrize("name", list_checks())
def test_check_is_deterministic(name, sources):
    spec = CHECKS[name]
    signals = _pick(spec, sources)
    pd.testing.assert_frame_equal(spec.func(signals), spec.func(signals))


@pytest.mark.parametrize("name", list_checks())
def test_check_validates_unknown_options_before_work(name):
    spec = CHECKS[name]
    if spec.validate is None:
        pytest.skip("the check takes no options")
    with pytest.raises(TypeError):
        spec.validate(no_such_option=1)


def test_unknown_check_names_are_listed():
    with pytest.raises(InvalidInputError, match=r"unknown checks \['lable'\]; the checks are \[.*'label'"):
        resolve_checks(["lable"])
