"""The default chain end to end: raw engine output in, what the editor shows out."""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, Suggestion, apply_chain
from splice.postprocess.chain import default_chain
from splice.postprocess.mode import is_multiline_position


def complete(raw: str, prefix: str, suffix: str, language: str = "python", indent_unit: str = "    ",
             stop: tuple[str, ...] = ()) -> tuple[Suggestion | None, str | None]:
    ctx = CompletionContext(
        prefix=prefix, suffix=suffix, language=language,
        multiline=is_multiline_position(prefix, suffix, language), indent_unit=indent_unit, stop=stop,
    )
    return apply_chain(default_chain(), Suggestion(raw), ctx)


def test_order_is_documented_and_stable() -> None:
    names = [processor.__name__ for processor in default_chain()]
    assert names == [
        "strip_special_tokens", "single_line", "remove_repetition", "fix_indentation",
        "truncate_to_scope", "dedupe_suffix", "drop_trivial", "fit_mid_line", "reject_parse_errors", "drop_secrets",
    ]


def test_python_empty_body() -> None:
    prefix = "def mean(values):\n    "
    suffix = "\n\n\ndef median(values):\n    return sorted(values)[len(values) // 2]\n"
    # A two-space habit in a four-space file, a runaway into the next definition, a leaked end token.
    raw = (
        "if not values:\n      return 0.0\n    return sum(values) / len(values)\n\n\n"
        "def mode(v):\n  pass<|endoftext|>"
    )
    suggestion, reason = complete(raw, prefix, suffix)
    assert reason is None and suggestion is not None
    assert suggestion.text == "if not values:\n        return 0.0\n    return sum(values) / len(values)"


def test_single_line_with_an_auto_closed_bracket() -> None:
    suggestion, reason = complete("a, b)\n    return total", "def f(a, b):\n    total = add(", ")\n")
    assert reason is None and suggestion is not None
    assert (suggestion.text, suggestion.replace_suffix) == ("a, b)", 1)


def test_javascript_block_stops_at_its_own_end() -> None:
    prefix = "function area(r) {\n  "
    suffix = "\n}\n"
    raw = "const pi = Math.PI;\n  return pi * r * r;\n}\n\nfunction volume(r) {"
    suggestion, reason = complete(raw, prefix, suffix, "javascript", indent_unit="  ")
    assert reason is None and suggestion is not None
    assert suggestion.text == "const pi = Math.PI;\n  return pi * r * r;"


def test_broken_suggestion_is_dropped_with_a_reason() -> None:
    suggestion, reason = complete("return (x", "def f(x):\n    ", "\n")
    assert suggestion is None and reason is not None and reason.startswith("reject_parse_errors")


def test_repeat_of_the_next_line_is_dropped() -> None:
    suggestion, reason = complete("return x", "def f(x):\n    x = abs(x)\n    ", "\n    return x\n")
    assert suggestion is None and reason is not None and reason.startswith("dedupe_suffix")


def test_lone_closer_is_dropped() -> None:
    suggestion, reason = complete(")", "print(x", ")\n")
    assert suggestion is None and reason is not None
