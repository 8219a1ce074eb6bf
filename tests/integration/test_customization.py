"""Customization end to end: planted secrets never leave the repository, tenants never see each other's
code, and the server indexes a workspace with work-done progress and keeps it fresh."""

from __future__ import annotations

import asyncio
import io
import subprocess
from pathlib import Path
from typing import Any

import pytest

from splice.config import Settings
from splice.context.prompt import FimPrompt
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.engines.embedded import EmbeddedEngine
from splice.errors import ArtifactError
from splice.protocol.framing import FrameParser, encode_message
from splice.retrieval.artifact import open_artifact
from splice.retrieval.customization import customize
from splice.retrieval.indexing import Source
from splice.retrieval.selection import Knobs
from splice.server.app import LanguageServer
from splice.server.main import serve_streams

AWS_KEY = "AKIAQWERTYUIOPASDFGH"
AWS_SECRET = "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"
PEM_BODY = "MIIEowIBAAKCAQEAsecretsecretsecretPEMBODY"
ENV_SECRET = "dotenv-only-value-7731"
DB_PASSWORD = "Pa55w0rdInUrl"
SECRETS = (AWS_KEY, AWS_SECRET, PEM_BODY, ENV_SECRET, DB_PASSWORD)


def _git_repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git = ["git", "-C", str(root), "-c", "user.email=a@b", "-c", "user.name=n"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "initial"], check=True)
    return root


class FakeEngine(RemoteEngine):
    name = "fake"

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        self.requests.append(request)
        return [Candidate(text="x", score=0.0)]

    async def aclose(self) -> None:
        return None


