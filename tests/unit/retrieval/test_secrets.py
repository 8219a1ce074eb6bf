"""Redaction replaces credentials and keeps the code around them."""

from splice.retrieval.secrets import REDACTED, redact


def test_cloud_keys_and_tokens_are_replaced() -> None:
    text = (
        'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"\n'
        'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n'
        'GITHUB = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"\n'
        'stripe = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\n'
    )
    out = redact(text)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "ghp_abcdef", "sk_live_4eC3"):
        assert secret not in out.text
    assert out.text.startswith("aws_access_key_id = ")
    assert out.count >= 4


def test_private_key_block_is_replaced_and_line_numbers_hold() -> None:
    text = "a = 1\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabcdef\n-----END RSA PRIVATE KEY-----\nb = 2\n"
    out = redact(text)
    assert "MIIEpAIBAAKCAQEA" not in out.text
    assert out.text.count("\n") == text.count("\n")
    assert out.text.split("\n")[5] == "b = 2"


def test_passwords_in_assignments_and_connection_strings() -> None:
    text = (
        'password = "hunter2hunter2"\n'
        "DB_PASSWORD=s3cr3tP4ss\n"
        'url = "postgres://admin:Sup3rS3cret@db.example.com:5432/app"\n'
        'config = {"api_key": "abcd1234efgh5678"}\n'
    )
    out = redact(text)
    for secret in ("hunter2hunter2", "s3cr3tP4ss", "Sup3rS3cret", "abcd1234efgh5678"):
        assert secret not in out.text
    assert "postgres://admin:" + REDACTED + "@db.example.com" in out.text


def test_code_that_only_names_secrets_is_kept() -> None:
    text = 'password = os.environ["PASSWORD"]\ntoken = None\ndef check_password(password):\n    return password\n'
    assert redact(text).text == text
