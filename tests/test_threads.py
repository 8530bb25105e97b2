"""The process-wide thread pools (datafix._threads): kept across calls, fresh after a fork."""

from datafix import _threads


def test_a_pool_is_kept_and_a_forked_process_gets_its_own(monkeypatch):
    monkeypatch.setattr(_threads, "_POOLS", {})  # restored after the test
    parent = _threads.thread_pool("test", 2)
    assert _threads.thread_pool("test", 2) is parent
    assert _threads.thread_pool("test", 3) is not parent and _threads.thread_pool("other", 2) is not parent
    monkeypatch.setattr(_threads.os, "getpid", lambda: -1)  # as seen from a forked child
    child = _threads.thread_pool("test", 2)
    assert child is not parent and child.submit(lambda: 7).result(timeout=10) == 7
    for pool in _threads._POOLS.values():
        pool.shutdown()
