"""Suggestions at a cursor with code after it on the same line: fit that code, or are not shown.

An insertion in front of existing code is where a completion engine most often breaks a line:
``self.columns.⟨get⟩append(column)`` glues two names into one, ``⟨return a⟩return b`` runs two statements
together, ``⟨x: int = 0,⟩y: int = 0,`` writes a whole line in front of another. Once
:func:`~.suffix_overlap.dedupe_suffix` has set the overwrite range (a suggestion that retypes the rest of
the line replaces it), an insertion that ends with an operand (a name, a number, a closer or a quote) must
be followed by code it can end against: a separator or closer (``,`` ``)`` ``]`` ``}`` ``;`` ``:``), an
operator, or a word that goes on with an expression (``if``, ``and``, ...), and no name may be glued to
its end. One that ends with an opener, an operator or a separator (``compute(`` before ``value)``) takes
the code after as its operand. A suggestion at the line's indentation in front of code inserts a statement
into the middle of a line and is dropped, as is a multi-line one (its last line would run into that code).
What passes those checks must leave the cursor's line free of syntax errors: the person is editing a line
of working code, so a suggestion that leaves it broken (``isinstance(item, ⟨property):⟩, staticmethod)):``)
is wrong however many errors the half-edited line had before.

Brackets are checked first, for every insertion with code after it, closers included: the line's brackets
left unmatched (outside strings) must be those it had, or fewer (``total = ⟨compute(⟩items)`` repairs a
half-edited line), so ``("T", ⟨(b"T", "T"),⟩"T"),`` (one bracket opened more) is dropped. A parse cannot
be relied on for this: the bracket left open is reported where the parser gives up, often lines later or
inside an error the file already had, so the cursor's line looks clean.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, DropSuggestion, Suggestion
from splice.postprocess.indentation import CLOSERS, QUOTES, first_line, last_line
from splice.postprocess.syntax import document_window, edited_tree, error_spans

# What code after an insertion may begin with: it ends an expression the insertion completes.
_ENDS_AN_EXPRESSION = frozenset(",)]};:") | frozenset(CLOSERS)
_OPERATORS = frozenset("+-*/%=<>!&|^?")
# Words that go on with an expression (``x = value if ready else other``), after a space.
_CONTINUING_WORDS = frozenset({"if", "else", "for", "in", "and", "or", "not", "is", "as", "from", "instanceof"})


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def fit_mid_line(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Drop a suggestion that would leave the code after the cursor glued to it or stranded behind it."""
    line_after = first_line(context.suffix)
    if not line_after.strip():
        return suggestion  # the end of the line: a suggestion may open what the lines below close
    rest = line_after[suggestion.replace_suffix :]
    code_after = rest.strip()
    text = suggestion.text
    before = last_line(context.prefix)
    was = _unmatched(before + line_after)
    now = _unmatched(before + first_line(text) + rest)
    if now != was and len("".join(now)) >= len("".join(was)):
        raise DropSuggestion("leaves the brackets of the cursor's line unbalanced")
    if not code_after:
        return suggestion  # it overwrites the rest of the line
    if all(c in CLOSERS or c in QUOTES or c in ",;:" for c in code_after):
        return suggestion  # only what the editor auto-closed follows on the line
    if "\n" in text:
        raise DropSuggestion("a multi-line suggestion in front of code on the cursor's line")
    if not before.strip():
        raise DropSuggestion("a new statement in front of code on the cursor's line")
    if text and rest and _is_word(text[-1]) and _is_word(rest[0]):
        raise DropSuggestion(f"glues {text[-1:]!r} to the code after it ({rest[:12]!r})")
    end = text.rstrip()[-1:]
    if end and (_is_word(end) or end in CLOSERS or end in QUOTES):
        head = code_after[:1]
        word = code_after.split(maxsplit=1)[0] if rest[:1].isspace() else ""
        if head not in _ENDS_AN_EXPRESSION and head not in _OPERATORS and word not in _CONTINUING_WORDS:
            raise DropSuggestion(f"leaves {code_after[:20]!r} stranded after the insertion")
    if _line_has_errors(suggestion, context, before):
        raise DropSuggestion("leaves the cursor's line with a syntax error")
    return suggestion


def _line_has_errors(suggestion: Suggestion, context: CompletionContext, before: str) -> bool:
    """Whether the cursor's line, with the suggestion in it, holds an ERROR or MISSING node."""
    window = document_window(context.prefix, context.suffix)
    tree = edited_tree(context.language, window, suggestion.text, suggestion.replace_suffix)
    if tree is None:
        return False  # no grammar: the checks above are all there is
    line_start = window.cursor_byte - len(before.encode())
    line_end = line_start + len(last_line(window.before + suggestion.text).encode()) + len(
        first_line(window.after[suggestion.replace_suffix :]).encode())
    return any(start <= line_end and end >= line_start for start, end in error_spans(tree.root_node))


_PAIRS = {")": "(", "]": "[", "}": "{"}


def _unmatched(text: str) -> tuple[str, str]:
    """The closers ``text`` has without an opener in it, and the openers it leaves open, outside strings."""
    quote = ""
    closed: list[str] = []
    opened: list[str] = []
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in QUOTES:
            quote = char
        elif char in "([{":
            opened.append(char)
        elif char in _PAIRS:
            if opened and opened[-1] == _PAIRS[char]:
                opened.pop()
            else:
                closed.append(char)
    return "".join(closed), "".join(opened)
