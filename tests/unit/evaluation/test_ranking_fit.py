"""The ranking fit's safeguards: a training set holding evaluation code is refused, the declaration is
checked, writing weights changes only the numbers of weights.py, and the fit's fast emulation of the
ranking ranks exactly as the ranking code does."""

from __future__ import annotations

import difflib
import importlib.util
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from splice.engines.embedded import weights as weights_module
from splice.engines.embedded.ranking import FITTED, coefficients, ranked_candidates, with_coefficients
from splice.engines.embedded.weights import RankingWeights
from splice.evaluation.ranking_fit import collect_tasks, emulated_first, emulated_hits, reproduction, weights_source
from splice.evaluation.training_set import (
    TrainingSetError,
    check_disjoint,
    evaluation_code,
    load_training_set,
    training_files,
)

EVALUATED = '''"""A module of the evaluated project."""


def parse_header(line: str) -> dict[str, str]:
    name, _, value = line.partition(":")
    if not name.strip():
        raise ValueError(f"not a header line: {line!r}")
    return {name.strip().lower(): value.strip()}
'''
OTHER = '''def unrelated_helper(values: list[int]) -> int:
    total = sum(value * value for value in values)
    return total // max(1, len(values))
'''


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def evaluation(tmp_path: Path) -> dict[str, Path]:
    root = _write(tmp_path / "evalpkg-1.0", {"src/evalpkg/__init__.py": "", "src/evalpkg/headers.py": EVALUATED})
    return {"evalpkg": root}


def test_a_disjoint_training_set_passes(tmp_path: Path, evaluation: dict[str, Path]) -> None:
    training = _write(tmp_path / "other-2.0", {"other/helpers.py": OTHER})
    check_disjoint({"other": training_files(training)}, evaluation_code(evaluation))


def test_an_evaluation_file_elsewhere_in_the_training_set_is_refused(
    tmp_path: Path, evaluation: dict[str, Path],
) -> None:
    # Re-indented, with CRLF line ends and blank lines added, under another name: still the same file.
    copied = "\r\n".join("  " + line for line in EVALUATED.split("\n")) + "\r\n\r\n"
    training = _write(tmp_path / "other-2.0", {"other/helpers.py": OTHER, "other/vendored.py": copied})
    with pytest.raises(TrainingSetError, match=r"other/vendored.py: the same content as the evaluation's "
                                               r"evalpkg-1.0/src/evalpkg/headers.py"):
        check_disjoint({"other": training_files(training)}, evaluation_code(evaluation))


def test_another_version_of_an_evaluation_file_is_refused(tmp_path: Path, evaluation: dict[str, Path]) -> None:
    lines = [f"    record_{i} = build_record(source, index={i}, strict=True)" for i in range(12)]
    original = "def build_all(source):\n" + "\n".join(lines) + "\n"
    changed = "def build_all(source, extra):\n" + "\n".join(lines[:10]) + "\n    return extra\n"
    _write(evaluation["evalpkg"], {"src/evalpkg/records.py": original})
    training = _write(tmp_path / "other-2.0", {"lib/records.py": changed})
    with pytest.raises(TrainingSetError, match=r"lib/records.py: 91% of its lines are in the evaluation"):
        check_disjoint({"other": training_files(training)}, evaluation_code(evaluation))


def test_another_version_of_an_evaluation_project_is_refused_by_name(
    tmp_path: Path, evaluation: dict[str, Path],
) -> None:
    training = _write(tmp_path / "EvalPkg-0.9", {"helpers.py": OTHER})
    with pytest.raises(TrainingSetError, match="another version of the evaluation's evalpkg"):
        check_disjoint({"EvalPkg": training_files(training)}, evaluation_code(evaluation))
    vendoring = _write(tmp_path / "big-3.0", {"big/_vendor/evalpkg/core.py": OTHER})
    with pytest.raises(TrainingSetError, match="named like the evaluation's package 'evalpkg'"):
        check_disjoint({"big": training_files(vendoring)}, evaluation_code(evaluation))


