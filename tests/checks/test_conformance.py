"""Every registered check, run through the same contract (the way imblearn checks its samplers)."""

import numpy as np
import pandas as pd
import pytest

from datafix.checks import CHECKS, list_checks, resolve_checks
from datafix.errors import InvalidInputError
from datafix.signals import Signals


@pytest.fixture(scope="module")
def signals(noisy_iris):
    y = np.unique(noisy_iris.y, return_inverse=True)[1]
    return Signals(y, 3, features=noisy_iris.X, verbose=False)


@pytest.mark.parametrize("name", list_checks())
def test_check_contract(name, signals):
    spec = CHECKS[name]
    out = spec.func(signals)
    assert isinstance(out, pd.DataFrame)
    assert len(out) == len(signals.labels)
    assert out.index.equals(pd.RangeIndex(len(out)))
    assert out[spec.flag].dtype == bool
    assert np.isfinite(out[spec.score]).all()
    for col in spec.label_columns:
        assert out[col].between(0, signals.n_classes - 1).all()
    assert set(spec.requires) <= {"labels", "features", "pred_probs", "neighbors"}
    assert spec.description


@pytest.mark.parametrize("name", list_checks())
def test_check_is_deterministic(name, signals):
    a = CHECKS[name].func(signals)
    b = CHECKS[name].func(signals)
    pd.testing.assert_frame_equal(a, b)


def test_unknown_check_names_are_listed():
    with pytest.raises(InvalidInputError, match=r"unknown checks \['lable'\]; the checks are \['label'\]"):
        resolve_checks(["lable"])
