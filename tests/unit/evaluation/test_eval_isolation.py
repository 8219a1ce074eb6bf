"""The leakage guard and the masked mirror: the hidden span never reaches the pipeline or an index."""

from __future__ import annotations

from pathlib import Path

import pytest

from splice.context.prompt import Snippet
from splice.context.snippets import SourceDocument
from splice.evaluation.ablations import ABLATIONS, ablation_named, editor_view, nearest_files
from splice.evaluation.isolation import LeakageError, build_mirrors, check_isolation, masked_text
from splice.evaluation.sampling import Sample, sample_tasks

CODE = '''def load(path):
    with open(path) as handle:
        data = handle.read().splitlines()
    return [line for line in data if line]


def save(path, rows):
    text = "\\n".join(str(row) for row in rows)
    with open(path, "w") as handle:
        handle.write(text)
'''


@pytest.fixture
def sample(tmp_path: Path) -> Sample:
    repo = tmp_path / "repo"
    (repo / "pkg" / "sub").mkdir(parents=True)
    (repo / "pkg" / "io.py").write_text(CODE)
    (repo / "pkg" / "near.py").write_text(CODE.replace("load", "fetch"))
    (repo / "pkg" / "sub" / "deeper.py").write_text(CODE.replace("save", "store"))
    (repo / "far.py").write_text(CODE.replace("path", "where"))
    return sample_tasks([repo], 12, seed=0)


def test_masked_text_cuts_spans_and_merges_overlaps() -> None:
    assert masked_text("0123456789", [(2, 4), (3, 6), (8, 9)]) == "01679"
    assert masked_text("abc", []) == "abc"


def test_the_mirror_holds_no_hidden_span_in_its_place(sample: Sample, tmp_path: Path) -> None:
    mirrors = build_mirrors(sample.files, sample.tasks, tmp_path / "work")
    for task in sample.tasks:
        mirror = mirrors[task.repo]
        on_disk = mirror.path_of(task).read_text()
        assert len(on_disk) <= len(task.text) - len(task.middle)
        check_isolation(task, mirror, document=task.live_text)
    assert (next(iter(mirrors.values())).root / ".git").is_dir()


def test_every_ablation_view_passes_the_guard(sample: Sample, tmp_path: Path) -> None:
    mirrors = build_mirrors(sample.files, sample.tasks, tmp_path / "work")
    for task in sample.tasks:
        for ablation in ABLATIONS:
            view = editor_view(task, ablation, mirrors[task.repo])
            check_isolation(task, mirrors[task.repo], document=view.document, others=view.others)
            assert all(doc.path != task.path for doc in view.others)


def test_prefix_only_sees_no_suffix_and_no_other_files(sample: Sample, tmp_path: Path) -> None:
    mirrors = build_mirrors(sample.files, sample.tasks, tmp_path / "work")
    task = sample.tasks[0]
    view = editor_view(task, ablation_named("prefix_only"), mirrors[task.repo])
    assert view.suffix == "" and view.document == task.prefix and view.others == ()
    infile = editor_view(task, ablation_named("infile"), mirrors[task.repo])
    assert infile.suffix == task.suffix and infile.others == ()
    opened = editor_view(task, ablation_named("open_files"), mirrors[task.repo], open_files=2)
    assert len(opened.others) == 2


def test_nearest_files_prefer_the_same_directory_then_the_tree() -> None:
    files = ["pkg/io.py", "pkg/near.py", "pkg/sub/deeper.py", "far.py", "pkg/notes.md", "other/x/y.py"]
    assert nearest_files("pkg/io.py", files, 3) == ["pkg/near.py", "far.py", "pkg/sub/deeper.py"]
    assert nearest_files("pkg/io.py", files, 10)[-1] == "other/x/y.py"


def test_the_guard_catches_each_way_the_answer_could_leak(sample: Sample, tmp_path: Path) -> None:
    mirrors = build_mirrors(sample.files, sample.tasks, tmp_path / "work")
    task = sample.tasks[0]
    mirror = mirrors[task.repo]
    with pytest.raises(LeakageError, match="not the file minus the hidden span"):
        check_isolation(task, mirror, document=task.text)
    itself = SourceDocument(key=str(mirror.path_of(task)), path=task.path, version=1, text=task.text)
    with pytest.raises(LeakageError, match="also given as another open document"):
        check_isolation(task, mirror, document=task.live_text, others=[itself])
    line = task.text[task.text.rfind("\n", 0, task.start) + 1 : task.text.find("\n", task.end)]
    revealing = Snippet(path=task.path, text=f"x = 1\n{line}\n", start_line=0, end_line=2, score=1.0,
                        source="retrieval")
    with pytest.raises(LeakageError, match="holds the hidden line"):
        check_isolation(task, mirror, document=task.live_text, snippets=[revealing])
    # The same line from another file is fair context: repositories repeat themselves.
    elsewhere = Snippet(path="far.py", text=line, start_line=0, end_line=1, score=1.0, source="retrieval")
    check_isolation(task, mirror, document=task.live_text, snippets=[elsewhere])
    # A mirror whose copy of the target was restored is refused.
    mirror.path_of(task).write_text(task.text)
    with pytest.raises(LeakageError, match="still holds the hidden span"):
        check_isolation(task, mirror, document=task.live_text)


def test_snippets_without_a_mirror_are_refused(sample: Sample) -> None:
    task = sample.tasks[0]
    snippet = Snippet(path="far.py", text="x\n", start_line=0, end_line=1, score=1.0, source="retrieval")
    with pytest.raises(LeakageError, match="without a masked repository"):
        check_isolation(task, None, document=task.live_text, snippets=[snippet])
