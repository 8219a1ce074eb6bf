"""Fusion and identifier-aware terms."""

from splice.retrieval.fusion import RRF_K, reciprocal_rank_fusion
from splice.retrieval.lexical import terms


def test_rrf_rewards_agreement_and_is_deterministic() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]])
    assert [item for item, _ in fused][:2] == [1, 3]
    assert fused[0][1] == 1 / (RRF_K + 1) + 1 / (RRF_K + 2)
    assert reciprocal_rank_fusion([[5, 6], [6, 5]]) == reciprocal_rank_fusion([[6, 5], [5, 6]])


def test_terms_split_identifiers() -> None:
    found = terms("result = parseHttpResponse(raw_bytes)")
    assert {"parsehttpresponse", "parse", "http", "response", "raw_bytes", "raw", "bytes", "result"} <= set(found)
    assert "self" not in terms("self.x")
