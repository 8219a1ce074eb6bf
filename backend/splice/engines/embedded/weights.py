"""The ranking tunables, apart from the ranking code so that configuring the engine imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RankingWeights:
    """Tunables of the scoring function; the defaults were fitted on hidden-line reproduction."""

    left: float = 1.0
    right: float = 1.5
    repeat: float = 0.3
    level_bonus: tuple[float, float, float, float] = (0.6, 0.4, 0.25, 0.0)
    unknown_names: float = -0.5
    length: float = 0.0
    string_line: float = -0.5
    repeated_line: float = -1.0
    left_cap: int = 48
    right_cap: int = 32
    max_block_lines: int = 12
