"""Progress on stderr for the indexing and evaluation commands (not a command itself).

stderr, because stdout carries the command's result; redrawn in place on a terminal, printed every tenth
of the way otherwise, so a log file does not fill with carriage returns.
"""

from __future__ import annotations

import sys
from typing import Any

_WIDTH = 30


class ProgressBar:
    """Callable as :data:`splice.retrieval.indexing.Progress`."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._tty = sys.stderr.isatty()
        self._last_tenth = -1
        self._open_line = False  # a redrawn line without its line break yet

    def __call__(self, message: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if total <= 0:
            sys.stderr.write(f"{message}...\n")
            return
        share = done / total
        filled = int(_WIDTH * share)
        line = f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {share:4.0%} {message}"
        if self._tty:
            sys.stderr.write("\r" + line + ("\n" if done >= total else ""))
            self._open_line = done < total
        elif int(share * 10) != self._last_tenth:
            self._last_tenth = int(share * 10)
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end(self) -> None:
        """End a bar cut short (an interrupt), so the next message starts on its own line."""
        if self._open_line:
            sys.stderr.write("\n")
            self._open_line = False


class CountBar:
    """A count of work done for the evaluation commands (:data:`splice.evaluation.harness.ProgressCallback`),
    drawn by tqdm on stderr, and only on a terminal: CI logs get the summary, not a thousand redraws.
    tqdm loads at the first update, so a run that never starts never imports it."""

    def __init__(self, unit: str, desc: str) -> None:
        self.unit = unit
        self.desc = desc
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm  # noqa: PLC0415 - evaluation-only dependency

            self._bar = tqdm(total=total, unit=self.unit, desc=self.desc, file=sys.stderr, disable=None, leave=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        """Take the bar off the terminal, if one was drawn."""
        if self._bar is not None:
            self._bar.close()
