import warnings

import numpy as np
import pandas as pd

import datafix as dfx
from datafix.checks.null import column_quality
from datafix.errors import DatafixWarning


def _table(n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "user_id": [f"u{i:04d}" for i in range(n)],
            "row": np.arange(n),
            "value": rng.normal(size=n),
            "constant": 7,
            "mostly": [1] * (n - 0) if n < 100 else [1] * (n - 1) + [2],
            "mixed": ["a", 1.5] * (n // 2),
            "empty": np.nan,
            "y": rng.integers(0, 2, n),
        }
    )


def test_column_flags():
    q = column_quality(_table().drop(columns="y"))
    assert q.loc["user_id", "is_id_like"] and q.loc["row", "is_id_like"] and not q.loc["value", "is_id_like"]
    assert q.loc["constant", "is_constant"] and q.loc["mixed", "is_mixed_type"] and q.loc["empty", "is_empty"]
    assert not q.loc["value", "has_issue"]


def test_near_constant_column():
    t = pd.DataFrame({"a": [1] * 199 + [2], "b": np.arange(200.0) % 7})
    q = column_quality(t)
    assert q.loc["a", "is_near_constant"] and not q.loc["b", "is_near_constant"]


def test_audit_with_an_all_nan_column_warns_drops_it_and_reports_it():
    t = _table()
    t.loc[[3, 5], "value"] = np.nan
    before = t.copy(deep=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = dfx.audit(t, labels="y", nan_policy="impute", verbose=False)
    assert any(issubclass(w.category, DatafixWarning) and "'empty'" in str(w.message) for w in caught)
    assert report.tables["columns"].loc["empty", "is_empty"]
    assert report.issues.loc[3, "n_missing"] == 2 and report.issues.loc[0, "n_missing"] == 1
    assert not report.issues["is_null"].any()
    pd.testing.assert_frame_equal(t, before)


def test_rows_with_every_value_missing_are_null():
    t = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0] * 5, "b": [2.0, np.nan, 1.0, 0.0] * 5, "y": [0, 1] * 10})
    report = dfx.audit(t, labels="y", nan_policy="impute", checks=["null"], verbose=False)
    assert report.issues["is_null"].sum() == 5
    assert report.issues.loc[1, "null_score"] == 0.0
