"""Finding and replacing credentials in text, before workspace text reaches anything Splice keeps or shows.

Files that typically hold secrets never reach the index at all (``splice.workspace`` skips them by name,
and judges a link by the file it resolves to); this module covers the other case, a credential pasted into
ordinary code or configuration. :mod:`splice.workspace` runs :func:`redact` on every file it reads, so the
index, the artifact's engine corpus, the embedded engine's project corpus, retrieval snippets and the
evaluation harness only ever see redacted text; open documents other than the one being edited go through
the same function, and the last step of the suggestion chain drops any suggestion :func:`findings` flags.

Three families of rules, each tested on a labelled corpus and on tens of thousands of lines of other
people's code (``scripts/bench-secrets``):

* tokens with a vendor's own shape (AWS, GitHub, GitLab, Slack, Stripe, Google, Twilio, ...), found anywhere;
* credentials in a known place: a URL's password, a connection string's ``Password=``/``AccountKey=``, an
  ``Authorization`` header's token, a command line's ``-p``/``-u user:``/``--password``;
* a literal assigned to a name that says "secret" (``password = "..."``, ``CONFIG["SECRET_KEY"] = ...``,
  ``os.getenv("DB_PASSWORD", "...")``). Only a literal value is a secret: a reference to a variable, an
  attribute, a call or a comparison is code, and replacing it would corrupt what retrieval and the engine
  learn from. Unquoted values count as literals only in configuration files and ``NAME=value`` lines.

The name rules run only at the places a cheap scan for a secret-like word finds, so redaction stays a
small share of indexing time. Each replacement keeps the text's shape (the name, the quotes, a URL's host)
so the surrounding code still reads as code.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

REDACTED = "<redacted>"


@dataclass(frozen=True)
class Finding:
    """One secret: where its value lies in the text, and which rule found it."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Redaction:
    """Redacted text and how many secrets were replaced."""

    text: str
    count: int


