"""Per-tenant customization artifacts: a versioned directory per tenant, published atomically.

Layout under an artifacts root::

    <root>/<tenant>/current            -> versions/v000003   (a symlink, swapped atomically)
    <root>/<tenant>/versions/v000003/  manifest.json, index.sqlite, selection.json, engine/...
    <root>/<tenant>/staging/           the build in progress (resumable after a crash)
    <root>/by-task-id/<lora_task_id>   -> ../<tenant>/current/engine   (what Triton's CPU model loads)

A version is built in ``staging/``, its manifest written last, then renamed into ``versions/`` and made
current by replacing the ``current`` symlink with ``os.replace``: every step is atomic on a POSIX file
system, so a reader sees either the old artifact or the new one, never half of one, and a crash at any point
leaves the previous version current. The manifest records every file's size and SHA-256, so a damaged or
tampered artifact is refused with a clear error instead of being served.

Tenant isolation: a tenant's requests open ``<root>/<tenant>`` only; the name is validated (lowercase, no
separators, no dots alone, not ``by-task-id``), the resolved version must lie inside that tenant's own
``versions/``, and the manifest must name the same tenant.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splice.config import tenant_name
from splice.errors import ArtifactError, IndexUnreadableError
from splice.retrieval.index import RepositoryIndex

FORMAT = "splice-artifact"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_FILE = "index.sqlite"
SELECTION_FILE = "selection.json"
ENGINE_DIR = "engine"
TASK_ID_DIR = "by-task-id"
KEEP_VERSIONS = 3


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a valid tenant name (:func:`splice.config.tenant_name`); raises
    :class:`ArtifactError` otherwise."""
    try:
        return tenant_name(tenant)
    except ValueError as exc:
        raise ArtifactError(str(exc)) from exc


