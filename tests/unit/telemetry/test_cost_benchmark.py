"""``scripts/bench-telemetry`` must be able to see a cost in the telemetry hooks.

The hooks run deferred, after the reply, before the server reads its next message; a benchmark that
times only ``LanguageServer.complete`` reports any hook as free. A 1 ms sleep injected into the
``request_completed`` hook of the "on" server has to come out as a cost outside noise. Only the detection
is asserted: whether two identical servers agree is a property of the machine, not of the code.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def _bench_telemetry() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))  # the script imports its sibling ``_venv``
    try:
        loader = importlib.machinery.SourceFileLoader("bench_telemetry", str(SCRIPTS / "bench-telemetry"))
        spec = importlib.util.spec_from_loader(loader.name, loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


def test_a_slow_hook_is_reported_outside_noise() -> None:
    bench = _bench_telemetry()
    result = asyncio.run(bench.measure(rounds=30, warmup=5, engine=bench.FixedEngine(), seed=3,
                                       inject_hook_delay_ms=1.0))
    assert result["events_written"] > 0
    assert result["median_diff_on_minus_off_ms"] >= 0.9, result
    assert not result["within_noise"], result
