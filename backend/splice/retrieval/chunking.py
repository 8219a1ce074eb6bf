"""Splitting a source file into retrieval chunks along its syntax.

A chunk is what a prompt can quote whole: a function, a method, a class small enough to keep together, or a
run of top-level statements. Tree-sitter finds those boundaries for the languages whose grammars ship with
Splice; other files are cut into fixed line windows. Each chunk keeps its path, language, symbol (the
qualified name of the definition, ``Class.method``) and 0-based line range, which is what search results and
prompt headers show. Oversized definitions are cut into windows that all keep the definition's symbol, so
no chunk outgrows a prompt's snippet budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import tree_sitter

from splice.languages import parser

MAX_CHUNK_LINES = 60
WINDOW_LINES = 40
MIN_CHUNK_CHARS = 12

# Node types that define something worth retrieving whole, per grammar; ``True`` marks containers whose
# members are chunked on their own when the container is too long to keep together.
_DEFINITIONS: dict[str, dict[str, bool]] = {
    "python": {"function_definition": False, "class_definition": True, "decorated_definition": False},
    "javascript": {"function_declaration": False, "class_declaration": True, "method_definition": False,
                   "generator_function_declaration": False, "lexical_declaration": False},
    "typescript": {"function_declaration": False, "class_declaration": True, "method_definition": False,
                   "interface_declaration": False, "type_alias_declaration": False, "enum_declaration": False,
                   "abstract_class_declaration": True, "lexical_declaration": False},
    "java": {"class_declaration": True, "interface_declaration": True, "enum_declaration": True,
             "method_declaration": False, "constructor_declaration": False, "record_declaration": True},
    "go": {"function_declaration": False, "method_declaration": False, "type_declaration": False},
    "rust": {"function_item": False, "impl_item": True, "struct_item": False, "enum_item": False,
             "trait_item": True, "mod_item": True},
    "c": {"function_definition": False, "struct_specifier": False, "type_definition": False},
    "cpp": {"function_definition": False, "class_specifier": True, "struct_specifier": True,
            "namespace_definition": True, "template_declaration": False},
}
_DEFINITIONS["javascriptreact"] = _DEFINITIONS["javascript"]
_DEFINITIONS["typescriptreact"] = _DEFINITIONS["typescript"]

# Where a container keeps its members (a class body, an impl's declaration list).
_BODY_FIELDS = ("body",)
_BODY_TYPES = frozenset({"block", "class_body", "declaration_list", "field_declaration_list", "enum_body",
                         "interface_body"})


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """A span of one file: 0-based lines ``[start_line, end_line)``."""

    path: str
    language: str
    symbol: str
    kind: str  # the syntax node type, or "window"/"block"
    start_line: int
    end_line: int
    text: str


def chunk_file(path: str, language: str, text: str) -> list[Chunk]:
    """The chunks of ``text``, in file order, covering every non-blank definition and top-level block."""
    lines = text.split("\n")
    ts_parser = parser(language) if language in _DEFINITIONS else None
    if ts_parser is None:
        return _windows(path, language, lines, 0, len(lines), symbol="", kind="window")
    try:
        tree = ts_parser.parse(text.encode("utf-8"))
    except (ValueError, RuntimeError):  # a grammar that chokes on a file: fall back to windows
        return _windows(path, language, lines, 0, len(lines), symbol="", kind="window")
    spans: list[tuple[int, int, str, str]] = []
    _collect(tree.root_node, _DEFINITIONS[language], "", spans)
    spans.sort(key=lambda span: (span[0], span[1]))
    chunks: list[Chunk] = []
    cursor = 0
    for start, end, symbol, kind in spans:
        if start < cursor:
            continue  # nested inside a span already taken
        if start > cursor:
            chunks.extend(_windows(path, language, lines, cursor, start, symbol="", kind="block"))
        chunks.extend(_windows(path, language, lines, start, end, symbol=symbol, kind=kind,
                               size=MAX_CHUNK_LINES))
        cursor = end
    if cursor < len(lines):
        chunks.extend(_windows(path, language, lines, cursor, len(lines), symbol="", kind="block"))
    return chunks


def _name_of(node: tree_sitter.Node) -> str:
    named = node.child_by_field_name("name")
    if named is None and node.type == "decorated_definition":
        inner = node.child_by_field_name("definition")
        return _name_of(inner) if inner is not None else ""
    if named is None and node.type in ("lexical_declaration", "type_declaration", "template_declaration"):
        for child in node.named_children:
            found = _name_of(child)
            if found:
                return found
        return ""
    if named is None and node.type == "impl_item":
        named = node.child_by_field_name("type")
    if named is None and node.type == "function_definition":  # C/C++: the name hides in the declarator
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.child_by_field_name("declarator") is not None:
            declarator = declarator.child_by_field_name("declarator")
        named = declarator
    if named is None or named.text is None:
        return ""
    return named.text.decode("utf-8", errors="replace")


def _body_of(node: tree_sitter.Node) -> tree_sitter.Node | None:
    if node.type == "decorated_definition":
        inner = node.child_by_field_name("definition")
        return _body_of(inner) if inner is not None else None
    for field_name in _BODY_FIELDS:
        body = node.child_by_field_name(field_name)
        if body is not None:
            return body
    for child in node.named_children:
        if child.type in _BODY_TYPES:
            return child
    return None


def _collect(node: tree_sitter.Node, kinds: dict[str, bool], scope: str,
             spans: list[tuple[int, int, str, str]]) -> None:
    """Definition spans under ``node``: ``(start_line, end_line, symbol, kind)``."""
    for child in node.named_children:
        kind = child.type
        if kind not in kinds:
            if child.named_child_count and kind in ("export_statement", "decorated_definition"):
                _collect(child, kinds, scope, spans)
            continue
        start, end = child.start_point[0], child.end_point[0] + 1
        name = _name_of(child)
        symbol = f"{scope}.{name}" if scope and name else (name or scope)
        container = kinds[kind] or (kind == "decorated_definition" and _is_container(child, kinds))
        body = _body_of(child) if container else None
        if body is not None and end - start > MAX_CHUNK_LINES:
            # Too long to quote whole: the header (up to the first member) is one chunk, members their own.
            members: list[tuple[int, int, str, str]] = []
            _collect(body, kinds, symbol, members)
            if members:
                first = min(m[0] for m in members)
                if first > start:
                    spans.append((start, first, symbol, kind))
                spans.extend(members)
                continue
        spans.append((start, end, symbol, kind))


def _is_container(node: tree_sitter.Node, kinds: dict[str, bool]) -> bool:
    inner = node.child_by_field_name("definition")
    return inner is not None and kinds.get(inner.type, False)


def _windows(path: str, language: str, lines: list[str], start: int, end: int, *, symbol: str, kind: str,
             size: int = WINDOW_LINES) -> list[Chunk]:
    """Lines ``[start, end)`` as chunks of at most ``size`` lines, blank edges trimmed, empty ones dropped."""
    chunks: list[Chunk] = []
    for lo in range(start, end, size):
        hi = min(end, lo + size)
        while lo < hi and not lines[lo].strip():
            lo += 1
        while hi > lo and not lines[hi - 1].strip():
            hi -= 1
        if hi <= lo:
            continue
        body = "\n".join(lines[lo:hi])
        if len(body.strip()) < MIN_CHUNK_CHARS:
            continue
        chunks.append(Chunk(path=path, language=language, symbol=symbol, kind=kind, start_line=lo, end_line=hi,
                            text=body))
    return chunks
