"""How many threads the native libraries may start, decided before any of them is loaded.

numpy's bundled OpenBLAS starts one worker per core and, after every matrix product, keeps that worker
spinning on ``sched_yield`` for a while in case another product follows; the Rust ``tokenizers`` library
spreads even a one-text batch over a pool of its own. Splice's products and batches are small (a query's
embedding, a prompt's new lines, a batch of 32 chunks) and run on background threads beside an event loop
that answers keystrokes: on a 2-core machine the spinning BLAS worker held a whole core in system time, and
a repository search right after a keystroke took twice as long as alone, waiting for cores the pools held.
One thread each costs the encoders little and gives the cores back. An operator who wants more sets the
variables themselves; they are read only at load, so this runs first thing in the command-line entry point.
"""

from __future__ import annotations

import os

# What each BLAS build numpy may be linked against reads at load, and what ``tokenizers`` reads.
_DEFAULTS = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def limit_native_threads() -> None:
    """One thread for BLAS and for ``tokenizers``, unless the environment already says otherwise."""
    for name, value in _DEFAULTS.items():
        os.environ.setdefault(name, value)
