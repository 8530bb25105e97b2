"""Shared by the benchmark scripts: compare two methods over the same seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def compare(a: pd.Series, b: pd.Series, what: str) -> str:
    """'beats' / 'ties with' / 'loses to' ``what``: the mean per-seed difference ``a - b`` against
    twice its standard error (seeds are matched by index)."""
    diff = (a - b).dropna()
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
    word = "beats" if diff.mean() > 2 * se else "loses to" if diff.mean() < -2 * se else "ties with"
    return f"{word} {what} (difference {diff.mean():+.3f}, standard error {se:.3f} over {len(diff)} seeds)"
