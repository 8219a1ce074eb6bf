"""Derived values of open documents: small texts built inline, large ones in the background, huge ones never."""

from __future__ import annotations

import threading
import time

from splice.derived import DerivedCache


def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_small_text_is_built_inline_and_cached() -> None:
    built: list[str] = []
    cache: DerivedCache[int] = DerivedCache(lambda k, t: built.append(t) or len(t), max_chars=100, inline_chars=10)
    text = "abc"
    assert cache.get("a", text) == 3
    assert cache.get("a", text) == 3
    assert built == ["abc"]


def test_large_text_is_built_on_another_thread_while_the_old_value_serves() -> None:
    release = threading.Event()
    threads: list[str] = []

    def build(key: str, text: str) -> int:
        threads.append(threading.current_thread().name)
        if len(text) > 10:
            release.wait(5)
        return len(text)

    cache: DerivedCache[int] = DerivedCache(build, max_chars=1000, inline_chars=10)
    old, new = "x" * 5, "y" * 50
    assert cache.get("a", old) == 5
    assert cache.get("a", new) == 5  # not ready: the earlier value, and the caller did not wait
    assert cache.get("b", new) is None  # nothing earlier to serve
    release.set()
    wait_for(lambda: cache.get("a", new) == 50)
    assert threads[0] == threading.current_thread().name
    assert all(name != threading.current_thread().name for name in threads[1:])


def test_only_the_newest_text_of_a_burst_is_built() -> None:
    gate = threading.Event()
    built: list[int] = []

    def build(key: str, text: str) -> int:
        gate.wait(5)
        built.append(len(text))
        return len(text)

    cache: DerivedCache[int] = DerivedCache(build, max_chars=1000, inline_chars=0)
    texts = ["z" * n for n in range(20, 30)]
    for text in texts:
        cache.get("a", text)
    gate.set()
    wait_for(lambda: cache.get("a", texts[-1]) == 29)
    assert built[-1] == 29 and len(built) <= 2  # the first may have started before the burst


def test_text_over_the_limit_has_no_value_and_drops_the_old_one() -> None:
    cache: DerivedCache[int] = DerivedCache(lambda k, t: len(t), max_chars=10, inline_chars=10)
    assert cache.get("a", "short") == 5
    assert cache.get("a", "x" * 11) is None
    assert cache.get("a", "x" * 11) is None


def test_a_failing_build_costs_the_value_not_the_worker() -> None:
    def build(key: str, text: str) -> int:
        if text.startswith("bad"):
            raise ValueError("no")
        return len(text)

    cache: DerivedCache[int] = DerivedCache(build, max_chars=1000, inline_chars=0)
    bad, good = "bad" * 10, "good" * 10
    assert cache.get("a", bad) is None
    assert cache.get("b", good) is None
    wait_for(lambda: cache.get("b", good) == 40)
    assert cache.get("a", bad) is None
