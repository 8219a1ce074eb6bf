"""``splice complete`` as a person runs it twice: the first run builds and stores the engine's project index
and says so on stderr, the next answers from it in silence, a changed file is taken in, and a damaged cache
is rebuilt with one line, never a traceback. stdout carries only the suggestion throughout."""

from __future__ import annotations

import os
import time
from pathlib import Path

from test_command_line import _splice

AN_HOUR_AGO = time.time() - 3600


def write(root: Path, rel: str, text: str, *, mtime: float = AN_HOUR_AGO) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def workspace(root: Path) -> tuple[Path, str]:
    """A small project whose ``billing/tax.py`` holds the line a new function's body should copy, and the
    ``FILE:LINE:COL`` of that body in ``billing/report.py``."""
    (root / ".git").mkdir(parents=True)
    write(root, "billing/tax.py", "def with_tax(amount, rate):\n    return round(amount * (1 + rate), 2)\n")
    write(root, "billing/cart.py", "def total(cart):\n    return sum(item.price for item in cart.items)\n")
    report = write(root, "billing/report.py", "import os\n\n\ndef report(amount, rate):\n    \n")
    return root, f"{report}:5:5"


def complete(root: Path, location: str, index_dir: Path) -> tuple[str, list[str]]:
    done = _splice("complete", location, "--workspace", str(root), SPLICE_INDEX_DIR=str(index_dir))
    assert done.returncode == 0, done.stderr
    return done.stdout, [line for line in done.stderr.splitlines() if line]


def test_a_warm_complete_reuses_the_stored_index_and_says_nothing(tmp_path: Path) -> None:
    root, location = workspace(tmp_path / "ws")
    index_dir = tmp_path / "index"
    cold, said = complete(root, location, index_dir)
    assert cold == "return round(amount * (1 + rate), 2)\n"
    assert any("for the engine" in line and "stored for next time" in line for line in said), said
    warm, said = complete(root, location, index_dir)
    assert warm == cold and said == []
    assert len(list(index_dir.glob("*/engine/g-*/tokens.npy"))) == 1


def test_a_changed_file_is_used_and_a_damaged_cache_rebuilt(tmp_path: Path) -> None:
    root, location = workspace(tmp_path / "ws")
    index_dir = tmp_path / "index"
    complete(root, location, index_dir)
    write(root, "billing/tax.py", "def with_tax(amount, rate):\n    return amount + amount * rate\n",
          mtime=AN_HOUR_AGO + 60)
    changed, said = complete(root, location, index_dir)
    assert changed == "return amount + amount * rate\n"
    assert len(said) == 1 and "1 file(s)" in said[0] and "changed" in said[0], said
    tokens = next(index_dir.glob("*/engine/g-*/tokens.npy"))
    tokens.write_bytes(tokens.read_bytes()[:-4])
    rebuilt, said = complete(root, location, index_dir)
    assert rebuilt == changed
    assert said[0].startswith("splice: the engine's cached index") and "unusable" in said[0], said
    assert any("stored for next time" in line for line in said[1:]), said
    assert complete(root, location, index_dir) == (changed, [])
