"""The names the cursor's enclosing function makes likely: the pointer part of the model.

An n-gram over a corpus knows which *kind* of token comes next but not which local name: ``self.X = X`` is
common everywhere, yet only the enclosing ``__init__``'s signature says what ``X`` is here. Two lists of
names carry that knowledge from the cursor's own function:

* ``unused_parameters``: parameters, in signature order, that the body above the cursor has not mentioned
  yet — the next line very often consumes the next one of them;
* ``needed``: names that the code after the cursor reads without anything above having defined them — the
  hidden line is the likely place that binds them.

The analysis is lexical (indentation and a regular expression for names), so it works on half-written code
that a parser would reject, and it is bounded to a few hundred lines either side.
"""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass

from splice.engines.embedded.lexer import indentation_width

_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
_STRING = re.compile(r"""(?:[rRbBuUfF]{1,2})?(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|#.*""")
_DEF = re.compile(r"(?:async\s+)?def\s+\w+\s*\(")
_ASSIGNED = re.compile(r"\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?::[^=]*)?=(?!=)")
_CALLED = re.compile(r"\s*\(")
_COMMON = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"self", "cls"}
_LOOKBACK = 400
_SUFFIX_LINES = 12


@dataclass(frozen=True)
class Scope:
    """Names from the enclosing function that the line at the cursor is likely to use."""

    unused_parameters: tuple[str, ...]
    used_parameters: frozenset[str]
    needed: tuple[str, ...]
    local: frozenset[str]  # every name the function mentions above the cursor, parameters included

    @property
    def names(self) -> tuple[str, ...]:
        """All suggested names, most likely first."""
        return self.needed + tuple(n for n in self.unused_parameters if n not in self.needed)


EMPTY_SCOPE = Scope((), frozenset(), (), frozenset())


def _names(line: str) -> list[str]:
    return _NAME.findall(_STRING.sub(" ", line))


def _read_names(line: str) -> list[str]:
    """Names a line reads as values: not called (a function is defined or imported elsewhere)."""
    return [m.group(0) for m in _NAME.finditer(_STRING.sub(" ", line)) if not _CALLED.match(line, m.end())]


def _parameters(header: str) -> list[str]:
    """Parameter names of a ``def`` header (possibly spanning lines), in order."""
    start = header.find("(")
    depth = 0
    names: list[str] = []
    expect = True
    for match in re.finditer(r"[A-Za-z_]\w*|[()\[\]{},=:]|\S", header[start:]):
        piece = match.group(0)
        if piece in "([{":
            depth += 1
        elif piece in ")]}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and piece == ",":
            expect = True
        elif depth == 1 and expect and (piece[0].isalpha() or piece[0] == "_"):
            names.append(piece)
            expect = False
        elif depth == 1 and piece in {":", "="}:
            expect = False
    return [name for name in names if name not in {"self", "cls"}]


def scope_at(head_lines: list[str], indent: int, tail_lines: list[str]) -> Scope:
    """The scope of a cursor at indentation ``indent`` below ``head_lines`` and above ``tail_lines``."""
    threshold = indent
    def_line = -1
    for number in range(len(head_lines) - 1, max(-1, len(head_lines) - 1 - _LOOKBACK), -1):
        line = head_lines[number]
        stripped = line.strip()
        if not stripped or stripped[0] in "#)]}":  # comments and the closing lines of brackets
            continue
        width = indentation_width(line)
        if width >= threshold:
            continue
        if _DEF.match(stripped):
            def_line = number
            break
        if stripped.startswith("class ") or width == 0:
            return EMPTY_SCOPE
        threshold = width
    if def_line < 0:
        return EMPTY_SCOPE
    def_width = indentation_width(head_lines[def_line])
    header_end = def_line
    header = head_lines[def_line]
    while header.count("(") > header.count(")") and header_end + 1 < len(head_lines):
        header_end += 1
        header += "\n" + head_lines[header_end]
    parameters = _parameters(header)
    body_names: set[str] = set()
    for line in head_lines[header_end + 1:]:
        body_names.update(_names(line))
    used = frozenset(name for name in parameters if name in body_names)
    known = body_names | set(parameters) | _COMMON
    needed: list[str] = []
    bound: set[str] = set()
    later: set[str] = set()
    seen = 0
    for line in tail_lines[:_LOOKBACK]:
        stripped = line.strip()
        if not stripped:
            continue
        if indentation_width(line) <= def_width or seen >= _SUFFIX_LINES:
            break
        seen += 1
        later.update(_names(line))
        assigned = _ASSIGNED.match(line)
        targets = {n.strip() for n in assigned.group(1).split(",")} if assigned else set()
        for name in _read_names(line):
            if name in targets:
                continue
            if name not in known and name not in bound and name not in needed:
                needed.append(name)
        bound |= targets
    if needed:
        # Names bound at the top level (imports, definitions, globals) are not for this line to bind.
        module = "\n".join(line for line in head_lines if line[:1].strip())
        needed = [name for name in needed if not re.search(rf"\b{name}\b", module)]
    # Parameters the rest of the function already reads are less likely to be what this line consumes.
    unused = sorted((name for name in parameters if name not in body_names), key=lambda n: n in later)
    return Scope(tuple(unused), used, tuple(needed), frozenset(body_names) | frozenset(parameters))
