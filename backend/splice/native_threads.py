"""How many threads the native numeric libraries may start, decided before any of them is loaded.

numpy's bundled OpenBLAS starts one worker per core and, after every matrix product, keeps that worker
spinning on ``sched_yield`` for a while in case another product follows. Splice's products are small (a
query's embedding, a batch of 32 chunks) and run on background threads beside an event loop that answers
keystrokes: on a 2-core machine the spinning worker held a whole core in system time, and the server's
own work, not the products, waited for it. One BLAS thread costs the encoder little and gives the core
back. An operator who wants more sets ``OPENBLAS_NUM_THREADS`` themselves; it is read only at load, so
this runs first thing in the command-line entry point.
"""

from __future__ import annotations

import os

# The variables each BLAS build numpy may be linked against reads at load.
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads(threads: int = 1) -> None:
    """Default the BLAS thread count to ``threads`` unless the environment already sets it."""
    for name in _BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))
