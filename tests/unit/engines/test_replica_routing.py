"""Replica routing without servers: endpoint specs, DNS refresh, rendezvous stability, failover order."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from splice.config import Settings, merge
from splice.context.prompt import FimPrompt
from splice.engines.base import Candidate, GenerationRequest
from splice.engines.replicas import ReplicaSet, affinity_key, parse_endpoints
from splice.engines.triton import TritonEngine, TritonSettings
from splice.errors import EngineUnavailableError


class FakeReplica(TritonEngine):
    """A replica that answers with its own URL, or fails as unreachable when told to."""

    down: ClassVar[set[str]] = set()

    async def generate(self, request: GenerationRequest, *, deadline_s: float | None = None) -> list[Candidate]:
        if self.settings.url in self.down:
            raise EngineUnavailableError(f"{self.settings.url} down")
        return [Candidate(text=self.settings.url)]


def _make(url: str) -> TritonEngine:
    return FakeReplica(TritonSettings(url=url))


def _request(path: str, tenant: str | None = "acme") -> GenerationRequest:
    prompt = FimPrompt(path=path, language="python", prefix="", suffix="", text="x")
    return GenerationRequest(prompt=prompt, document_prefix="", document_suffix="", multiline=False, tenant=tenant)


def test_endpoint_specs() -> None:
    assert parse_endpoints("a:1, b:2") == (["a:1", "b:2"], None)
    assert parse_endpoints("dns:///triton-headless.ns:8001") == ([], "triton-headless.ns:8001")
    good, problems = merge(Settings(), {"tritonUrl": "10.0.0.1:8001,10.0.0.2:8001"}, source="t")
    assert good.triton_url == "10.0.0.1:8001,10.0.0.2:8001" and problems == []
    for bad in ("a:1,a:1", "a:1,", "dns:///nohost"):
        assert merge(Settings(), {"tritonUrl": bad}, source="t")[0].triton_url == "", bad


def test_dns_names_are_resolved_again_after_the_refresh_interval() -> None:
    now = [0.0]
    answers = [["10.0.0.1", "10.0.0.2"], ["10.0.0.2", "10.0.0.3"], []]
    replicas = ReplicaSet("dns:///triton:8001", _make, deadline_s=1, refresh_s=30,
                          resolver=lambda host, port: answers.pop(0), clock=lambda: now[0])
    assert replicas.endpoints() == ["10.0.0.1:8001", "10.0.0.2:8001"]
    now[0] = 10
    assert replicas.endpoints() == ["10.0.0.1:8001", "10.0.0.2:8001"]  # not yet
    now[0] = 31
    assert sorted(replicas.replicas()) == ["10.0.0.2:8001", "10.0.0.3:8001"]
    now[0] = 62
    assert replicas.endpoints() == ["10.0.0.2:8001", "10.0.0.3:8001"]  # an empty answer keeps the last


def test_a_leaving_replica_moves_only_its_own_keys() -> None:
    three = ReplicaSet("a:1,b:1,c:1", _make, deadline_s=1)
    two = ReplicaSet("a:1,b:1", _make, deadline_s=1)
    keys = [affinity_key(_request(f"f{i}.py")) for i in range(300)]
    first = {key: three.order(key)[0].settings.url for key in keys}
    after = {key: two.order(key)[0].settings.url for key in keys}
    moved = [key for key in keys if first[key] != after[key]]
    assert all(first[key] == "c:1" for key in moved)
    assert 60 < len(moved) < 140  # about a third
    assert affinity_key(_request("f.py", "acme")) != affinity_key(_request("f.py", "globex"))


async def test_failover_follows_the_key_order() -> None:
    replicas = ReplicaSet("a:1,b:1,c:1", _make, deadline_s=1)
    request = _request("orders.py")
    order = [r.settings.url for r in replicas.order(affinity_key(request))]
    FakeReplica.down = {order[0]}
    try:
        [candidate] = await replicas.generate(request)
        assert candidate.text == order[1] and replicas.failovers == 1
        FakeReplica.down = set(order)
        with pytest.raises(EngineUnavailableError, match="no replica could serve"):
            await replicas.generate(dataclasses.replace(request))
    finally:
        FakeReplica.down = set()
