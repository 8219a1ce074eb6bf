"""Suggestions that would insert a secret, or the marker left where one was, are dropped."""

from __future__ import annotations

from splice.postprocess.chain import default_chain
from splice.postprocess.secrets import drop_secrets

from .support import context, run


def test_completing_a_secret_from_its_name_is_dropped() -> None:
    assert run(drop_secrets, 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"', context('aws_secret_access_key = "')) is None
    assert run(drop_secrets, 'Tr0ub4dor&3x"', context('password = "')) is None
    assert run(drop_secrets, "S3cretDump app > app.sql", context("mysqldump -u root -p", "\n", "shellscript")) is None
    assert run(drop_secrets, "Adm1nCurlPw https://ci.internal", context("curl -u admin:", "\n", "shellscript")) is None


def test_a_secret_completed_into_the_rest_of_the_line_is_dropped() -> None:
    # The closing quote is already on screen: the suggestion alone would not look like a secret.
    assert run(drop_secrets, "Tr0ub4dor&3x", context('password = "', '"\n')) is None


def test_shaped_tokens_and_the_redaction_marker_are_dropped() -> None:
    assert run(drop_secrets, "ghp_" + "a1B2c3D4e5" * 4, context("token = ")) is None
    assert run(drop_secrets, '<redacted>"', context('password = "')) is None


def test_code_that_names_a_secret_is_kept() -> None:
    ctx = context("password = ")
    assert run(drop_secrets, 'os.environ["DB_PASSWORD"]', ctx) is not None
    assert run(drop_secrets, "self.password", ctx) is not None
    assert run(drop_secrets, "check_password(password)", context("if not ")) is not None


def test_a_secret_already_typed_before_the_cursor_does_not_drop_what_follows() -> None:
    assert run(drop_secrets, "\nconnect()", context('password = "Tr0ub4dor&3x"')) is not None


def test_the_check_closes_the_default_chain() -> None:
    assert default_chain()[-1] is drop_secrets
