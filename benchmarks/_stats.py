"""Shared by the benchmark scripts: compare two methods over the same seeds; time a throughput."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd


def compare(a: pd.Series, b: pd.Series, what: str) -> str:
    """'beats' / 'ties with' / 'loses to' ``what``: the mean per-seed difference ``a - b`` against
    twice its standard error (seeds are matched by index)."""
    diff = (a - b).dropna()
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
    word = "beats" if diff.mean() > 2 * se else "loses to" if diff.mean() < -2 * se else "ties with"
    return f"{word} {what} (difference {diff.mean():+.3f}, standard error {se:.3f} over {len(diff)} seeds)"


def throughput(fn: Callable[[], object], n: int, repeats: int = 7) -> float:
    """Items per second of ``fn`` (which handles ``n`` items): one warm-up call, then the median of
    ``repeats`` timed calls."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)
