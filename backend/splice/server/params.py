"""Reading LSP params with clear errors: each accessor names the field that is missing or wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlparse

from splice.errors import InvalidParamsError


def field(params: Mapping[str, Any], *path: str, kind: type | tuple[type, ...] = object, optional: bool = False) -> Any:
    """``params[path[0]][path[1]]...`` checked against ``kind``; None when ``optional`` and absent."""
    value: Any = params
    for depth, key in enumerate(path):
        if not isinstance(value, Mapping):
            raise InvalidParamsError(f"'{'.'.join(path[:depth])}' must be an object")
        if key not in value or value[key] is None:
            if optional:
                return None
            raise InvalidParamsError(f"missing '{'.'.join(path[: depth + 1])}'")
        value = value[key]
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int,)))
    if not ok:
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise InvalidParamsError(f"'{'.'.join(path)}' must be {name}, got {type(value).__name__}")
    return value


def position(params: Mapping[str, Any], *path: str) -> tuple[int, int]:
    """An LSP ``Position`` at ``path`` as ``(line, character)``."""
    return field(params, *path, "line", kind=int), field(params, *path, "character", kind=int)


def uri_to_path(uri: str) -> str | None:
    """The filesystem path of a ``file:`` URI, or None for other schemes (``untitled:``, ...)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    # Windows drive letters arrive as /c:/...
    if len(path) > 2 and path[0] == "/" and path[2] == ":":
        path = path[1:]
    return path


def display_path(uri: str, root: str | None) -> str:
    """The path a prompt shows: relative to the workspace root where possible."""
    path = uri_to_path(uri)
    if path is None:
        return unquote(urlparse(uri).path) or uri
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1 :]
    return path
