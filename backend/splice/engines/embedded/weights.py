"""The ranking tunables, apart from the ranking code so that configuring the engine imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RankingWeights:
    """Tunables of the scoring function; the defaults were fitted on hidden-line reproduction."""

    left: float = 2.0
    right: float = 2.5
    repeat: float = 0.4
    level_bonus: tuple[float, float, float, float] = (0.3, 0.3, 0.45, 0.0)
    unknown_names: float = -1.4
    length: float = 0.75
    string_line: float = -0.85
    repeated_line: float = -0.9
    unused_parameter: float = 0.25
    next_parameter: float = 0.7
    needed_name: float = 0.5
    renamed_parameter: float = -1.0
    renamed_binding: float = -1.0
    nearness: float = 1.0
    same_break: float = 0.5
    share: float = 0.3
    nearness_scale: float = 300.0
    rename_limit: int = 12
    left_cap: int = 48
    right_cap: int = 32
    max_block_lines: int = 12
