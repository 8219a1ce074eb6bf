"""The admin side of the collector's HTTP API, for the command line (``splice collector ...``, ``splice
report --collector``). Standard library only, so these commands need none of the service's packages."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_S = 30.0


class CollectorError(Exception):
    """The collector refused or could not be reached; the message says which, and why."""


def admin_token(given: str | None) -> str:
    """``--admin-token``, else ``SPLICE_ADMIN_TOKEN``; CollectorError when neither is set."""
    token = given or os.environ.get("SPLICE_ADMIN_TOKEN", "")
    if not token:
        raise CollectorError("an admin token is needed: --admin-token or SPLICE_ADMIN_TOKEN")
    return token


def call(url: str, token: str, method: str, path: str, *, query: dict[str, Any] | None = None,
         body: dict[str, Any] | None = None, raw: bool = False) -> Any:
    """One request to the collector at ``url``; the decoded JSON reply (the text when ``raw``)."""
    target = url.rstrip("/") + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
    if urllib.parse.urlsplit(target).scheme not in ("http", "https"):
        raise CollectorError(f"{url}: not an http:// or https:// URL")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(target, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = str(json.loads(detail).get("error", detail))
        raise CollectorError(f"collector answered {exc.code}: {detail}") from exc
    except (OSError, ValueError) as exc:
        raise CollectorError(f"cannot reach the collector at {url}: {exc}") from exc
    return text if raw else json.loads(text)
