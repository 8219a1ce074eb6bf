"""Which language a file is in, and the tree-sitter grammar for it.

Grammars come from the per-language wheels (``tree-sitter-python`` and so on), which ship compiled parsers;
nothing is downloaded at run time. Parsers are created lazily and cached per thread-free process, since a
``Parser`` is cheap to reuse and costly to create.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import PurePath

import tree_sitter

# Language id (LSP ``languageId`` spelling) -> (module, function returning the grammar pointer).
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "java": ("tree_sitter_java", "language"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

_EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascriptreact",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "typescriptreact",
    ".java": "java",
    ".go": "go",
    ".rs": "rust",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".rb": "ruby", ".php": "php", ".cs": "csharp", ".kt": "kotlin", ".swift": "swift",
    ".scala": "scala", ".sh": "shellscript", ".lua": "lua", ".sql": "sql",
}

# Line-comment leader per language, for headers such as the file path in a prompt.
_LINE_COMMENT: dict[str, str] = {
    "python": "#", "ruby": "#", "shellscript": "#",
    "sql": "--", "lua": "--",
}


def language_for_path(path: str) -> str:
    """The language id for ``path`` from its extension; ``plaintext`` when unknown."""
    return _EXTENSIONS.get(PurePath(path).suffix.lower(), "plaintext")


def line_comment(language: str) -> str:
    """The line-comment leader for ``language`` (``//`` for the C family and unknown languages)."""
    return _LINE_COMMENT.get(language, "//")


def has_grammar(language: str) -> bool:
    """Whether a tree-sitter grammar ships for ``language``."""
    return language in _GRAMMARS


@functools.cache
def grammar(language: str) -> tree_sitter.Language | None:
    """The tree-sitter grammar for ``language``, or None where none ships."""
    spec = _GRAMMARS.get(language)
    if spec is None:
        return None
    module = importlib.import_module(spec[0])
    return tree_sitter.Language(getattr(module, spec[1])())


@functools.cache
def parser(language: str) -> tree_sitter.Parser | None:
    """A reusable parser for ``language``, or None where no grammar ships."""
    lang = grammar(language)
    return None if lang is None else tree_sitter.Parser(lang)
