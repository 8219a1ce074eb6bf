"""The Kubernetes manifests under deploy/ render with kustomize and validate against the API schemas.

Rendering uses ``kubectl kustomize`` (the kustomize built into kubectl, which this machine image carries
as the Debian package ``kubectl``); validation uses ``kubernetes-validate`` (PyPI) in strict mode. The
checks after that are the deployment's own rules: GPU requests, shared memory, probes that wait for the
engine, capacity-keeping rollout, a disruption budget, autoscaling on TensorRT-LLM's metrics, and the
keepalive policy Splice's client needs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from splice.engines.triton import TritonSettings

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(p.name for p in (REPO / "deploy" / "overlays").iterdir() if p.is_dir())
UPSTREAM = json.loads((REPO / "triton_models" / "trtllm" / "upstream.json").read_text())
KUBERNETES_VERSION = "1.32.0"


def render(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to render deploy/; install the kubectl package")
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=["base", *OVERLAYS])
def manifests(request: pytest.FixtureRequest) -> dict[str, Any]:
    path = REPO / "deploy" / ("base" if request.param == "base" else f"overlays/{request.param}")
    docs = render(path)
    return {"name": request.param, "docs": docs, "by_kind": {doc["kind"]: doc for doc in docs}}


def test_every_manifest_validates_strictly(manifests: dict[str, Any]) -> None:
    for doc in manifests["docs"]:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap",
            "PersistentVolumeClaim"} <= set(manifests["by_kind"])


def _triton(manifests: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = manifests["by_kind"]["Deployment"]["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == "tritonserver"]
    return pod, container


def test_pods_ask_for_a_gpu_and_enough_shared_memory(manifests: dict[str, Any]) -> None:
    pod, container = _triton(manifests)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert "nvidia.com/gpu.present" in pod["nodeSelector"]
    if manifests["name"] != "base":
        assert "nvidia.com/gpu.product" in pod["nodeSelector"]
    [shm] = [v for v in pod["volumes"] if v["name"] == "dshm"]
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert container["image"] == UPSTREAM["container"]


def test_probes_allow_for_the_engine_load_and_rollouts_keep_capacity(manifests: dict[str, Any]) -> None:
    pod, container = _triton(manifests)
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/v2/health/ready"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert pod["terminationGracePeriodSeconds"] > 30  # above --exit-timeout-secs
    rollout = manifests["by_kind"]["Deployment"]["spec"]["strategy"]["rollingUpdate"]
    assert rollout["maxUnavailable"] == 0 and rollout["maxSurge"] >= 1
    assert manifests["by_kind"]["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_autoscaling_reads_tensorrt_llm_metrics(manifests: dict[str, Any]) -> None:
    hpa = manifests["by_kind"]["HorizontalPodAutoscaler"]["spec"]
    names = {m["pods"]["metric"]["name"] for m in hpa["metrics"]}
    rules = next(d for d in manifests["docs"] if d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {}))
    adapter = yaml.safe_load(rules["data"]["config.yaml"])["rules"]
    exposed = {rule["name"]["as"]: rule["metricsQuery"] for rule in adapter}
    assert names <= set(exposed)
    assert all("nv_trt_llm_" in query and 'model="tensorrt_llm"' in query for query in exposed.values())
    assert 'splice_fim' not in json.dumps(manifests["docs"])


def test_server_keepalive_admits_the_client_pings(manifests: dict[str, Any]) -> None:
    _, container = _triton(manifests)
    command = " ".join(container["args"])
    assert "--grpc-keepalive-permit-without-calls=1" in command
    interval = int(command.split("--grpc-http2-min-recv-ping-interval-without-data=")[1].split()[0])
    assert interval < TritonSettings().keepalive_time_ms
    assert "check-trtllm-deployment" in command.split("exec tritonserver")[0]  # checked before serving
