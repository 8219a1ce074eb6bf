"""The confidence model's coefficients and the default show threshold (see :mod:`splice.confidence`).

Written by ``scripts/fit-confidence``; edit the script, not the numbers. Apart from the model so that
``config`` can read the default threshold without importing anything else.
"""

from __future__ import annotations

# Fitted on 160 typing regions of the development repositories (3536 suggestions
# shown, seed 0); threshold for 3 characters per wrong suggestion shown.
INTERCEPT = -3.4775
COEFFICIENTS: dict[str, float] = {
    "score": 1.9004,
    "margin": 0.3099,
    "alone": -0.4133,
    "agreement": 2.5979,
    "match": 0.6688,
    "mid_identifier": 0.7995,
    "after_operator": -0.2465,
    "after_dot": -0.6782,
    "line_start": -2.1558,
    "end_of_line": -0.4447,
    "in_comment_or_string": -0.8175,
    "length": -0.2143,
    "lines": 0.154,
    "typeahead": 0.6698,
    "logprob": 0.0,
    "has_logprob": 0.0,
    "replaces": -0.5692,
    "candidates": 0.7696,
    "word_typed": 0.3508,
    "one_word": 0.0785,
    "unbalanced": -0.0774,
    "after_opener": -0.1193,
    "after_blank_line": 0.5464,
    "line_start_match": 0.8385,
}
# The default ``minConfidence``: automatic suggestions below it are not shown.
MIN_CONFIDENCE = 0.22
