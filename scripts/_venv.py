"""Run the importing script with the repository's ``.venv`` Python when it was started with another one.

The scripts' shebang is ``/usr/bin/env python3`` so they read as plain Python, but they need Splice and its
pinned dependencies, which ``scripts/setup`` installs into ``.venv``. Importing this module re-executes the
script under that interpreter, so ``scripts/bench-server`` works without activating anything.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"

if sys.prefix == sys.base_prefix and _VENV_PYTHON.exists():
    os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), sys.argv[0], *sys.argv[1:]])
