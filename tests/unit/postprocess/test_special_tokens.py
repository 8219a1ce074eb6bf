"""Leaked special tokens and stop strings cut the suggestion where they start."""

from __future__ import annotations

import pytest

from splice.context.templates import all_special_tokens
from splice.postprocess.special_tokens import strip_special_tokens

from .support import context, text_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("return x<|endoftext|>def other():", "return x"),
        ("return x<fim_prefix>import os", "return x"),
        ("return x<|fim_middle|>", "return x"),
        ("return x<\uff5cfim\u2581hole\uff5c>junk", "return x"),
        ("return x<\uff5cend\u2581of\u2581sentence\uff5c>", "return x"),
        ("return x <EOT>", "return x "),
        ("return x<PRE> y <SUF>", "return x"),
        ("return x<MID>", "return x"),
        ("return x\n<|file_separator|>src/b.py\n", "return x\n"),
        ("return x<file_sep>b.py", "return x"),
        ("return x<|file_sep|>b.py", "return x"),
        ("return x<|repo_name|>splice", "return x"),
        ("return x<repo_name>splice", "return x"),
        ("return x<|fim_pad|><|fim_pad|>", "return x"),
        ("return x<|im_end|>", "return x"),
        ("return x</s>", "return x"),
        ("return x<eos>", "return x"),
        ("return x<gh_stars>100", "return x"),
        ("<|endoftext|>", ""),
    ],
)
def test_cut_at_the_first_special_token(raw: str, expected: str) -> None:
    assert text_of(strip_special_tokens, raw, context("def f(x):\n    ")) == expected


@pytest.mark.parametrize(
    "clean",
    [
        "if a < b and c > d:",
        "html = '<pre>' + body + '</pre>'",
        "strike = '<s>' + text + '</b>'",
        "x = a <|> b",  # an operator in some languages, not a token
    ],
)
def test_ordinary_code_is_left_alone(clean: str) -> None:
    assert text_of(strip_special_tokens, clean, context("")) == clean


@pytest.mark.parametrize("token", sorted(all_special_tokens()))
def test_every_family_token_is_cut(token: str) -> None:
    assert text_of(strip_special_tokens, f"value = 1{token}junk", context("")) == "value = 1"


def test_an_end_token_the_document_uses_as_markup_is_code() -> None:
    ctx = context("html = '<s>old</s>'\nnew = '<s>", "'\n")
    assert text_of(strip_special_tokens, "new</s>", ctx) == "new</s>"


def test_a_token_the_document_contains_is_code() -> None:
    ctx = context('EOS = "<|endoftext|>"\ntokens = [', "]\n")
    assert text_of(strip_special_tokens, 'EOS, "<|endoftext|>"', ctx) == 'EOS, "<|endoftext|>"'


def test_stop_strings_cut_too() -> None:
    ctx = context("def f(x):\n    ", stop=("\ndef ", "<|endoftext|>"))
    assert text_of(strip_special_tokens, "return x\ndef g():\n    pass", ctx) == "return x"


def test_the_earliest_cut_wins() -> None:
    ctx = context("", stop=("###",))
    assert text_of(strip_special_tokens, "a ### b <|endoftext|> c", ctx) == "a "
    assert text_of(strip_special_tokens, "a <|endoftext|> b ### c", ctx) == "a "
