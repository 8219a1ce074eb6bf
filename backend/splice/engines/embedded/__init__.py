"""The embedded statistical engine: suggestions from nested caches of the workspace's own code, with no
server, GPU or downloaded weights. :class:`EmbeddedEngine` is the public name, with
:class:`ProjectCache` saying where it stores its project index."""

from splice.engines.embedded.engine import EmbeddedEngine, ProjectCache
from splice.engines.embedded.weights import RankingWeights

__all__ = ["EmbeddedEngine", "ProjectCache", "RankingWeights"]
