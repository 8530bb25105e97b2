import numpy as np
import pandas as pd
import pytest

from datafix.data import as_view
from datafix.errors import InvalidInputError
from datafix.signals import handle_non_finite


def test_raise_names_rows_columns_and_options():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1.0, 2.0, np.inf, 4.0], "y": [0, 1, 0, 1]},
                      index=["r1", "r2", "r3", "r4"])
    view = as_view(df, labels="y")
    with pytest.raises(InvalidInputError, match=r"2 rows at \['r2', 'r3'\] \(columns \['a', 'b'\]\).*'impute'.*'drop'"):
        handle_non_finite(view)


def test_drop_marks_rows_broken_and_impute_uses_medians():
    X = np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, np.inf], [5.0, 40.0]])
    X0 = X.copy()
    view = as_view(X, labels=[0, 1, 0, 1])
    dropped = handle_non_finite(view, "drop")
    assert dropped.broken == {1: "non-finite features", 2: "non-finite features"}
    imputed = handle_non_finite(view, "impute")
    np.testing.assert_array_equal(imputed.features, [[1, 10], [3, 20], [3, 20], [5, 40]])
    np.testing.assert_array_equal(X, X0)
    assert handle_non_finite(as_view(X0[[0, 3]], labels=[0, 1])).broken == {}
