"""The ranking tunables, apart from the ranking code so that configuring the engine imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RankingWeights:
    """Tunables of the scoring function; the defaults were fitted on hidden-line reproduction."""

    left: float = 1.1
    right: float = 2.8
    repeat: float = 0.0
    level_bonus: tuple[float, float, float, float] = (-0.1, 0.3, 0.5, 0.0)
    unknown_names: float = -1.1
    length: float = 0.55
    string_line: float = -1.0
    repeated_line: float = -1.2
    unused_parameter: float = 0.35
    next_parameter: float = 1.0
    needed_name: float = 1.0
    renamed_parameter: float = -0.8
    nearness: float = 0.7
    same_break: float = -1.1
    share: float = 0.6
    following_names: float = 0.85
    preceding_names: float = 0.7
    redefinition: float = -0.5
    nearness_scale: float = 300.0
    rename_limit: int = 12
    left_cap: int = 48
    right_cap: int = 32
    max_block_lines: int = 12