def test_boilerplate_every_project_has_is_not_a_copy(tmp_path: Path, evaluation: dict[str, Path]) -> None:
    _write(evaluation["evalpkg"], {"LICENSE.txt": "Permission is hereby granted\n" * 20, "tests/__init__.py": ""})
    training = _write(tmp_path / "other-2.0", {"LICENSE.txt": "Permission is hereby granted\n" * 20,
                                               "tests/__init__.py": "", "other/helpers.py": OTHER})
    check_disjoint({"other": training_files(training)}, evaluation_code(evaluation))


def test_excluded_paths_are_never_read(tmp_path: Path) -> None:
    root = _write(tmp_path / "other-2.0", {"docs/conf.py": OTHER, "other/helpers.py": OTHER})
    assert sorted(training_files(root, ["docs/*"])) == ["other/helpers.py"]


def test_the_declaration_is_checked(tmp_path: Path) -> None:
    declared = tmp_path / "set.toml"
    declared.write_text('[[repo]]\nname = "x"\nversion = "1"\nsplit = "train"\nsha256 = "abc"\n')
    with pytest.raises(TrainingSetError, match="sha256 must be 64"):
        load_training_set(declared)
    declared.write_text(f'[[repo]]\nname = "x"\nversion = "1"\nsplit = "held-out"\nsha256 = "{"0" * 64}"\n')
    with pytest.raises(TrainingSetError, match="no repository with split"):
        load_training_set(declared)


def test_the_shipped_training_set_loads() -> None:
    declared = load_training_set(Path(__file__).parents[3] / "scripts" / "ranking-training-repos.toml")
    assert {r.split for r in declared} == {"train", "held-out"}
    assert not {r.name for r in declared} & {"requests", "attrs", "click"}


def test_the_writer_changes_only_the_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = Path(weights_module.__file__).read_text(encoding="utf-8")
    current = RankingWeights()
    assert weights_source(source, current) == source
    values = [round(v + 0.25 * (i + 1), 2) for i, v in enumerate(coefficients(current)[:FITTED])]
    fitted = with_coefficients(current, values)
    written = weights_source(source, fitted)
    changed = [line for line in difflib.ndiff(source.splitlines(), written.splitlines()) if line[:1] in "+-"]
    assert len(changed) == 2 * 19  # every coefficient's line, tuple of level bonuses included, nothing else
    (tmp_path / "written_weights.py").write_text(written, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("written_weights", tmp_path / "written_weights.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "written_weights", module)
    spec.loader.exec_module(module)
    assert asdict(module.RankingWeights()) == asdict(fitted)


def test_the_writer_refuses_a_file_it_does_not_understand() -> None:
    source = Path(weights_module.__file__).read_text(encoding="utf-8").replace("    share: float", "    shares: float")
    with pytest.raises(ValueError, match="one line defining share"):
        weights_source(source, RankingWeights())


async def test_the_emulated_ranking_picks_what_the_ranking_code_picks(tmp_path: Path) -> None:
    fixture = Path(__file__).parents[2] / "e2e" / "fixtures" / "inventory"
    limits = RankingWeights()
    tasks = await collect_tasks(fixture, count=25, seed=0, open_files=2, workdir=tmp_path, weights=limits)
    assert len(tasks) >= 20 and any(t.correct.any() for t in tasks)
    rng = np.random.default_rng(0)
    random = with_coefficients(limits, rng.normal(0.0, 1.5, FITTED).round(2).tolist())
    # A small scored_limit makes the pre-selection by prior cut in on every task.
    for weights in (limits, random, replace(random, scored_limit=3, rename_limit=2)):
        vector = np.asarray(coefficients(weights))
        for task in tasks:
            first = emulated_first(task, vector, scored_limit=weights.scored_limit, rename_limit=weights.rename_limit)
            r = task.ranking
            ranked = ranked_candidates(r.vocab, r.cursor, r.proposals, multiline=False, count=1, weights=weights)
            assert (task.texts[first] if first >= 0 else None) == (ranked[0].text if ranked else None)
        assert emulated_hits(tasks, vector, weights) == round(reproduction(tasks, weights) * len(tasks))
