"""Redaction replaces credentials and keeps the code around them."""

import pytest

from splice.secrets import REDACTED, redact


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


@pytest.mark.parametrize("line", [
    "tokens = self.parsed",
    'is_fence = token.type == "fence"',
    "self.password = password",
    "    password=password",
    "token = tokens[0]",
    'if password == "":',
    "def set_password(self, raw_password):",
    "api_key: str",
    'PASSWORD_FIELD = "password"',
    'TOKEN_ENV = "GITHUB_TOKEN"',
    'parser.add_argument("--password", help="the password")',
    'password = os.getenv("DB_PASSWORD")',
    'secret = "${SECRET}"',
    'url = "https://example.com:8080/path/@user"',
])
def test_references_comparisons_and_placeholders_are_not_secrets(line: str) -> None:
    assert redact(line, "pkg/module.py").text == line


@pytest.mark.parametrize(("line", "secret"), [
    ('aws_secret_access_key = "q1w2e3r4t5y6u7i8o9p0ASDFGHJKLZXCVBNM1234"', "q1w2e3r4t5y6u7i8o9p0ASDFGHJKLZXCVBNM1234"),
    ('password = "Tr0ub4dor&3x"', "Tr0ub4dor&3x"),
    ("mysqldump -u root -pS3cretDump app > app.sql", "S3cretDump"),
    ("curl -u admin:Adm1nCurlPw https://ci.internal", "Adm1nCurlPw"),
    ('API_TOKEN: str = "annotatedSecret9"', "annotatedSecret9"),
    ('CONFIG["SECRET_KEY"] = "flask-s3cret-key"', "flask-s3cret-key"),
    ('os.environ.setdefault("SECRET_KEY", "dj-insecure-9x8c7v")', "dj-insecure-9x8c7v"),
    ('DB = os.getenv("DB_PASSWORD", "fallbackPw77")', "fallbackPw77"),
    ('passphrase = "correct horse battery staple"', "correct horse battery staple"),
    ('ENCRYPTION_KEY = "enc-key-material-42"', "enc-key-material-42"),
    ('db_pass = "plainpass99"', "plainpass99"),
    ('user.set_password("S3tterPass!")', "S3tterPass!"),
    ("define('DB_PASSWORD', 'wp-pass-1234');", "wp-pass-1234"),
    ("mysql -h db -u app -pMysqlPw55 app", "MysqlPw55"),
    ('r = "redis://:redisPw771@cache:6379/0"', "redisPw771"),
    ('u = "postgres://app:pa/ss@w0rd@db.internal/app"', "pa/ss@w0rd"),
    ('u = "jdbc:mysql://db:3306/app?user=app&password=jdbcPw123"', "jdbcPw123"),
    ('cs = "Server=db;Database=app;User Id=app;Password=NetPw123;"', "NetPw123"),
    ('cs = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abcdEFGH1234+/==;"', "abcdEFGH1234+/=="),
    ('h = {"Authorization": "Bearer abc123DEF456ghi789jkl"}', "abc123DEF456ghi789jkl"),
    ("Authorization: Basic YWRtaW46cGFzc3dvcmQ=", "YWRtaW46cGFzc3dvcmQ="),
])
def test_reported_kinds_are_redacted(line: str, secret: str | None) -> None:
    out = redact(line, "pkg/module.py").text
    assert REDACTED in out
    if secret is not None:
        assert secret not in out


def test_a_random_string_in_a_secrets_module_is_redacted() -> None:
    text = 'STAGING = "Zq8vLp2XcR7tNw4YbK9mHs3D"\n'
    assert "Zq8vLp2X" not in redact(text, "app/secrets.py").text
    assert redact(text, "app/colors.py").text == text
