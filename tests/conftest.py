"""Shared test setup: the backend package is importable from the source tree."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "backend"))

# Servers started by tests (in memory or as processes) record telemetry like any other; keep it out of the
# user's data directory. Tests that look at the database set their own SPLICE_DATA_DIR or data_dir.
_TELEMETRY_DIR = tempfile.mkdtemp(prefix="splice-test-data-")
os.environ["SPLICE_DATA_DIR"] = _TELEMETRY_DIR
os.environ["XDG_DATA_HOME"] = _TELEMETRY_DIR
atexit.register(shutil.rmtree, _TELEMETRY_DIR, ignore_errors=True)
