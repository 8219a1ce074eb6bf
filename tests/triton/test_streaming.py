"""Streaming, early stop, cancellation and tenant selection against a real Triton server on CPU."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from scripted_engine import MIDDLE
from triton_support import PREFIX, SUFFIX, TritonProcess, fim_request, raw_stream, wait_for

from splice.engines.triton import TritonEngine, TritonSettings
from splice.errors import EngineError, EngineUnavailableError


async def test_stream_arrives_in_pieces_and_ends(triton: TritonProcess) -> None:
    prompt = f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>"
    pieces = await raw_stream(triton.grpc_url, "scripted", prompt, max_tokens=32)
    assert len(pieces) == 4
    assert "".join(pieces) == MIDDLE


async def test_engine_returns_the_whole_multiline_middle(triton: TritonProcess) -> None:
    engine = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted", deadline_s=5))
    try:
        [candidate] = await engine.generate(fim_request(multiline=True))
    finally:
        await engine.aclose()
    assert candidate.text == MIDDLE
    assert candidate.origin == "triton"
    assert candidate.score == pytest.approx(-1.0)


async def test_single_line_stops_at_the_first_newline(triton: TritonProcess) -> None:
    engine = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted", deadline_s=5))
    try:
        started = time.monotonic()
        [candidate] = await engine.generate(fim_request(multiline=False))
        elapsed = time.monotonic() - started
    finally:
        await engine.aclose()
    assert candidate.text == "total = first + second"
    # 4 pieces 30 ms apart; the newline is in the third, so the fourth is never waited for.
    assert elapsed < 0.12 + 0.1


async def test_should_stop_callback_ends_the_stream(triton: TritonProcess) -> None:
    seen: list[str] = []

    def should_stop(text: str) -> bool:
        seen.append(text)
        return "first" in text

    engine = TritonEngine(
        TritonSettings(url=triton.grpc_url, model="scripted", deadline_s=5), should_stop=should_stop
    )
    try:
        [candidate] = await engine.generate(fim_request(multiline=True))
    finally:
        await engine.aclose()
    assert candidate.text == "total = first +"
    assert seen == ["total =", "total = first +"]  # no piece after the stop was read


async def test_cancelling_the_caller_cancels_generation_on_the_server(
    triton: TritonProcess, artifacts_root: Path
) -> None:
    marker = artifacts_root / "2" / "cancelled.txt"
    marker.unlink(missing_ok=True)
    engine = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted", deadline_s=30))
    try:
        task = asyncio.create_task(engine.generate(fim_request(tenant="2")))
        await asyncio.sleep(0.5)  # tenant 2 generates for 5 s: the request is in flight
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_for(marker.exists, timeout=3)
    finally:
        await engine.aclose()


async def test_lora_task_id_selects_the_tenant_directory(triton: TritonProcess) -> None:
    engine = TritonEngine(
        TritonSettings(url=triton.grpc_url, model="scripted", deadline_s=5, tenant_task_ids={"acme": 3})
    )
    try:
        [candidate] = await engine.generate(fim_request(tenant="acme"))
        with pytest.raises(EngineError) as refused:
            await engine.generate(fim_request(tenant="99"))
    finally:
        await engine.aclose()
    assert candidate.text == "difference = first - second\n"
    assert not isinstance(refused.value, EngineUnavailableError)
    assert "99" in refused.value.message


async def test_shipped_model_completes_from_the_tenant_workspace(triton: TritonProcess) -> None:
    # Tenant 4's customization directory holds code; the embedded engine learns the completion from it.
    engine = TritonEngine(TritonSettings(url=triton.grpc_url, model="splice_fim", deadline_s=20))
    try:
        [candidate] = await engine.generate(fim_request(multiline=False, tenant="4"))
    finally:
        await engine.aclose()
    assert candidate.text == "return first + second"
