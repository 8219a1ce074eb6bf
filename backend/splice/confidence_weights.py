"""The confidence model's coefficients and the default show threshold (see :mod:`splice.confidence`).

Written by ``scripts/fit-confidence``; edit the script, not the numbers. Apart from the model so that
``config`` can read the default threshold without importing anything else.
"""

from __future__ import annotations

INTERCEPT = 0.0
COEFFICIENTS: dict[str, float] = {}
# The default ``minConfidence``: automatic suggestions below it are not shown.
MIN_CONFIDENCE = 0.0
