"""Training data rules on a real directory of code: the held-out split by path hash, the evaluation's hidden
lines never in a training example, and the middles the evaluation samples."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from splice.adapters.examples import fim_examples, public_files
from splice.adapters.training_data import (
    EvaluationMask,
    held_out,
    masked_public,
    training_data,
    without_hidden_lines,
)
from splice.context.templates import template_for
from splice.errors import SourceError
from splice.evaluation import EvalOptions, Evaluation
from splice.evaluation.sampling import KINDS, file_candidates
from splice.evaluation.typing_harness import TypingEvaluation, TypingOptions
from splice.retrieval.selection import Knobs
from splice.workspace import WorkspaceFile, workspace_files

ROOT = Path(__file__).resolve().parents[3]
REPOSITORY = ROOT / "backend" / "splice" / "engines"
TEMPLATE = template_for("starcoder2")


def _documents(example_prompt: str, middle: str) -> str:
    """The text an example shows, prefix, middle and suffix joined back in document order."""
    _, _, rest = example_prompt.partition(TEMPLATE.prefix)
    prefix, _, rest = rest.partition(TEMPLATE.suffix)
    suffix, _, _ = rest.partition(TEMPLATE.middle)
    return prefix + middle + suffix


def test_the_held_out_split_is_a_stable_hash_of_the_path() -> None:
    paths = [f"pkg/module_{i}.py" for i in range(2000)]
    chosen = [p for p in paths if held_out(p, 0.2)]
    assert 300 < len(chosen) < 500, "about a fifth"
    assert chosen == [p for p in paths if held_out(p, 0.2)]
    assert set(chosen) >= {p for p in paths if held_out(p, 0.1)}, "a larger share keeps the smaller one's files"
    assert not any(held_out(p, 0.0) for p in paths)


def test_held_out_files_are_recorded_and_never_trained_on() -> None:
    data = training_data([REPOSITORY], Knobs(), holdout_share=0.3)
    held = data.held_out[str(REPOSITORY.resolve())]
    every = {f.path for f in workspace_files(REPOSITORY)}
    assert held and {f.path for f in data.files} == every - set(held)
    assert data.manifest()["held_out"]["files"] == {str(REPOSITORY.resolve()): held}
    assert data.manifest()["selection"]["exclude"] == ()


def test_no_hidden_line_of_splice_evals_tasks_appears_in_any_training_example() -> None:
    mask = EvaluationMask(tasks=30, seed=4)
    hidden: set[str] = set()
    for kind in KINDS:  # sampled exactly as `splice eval --repo R --tasks 30 --seed 4 --kind K` samples
        tasks = Evaluation([REPOSITORY], EvalOptions(tasks=mask.tasks, seed=mask.seed, kind=kind)).prepare().tasks
        assert len(tasks) == 30
        hidden.update(s for t in tasks for line in t.middle.split("\n") if (s := line.strip()))
    # ... and as `splice eval --kind typing --tasks 30 --seed 4` picks its regions.
    regions = TypingEvaluation([REPOSITORY], TypingOptions(tasks=mask.tasks, seed=mask.seed)).prepare().tasks
    assert regions  # one per file: fewer than 30 in this small package
    hidden.update(s for t in regions for line in t.middle.split("\n") if (s := line.strip()))
    data = training_data([REPOSITORY], Knobs(), holdout_share=0.0, mask=mask)
    assert data.hidden_lines == hidden
    assert data.masked_spans >= 90 and data.dropped_lines > 0
    public = masked_public(public_files(10, seed=0), data)
    examples = fim_examples([*data.files, *public], TEMPLATE, seed=0, per_file=12, spm_share=0.3)
    assert len(examples) > 300
    for example in examples:
        lines = _documents(example.prompt, example.middle).split("\n")
        inner = lines[1:-1]  # the windows' first and last lines may be cut mid-line
        assert not {line.strip() for line in inner} & hidden, example.path
    unmasked = training_data([REPOSITORY], Knobs(), holdout_share=0.0)
    assert unmasked.dropped_lines == 0 and any(
        line.strip() in hidden for f in unmasked.files for line in f.text.split("\n")), "the check can fail"


def test_lines_equal_to_a_hidden_line_go_wherever_they_are() -> None:
    text, dropped = without_hidden_lines("a = 1\n    b = compute(a)\nc = 3\n", frozenset({"b = compute(a)"}))
    assert (text, dropped) == ("a = 1\nc = 3\n", 1)


def test_middles_are_the_evaluations_task_spans() -> None:
    file = next(f for f in workspace_files(REPOSITORY) if f.path == "breaker.py")
    candidates = file_candidates(file.text, "python")
    allowed = {file.text[s:e] for kind in KINDS for s, e in getattr(candidates, kind)}
    examples = fim_examples([file], TEMPLATE, seed=2, per_file=30)
    assert {e.kind for e in examples} == set(KINDS)
    assert all(e.middle in allowed for e in examples)


def test_a_language_without_a_grammar_still_gets_examples() -> None:
    file = WorkspaceFile(path="notes/build.unknownlang", text="step one\n  step two with words\nstep three\n")
    assert fim_examples([file], TEMPLATE, seed=0, per_file=3)


def test_history_knobs_need_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(SourceError, match="git repository"):
        training_data([tmp_path], Knobs(since_days=3))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "start"], check=True)
    assert training_data([tmp_path], Knobs(since_days=3), holdout_share=0.0).files == []
