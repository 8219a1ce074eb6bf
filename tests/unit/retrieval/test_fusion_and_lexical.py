"""Fusion and identifier-aware terms."""

from splice.retrieval.fusion import RRF_K, reciprocal_rank_fusion
from splice.retrieval.lexical import terms
from splice.retrieval.query import query_text


def test_rrf_rewards_agreement_and_is_deterministic() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]])
    assert [item for item, _ in fused][:2] == [1, 3]
    assert fused[0][1] == 1 / (RRF_K + 1) + 1 / (RRF_K + 2)
    assert reciprocal_rank_fusion([[5, 6], [6, 5]]) == reciprocal_rank_fusion([[6, 5], [5, 6]])


def test_terms_split_identifiers() -> None:
    found = terms("result = parseHttpResponse(raw_bytes)")
    assert {"parsehttpresponse", "parse", "http", "response", "raw_bytes", "raw", "bytes", "result"} <= set(found)
    assert "self" not in terms("self.x")


def test_query_holds_the_last_twenty_lines_before_the_cursor_and_five_after() -> None:
    prefix = "".join(f"before_{n}\n" for n in range(100)) + "    cur"
    suffix = "sor()\n" + "".join(f"after_{n}\n" for n in range(100))
    text = query_text(prefix, suffix)
    assert text.startswith("before_81\n") and "before_80" not in text
    assert "    cursor()\nafter_0\n" in text
    assert text.endswith("after_3") and "after_4" not in text
    assert query_text("a\nb", "c\nd") == "a\nbc\nd"
    assert query_text("", "") == ""
