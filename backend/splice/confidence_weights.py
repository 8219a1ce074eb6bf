"""The confidence model's coefficients and the default show threshold (see :mod:`splice.confidence`).

Written by ``scripts/fit-confidence``; edit the script, not the numbers. Apart from the model so that
``config`` can read the default threshold without importing anything else.
"""

from __future__ import annotations

# Fitted on 160 typing regions of the development repositories (3536 suggestions
# shown, seed 0); threshold for 3 characters per wrong suggestion shown.
INTERCEPT = -2.8587
COEFFICIENTS: dict[str, float] = {
    "score": 2.1594,
    "margin": 0.254,
    "alone": -1.1481,
    "agreement": 2.5863,
    "match": 1.032,
    "mid_identifier": 1.0441,
    "after_operator": -0.2288,
    "after_dot": -0.6732,
    "line_start": -1.122,
    "end_of_line": -0.4969,
    "in_comment_or_string": -0.7415,
    "length": -0.2033,
    "lines": 0.1051,
    "typeahead": 0.7834,
    "logprob": 0.0,
    "has_logprob": 0.0,
    "replaces": -0.6015,
}
# The default ``minConfidence``: automatic suggestions below it are not shown.
MIN_CONFIDENCE = 0.2
