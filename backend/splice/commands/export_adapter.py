"""``splice export-adapter ADAPTER_DIR OUT_DIR [--model PATH]``: a trained adapter in TensorRT-LLM's layout.

Writes ``model.lora_weights.npy`` and ``model.lora_config.npy`` into ``OUT_DIR`` (make it
``<lora_dir>/<task_id>/``: the GPU engine's ``lora_prefetch_dir``, the CPU model's tenant directory and the
client's ``lora_dir`` share that layout), after checking every matrix against the base model's
configuration. The base is ``--model``, else the one ``splice-adapter.json`` names, else the bundled
SmolLM2. Prints what it wrote as one JSON line. Needs the ``train`` extra (transformers reads the base's
configuration; no weights are loaded).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import asdict
from pathlib import Path

from splice.commands import arguments

MANIFEST = "splice-adapter.json"


def _base_model(args: argparse.Namespace) -> Path:
    """The base model the adapter is checked against: the option, the manifest's, or the bundled one."""
    if args.model:
        return Path(args.model).expanduser()
    manifest = Path(args.adapter) / MANIFEST
    if manifest.is_file():
        try:
            named = json.loads(manifest.read_text()).get("base_model")
        except ValueError:
            named = None
        if isinstance(named, str) and named:
            return Path(named)
    from splice.adapters.base_model import bundled_model  # noqa: PLC0415 - imports torch

    return bundled_model()


async def run(args: argparse.Namespace) -> int:
    """Check the adapter against its base and write the converted arrays."""
    if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("safetensors") is None:
        sys.stderr.write("splice: export-adapter needs the train extra (scripts/setup-neural installs it)\n")
        return 2
    if not Path(args.adapter).is_dir():
        sys.stderr.write(f"splice: {args.adapter} is not an adapter directory\n")
        return 2
    problem = arguments.directory_problem(Path(args.out))
    if problem is not None:
        sys.stderr.write(f"splice: OUT_DIR cannot hold the arrays: {problem}\n")
        return 2
    from transformers.utils import logging as hf_logging  # noqa: PLC0415 - the train extra's

    from splice.adapters.export import ExportError, base_shape, export_adapter  # noqa: PLC0415 - as above

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        model = _base_model(args)
        shape = base_shape(model)
        report = export_adapter(Path(args.adapter), Path(args.out), shape, dtype=args.dtype,
                                drop_token_rows=args.drop_token_rows)
    except (ExportError, FileNotFoundError) as exc:
        sys.stderr.write(f"splice: {exc}\n")
        return 2
    if report.dropped_token_rows:
        sys.stderr.write(f"splice: dropped {report.dropped_token_rows} trained embedding rows; the server's base "
                         "uses its own rows for those tokens\n")
    sys.stdout.write(json.dumps({"out": str(args.out), "base_model": str(model), "base": asdict(shape),
                                 **asdict(report)}) + "\n")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``export-adapter``."""
    parser = commands.add_parser("export-adapter",
                                 help="convert an adapter to TensorRT-LLM's lora_weights/lora_config (the train extra)")
    parser.add_argument("adapter", metavar="ADAPTER_DIR", help="a peft adapter (`splice train-adapter --out`)")
    parser.add_argument("out", metavar="OUT_DIR", help="where the .npy files go: <lora_dir>/<task_id>/")
    parser.add_argument("--model", default="", metavar="PATH",
                        help="base model (checkpoint directory or .gguf) to check the shapes against")
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16",
                        help="the engine's dtype (default float16, the lora_weights request tensor's)")
    parser.add_argument("--drop-token-rows", action="store_true",
                        help="export an adapter that also trained embedding rows, without those rows")