# Vendor tokens, recognisable by their own shape wherever they appear: (kind, literals of which one must be
# in the text for the pattern to be tried, pattern). Trying each pattern only where its literal occurs keeps
# the scan cheap: one alternation of them all ran at a tenth of the speed. The value is group ``s`` when
# the pattern has one (to keep a webhook's host), else the whole match.
_SHAPED: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (kind, anchors, re.compile(pattern, re.DOTALL)) for kind, anchors, pattern in (
        ("private_key", ("PRIVATE KEY",),
         r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\Z)"),
        ("aws_key_id", ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA", "APKA"),
         r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|APKA)[0-9A-Z]{16}\b"),
        ("google_api_key", ("AIza",), r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),
        ("google_oauth_secret", ("GOCSPX-",), r"\bGOCSPX-[0-9A-Za-z_\-]{28}(?![0-9A-Za-z_\-])"),
        ("github", ("gh", "github_pat_"), r"\b(?:gh[pousr]_[0-9A-Za-z]{36,255}|github_pat_[0-9A-Za-z_]{22,255})\b"),
        ("gitlab", ("gl",),
         r"\b(?:glpat|glptt|gldt|glrt|glcbt|glsoat|gloas|glft|glimt)-[0-9A-Za-z_\-]{20,}(?![0-9A-Za-z_\-])"),
        ("slack_token", ("xox", "xapp-"), r"\b(?:xox[abposre]|xapp)-[0-9A-Za-z\-]{10,}"),
        ("slack_webhook", ("hooks.slack.com",),
         r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9+/_\-]{20,})"),
        ("stripe", ("_live_", "_test_", "whsec_"),
         r"\b(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|whsec_[0-9A-Za-z]{24,})\b"),
        ("openai_anthropic", ("sk-",),
         r"\bsk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?(?=[0-9A-Za-z_\-]*\d)[0-9A-Za-z_\-]{20,}"),
        ("npm", ("npm_",), r"\bnpm_[0-9A-Za-z]{36}\b"),
        ("sendgrid", ("SG.",), r"\bSG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}(?![0-9A-Za-z_\-])"),
        ("jwt", ("eyJ",), r"\beyJ[0-9A-Za-z_\-]{8,}\.eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{8,}"),
        ("twilio", ("SK",), r"SK[0-9a-fA-F]{32}\b"),
        ("mailgun", ("key-",), r"\bkey-[0-9a-zA-Z]{32}\b"),
        ("huggingface", ("hf_",), r"\bhf_[A-Za-z0-9]{34,}\b"),
        ("digitalocean", ("_v1_",), r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
        ("shopify", ("shp",), r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b"),
        ("vault", ("hvs.", "hvb."), r"\bhv[sb]\.[A-Za-z0-9_\-]{24,}"),
        ("pypi", ("pypi-",), r"\bpypi-[A-Za-z0-9_\-]{50,}"),
        ("telegram", (":AA",), r"\b\d{8,10}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])"),
        ("databricks", ("dapi",), r"\bdapi[a-f0-9]{32}(?:-\d)?\b"),
        ("azure_ad_secret", ("Q~",),
         r"(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"),
        ("square", ("sq0",), r"\bsq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43}"),
        ("mailchimp", ("-us",), r"\b[0-9a-f]{32}-us\d{1,2}\b"),
        ("postman", ("PMAK-",), r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b"),
        ("age", ("AGE-SECRET-KEY-",), r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"),
        ("grafana", ("glsa_", "glc_"), r"\b(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})"),
        ("newrelic", ("NRAK-",), r"\bNRAK-[A-Z0-9]{27}\b"),
        ("linear", ("lin_api_",), r"\blin_api_[A-Za-z0-9]{40}\b"),
        ("doppler", ("dp.pt.",), r"\bdp\.pt\.[A-Za-z0-9]{43}\b"),
    )
)

# ``scheme://user:password@host``: the password goes, the rest stays. The password runs to the last ``@``
# before a host, so one holding ``@`` or ``/`` goes whole; the user may be empty (``redis://:pw@host``).
_URL_CREDENTIALS = re.compile(
    r"""\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'"`<>]*:(?P<s>[^\s'"`<>]*[^\s'"`<>@])@(?=[A-Za-z0-9\[\]_\-]+[.:/?#\s'"`<>)\]]|[A-Za-z0-9_\-]+$)""",
    re.MULTILINE,
)
# ``Server=...;Password=...;``, ``?user=u&password=...``, ``AccountKey=...``: a key inside a connection string
# or query, which the separator before it tells from a keyword argument.
_CONNECTION_KEY = re.compile(
    r"""(?i)(?<=[;?&"'`])\s*(?:password|passwd|pwd|accountkey|sharedaccesskey|client_secret|api_?key|access_token|secret)\s*=(?P<s>[^;&\s'"`]+)"""
)
# ``Authorization: Bearer <token>`` and its relatives, wherever a header is written.
_AUTH_HEADER = re.compile(r"\b(?:Bearer|Basic|Token)\s+(?P<s>[A-Za-z0-9\-._~+/]{12,}=*)(?![A-Za-z0-9\-._~+/=])")
# Command lines: ``mysql -pSECRET``, ``curl -u user:SECRET``, ``sshpass -p SECRET``, ``--password=SECRET``;
# each tried only when its command or flag is in the text.
_COMMAND_LINE: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (kind, anchors, re.compile(pattern)) for kind, anchors, pattern in (
        ("mysql", ("mysql", "mariadb"),
         r"""\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mariadb)\b[^\n]*?\s-p(?P<s>[^\s'"`]+)"""),
        ("curl", ("curl",), r"""\bcurl\b[^\n]*?\s(?:-u|--user)[\s=]*['"]?[^\s:'"`]*:(?P<s>[^\s'"`]+)"""),
        ("sshpass", ("sshpass",), r"""\bsshpass\s+-p\s*(?P<s>[^\s'"`]+)"""),
        ("flag", ("--pass", "--token", "--secret", "--api-key"),
         r"""(?<![\w-])--(?:password|passwd|pass|api-key|token|secret)[ =](?P<s>[^\s'"`\-][^\s'"`]*)"""),
    )
)
# ``<password>...</password>`` in XML configuration.
_XML_ELEMENT = re.compile(
    r"(?i)<(?P<tag>[\w:.\-]*(?:password|passwd|secret|token|apikey|api_key|passphrase))>(?P<s>[^<\s][^<\n]*)</(?P=tag)>"
)

# Every secret-like word holds one of these; lines without any are never tried against the name rules.
_ANCHOR = re.compile(r"pass|pwd|secret|token|key|credential")
_ANCHOR_ANY_CASE = re.compile(_ANCHOR.pattern, re.IGNORECASE)
# The words that make a name secret-like. Compounds come first so ``SECRET_KEY`` is one word, not two.
# A word starts a name, follows a separator, or starts a camelCase part (``dbPassword``, ``clientSecret``).
_WORD = re.compile(
    r"""(?x)(?:(?<![A-Za-z])|(?<=[a-z0-9])(?=[A-Z]))(?i:
      (?P<pass>passphrase|(?:pg|mysql_?)?passw(?:or)?d|pass|pwd)
    | (?P<strong>(?:secret|encryption|signing|master|account|session|private|access|client|app|auth|cookie|jwt)
                 [_\-]?(?:access[_\-]?)?(?:key|secret|token)
              | api[_\-]?(?:key|secret|token) | apikey | secret | credentials?
              | (?:access|refresh|auth|bearer|bot)[_\-]?token)
    | (?P<weak>token)
    )(?:\d*)(?![A-Za-z0-9_])"""
)
# What may follow a secret-like name for a quoted literal to be its value: the name's closing quote or
# subscript, an optional annotation, then an assignment (never a comparison), or, after a quoted name, a
# comma (``setdefault("SECRET_KEY", "...")``, ``define('DB_PASSWORD', '...')``).
_QUOTED_VALUE = re.compile(
    r"""(?x)["'`]?\]?
      (?:(?:\s*:\s*[A-Za-z_][\w.\[\], |]*?)?\s*(?::=|=>|\?\?=|\|\|=|(?<![=!<>])=(?![=~>])|:(?![:=])|\|\||\?\?|\)?\s+or)
        | (?<=["'])\s*,)
      \s*(?:[rRbBuU]{1,2})?(?P<q>["'`])(?P<s>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)"""
)
# ``set_password("...")``, ``setApiKey('...')``: a setter called with a literal.
_SETTER_CALL = re.compile(r"""\s*\(\s*(?P<q>["'])(?P<s>[^"'\n]+)(?P=q)""")
_SETTER_NAME = re.compile(r"(?i)(?:set|update|change|with)_?$")
# A value without quotes after ``=`` or ``:``, running to the end of the line (a trailing comment aside).
_BARE_VALUE = re.compile(
    r"""["']?[ \t]*(?P<op>=|:)[ \t]*(?P<s>[^\s"'`#;,(\[{<][^\n]*?)[ \t]*(?:\s[#;].*)?$""", re.MULTILINE)
_LINE_HEAD = re.compile(r"""[ \t]*(?:(?:export|set|ENV|declare(?:\s+-x)?|-)[ \t]+)?[A-Za-z0-9_.\-]*$""")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")

# Quoted AWS secret access keys (40 base64 characters) passed without a telling name, in files about AWS
# (ones that say ``aws``, ``boto`` or hold an access key id).
_AWS_SECRET = re.compile(r"""(?<![A-Za-z0-9/+=])["'](?P<s>[A-Za-z0-9/+]{40})["']""")
# Any quoted random-looking literal, in files whose name says they hold secrets.
_QUOTED_LITERAL = re.compile(r"""(?P<q>["'])(?P<s>[A-Za-z0-9+/=_\-.~!@#$%^&*]{16,})(?P=q)""")
_SECRET_FILE = re.compile(r"(?i)secret|credential|passw")

# Values that stand for a secret rather than being one: templates, environment lookups, masks, examples.
_PLACEHOLDER = re.compile(
    r"""(?ix)^(?:.*(?:\$\{|\{\{|\{[\w.]*\}|%\(\w+\)s|%s|<[^>]*>|\byour[_\-\s]|\bplaceholder|\breplace[_\-\s]?me|\bchange[_\-\s]?me\b).*
      |\$\w+|(.)\1{2,}|none|null|nil|true|false|undefined|empty|redacted|hidden|masked|dummy|test|example|string|str|bytes)$"""
)
_UPPER_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")  # an environment variable's name
_REFERENCE = re.compile(r"^[A-Za-z_][\w]*(?:\s*(?:\.|::|->)\s*[A-Za-z_]\w*)*(?:\s*[(\[].*)?[;,]?$")
_CONFIG_SUFFIXES = frozenset({
    ".env", ".ini", ".cfg", ".conf", ".config", ".properties", ".yaml", ".yml", ".toml", ".sh", ".bash",
    ".zsh", ".txt", ".md", ".rst", ".service", ".tf", ".hcl", ".sql",
})
_CONFIG_NAMES = frozenset({"dockerfile", "makefile", "procfile", "jenkinsfile", ".envrc"})


def is_configuration(path: str) -> bool:
    """Whether ``path`` is a file whose unquoted values are literals (configuration, shell, prose)."""
    name = os.path.basename(path).lower()
    return name in _CONFIG_NAMES or name.startswith(".env") or os.path.splitext(name)[1] in _CONFIG_SUFFIXES


def findings(text: str, path: str = "") -> list[Finding]:
    """The secrets in ``text`` (from the file at ``path``, if known), in order, none overlapping.

    Each rule runs only on the lines holding a literal it needs (``://`` for a URL, a vendor's prefix for its
    token, a secret-like word for the name rules), found by plain substring search: most lines of code hold
    none, and scanning every position with every pattern was ten times slower.
    """
    found: list[Finding] = []
    found.extend(_shaped(text))
    found.extend(_values(_URL_CREDENTIALS, text, _lines_holding(text, ("://",)), "url_password",
                         _plausible_url_password))
    found.extend(_values(_AUTH_HEADER, text, _lines_holding(text, ("Bearer ", "Basic ", "Token ")),
                         "authorization", _random_looking))
    found.extend(_values(_XML_ELEMENT, text, _lines_holding(text, ("</",)), "xml_element", _plausible))
    for kind, anchors, pattern in _COMMAND_LINE:
        found.extend(_values(pattern, text, _lines_holding(text, anchors), f"command_line_{kind}", _plausible_flag))
    named = _named_lines(text)
    found.extend(_values(_CONNECTION_KEY, text, named, "connection_string", _plausible))
    found.extend(_named(text, named, is_configuration(path)))
    lowered = text.lower()
    if "AKIA" in text or "ASIA" in text or "aws" in lowered or "boto" in lowered:
        found.extend(_values(_AWS_SECRET, text, _lines_holding(text, ('"', "'")), "aws_secret", _random_looking))
    if path and _SECRET_FILE.search(os.path.basename(path)):
        found.extend(_values(_QUOTED_LITERAL, text, [(0, len(text))], "high_entropy", _high_entropy))
    return _disjoint(found)


def redact(text: str, path: str = "") -> Redaction:
    """``text`` with every credential :func:`findings` reports replaced by :data:`REDACTED`."""
    found = findings(text, path)
    if not found:
        return Redaction(text=text, count=0)
    pieces: list[str] = []
    at = 0
    for finding in found:
        pieces.append(text[at:finding.start])
        # Line breaks stay, so the line numbers of everything after a redacted block still hold.
        pieces.append(REDACTED + "\n" * text.count("\n", finding.start, finding.end))
        at = finding.end
    pieces.append(text[at:])
    return Redaction(text="".join(pieces), count=len(found))


def _shaped(text: str) -> Iterator[Finding]:
    for kind, anchors, pattern in _SHAPED:
        # A private key spans lines; the other tokens sit within one.
        spans = [(0, len(text))] if kind == "private_key" and anchors[0] in text else _lines_holding(text, anchors)
        for start, end in spans:
            for match in pattern.finditer(text, start, end):
                if "s" in pattern.groupindex:
                    yield Finding(match.start("s"), match.end("s"), kind)
                elif kind != "twilio" or not (match.start() and text[match.start() - 1].isalnum()):
                    yield Finding(match.start(), match.end(), kind)


def _lines_holding(text: str, needles: tuple[str, ...]) -> list[tuple[int, int]]:
    """``(start, end)`` of each line of ``text`` holding one of ``needles``, in order, each once."""
    spans: set[tuple[int, int]] = set()
    for needle in needles:
        at = text.find(needle)
        while at >= 0:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            spans.add((start, end))
            at = text.find(needle, end)
    return sorted(spans)


def _named_lines(text: str) -> list[tuple[int, int]]:
    """The lines holding a secret-like word's stem, found in a lower-cased copy by one literal scan."""
    lowered = text.lower()
    # ``str.lower`` may lengthen a non-ASCII text, and positions in it must be positions in ``text``.
    anchors = _ANCHOR.finditer(lowered) if len(lowered) == len(text) else _ANCHOR_ANY_CASE.finditer(text)
    spans: list[tuple[int, int]] = []
    for anchor in anchors:
        if spans and anchor.start() < spans[-1][1]:
            continue
        start = text.rfind("\n", 0, anchor.start()) + 1
        end = text.find("\n", anchor.start())
        spans.append((start, len(text) if end < 0 else end))
    return spans


def _values(pattern: re.Pattern[str], text: str, spans: list[tuple[int, int]], kind: str,
            keep: Callable[[str], bool]) -> Iterator[Finding]:
    for start, end in spans:
        for match in pattern.finditer(text, start, end):
            if keep(match.group("s")):
                yield Finding(match.start("s"), match.end("s"), kind)


def _named(text: str, lines: list[tuple[int, int]], configuration: bool) -> Iterator[Finding]:
    """Literals assigned to (or passed beside) secret-like names, on the given lines."""
    for start, end in lines:
        for word in _WORD.finditer(text, start, end):
            yield from _named_value(text, word, configuration)


def _named_value(text: str, word: re.Match[str], configuration: bool) -> Iterator[Finding]:
    """The secret given to the secret-like name ending at ``word``, if any."""
    end = word.end()
    strength = word.lastgroup or "weak"
    quoted = _QUOTED_VALUE.match(text, end)
    if quoted is not None:
        value = quoted.group("s")
        spaces = strength == "pass"  # passphrases may hold spaces; tokens and keys never do
        if _literal_secret(value, word.group(0), strength, spaces=spaces):
            yield Finding(quoted.start("s"), quoted.end("s"), f"assignment_{strength}")
        return
    call = _SETTER_CALL.match(text, end)
    if call is not None and _SETTER_NAME.search(_name_head(text, word.start())):
        if _literal_secret(call.group("s"), word.group(0), "strong", spaces=True):
            yield Finding(call.start("s"), call.end("s"), "setter_call")
        return
    yield from _bare(text, word, configuration, strength)


def _bare(text: str, word: re.Match[str], configuration: bool, strength: str) -> Iterator[Finding]:
    """An unquoted value: a literal in configuration files and in ``NAME=value`` lines, code elsewhere."""
    bare = _BARE_VALUE.match(text, word.end())
    if bare is None:
        return
    line_start = text.rfind("\n", 0, word.start()) + 1
    head = text[line_start:word.start()]
    if not _LINE_HEAD.fullmatch(head):
        return
    value = bare.group("s").strip()
    env_style = bare.group("op") == "=" and _env_line(text, line_start, bare.start("op"))
    if not configuration and not env_style:
        return
    if env_style:
        value = value.split()[0]  # ``PGPASSWORD=... psql -h db``: the command after it is not the value
    if " " in value or "\t" in value:
        if strength != "pass" or not configuration:
            return
    elif _REFERENCE.match(value) and not _random_looking(value) and not configuration:
        return
    if _literal_secret(value, word.group(0), strength, spaces=strength == "pass"):
        start = bare.start("s")
        yield Finding(start, start + len(value), f"bare_{strength}")


def _env_line(text: str, line_start: int, op: int) -> bool:
    """Whether the line is ``NAME=value`` (optionally after ``export``): unindented, no space around ``=``."""
    line = text[line_start:op]
    if line.startswith("export "):
        line = line[len("export "):]
    return bool(line) and not line[0].isspace() and line[-1] not in " \t" and all(c in _NAME_CHARS for c in line)


def _name_head(text: str, start: int) -> str:
    """The part of the identifier before the secret-like word at ``start`` (``set_`` in ``set_password``)."""
    at = start
    while at > 0 and text[at - 1] in _NAME_CHARS:
        at -= 1
    return text[at:start]


def _literal_secret(value: str, name: str, strength: str, *, spaces: bool) -> bool:
    """Whether ``value``, assigned to a name ending in ``name``, is a secret rather than a stand-in for one."""
    if not _plausible(value) or (not spaces and any(c.isspace() for c in value)):
        return False
    lowered = value.lower()
    if lowered.replace("-", "_") in (name.lower().replace("-", "_"), "password", "passwd", "secret", "token"):
        return False
    if _UPPER_NAME.match(value):
        return False
    if strength == "weak":
        return _random_looking(value)
    return True


def _plausible(value: str) -> bool:
    """Long enough to be a secret and not a placeholder, a template or a masked value."""
    return len(value) >= 4 and value != REDACTED and REDACTED not in value and not _PLACEHOLDER.match(value)


def _plausible_flag(value: str) -> bool:
    # ``--password PASSWORD`` in usage text names the argument; it does not give one.
    return _plausible(value) and not _UPPER_NAME.match(value) and not value.isupper()


def _plausible_url_password(value: str) -> bool:
    # ``host:8080/path/@user`` is a port and a path, not a password.
    return _plausible(value) and not re.match(r"\d+(?:/|$)", value) and value.lower() not in ("pass", "pw")


def _random_looking(value: str) -> bool:
    """Mixes letters with digits or symbols, as generated tokens do, and words do not."""
    if len(value) < 8:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    return has_digit and (has_upper or has_lower) and _plausible(value)


def _high_entropy(value: str) -> bool:
    counts = Counter(value)
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return entropy >= 3.5 and _random_looking(value)


def _disjoint(found: list[Finding]) -> list[Finding]:
    """``found`` sorted, with findings inside or overlapping an earlier one merged into it."""
    merged: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            if finding.end > last.end:
                merged[-1] = Finding(last.start, finding.end, last.kind)
            continue
        merged.append(finding)
    return merged
