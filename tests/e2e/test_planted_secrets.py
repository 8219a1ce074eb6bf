"""Secrets planted in a workspace (in unopened files, a ``.env``, links to it, an open document) reach no file
Splice writes, no prompt and no suggestion of the real ``splice serve`` process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest
from rawpipe import RawServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from test_customization import FakeEngine, Session, _git_repo

from splice.config import Settings
from splice.retrieval.customization import customize
from splice.retrieval.indexing import Source
from splice.retrieval.selection import Knobs

AWS_SECRET = "q1w2e3r4t5y6u7i8o9p0ASDFGHJKLZXCVBNM1234"
PASSWORD = "Tr0ub4dor&3x"
DUMP_PASSWORD = "S3cretDump"
CURL_PASSWORD = "Adm1nCurlPw"
WEBHOOK = "T0FAKE0001/B0FAKE0002/FakeWebhookPathXyZ123456"
STRIPE_HOOK = "whsec_FakeFakeFake0123456789abcdefAB"
URL_PASSWORD = "pa/ss@w0rd9"
ENV_SECRET = "dotenv-only-value-7731"
OPEN_SECRET = "OpenDocPw!2024x"
SECRETS = (AWS_SECRET, PASSWORD, DUMP_PASSWORD, CURL_PASSWORD, WEBHOOK, STRIPE_HOOK, URL_PASSWORD, ENV_SECRET,
           OPEN_SECRET)

FILES = {
    "deploy/aws.py": f'import boto3\n\naws_secret_access_key = "{AWS_SECRET}"\n',
    "deploy/db.py": f'password = "{PASSWORD}"\nDATABASE_URL = "postgres://app:{URL_PASSWORD}@db.internal/app"\n',
    "scripts/backup.sh": f"mysqldump -u root -p{DUMP_PASSWORD} app > app.sql\n",
    "scripts/ci.sh": f"curl -u admin:{CURL_PASSWORD} https://ci.internal/job\n",
    "alerts/notify.py": f'WEBHOOK = "https://hooks.slack.com/services/{WEBHOOK}"\nSTRIPE_HOOK = "{STRIPE_HOOK}"\n',
    ".env": f"API_TOKEN={ENV_SECRET}\n",
    "app.py": "from deploy.db import DATABASE_URL\n\n\ndef connect():\n    return open_connection(DATABASE_URL)\n",
}
# Where each secret would be the obvious next text, as an editor would ask for it.
POSITIONS = (
    ("deploy/aws2.py", 'aws_secret_access_key = "'),
    ("deploy/db2.py", 'password = "'),
    ("scripts/backup2.sh", "mysqldump -u root -p"),
    ("scripts/ci2.sh", "curl -u admin:"),
    ("alerts/notify2.py", 'WEBHOOK = "https://hooks.slack.com/services/'),
    ("settings2.py", "API_TOKEN="),
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = _git_repo(tmp_path / "ws", FILES)
    os.symlink(".env", root / "settings_local.py")
    os.symlink(".env", root / "env.ini")
    return root


def _assert_no_secret_under(directory: Path) -> int:
    scanned = 0
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            for secret in SECRETS:
                assert secret.encode() not in data, f"{secret} leaked into {path}"
    return scanned


def test_the_real_server_suggests_no_secret_and_writes_none(workspace: Path, tmp_path: Path) -> None:
    index_dir, data_dir = tmp_path / "index", tmp_path / "data"
    env = {"SPLICE_INDEX_DIR": str(index_dir), "SPLICE_DATA_DIR": str(data_dir), "SPLICE_ENGINE": "embedded"}
    replies: list[str] = []
    with RawServer(env=env, cwd=workspace) as server:
        server.initialize(workspace, options={"telemetryStoreText": True})
        server.open((workspace / "settings.py").as_uri(), f'password = "{OPEN_SECRET}"\n')
        # Both indexes built: the embedded engine's project index and the workspace's retrieval index.
        deadline = time.monotonic() + 60
        while not ("embedded.project_indexed" in server.stderr() and "indexing.done" in server.stderr()):
            assert time.monotonic() < deadline, server.stderr()[-2000:]
            time.sleep(0.05)
        for rel, prefix in POSITIONS:
            uri = (workspace / rel).as_uri()
            server.open(uri, prefix + "\n", "shellscript" if rel.endswith(".sh") else "python")
            for _ in range(2):
                replies.append(json.dumps(server.inline(uri, 0, len(prefix))))
        server.drain()
    for reply in replies:
        for secret in SECRETS:
            assert secret not in reply
    assert _assert_no_secret_under(index_dir) >= 1
    assert list(index_dir.glob("*/engine/g-*/tokens.npy")), "the server stored the engine's project index"
    assert _assert_no_secret_under(data_dir) >= 1


def test_no_prompt_and_no_artifact_file_holds_a_secret(workspace: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPLICE_INDEX_DIR", str(tmp_path / "index"))
    artifacts = tmp_path / "artifacts"
    outcome = asyncio.run(customize(artifacts, "acme", [Source("ws", workspace)], knobs=Knobs(), task_id=3))
    assert outcome.published is not None and (outcome.published / "engine").is_dir()
    assert _assert_no_secret_under(artifacts) >= 4

    async def scenario() -> list[str]:
        engine = FakeEngine()
        session = Session(Settings(), engine)
        await session.start(workspace)
        await session.complete((workspace / "settings.py").as_uri(), f'password = "{OPEN_SECRET}"\n', 0, 0)
        deadline = time.monotonic() + 60
        while session.server.retrieval.workspace is None or session.server.retrieval._task is None \
                or not session.server.retrieval._task.done():  # the workspace index is built
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        for rel, prefix in POSITIONS:
            await session.complete((workspace / rel).as_uri(), prefix + "\n", 0, len(prefix))
        await session.stop()
        return [request.prompt.text + "".join(s.text for s in request.prompt.snippets) for request in engine.requests]

    # The first prompt is the open document's own, which keeps its text as typed; every other one must not
    # carry that document's secret, or any from disk.
    prompts = asyncio.run(scenario())[-len(POSITIONS):]
    assert any("open_connection" in prompt or "DATABASE_URL" in prompt for prompt in prompts)
    for prompt in prompts:
        for secret in SECRETS:
            assert secret not in prompt
