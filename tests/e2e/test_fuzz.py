"""The real `splice serve` under a fixed-seed fuzz: thousands of damaged frames and wrong-typed params for
every method it serves, each burst followed by a probe that must get its correct answer."""

from __future__ import annotations

from fuzzing import fuzz


def test_five_thousand_fuzzed_messages_leave_the_server_serving_and_every_request_answered_once() -> None:
    result = fuzz(messages=5000, seed=20261201, burst=50)
    assert result.failures == [], result.failures[:20]
    assert result.messages == 5000
    assert result.bursts == 100
    assert result.requests > 1000  # intact requests, each answered exactly once
