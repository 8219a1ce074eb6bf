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

# Servers started by tests (in memory or as processes) record telemetry and index their workspace like any
# other; keep both out of the user's home. Tests that look at the database or an index set their own
# SPLICE_DATA_DIR / data_dir or SPLICE_INDEX_DIR. The distilled embedding model (SPLICE_MODEL_DIR, else
# ~/.cache/splice/models) is not redirected: ``scripts/setup`` builds it there once and tests read it.
_TELEMETRY_DIR = tempfile.mkdtemp(prefix="splice-test-data-")
os.environ["SPLICE_DATA_DIR"] = _TELEMETRY_DIR
os.environ["XDG_DATA_HOME"] = _TELEMETRY_DIR
atexit.register(shutil.rmtree, _TELEMETRY_DIR, ignore_errors=True)
_INDEX_DIR = tempfile.mkdtemp(prefix="splice-test-index-")
os.environ["SPLICE_INDEX_DIR"] = _INDEX_DIR
atexit.register(shutil.rmtree, _INDEX_DIR, ignore_errors=True)
