"""The confidence model's coefficients and the default show threshold (see :mod:`splice.confidence`).

Written by ``scripts/fit-confidence``; edit the script, not the numbers. Apart from the model so that
``config`` can read the default threshold without importing anything else.
"""

from __future__ import annotations

# Fitted on 160 typing regions of the development repositories (3536 suggestions
# shown, seed 0); threshold for 1.5 characters per wrong suggestion shown.
INTERCEPT = -5.6742
COEFFICIENTS: dict[str, float] = {
    "score": 2.7537,
    "margin": 0.3091,
    "alone": -0.8888,
    "agreement": 2.1127,
    "match": 1.3298,
    "mid_identifier": 1.4489,
    "after_operator": 0.3148,
    "after_dot": -0.283,
    "line_start": -0.6907,
    "end_of_line": -0.736,
    "in_comment_or_string": -0.8611,
    "length": 0.5323,
    "lines": -0.1548,
    "typeahead": 0.8828,
    "logprob": 0.0,
    "has_logprob": 0.0,
    "replaces": -0.3721,
}
# The default ``minConfidence``: automatic suggestions below it are not shown.
MIN_CONFIDENCE = 0.16
