"""FIM training examples (plain strings), the neural settings, and that torch stays out of the default path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from splice.adapters.examples import fim_examples, public_files
from splice.adapters.targets import TARGET_MODULES, target_modules
from splice.config import Settings, merge
from splice.context.templates import template_for
from splice.workspace import WorkspaceFile

ROOT = Path(__file__).resolve().parents[3]
FILES = [
    WorkspaceFile(path="pkg/math_ops.py",
                  text="def add(a, b):\n    total = a + b\n    return total\n\n\n"
                       "def sub(a, b):\n    difference = a - b\n    return difference\n"),
    WorkspaceFile(path="pkg/names.py", text="NAMES = ['ada', 'grace']\n\nfor name in NAMES:\n    print(name)\n"),
]


def test_examples_are_psm_prompts_whose_middle_restores_the_file() -> None:
    template = template_for("starcoder2")
    examples = fim_examples(FILES, template, seed=3, per_file=6)
    assert {e.kind for e in examples} == {"line", "span", "block"}
    for example in examples:
        head, _, rest = example.prompt.partition(template.prefix)
        prefix, _, rest = rest.partition(template.suffix)
        suffix, _, after = rest.partition(template.middle)
        assert after == "", "the prompt ends with the middle sentinel"
        assert f"<file_sep>{example.path}\n" in head
        source = next(f.text for f in FILES if f.path == example.path)
        assert prefix + example.middle + suffix in source


def test_examples_depend_on_the_seed_alone() -> None:
    template = template_for("starcoder2")
    assert fim_examples(FILES, template, seed=1) == fim_examples(FILES, template, seed=1)
    assert fim_examples(FILES, template, seed=1) != fim_examples(FILES, template, seed=2)


def test_neural_settings_are_validated() -> None:
    settings, problems = merge(Settings(), {"engine": "neural", "neuralThreads": 1, "neuralModel": "/m.gguf"},
                               source="test")
    assert problems == []
    assert (settings.engine, settings.neural_threads, settings.neural_model) == ("neural", 1, "/m.gguf")
    settings, problems = merge(Settings(), {"neuralThreads": 0}, source="test")
    assert settings.neural_threads == 2
    assert "neuralThreads" in problems[0]


def test_server_and_complete_never_import_torch_unless_the_neural_engine_is_configured() -> None:
    code = (
        "import sys\n"
        "from splice.cli import build_parser\n"
        "import splice.server.main, splice.commands.complete, splice.pipeline, splice.local\n"
        "from splice.config import Settings\n"
        "from splice.engines.factory import create_engine\n"
        "build_parser()\n"
        "create_engine(Settings(), None)\n"
        "create_engine(Settings(engine='triton', triton_url='localhost:1'), None)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'peft')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT / "backend"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


def test_target_modules_are_tensorrt_llm_names() -> None:
    assert target_modules("attn_q, mlp_4h_to_h") == ("attn_q", "mlp_4h_to_h")
    assert TARGET_MODULES["attn_dense"] == "o_proj"
    with pytest.raises(ValueError, match="use attn_q"):
        target_modules("q_proj")


def test_train_adapter_refuses_bad_arguments_with_a_message() -> None:
    run = subprocess.run([sys.executable, "-m", "splice", "train-adapter", "--repo", ".", "--out", "/tmp/x",
                          "--targets", "qkv"], capture_output=True, text=True, cwd=ROOT, check=False,
                         env={"PYTHONPATH": str(ROOT / "backend"), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 2
    assert "unknown target module(s) qkv" in run.stderr and "Traceback" not in run.stderr


def test_suffix_prefix_middle_examples_where_the_family_has_them() -> None:
    starcoder = template_for("starcoder2")
    examples = fim_examples(FILES, starcoder, seed=0, spm_share=0.99)
    for example in examples:
        body = example.prompt[example.prompt.index(starcoder.prefix):]
        assert body.startswith(starcoder.prefix + starcoder.suffix), "suffix first"
    qwen = template_for("qwen2.5-coder")  # no SPM format: prefix first whatever the share
    for example in fim_examples(FILES, qwen, seed=0, spm_share=0.99):
        assert not example.prompt[example.prompt.index(qwen.prefix):].startswith(qwen.prefix + qwen.suffix)


def test_public_code_comes_from_the_standard_library_by_seed() -> None:
    files = public_files(5, seed=0)
    assert len(files) == 5 and all(f.path.startswith("stdlib/") and f.path.endswith(".py") for f in files)
    assert [f.path for f in public_files(5, seed=0)] == [f.path for f in files]
    assert public_files(0, seed=0) == []