def tenant_directory(root: Path, tenant: str) -> Path:
    return Path(root) / check_tenant(tenant)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json_atomically(path: Path, payload: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _replace_symlink(link: Path, target: str) -> None:
    temporary = link.with_name(link.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(target, temporary)
    os.replace(temporary, link)
    _fsync_directory(link.parent)


@contextlib.contextmanager
def build_lock(root: Path, tenant: str) -> Iterator[None]:
    """Hold the tenant's build lock: two customizations of one tenant never interleave."""
    directory = tenant_directory(root, tenant)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ArtifactError(f"another customization of tenant {tenant!r} is running") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def staging_directory(root: Path, tenant: str) -> Path:
    return tenant_directory(root, tenant) / "staging"


def _version_number(name: str) -> int | None:
    return int(name[1:]) if re.fullmatch(r"v\d{6}", name) else None


def versions(root: Path, tenant: str) -> list[int]:
    """Published version numbers of ``tenant``, oldest first."""
    directory = tenant_directory(root, tenant) / "versions"
    if not directory.is_dir():
        return []
    numbers = (_version_number(entry.name) for entry in directory.iterdir())
    return sorted(n for n in numbers if n is not None)


def _seal(staging: Path, directory: Path, number: int, manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` into ``staging``, rename it to ``directory/versions/v<number>`` and point
    ``directory/current`` at it: each step atomic, so a crash leaves the previous version current."""
    _write_json_atomically(staging / MANIFEST, manifest)
    _fsync_directory(staging)
    (directory / "versions").mkdir(exist_ok=True)
    final = directory / "versions" / f"v{number:06d}"
    os.replace(staging, final)
    _fsync_directory(final.parent)
    _replace_symlink(directory / "current", f"versions/{final.name}")
    return final


def publish(root: Path, tenant: str, staging: Path, manifest: dict[str, Any], *,
            task_id: int | None = None) -> Path:
    """Seal ``staging`` as the tenant's next version and make it current; returns the version directory."""
    directory = tenant_directory(root, tenant)
    number = (versions(root, tenant) or [0])[-1] + 1
    files: dict[str, dict[str, Any]] = {}
    for name in (INDEX_FILE, SELECTION_FILE):
        path = staging / name
        if path.is_file():
            files[name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    engine_bytes = sum(p.stat().st_size for p in (staging / ENGINE_DIR).rglob("*") if p.is_file()) \
        if (staging / ENGINE_DIR).is_dir() else 0
    manifest = {
        **manifest, "format": FORMAT, "format_version": FORMAT_VERSION, "tenant": tenant, "version": number,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "files": files,
        "engine_bytes": engine_bytes, "lora_task_id": task_id,
    }
    final = _seal(staging, directory, number, manifest)
    if task_id is not None:
        task_dir = Path(root) / TASK_ID_DIR
        task_dir.mkdir(exist_ok=True)
        _replace_symlink(task_dir / str(task_id), f"../{tenant}/current/{ENGINE_DIR}")
    for old in versions(root, tenant)[:-KEEP_VERSIONS]:
        shutil.rmtree(directory / "versions" / f"v{old:06d}", ignore_errors=True)
    return final


@dataclass(frozen=True)
class Artifact:
    """A validated, opened artifact version."""

    directory: Path
    manifest: dict[str, Any]
    index: RepositoryIndex

    @property
    def tenant(self) -> str:
        return str(self.manifest["tenant"])

    def close(self) -> None:
        self.index.close()


def current_version(root: Path, tenant: str) -> Path:
    """The directory of ``tenant``'s current version; raises :class:`ArtifactError` when there is none."""
    directory = tenant_directory(root, tenant)
    link = directory / "current"
    if not link.exists():
        raise ArtifactError(f"tenant {tenant!r} has no published artifact under {root}")
    resolved = link.resolve()
    versions_dir = (directory / "versions").resolve()
    if resolved.parent != versions_dir:
        raise ArtifactError(f"artifact of tenant {tenant!r} points outside its own versions: {resolved}")
    return resolved


def read_manifest(version: Path, tenant: str) -> dict[str, Any]:
    """The manifest of ``version``, checked for format, tenant and file integrity."""
    try:
        manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact {version} has no manifest (an unfinished build?)") from exc
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"artifact {version} has an unreadable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{version} is not a Splice artifact")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"artifact {version} has format version {manifest.get('format_version')}, "
                            f"this Splice reads {FORMAT_VERSION}")
    if manifest.get("tenant") != tenant:
        raise ArtifactError(f"artifact {version} belongs to tenant {manifest.get('tenant')!r}, not {tenant!r}")
    for name, expected in dict(manifest.get("files", {})).items():
        path = version / name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ArtifactError(f"artifact {version} is missing {name}") from exc
        if size != expected.get("bytes") or file_sha256(path) != expected.get("sha256"):
            raise ArtifactError(f"artifact {version} is corrupt: {name} does not match its manifest")
    return manifest


def open_artifact(root: Path, tenant: str) -> Artifact:
    """The tenant's current artifact, validated and opened read-only."""
    version = current_version(root, tenant)
    manifest = read_manifest(version, tenant)
    try:
        index = RepositoryIndex(version / INDEX_FILE, readonly=True)
    except IndexUnreadableError as exc:
        raise ArtifactError(f"artifact {version}: {exc.message}") from exc
    return Artifact(directory=version, manifest=manifest, index=index)


# A tenant's published LoRA adapter sits beside its retrieval artifact, versioned the same way but on its
# own, so publishing or rolling back one never touches the other:
#     <root>/<tenant>/adapter/current -> versions/v000002
#     <root>/<tenant>/adapter/versions/v000002/  adapter_config.json, adapter_model.safetensors, tokenizer
#                                                files, manifest.json (training and guardrail figures)
ADAPTER_DIR = "adapter"
ADAPTER_FORMAT = "splice-adapter"
# What a trained adapter directory holds that serving needs; its resumable checkpoint stays behind.
_ADAPTER_SKIPPED = frozenset({"checkpoint", "checkpoint.new", "checkpoint.old"})


def _adapter_versions(root: Path, tenant: str) -> list[int]:
    directory = tenant_directory(root, tenant) / ADAPTER_DIR / "versions"
    if not directory.is_dir():
        return []
    return sorted(n for n in (_version_number(e.name) for e in directory.iterdir()) if n is not None)


def publish_adapter(root: Path, tenant: str, adapter: Path, manifest: dict[str, Any]) -> Path:
    """Copy the adapter in ``adapter`` into ``tenant``'s next adapter version and make it current, under
    the tenant's build lock; returns the version directory. The previous version stays for rollback."""
    with build_lock(root, tenant):
        directory = tenant_directory(root, tenant) / ADAPTER_DIR
        staging = directory / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for entry in adapter.iterdir():
            if entry.is_file() and entry.name != MANIFEST:
                shutil.copy2(entry, staging / entry.name)
            elif entry.is_dir() and entry.name not in _ADAPTER_SKIPPED:
                shutil.copytree(entry, staging / entry.name)
        number = (_adapter_versions(root, tenant) or [0])[-1] + 1
        files = {p.relative_to(staging).as_posix(): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
                 for p in sorted(staging.rglob("*")) if p.is_file()}
        final = _seal(staging, directory, number, {
            **manifest, "format": ADAPTER_FORMAT, "format_version": FORMAT_VERSION, "tenant": tenant,
            "version": number, "files": files,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        })
        for old in _adapter_versions(root, tenant)[:-KEEP_VERSIONS]:
            shutil.rmtree(directory / "versions" / f"v{old:06d}", ignore_errors=True)
    return final


def rollback_adapter(root: Path, tenant: str) -> Path:
    """Make the version before the current one ``tenant``'s current adapter; returns it. Raises
    :class:`ArtifactError` when there is no current adapter or nothing older to go back to."""
    with build_lock(root, tenant):
        current = current_adapter(root, tenant)
        if current is None:
            raise ArtifactError(f"tenant {tenant!r} has no published adapter under {root}")
        number = _version_number(current.name) or 0
        older = [n for n in _adapter_versions(root, tenant) if n < number]
        if not older:
            raise ArtifactError(f"tenant {tenant!r} has no adapter version before v{number:06d} to roll back to")
        previous = f"v{older[-1]:06d}"
        read_adapter_manifest(current.parent / previous, tenant)
        _replace_symlink(current.parent.parent / "current", f"versions/{previous}")
        return current.parent / previous


def current_adapter(root: Path, tenant: str) -> Path | None:
    """The directory of ``tenant``'s current adapter, None when none was published; raises
    :class:`ArtifactError` when the link points outside the tenant's own adapter versions."""
    directory = tenant_directory(root, tenant) / ADAPTER_DIR
    link = directory / "current"
    if not link.exists():
        return None
    resolved = link.resolve()
    if resolved.parent != (directory / "versions").resolve():
        raise ArtifactError(f"adapter of tenant {tenant!r} points outside its own versions: {resolved}")
    return resolved


def read_adapter_manifest(version: Path, tenant: str) -> dict[str, Any]:
    """The manifest of an adapter version, checked for format, tenant and every file's size and SHA-256."""
    try:
        manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"adapter {version} has no readable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ADAPTER_FORMAT:
        raise ArtifactError(f"{version} is not a published Splice adapter")
    if manifest.get("tenant") != tenant:
        raise ArtifactError(f"adapter {version} belongs to tenant {manifest.get('tenant')!r}, not {tenant!r}")
    for name, expected in dict(manifest.get("files", {})).items():
        path = version / name
        if not path.is_file() or path.stat().st_size != expected.get("bytes") \
                or file_sha256(path) != expected.get("sha256"):
            raise ArtifactError(f"adapter {version} is corrupt: {name} does not match its manifest")
    return manifest
