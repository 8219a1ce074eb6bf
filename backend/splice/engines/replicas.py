"""Several Triton replicas behind one engine: affinity per tenant and file, a breaker each, failover.

One long-lived HTTP/2 channel pins a Splice process to one pod behind a plain Kubernetes Service, so this
module owns the spreading instead: it takes a list of endpoints, or a ``dns:///host:port`` name (a
headless Service, re-resolved every ``refresh_s``), keeps one :class:`TritonEngine` per replica (its own
channel and circuit breaker, so one sick pod does not trip the rest), and routes each request by
rendezvous hashing of ``tenant + file``: the same tenant editing the same file reaches the same replica
while it is healthy, which keeps that replica's KV-cache prefix blocks and LoRA cache warm, and the keys
of a replica that leaves move to the others evenly without reshuffling anyone else's. When the chosen
replica is unreachable, its breaker is open, or its stream breaks, the same request goes to the next
replica in that key's order, within the one deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence

from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.engines.triton import TritonEngine
from splice.errors import EngineTimeoutError, EngineUnavailableError

Resolver = Callable[[str, int], list[str]]
DNS_PREFIX = "dns:///"


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (every A/AAAA record: each pod of a headless Service)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({f"[{info[4][0]}]" if ":" in str(info[4][0]) else str(info[4][0]) for info in infos})


def parse_endpoints(spec: str) -> tuple[list[str], str | None]:
    """(fixed endpoints, dns name) from ``host:port[,host:port...]`` or ``dns:///host:port``."""
    spec = spec.strip()
    if spec.startswith(DNS_PREFIX):
        return [], spec[len(DNS_PREFIX):]
    return [part.strip() for part in spec.split(",") if part.strip()], None


def affinity_key(request: GenerationRequest) -> str:
    """What keeps a request on one replica: its tenant and the file being edited."""
    return f"{request.tenant or ''}\x00{request.document_path or request.prompt.path}"


def _weight(key: str, endpoint: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{key}\x00{endpoint}".encode(), digest_size=8).digest(), "big")


class ReplicaSet(RemoteEngine):
    """Implements :class:`splice.engines.base.Engine` over several Triton replicas."""

    name = "triton"

    def __init__(
        self,
        spec: str,
        make_engine: Callable[[str], TritonEngine],
        *,
        deadline_s: float,
        resolver: Resolver = system_resolver,
        refresh_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fixed, self._dns = parse_endpoints(spec)
        if not self._fixed and not self._dns:
            raise ValueError(f"no Triton endpoint in {spec!r}")
        self._make_engine = make_engine
        self._deadline_s = deadline_s
        self._resolver = resolver
        self._refresh_s = refresh_s
        self._clock = clock
        self._resolved_at: float | None = None
        self._replicas: dict[str, TritonEngine] = {}
        self._retired: list[TritonEngine] = []
        # Which replica answered, per endpoint, and how many requests moved on from a failing one.
        self.served_by: Counter[str] = Counter()
        self.failovers = 0

    def endpoints(self) -> list[str]:
        """The current endpoints; a DNS name is resolved again once ``refresh_s`` has passed."""
        if self._dns is None:
            return self._fixed
        now = self._clock()
        if self._resolved_at is None or now - self._resolved_at >= self._refresh_s:
            host, _, port = self._dns.rpartition(":")
            try:
                addresses = self._resolver(host, int(port))
            except (OSError, ValueError):
                addresses = []  # keep the last known replicas when the name does not resolve now
            if addresses:
                self._fixed = [f"{address}:{port}" for address in addresses]
            self._resolved_at = now
        return self._fixed

    def replicas(self) -> dict[str, TritonEngine]:
        """One engine per current endpoint; those of endpoints that left are closed on ``aclose``."""
        current = self.endpoints()
        for endpoint in list(self._replicas):
            if endpoint not in current:
                self._retired.append(self._replicas.pop(endpoint))
        for endpoint in current:
            if endpoint not in self._replicas:
                self._replicas[endpoint] = self._make_engine(endpoint)
        return self._replicas

    def order(self, key: str) -> list[TritonEngine]:
        """The replicas in the order ``key`` tries them (rendezvous hashing)."""
        replicas = self.replicas()
        ranked = sorted(replicas, key=lambda endpoint: _weight(key, endpoint), reverse=True)
        return [replicas[endpoint] for endpoint in ranked]

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        """The first healthy replica's candidates, in the key's order, within one deadline."""
        deadline = time.monotonic() + self._deadline_s
        last: EngineUnavailableError | None = None
        for replica in self.order(affinity_key(request)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                candidates = await replica.generate(request, deadline_s=remaining)
            except EngineUnavailableError as exc:
                # Unreachable, breaker open, model not serving, stream broken: the next replica may serve.
                last = exc
                self.failovers += 1
                continue
            self.served_by[replica.settings.url] += 1
            return candidates
        if last is None:
            raise EngineTimeoutError(f"triton: no replica answered within {self._deadline_s:.2f}s")
        raise EngineUnavailableError(f"triton: no replica could serve: {last.message}") from last

    async def probe(self) -> bool:
        """Whether any replica's model is ready (each asked through its own breaker)."""
        results = await asyncio.gather(*(replica.probe() for replica in self.replicas().values()))
        return any(results)

    @property
    def adapter_uploads(self) -> int:
        return sum(replica.adapter_uploads for replica in self._replicas.values())

    def breakers(self) -> dict[str, str]:
        """Each replica's breaker state, for logs and ``splice complete --explain``."""
        return {endpoint: replica.breaker.state.value for endpoint, replica in self._replicas.items()}

    async def aclose(self) -> None:
        engines: Sequence[TritonEngine] = [*self._replicas.values(), *self._retired]
        self._replicas, self._retired = {}, []
        await asyncio.gather(*(engine.aclose() for engine in engines))
