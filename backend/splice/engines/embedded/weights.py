"""The ranking tunables, apart from the ranking code so that configuring the engine imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RankingWeights:
    """Coefficients of the ranking features (see ``ranking``) and the limits that bound its cost.

    The coefficients' defaults are the output of ``scripts/fit-ranking`` (hidden-line reproduction on the
    repositories ``scripts/ranking-training-repos.toml`` declares, none of them evaluation code), which
    rewrites only their numbers; a negative coefficient is a penalty. The limits are set by hand.
    """

    left: float = 0.5
    right: float = 3.6
    repeat: float = -0.3
    # Per cache level, most local first. The live document's locality is carried by ``nearness`` instead.
    level_bonus: tuple[float, float, float, float] = (-0.15, 0.3, 0.35, 0.0)
    unknown_names: float = -1.3
    length: float = 0.45
    string_line: float = -1.1
    repeated_line: float = -0.75
    unused_parameter: float = 0.35
    next_parameter: float = 1.2
    needed_name: float = 0.9
    renamed_parameter: float = -0.35
    nearness: float = 0.6
    share: float = 0.85
    following_names: float = 0.95
    preceding_names: float = 0.85
    redefinition: float = -1.4
    imports_needed: float = 3.4
    import_order: float = 1.0
    nearness_scale: float = 300.0  # tokens from the cursor at which nearness falls to 1/e
    rename_limit: int = 12  # best proposals considered for a parameter echo
    scored_limit: int = 32  # proposals, by prior, that get the full feature vector
    left_cap: int = 48
    right_cap: int = 32
    max_block_lines: int = 12
