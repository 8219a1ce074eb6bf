"""Settings: environment and client options merge; invalid values keep the default and are reported."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from splice.config import Settings, artifacts_root, client_section, from_environment, merge, tenant_task_ids
from splice.engines.factory import wants_triton
from splice.errors import ArtifactError
from splice.retrieval.artifact import check_tenant


def test_environment_overrides_defaults() -> None:
    settings, problems = from_environment({"SPLICE_CONTEXT_TOKENS": "4096", "SPLICE_MODEL_FAMILY": "codellama"})
    assert settings.context_tokens == 4096 and settings.model_family == "codellama"
    assert problems == []


def test_invalid_environment_value_keeps_default_and_says_so() -> None:
    settings, problems = from_environment({"SPLICE_CONTEXT_TOKENS": "lots", "SPLICE_ENGINE": "gpt"})
    assert settings.context_tokens == Settings().context_tokens
    assert settings.engine == Settings().engine == "auto"
    assert len(problems) == 2 and "contextTokens" not in problems[0]


def test_client_options_camel_case_and_nested_section() -> None:
    raw = client_section({"splice": {"maxNewTokens": 32, "prefixShare": 0.5}})
    settings, problems = merge(Settings(), raw, source="init")
    assert settings.max_new_tokens == 32 and settings.prefix_share == 0.5 and problems == []


def test_wrong_types_unknown_keys_and_bools_are_reported() -> None:
    settings, problems = merge(Settings(), {"maxNewTokens": "32", "numCandidates": True, "colour": "red"},
                               source="init")
    assert settings == Settings()
    assert len(problems) == 3
    assert any("unknown setting 'colour'" in p for p in problems)


def test_shares_that_leave_no_room_for_snippets_are_refused() -> None:
    settings, problems = merge(Settings(), {"prefixShare": 0.9, "suffixShare": 0.3}, source="init")
    assert (settings.prefix_share, settings.suffix_share) == (Settings().prefix_share, Settings().suffix_share)
    assert problems


def test_non_mapping_options_are_ignored() -> None:
    assert client_section(["x"]) == {}
    assert client_section(None) == {}


def test_engine_choice_follows_the_triton_url() -> None:
    assert not wants_triton(Settings())
    assert wants_triton(merge(Settings(), {"tritonUrl": "127.0.0.1:8001"}, source="t")[0])
    assert not wants_triton(merge(Settings(), {"tritonUrl": "127.0.0.1:8001", "engine": "embedded"}, source="t")[0])
    settings, problems = merge(Settings(), {"engine": "triton"}, source="t")
    assert not wants_triton(settings) and any("needs tritonUrl" in p for p in problems)


def test_tenant_task_ids_are_checked_by_the_parser_that_reads_them() -> None:
    for bad in ("a=²", "a=٣", "acme=1,acme=2", "acme=1,", "ACME=1", "by-task-id=1", f"a={2**64}", "a"):
        settings, problems = merge(Settings(), {"tenantTaskIds": bad}, source="init")
        assert settings.tenant_task_ids == "" and len(problems) == 1, bad
    settings, problems = merge(Settings(), {"tenantTaskIds": " acme = 3 , globex=4"}, source="init")
    assert problems == [] and tenant_task_ids(settings) == {"acme": 3, "globex": 4}


def test_one_tenant_name_rule_for_settings_and_artifacts() -> None:
    for bad in ("ACME", "Acme", "by-task-id", "²", "é", "a/b", "..", ".hidden", "a" * 65):
        assert merge(Settings(), {"tenant": bad}, source="init")[0].tenant == "", bad
        with pytest.raises(ArtifactError):
            check_tenant(bad)
    assert merge(Settings(), {"tenant": "acme-2.eu_west"}, source="init") == (
        dataclasses.replace(Settings(), tenant="acme-2.eu_west"), [])


def test_directories_are_checked_as_they_are_used() -> None:
    settings, problems = merge(Settings(), {"dataDir": "~nobody-here-at-all/t", "artifactsDir": "~/artifacts"},
                               source="init")
    assert settings.data_dir == "" and len(problems) == 1
    assert artifacts_root(settings) == Path.home() / "artifacts"


def test_a_triton_url_needs_a_real_port() -> None:
    for bad in ("host:", ":8001", "host:0", "host:99999", "host:8001\n", "host:８００１"):
        assert merge(Settings(), {"tritonUrl": bad}, source="init")[0].triton_url == "", bad
    assert merge(Settings(), {"tritonUrl": "dns:///triton.local:8001"}, source="init")[1] == []


def test_unknown_splice_variables_are_reported_with_a_suggestion() -> None:
    _, problems = from_environment({"SPLICE_TELEMTRY": "off", "SPLICE_INDEX_DIR": "/x", "SPLICE_ZZZ": "1",
                                           "SPLICE_TELEMETRY": "on", "OTHER": "1"})
    assert problems == [
        "environment: unknown variable SPLICE_TELEMTRY ignored (did you mean SPLICE_TELEMETRY?)",
        "environment: unknown variable SPLICE_ZZZ ignored",
    ]
    _, problems = from_environment({"SPLICE_CONTEXT_TOKENS": "²"})
    assert problems and "SPLICE_CONTEXT_TOKENS" in problems[0]
