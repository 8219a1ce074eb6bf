"""Settings: environment and client options merge; invalid values keep the default and are reported."""

from __future__ import annotations

from splice.config import Settings, client_section, from_environment, merge
from splice.engines.factory import wants_triton


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
