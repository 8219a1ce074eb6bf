"""The hidden-line benchmark: how well Splice reproduces code hidden from real repositories, what each
source of context adds, and how long the full pipeline takes.

Python API (``splice eval`` is a thin layer over it)::

    from pathlib import Path
    from splice.evaluation import EvalOptions, evaluate, sample_tasks, run_ablation

    report = await evaluate([Path("repo")], EvalOptions(tasks=200, seed=0))
    data = report.as_json()            # {"tasks", "ablations", "by_language", "latency_ms", "lifts", ...}
    data["ablations"]["customized"]["exact_match"]
    data["lifts"]["customized"]["over_previous"]["exact_match"]   # {"delta", "ci95": [lo, hi], "ratio"}

    sample = sample_tasks([Path("repo")], n=100, seed=1, kind="line")     # or "block", "span"
    report = await run_ablation("retrieval", sample.tasks, sample.files)  # one row on given tasks

``EvalOptions`` fields: ``tasks``, ``seed``, ``kind``, ``ablations`` (names from ``ABLATION_NAMES``:
prefix_only, infile, open_files, retrieval, customized), ``via`` ("inprocess" or "stdio": every task through
a real ``splice serve``), ``open_files`` (how many neighbouring files the simulated editor has open),
``tenant`` (the name the customized row's artifact is built under), ``index_timeout``, ``resamples``
(bootstrap draws) and ``workdir`` (where masked copies of the repositories go).

The typing replay (``splice eval --kind typing``) types held-out regions back into a real ``splice serve``
keystroke by keystroke and counts what a developer would keep::

    from splice.evaluation.typing_harness import TypingEvaluation, TypingOptions

    report = await TypingEvaluation([Path("repo")], TypingOptions(tasks=40, seed=0)).run()
    report.as_json()["ablations"]["retrieval"]["chars_saved"]     # {"value", "ci95": [lo, hi]}

Guarantees: the same repositories and seed give the same tasks; indexes and artifacts are built from masked
copies of the repositories without any task's hidden span, and every request passes a leakage guard
(:class:`LeakageError` stops the run); rows that cannot run here (retrieval missing) are reported as
unavailable with the reason, never filled with numbers. A gate before publishing an artifact can compare
``report.lift("customized", "retrieval")`` and refuse when its 95% interval lies below zero.
"""

from splice.evaluation.ablations import ABLATION_NAMES, ABLATIONS, Ablation, EditorView, nearest_files
from splice.evaluation.harness import EvalOptions, Evaluation, evaluate, run_ablation
from splice.evaluation.isolation import LeakageError, check_isolation, masked_text
from splice.evaluation.report import Report
from splice.evaluation.sampling import KINDS, Sample, Task, sample_tasks

__all__ = [
    "ABLATIONS", "ABLATION_NAMES", "KINDS", "Ablation", "EditorView", "EvalOptions", "Evaluation",
    "LeakageError", "Report", "Sample", "Task", "check_isolation", "evaluate", "masked_text", "nearest_files",
    "run_ablation", "sample_tasks",
]
