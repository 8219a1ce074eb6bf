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

    left: float = 0.64
    right: float = 2.27
    repeat: float = 0.16
    # Per cache level, most local first. The live document's locality is carried by ``nearness`` instead.
    level_bonus: tuple[float, float, float, float] = (-0.39, 0.69, 0.74, 0.0)
    unknown_names: float = -2.39
    length: float = 0.47
    string_line: float = -1.25
    repeated_line: float = 0.03
    unused_parameter: float = 0.12
    next_parameter: float = 1.05
    needed_name: float = 2.35
    renamed_parameter: float = 0.59
    nearness: float = 0.77
    share: float = 0.68
    following_names: float = 0.75
    preceding_names: float = 0.71
    redefinition: float = -0.45
    imports_needed: float = 3.0
    import_order: float = 1.68
    nearness_scale: float = 300.0  # tokens from the cursor at which nearness falls to 1/e
    rename_limit: int = 12  # best proposals considered for a parameter echo
    scored_limit: int = 32  # proposals, by prior, that get the full feature vector
    left_cap: int = 48
    right_cap: int = 32
    max_block_lines: int = 12
