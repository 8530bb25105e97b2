import numpy as np
import pytest

import datafix as dfx
from datafix.checks.class_imbalance import effective_number, imbalance_check
from datafix.signals import Signals


def test_rare_classes_flagged_with_a_per_class_table():
    y = np.repeat([0, 1, 2, 3], [400, 300, 280, 20])
    out = imbalance_check(Signals(y, 4, classes=np.array(["w", "x", "y", "z"]), verbose=False))
    result, out = out, out.columns
    table = result.tables["classes"]
    assert table["count"].tolist() == [400, 300, 280, 20]
    assert table["is_rare"].tolist() == [False, False, False, True]
    assert out["is_class_imbalance"].sum() == 20
    assert "imbalance ratio (largest / smallest class) 20" in result.rule
    assert out["class_imbalance_score"].iloc[-1] == pytest.approx(20 / 1000 * 4)


def test_effective_number_limits():
    assert effective_number(np.array([1]), 0.999)[0] == pytest.approx(1.0)
    assert effective_number(np.array([10**6]), 0.99)[0] == pytest.approx(100.0)


def test_audit_reports_the_class_table_in_user_labels():
    data = dfx.datasets.load_noisy("wine", imbalance=48.0, random_state=0)
    report = dfx.audit(data.X, data.y, checks=["class_imbalance"], verbose=False)
    table = report.tables["classes"]
    assert list(table.index) == ["class_0", "class_1", "class_2"]
    assert table.loc["class_2", "is_rare"]
    assert report.issues["is_class_imbalance"].sum() == table.loc["class_2", "count"]
