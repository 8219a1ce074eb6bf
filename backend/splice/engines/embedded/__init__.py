"""The embedded statistical engine: suggestions from nested caches of the workspace's own code, with no
server, GPU or downloaded weights. :class:`EmbeddedEngine` is the only public name."""

from splice.engines.embedded.engine import EmbeddedEngine
from splice.engines.embedded.weights import RankingWeights

__all__ = ["EmbeddedEngine", "RankingWeights"]
