"""A tenant's published adapter: versions beside the retrieval artifact, integrity, rollback, and the
neural engine's settings picking the current version for the tenant (plain files; no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splice.config import Settings
from splice.engines.factory import tenant_adapter
from splice.errors import ArtifactError
from splice.retrieval.artifact import current_adapter, publish_adapter, read_adapter_manifest, rollback_adapter


def _trained(directory: Path, weights: bytes) -> Path:
    directory.mkdir(parents=True)
    (directory / "adapter_config.json").write_text('{"r": 8}')
    (directory / "adapter_model.safetensors").write_bytes(weights)
    (directory / "splice-adapter.json").write_text('{"family": "starcoder2"}')
    (directory / "checkpoint").mkdir()
    (directory / "checkpoint" / "optimizer.pt").write_bytes(b"state")
    return directory


def test_publish_keeps_the_previous_version_and_rollback_restores_it(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    first = publish_adapter(root, "acme", _trained(tmp_path / "one", b"1"), {"family": "starcoder2", "rank": 8})
    second = publish_adapter(root, "acme", _trained(tmp_path / "two", b"22"), {"family": "starcoder2", "rank": 4})
    assert current_adapter(root, "acme") == second
    assert not (second / "checkpoint").exists() and (second / "adapter_model.safetensors").read_bytes() == b"22"
    manifest = read_adapter_manifest(second, "acme")
    assert (manifest["version"], manifest["rank"], manifest["tenant"]) == (2, 4, "acme")
    assert set(manifest["files"]) == {"adapter_config.json", "adapter_model.safetensors", "splice-adapter.json"}
    assert rollback_adapter(root, "acme") == first
    assert current_adapter(root, "acme") == first
    with pytest.raises(ArtifactError, match="no adapter version before v000001"):
        rollback_adapter(root, "acme")
    with pytest.raises(ArtifactError, match="no published adapter"):
        rollback_adapter(root, "globex")


def test_a_damaged_or_foreign_adapter_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    version = publish_adapter(root, "acme", _trained(tmp_path / "one", b"1"), {"family": "starcoder2"})
    with pytest.raises(ArtifactError, match="belongs to tenant 'acme'"):
        read_adapter_manifest(version, "globex")
    (version / "adapter_model.safetensors").write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="corrupt"):
        read_adapter_manifest(version, "acme")


def test_the_neural_engine_takes_the_tenants_current_adapter(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    settings = Settings(engine="neural", tenant="acme", artifacts_dir=str(root))
    assert tenant_adapter(settings) == ""
    version = publish_adapter(root, "acme", _trained(tmp_path / "one", b"1"), {"family": "starcoder2"})
    assert tenant_adapter(settings) == str(version)
    assert tenant_adapter(Settings(engine="neural", tenant="globex", artifacts_dir=str(root))) == ""
    assert tenant_adapter(Settings(engine="neural", artifacts_dir=str(root))) == ""
    other_format = Settings(engine="neural", tenant="acme", artifacts_dir=str(root), model_family="qwen2.5-coder")
    assert tenant_adapter(other_format) == "", "an adapter trained for another prompt format is not applied"
    manifest = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**manifest, "tenant": "globex"}))
    assert tenant_adapter(settings) == "", "a foreign manifest is never served"
