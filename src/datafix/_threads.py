"""Thread pools kept for the life of a process, for work that releases the GIL (OpenCV, BLAS)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

_POOLS: dict[tuple[int, str, int], ThreadPoolExecutor] = {}


def thread_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """The pool of ``workers`` threads named ``datafix-<name>`` of this process.

    A pool is made once and kept: starting threads on every call cost as much as the work on a
    busy 2-core machine (3 ms a thread). A forked process (a DataLoader worker) gets pools of its
    own: threads do not survive a fork, and a parent's pool would never run the child's work.

    Examples
    --------
    >>> list(thread_pool("doc", 2).map(abs, [-1, -2]))
    [1, 2]
    """
    key = (os.getpid(), name, max(1, workers))
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(max_workers=key[2], thread_name_prefix=f"datafix-{name}")
    return _POOLS[key]
