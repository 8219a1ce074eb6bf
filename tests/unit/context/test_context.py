"""Prompt assembly: token-budgeted windows on line boundaries, Jaccard snippets, FIM templates."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from splice.config import Settings
from splice.context.builder import Cursor, PromptBuilder
from splice.context.identifiers import identifier_parts, jaccard
from splice.context.prompt import Snippet
from splice.context.snippets import OpenFileSnippets, SourceDocument
from splice.context.sources import query_text
from splice.context.templates import TEMPLATES, all_special_tokens, template_for
from splice.context.tokens import TokenCounter
from splice.context.windows import prefix_window, suffix_window


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter.load()


def test_shipped_tokenizer_counts_code_tokens(counter: TokenCounter) -> None:
    n = counter.count("def parse_header(line: str) -> dict:\n    return {}\n")
    assert 5 < n < 40


def test_prefix_window_cuts_on_line_start_within_budget(counter: TokenCounter) -> None:
    prefix = "".join(f"value_{i} = compute({i})\n" for i in range(500)) + "    result = "
    window, used = prefix_window(prefix, 100, counter)
    assert window.endswith("    result = ")
    assert prefix.endswith(window)
    assert window.startswith("value_")  # a whole line
    assert used <= 100
    assert counter.count(window) <= 100 + 5  # counts by line agree with counting the whole
    bigger, _ = prefix_window(prefix, 400, counter)
    assert len(bigger) > len(window)


def test_prefix_window_keeps_the_cursor_line_even_past_budget(counter: TokenCounter) -> None:
    window, _ = prefix_window("x = 1\n" + "y" * 500, 3, counter)
    assert window == "y" * 500


def test_suffix_window_cuts_on_line_end(counter: TokenCounter) -> None:
    suffix = ")\n" + "".join(f"line_{i}()\n" for i in range(300))
    window, used = suffix_window(suffix, 50, counter)
    assert window.startswith(")\n") and window.endswith("\n")
    assert suffix.startswith(window) and used <= 50


def test_identifier_parts_split_camel_and_snake() -> None:
    assert identifier_parts("parseHTTPResponse") == {"parse", "http", "response"}
    assert identifier_parts("parse_http_response") == {"parse", "http", "response"}
    assert "return" not in identifier_parts("return self.value")


def test_jaccard_from_sizes_is_the_set_ratio() -> None:
    query = {"fetch", "user", "profile"}
    windows = [{"user", "profile", "load"}, {"fetch", "user", "profile"}, {"other"}, set()]
    shared = np.array([len(query & w) for w in windows])
    scores = jaccard(shared, len(query), np.array([len(w) for w in windows]))
    expected = [len(query & w) / len(query | w) for w in windows]
    assert scores.tolist() == pytest.approx(expected)
    assert jaccard(np.array([0]), 0, np.array([0])).tolist() == [0.0]  # two empty sets share nothing


def test_snippet_scores_are_jaccard_of_identifier_parts() -> None:
    query = "profile = fetch_user_profile(user_id)\n"
    window = "def fetch_user_profile(user_id):\n    return load_profile(user_id)\n"
    found = OpenFileSnippets(window_lines=10).find(query, [_doc("a.py", window)], limit=1)
    a, b = identifier_parts(query), identifier_parts(window)
    assert found and found[0].score == pytest.approx(len(a & b) / len(a | b), abs=1e-4)


def _doc(key: str, text: str, version: int = 1) -> SourceDocument:
    return SourceDocument(key=key, path=key, version=version, text=text)


def test_snippets_pick_the_most_similar_window_deterministically() -> None:
    filler = "".join(f"unrelated_thing_{i} = other_stuff({i})\n" for i in range(40))
    target = "def fetch_user_profile(user_id):\n    profile = load_profile(user_id)\n    return profile\n"
    docs = [_doc("b.py", filler + target + filler), _doc("a.py", filler)]
    finder = OpenFileSnippets(window_lines=10)
    found = finder.find("profile = fetch_user_profile(user_id)\n", docs, limit=2)
    assert found and found[0].path == "b.py"
    assert "fetch_user_profile" in found[0].text
    assert finder.find("profile = fetch_user_profile(user_id)\n", list(reversed(docs)), limit=2) == found


def test_snippets_never_overlap_within_one_document() -> None:
    text = "".join(f"alpha_beta_gamma_{i} = delta_epsilon({i})\n" for i in range(100))
    found = OpenFileSnippets(window_lines=10).find("alpha beta gamma delta epsilon", [_doc("x.py", text)], 5)
    spans = sorted((s.start_line, s.end_line) for s in found)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_snippet_cache_follows_document_version() -> None:
    finder = OpenFileSnippets(window_lines=5)
    assert finder.find("zebra_stripes", [_doc("z.py", "nothing here\n", 1)], 1) == []
    assert finder.find("zebra_stripes", [_doc("z.py", "zebra_stripes = 1\n", 2)], 1)


@pytest.mark.parametrize("family", sorted(TEMPLATES))
def test_every_family_renders_prefix_before_suffix_with_its_sentinels(family: str) -> None:
    t = template_for(family)
    text = t.render(path="pkg/mod.py", language="python", prefix="PREFIX", suffix="SUFFIX",
                    snippets=[Snippet(path="pkg/other.py", text="OTHER\n", start_line=0, end_line=1,
                                      score=1.0, source="open_files")], repo="repo")
    assert text.index("OTHER") < text.index("pkg/mod.py") < text.index("PREFIX") < text.index("SUFFIX")
    assert text.rstrip().endswith(t.middle)
    assert t.prefix in text and t.suffix in text and t.stop


def test_spm_order_where_supported() -> None:
    text = template_for("starcoder2").render(path="a.py", language="python", prefix="P", suffix="S", mode="spm")
    assert text.endswith("<fim_middle>P") and text.index("S") < text.index("<fim_middle>")
    psm_only = template_for("qwen2.5-coder").render(path="a.py", language="python", prefix="P", suffix="S", mode="spm")
    assert psm_only.endswith("<|fim_middle|>")


def test_native_multi_file_formats() -> None:
    snippet = Snippet(path="lib/util.py", text="x = 1\n", start_line=0, end_line=1, score=1, source="open_files")
    qwen = template_for("qwen2.5-coder").render(path="a.py", language="python", prefix="", suffix="",
                                                 snippets=[snippet], repo="acme")
    assert qwen.startswith("<|repo_name|>acme\n<|file_sep|>lib/util.py\nx = 1\n<|file_sep|>a.py\n<|fim_prefix|>")
    deepseek = template_for("deepseek-coder").render(path="a.py", language="python", prefix="", suffix="",
                                                     snippets=[snippet])
    assert "# Compare this snippet from lib/util.py:\n# x = 1\n# Path: a.py\n" in deepseek


def test_special_tokens_cover_all_families() -> None:
    tokens = all_special_tokens()
    assert {"<fim_middle>", "<|fim_middle|>", "<EOT>", "<|file_separator|>", "<｜fim▁end｜>"} <= tokens


def test_builder_respects_budget_and_orders_snippets_stably(counter: TokenCounter) -> None:
    settings = Settings(context_tokens=512, max_new_tokens=64)
    builder = PromptBuilder(settings, counter)
    prefix = "".join(f"def handler_{i}(request):\n    return respond(request, {i})\n" for i in range(200))
    others = [
        _doc("z_last.py", "def respond(request, code):\n    return Response(request, code)\n"),
        _doc("a_first.py", "def handler_helper(request):\n    return respond(request, 0)\n"),
    ]
    cursor = Cursor(path="app.py", language="python", prefix=prefix + "def handler_x(request):\n    ", suffix="\n")
    query = query_text(cursor.prefix + cursor.suffix, len(cursor.prefix))
    found = OpenFileSnippets(settings.snippet_window_lines).find(query, others, 4)
    assert found
    prompt = builder.build(cursor, found)
    assert prompt.prompt_tokens <= 512 - 64
    assert counter.count(prompt.text) <= 512
    paths = [s.path for s in prompt.snippets]
    assert paths == sorted(paths)
    assert "open_files" in prompt.sources
    assert prompt.stop == template_for("starcoder2").stop


def test_open_documents_query_is_the_last_lines_and_the_rest_of_the_cursor_line() -> None:
    before = "".join(f"line{i}\n" for i in range(40)) + "def f(x"
    text = before + "):  # tail\nnext_line()\n"
    query = query_text(text, len(before))
    assert query.startswith("\nline26\n") and "line25" not in query  # 15 lines with the cursor's
    assert query.endswith("def f(x):  # tail") and "next_line" not in query
    assert query_text("ab", 1) == "ab"