class Session:
    """The server on in-memory streams; answers the server's own requests with null results."""

    def __init__(self, settings: Settings, engine: FakeEngine) -> None:
        self.reader = asyncio.StreamReader()
        self.output = io.BytesIO()
        self.server = LanguageServer(settings, engine=engine)
        self.task = asyncio.create_task(serve_streams(self.reader, self.output, self.server))
        self._next = 0
        self._answered: set[Any] = set()

    def send(self, method: str, params: Any, *, request: bool = True) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self._next += 1
            message["id"] = self._next
        self.reader.feed_data(encode_message(message))
        return self._next if request else None

    def messages(self) -> list[dict[str, Any]]:
        found = [f.message for f in FrameParser().feed(self.output.getvalue())]
        for m in found:
            if "method" in m and "id" in m and m["id"] not in self._answered:
                self._answered.add(m["id"])
                self.reader.feed_data(encode_message({"jsonrpc": "2.0", "id": m["id"], "result": None}))
        return found

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                for m in self.messages():
                    if predicate(m):
                        return m
                await asyncio.sleep(0.01)

        return await asyncio.wait_for(wait(), timeout)

    async def start(self, root: Path | None, options: dict[str, Any] | None = None) -> None:
        params: dict[str, Any] = {"processId": None, "capabilities": {"window": {"workDoneProgress": True}},
                                  "initializationOptions": options or {}}
        if root is not None:
            params["rootUri"] = root.as_uri()
        request_id = self.send("initialize", params)
        await self.wait_for(lambda m: m.get("id") == request_id and "result" in m)
        self.send("initialized", {}, request=False)

    async def complete(self, uri: str, text: str, line: int, character: int) -> None:
        self.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                            "text": text}}, request=False)
        request_id = self.send("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1}})
        await self.wait_for(lambda m: m.get("id") == request_id and "method" not in m)

    async def stop(self) -> None:
        self.reader.feed_eof()
        await asyncio.wait_for(self.task, 10)


async def _wait_until(condition: Any, timeout: float = 30.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


@pytest.fixture
def secret_repo(tmp_path: Path) -> Path:
    return _git_repo(tmp_path / "payments", {
        "billing.py": (
            f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
            f'aws_secret_access_key = "{AWS_SECRET}"\n'
            f'DATABASE_URL = "postgres://billing:{DB_PASSWORD}@db.internal:5432/billing"\n\n\n'
            "def charge_customer(customer, amount):\n"
            "    client = connect(DATABASE_URL, AWS_ACCESS_KEY_ID)\n"
            "    return client.charge(customer, amount)\n"
        ),
        "deploy/server.key": f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n",
        "certs/embedded.py": (
            f'KEY = """-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"""\n'
        ),
        ".env": f"API_TOKEN={ENV_SECRET}\n",
        "app.py": "from billing import charge_customer\n\n\ndef checkout(order):\n"
                  "    return charge_customer(order.customer, order.total)\n",
    })


def test_planted_secrets_appear_in_no_artifact_file_and_no_prompt(secret_repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    outcome = asyncio.run(customize(root, "acme", [Source("payments", secret_repo)], knobs=Knobs(), task_id=3))
    assert outcome.published is not None and outcome.report.redactions >= 4
    scanned = 0
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            for secret in SECRETS:
                assert secret.encode() not in data, f"{secret} leaked into {path}"
    assert scanned >= 4
    assert not (outcome.published / "engine" / "payments" / ".env").exists()

    async def scenario() -> list[GenerationRequest]:
        engine = FakeEngine()
        session = Session(Settings(), engine)
        await session.start(None, {"tenant": "acme", "artifactsDir": str(root)})
        await _wait_until(lambda: session.server.retrieval.artifact is not None)
        text = "def pay(order):\n    return charge_customer("
        await session.complete((tmp_path / "new.py").as_uri(), text, 1, len("    return charge_customer("))
        await session.stop()
        return engine.requests

    requests = asyncio.run(scenario())
    assert requests
    prompt = requests[-1].prompt
    assert "customized" in prompt.sources and "charge_customer" in prompt.text
    for secret in SECRETS:
        assert secret not in prompt.text


def test_tenants_are_isolated_by_canaries(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    for tenant, canary in (("acme", "canary_acme_51f3"), ("globex", "canary_globex_9c2e")):
        repo = _git_repo(tmp_path / tenant, {"shared.py": f"def shared_helper(value):\n    return '{canary}'\n"})
        asyncio.run(customize(root, tenant, [Source(tenant, repo)], knobs=Knobs()))

    async def prompt_for(tenant: str) -> str:
        engine = FakeEngine()
        session = Session(Settings(), engine)
        await session.start(None, {"tenant": tenant, "artifactsDir": str(root)})
        await _wait_until(lambda: session.server.retrieval.artifact is not None)
        text = "def use(v):\n    return shared_helper("
        await session.complete((tmp_path / "use.py").as_uri(), text, 1, len("    return shared_helper("))
        await session.stop()
        return engine.requests[-1].prompt.text

    acme, globex = asyncio.run(prompt_for("acme")), asyncio.run(prompt_for("globex"))
    assert "canary_acme_51f3" in acme and "canary_globex_9c2e" not in acme
    assert "canary_globex_9c2e" in globex and "canary_acme_51f3" not in globex

    # A link pointing one tenant at another's version is refused, as is a manifest naming another tenant.
    (root / "acme" / "current").unlink()
    globex_version = next((root / "globex" / "versions").iterdir())
    (root / "acme" / "current").symlink_to(globex_version)
    with pytest.raises(ArtifactError, match="outside its own versions"):
        open_artifact(root, "acme")


def test_switching_tenant_at_run_time_switches_snippets_and_task_id_together(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    for tenant, canary in (("acme", "canary_acme_51f3"), ("globex", "canary_globex_9c2e")):
        repo = _git_repo(tmp_path / tenant, {"shared.py": f"def shared_helper(value):\n    return '{canary}'\n"})
        asyncio.run(customize(root, tenant, [Source(tenant, repo)], knobs=Knobs()))

    async def scenario() -> list[GenerationRequest]:
        engine = FakeEngine()
        session = Session(Settings(), engine)
        await session.start(None, {"tenant": "acme", "artifactsDir": str(root), "tenantTaskIds": "acme=3,globex=4"})
        await _wait_until(lambda: session.server.retrieval.artifact is not None)
        text = "def use(v):\n    return shared_helper("
        await session.complete((tmp_path / "use.py").as_uri(), text, 1, len("    return shared_helper("))
        first = session.server.retrieval.artifact
        session.send("workspace/didChangeConfiguration", {"settings": {"splice": {"tenant": "globex"}}},
                     request=False)
        await _wait_until(lambda: session.server.retrieval.artifact not in (None, first))
        await session.complete((tmp_path / "use2.py").as_uri(), text, 1, len("    return shared_helper("))
        await session.stop()
        return engine.requests

    acme, globex = asyncio.run(scenario())[-2:]
    assert "canary_acme_51f3" in acme.prompt.text and acme.tenant == "acme"
    assert "canary_globex_9c2e" in globex.prompt.text and "canary_acme_51f3" not in globex.prompt.text
    assert globex.tenant == "globex"


def test_workspace_indexing_reports_progress_and_updates_on_change(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPLICE_INDEX_DIR", str(tmp_path / "indexes"))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    for i in range(30):
        (workspace / f"mod{i}.py").write_text(f"def helper_{i}(x):\n    return x * {i}\n")

    async def scenario() -> list[dict[str, Any]]:
        session = Session(Settings(), FakeEngine())
        await session.start(workspace)
        await session.wait_for(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end")
        retrieval = session.server.retrieval.workspace
        assert retrieval is not None
        assert [h.symbol for h in retrieval.retriever.search("helper_7(", 1)] == ["helper_7"]
        uri = (workspace / "mod3.py").as_uri()
        session.send("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1,
            "text": "def brand_new_function(y):\n    return y\n"}}, request=False)
        await _wait_until(lambda: [h.symbol for h in retrieval.retriever.search("brand_new_function(", 1)]
                          == ["brand_new_function"])
        await session.stop()
        return session.messages()

    messages = asyncio.run(scenario())
    methods = [m.get("method") for m in messages]
    assert methods.index("window/workDoneProgress/create") < methods.index("$/progress")
    kinds = [m["params"]["value"]["kind"] for m in messages if m.get("method") == "$/progress"]
    assert kinds[0] == "begin" and kinds[-1] == "end"


def test_triton_task_id_directory_feeds_the_embedded_engine(secret_repo: Path, tmp_path: Path) -> None:
    """What Triton's CPU model loads for a lora_task_id: the tenant's engine corpus, redacted."""
    root = tmp_path / "artifacts"
    asyncio.run(customize(root, "acme", [Source("payments", secret_repo)], knobs=Knobs(), task_id=3))
    engine = EmbeddedEngine(workspace=root / "by-task-id" / "3")

    async def scenario() -> list[Candidate]:
        await engine.start()
        assert engine.wait_until_ready(60)
        prefix = ("from billing import AWS_ACCESS_KEY_ID, DATABASE_URL\n\n\n"
                  "def charge_customer(customer, amount):\n    client = connect(")
        prompt = FimPrompt(path="other.py", language="python", prefix=prefix, suffix="\n")
        return await engine.generate(GenerationRequest(prompt=prompt, document_prefix=prefix, document_suffix="\n",
                                                       multiline=False, max_new_tokens=32, num_candidates=2))

    candidates = asyncio.run(scenario())
    assert any("AWS_ACCESS_KEY_ID)" in c.text for c in candidates)
