"""Fixtures for the Triton tests: tenant directories and one shared real server (see triton_support)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from triton_support import (
    SCRIPTED_ENGINE,
    TritonProcess,
    write_model,
)


@pytest.fixture(scope="session")
def artifacts_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tenant directories for the scripted models: 1 = plain, 2 = slow generation, 3 = other
    middle, 4 = a code workspace for the embedded engine."""
    root = tmp_path_factory.mktemp("artifacts")
    (root / "1").mkdir()
    (root / "2").mkdir()
    (root / "2" / "delay_s.txt").write_text("5")
    (root / "3").mkdir()
    (root / "3" / "middle.txt").write_text("difference = first - second\n")
    (root / "4").mkdir()
    (root / "4" / "calc.py").write_text(
        "def add(first, second):\n    return first + second\n\n\n"
        "def scale(value, factor):\n    return value * factor\n"
    )
    return root


@pytest.fixture(scope="session")
def triton(tmp_path_factory: pytest.TempPathFactory, artifacts_root: Path) -> Iterator[TritonProcess]:
    """A shared server with explicit model control and these models:

    - ``splice_fim``: the shipped model and its embedded engine;
    - ``scripted``: the scripted engine streamed in 4 pieces, 30 ms apart;
    - ``scripted_slow``: the same, 1.5 s apart (a model slower than any deadline);
    - ``scripted_unload``: the same as ``scripted``, for the test that unloads it;
    - ``scripted_lora``: the same as ``scripted`` with room for one LoRA adapter, for eviction;
    - ``scripted_lora_slow``: one piece after 700 ms, slower than a short deadline.
    """
    repository = tmp_path_factory.mktemp("models")
    write_model(repository, "splice_fim")
    engine = f"{SCRIPTED_ENGINE}:ScriptedEngine"
    write_model(repository, "scripted", engine=engine, chunk_delay_ms="30")
    write_model(repository, "scripted_slow", engine=engine, chunk_delay_ms="1500")
    write_model(repository, "scripted_unload", engine=engine)
    write_model(repository, "scripted_lora", engine=engine, lora_cache_adapters="1")
    write_model(repository, "scripted_lora_slow", engine=engine, chunk_delay_ms="700", stream_chunks="1")
    server = TritonProcess(
        repository=repository,
        log_path=tmp_path_factory.mktemp("logs") / "triton.log",
        args=["--model-control-mode", "explicit", "--load-model", "*"],
        env={"SPLICE_ARTIFACTS_ROOT": str(artifacts_root)},
    )
    server.start()
    yield server
    server.stop()
