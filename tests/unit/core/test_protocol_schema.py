"""Splice's own protocol: generated types match the schema, and params are validated against it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from splice.errors import InvalidParamsError
from splice.protocol.generated import METHOD_PARAMS, SCHEMA
from splice.protocol.schema import validate_params

ROOT = Path(__file__).resolve().parents[3]


def test_generated_python_and_typescript_types_are_up_to_date() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-protocol"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_method_has_params_in_the_schema() -> None:
    assert set(METHOD_PARAMS) == set(SCHEMA["methods"])
    feedback = {"splice/didShowCompletion", "splice/didAcceptCompletion", "splice/didRejectCompletion"}
    assert feedback <= set(METHOD_PARAMS)


@pytest.mark.parametrize(("method", "params", "problem"), [
    ("splice/didAcceptCompletion", {}, "completionId"),
    ("splice/didAcceptCompletion", {"completionId": "a", "acceptedLength": 1.5}, "integer"),
    ("splice/didRejectCompletion", {"completionId": "a", "reason": "bored"}, "is not one of"),
    ("splice/didShowCompletion", {"completionId": "a", "extra": 1}, "Additional properties"),
])
def test_invalid_params_name_the_problem(method: str, params: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidParamsError, match=problem):
        validate_params(method, params)


def test_valid_params_pass() -> None:
    validate_params("splice/didAcceptCompletion", {"completionId": "abc-0", "acceptedLength": 12})
    validate_params("splice/status", {"state": "degraded", "engine": "fallback", "message": "triton: down"})
