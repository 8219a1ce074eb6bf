"""Redaction of credentials inside text that is about to be indexed.

Files that typically hold secrets never reach the index at all (``splice.workspace`` skips them by name);
this module covers the other case, a credential pasted into ordinary code. Everything that leaves a
repository for the index, the engine corpus of an artifact or a prompt passes through :func:`redact` first,
so a secret is replaced before it is stored anywhere. The patterns favour recall over precision: replacing a
harmless string costs a little context, leaking a key costs far more. Each replacement keeps the text's
shape (the variable name, the quotes, the host of a URL) so the surrounding code still reads as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REDACTED = "<redacted>"

# A whole PEM block, from BEGIN to END, for any kind of private key (RSA, EC, OPENSSH, PGP, encrypted).
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)

# Tokens recognisable by their own shape, wherever they appear.
_SHAPED = re.compile(
    r"""(?x)
      \b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b          # AWS access key ids
    | \bAIza[0-9A-Za-z_\-]{35}\b                                          # Google API keys
    | \bgh[pousr]_[0-9A-Za-z]{36,255}\b                                   # GitHub tokens
    | \bgithub_pat_[0-9A-Za-z_]{22,255}\b                                 # GitHub fine-grained tokens
    | \bglpat-[0-9A-Za-z_\-]{20,}\b                                       # GitLab tokens
    | \bxox[abposr]-[0-9A-Za-z\-]{10,}\b                                  # Slack tokens
    | \b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b                        # Stripe keys
    | \bsk-(?:proj-|ant-)?[0-9A-Za-z_\-]{20,}\b                           # OpenAI / Anthropic style keys
    | \bnpm_[0-9A-Za-z]{36}\b                                             # npm tokens
    | \bSG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}\b                      # SendGrid keys
    | \beyJ[0-9A-Za-z_\-]{8,}\.eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{8,}  # JSON web tokens
    """
)

# ``scheme://user:password@host``: the password goes, the rest of the connection string stays.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]+:)(?P<secret>[^\s@/'\"]+)(?=@)")

# ``password = "..."``, ``api_key: '...'``, ``"token": "..."``, ``SECRET_KEY=...`` and the like: a name that
# says "secret" assigned a literal. The name and the quotes stay; the literal goes.
_SECRET_NAME = (
    r"[A-Za-z0-9_.\-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|"
    r"private[_\-]?key|client[_\-]?secret|auth[_\-]?(?:key|header)|credential|session[_\-]?key|signing[_\-]?key)[A-Za-z0-9_.\-]*"
)
_SECRET_HINT = re.compile(
    r"passw|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credential|auth[_\-]?(?:key|header)|"
    r"session[_\-]?key|signing[_\-]?key",
    re.IGNORECASE,
)
_QUOTED_ASSIGNMENT = re.compile(
    rf"""(?ix)(?P<head>["']?{_SECRET_NAME}["']?\s*(?::=|=>|==|[:=])\s*[rbuf]?(?P<q>["'`]))(?P<secret>[^"'`\s]{{4,}})(?P=q)"""
)
_BARE_ASSIGNMENT = re.compile(
    rf"""(?ix)^(?P<head>\s*(?:export\s+)?{_SECRET_NAME}\s*[:=]\s*)(?P<secret>[^\s"'`#;,()\[\]{{}}][^\s"'`#;,]{{5,}})\s*$""",
    re.MULTILINE,
)
# Values that are code, not secrets: a call, an attribute, an environment lookup, a placeholder.
_HARMLESS_VALUE = re.compile(
    r"^(?:\$\{?\w+\}?|%\(\w+\)s|<[^>]*>|\{\{.*\}\}|None|null|true|false|os\.environ.*|getenv.*)$", re.IGNORECASE
)


@dataclass(frozen=True)
class Redaction:
    """Redacted text and how many secrets were replaced."""

    text: str
    count: int


def redact(text: str) -> Redaction:
    """``text`` with every credential it appears to hold replaced by :data:`REDACTED`."""
    count = 0

    def whole(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        # Line breaks stay, so the line numbers of everything after a redacted block still hold.
        return REDACTED + "\n" * match.group(0).count("\n")

    def value(match: re.Match[str]) -> str:
        nonlocal count
        secret = match.group("secret")
        if secret == REDACTED or _HARMLESS_VALUE.match(secret):
            return match.group(0)
        count += 1
        start, end = match.span("secret")
        base = match.start(0)
        return match.group(0)[: start - base] + REDACTED + match.group(0)[end - base :]

    # Each pattern runs only where a cheap test says it could match: the assignment patterns scan every
    # position for a secret-like name, which on a whole file costs milliseconds, so they run on the lines
    # that mention one.
    if "PRIVATE KEY" in text:
        text = _PRIVATE_KEY.sub(whole, text)
    text = _SHAPED.sub(whole, text)
    if "://" in text:
        text = _URL_CREDENTIALS.sub(value, text)
    if _SECRET_HINT.search(text):
        lines = text.split("\n")
        for number, line in enumerate(lines):
            if _SECRET_HINT.search(line):
                line = _QUOTED_ASSIGNMENT.sub(value, line)
                lines[number] = _BARE_ASSIGNMENT.sub(value, line)
        text = "\n".join(lines)
    return Redaction(text=text, count=count)
