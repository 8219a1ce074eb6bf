"""The VS Code extension contributes every server setting, generated from ``config.py``: when a setting is
added, renamed or given another default or range there, these fail until ``scripts/gen-vscode-settings``
has been run."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from splice import config

ROOT = Path(__file__).resolve().parents[3]
PROPERTIES = json.loads((ROOT / "plugin-protocol" / "vscode" / "package.json").read_text())[
    "contributes"]["configuration"]["properties"]


def test_package_json_settings_are_generated_from_config() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-vscode-settings"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_server_setting_is_contributed_with_the_server_default() -> None:
    defaults = config.Settings()
    # The evaluation guard is set by `splice eval` for the servers it starts; no editor offers it.
    assert f"splice.{config._camel('evaluation_guard')}" not in PROPERTIES
    for item in dataclasses.fields(config.Settings):
        if item.name == "evaluation_guard":
            continue
        contributed = PROPERTIES[f"splice.{config._camel(item.name)}"]
        assert contributed["default"] == getattr(defaults, item.name), item.name


def test_every_offered_choice_and_bound_is_accepted_by_the_server() -> None:
    for key, contributed in PROPERTIES.items():
        name = key.removeprefix("splice.")
        values = [*contributed.get("enum", []), *(contributed[b] for b in ("minimum", "maximum") if b in contributed)]
        if name in ("enable", "server.path", "trace.server"):
            continue  # the extension's own settings, never sent to the server
        for value in values:
            _, problems = config.merge(config.Settings(), {name: value}, source="test")
            assert not [p for p in problems if f"'{name}'" in p], (name, value, problems)


def test_ranges_are_as_tight_as_the_server_checks() -> None:
    _, problems = config.merge(config.Settings(), {"contextTokens": PROPERTIES["splice.contextTokens"]["minimum"] - 1},
                               source="test")
    assert problems
    assert PROPERTIES["splice.engine"]["enum"] == list(config.ENGINES)
