"""``splice complete FILE:LINE:COL``: the suggestion an editor would show there, through the same pipeline.

``--explain`` adds the engine that answered, the prompt's size in tokens, the context sources and each
stage's time. This command writes to stdout on purpose: only ``serve`` speaks the protocol there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splice import config
from splice.commands import arguments

if TYPE_CHECKING:
    from splice.pipeline import CompletionPipeline


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _location(spec: str) -> tuple[Path, int, int]:
    """``FILE:LINE:COL`` (1-based, as compilers print them) as a path and 0-based line and column."""
    parts = spec.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise argparse.ArgumentTypeError(f"expected FILE:LINE:COL with 1-based numbers, got {spec!r}")
    line, col = int(parts[1]), int(parts[2])
    if line < 1 or col < 1:
        raise argparse.ArgumentTypeError("LINE and COL start at 1")
    return Path(parts[0]), line - 1, col - 1


def workspace_of(path: Path) -> Path:
    """The enclosing git repository of ``path``, or its folder."""
    folder = path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def repository_snippets(
    settings: config.Settings, workspace: Path, rel: str, text: str, offset: int
) -> tuple[Any, ...]:
    """What the server's repository retrieval would add at this cursor: the tenant's artifact when one is
    configured, else the workspace index, brought up to date first (unchanged files are skipped)."""
    if settings.retrieval_deadline_ms <= 0 or settings.max_snippets <= 0:
        return ()
    from splice.errors import SpliceError  # noqa: PLC0415 - loaded only when retrieval runs
    from splice.retrieval.live import Retrieval  # noqa: PLC0415 - as above
    from splice.retrieval.retriever import query_at  # noqa: PLC0415 - as above

    try:
        if settings.tenant and settings.artifacts_dir:
            retrieval = Retrieval.for_tenant(config.artifacts_root(settings), settings.tenant)
        else:
            retrieval = Retrieval.for_workspace(workspace)
            retrieval.rebuild()
        normalised = text.replace("\r\n", "\n")
        at = len(text[:offset].replace("\r\n", "\n"))
        try:
            # The server's deadline covers a warm index; here the index was just opened, so allow more.
            return tuple(retrieval.snippets(query_at(rel, normalised, at, settings), 1.0))
        finally:
            retrieval.close()
    except SpliceError as exc:
        sys.stderr.write(f"splice: repository retrieval is off: {exc.message}\n")
        return ()


async def local_pipeline(workspace: Path | None, index_timeout: float) -> CompletionPipeline:
    """The pipeline ``splice serve`` would run, in this process: settings from the environment, the engine
    they choose, and its index of ``workspace`` ready (or ``index_timeout`` passed)."""
    from splice.context.builder import PromptBuilder  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.context.tokens import TokenCounter  # noqa: PLC0415 - as above
    from splice.engines.factory import create_engine, embedded_of  # noqa: PLC0415 - as above
    from splice.pipeline import CompletionPipeline  # noqa: PLC0415 - as above

    settings, _ = config.from_environment()  # the problems were printed as the command started
    engine = create_engine(settings, workspace)
    embedded = embedded_of(engine)
    if embedded is not None:
        await embedded.start()
        embedded.wait_until_ready(index_timeout)
    return CompletionPipeline(settings, PromptBuilder(settings, TokenCounter.load()), engine)


async def run(args: argparse.Namespace) -> int:
    """Complete at the given location and print the result."""
    from splice.engines.factory import embedded_of  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.errors import EngineError  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.languages import language_for_path  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.pipeline import CompletionInput  # noqa: PLC0415 - `splice serve` starts faster without them

    path, line, col = args.location
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        sys.stderr.write(f"splice: cannot read {path}: {exc.strerror or exc}\n")
        return 2
    except UnicodeDecodeError as exc:
        sys.stderr.write(f"splice: {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                         f"{exc.start}); Splice reads source files as UTF-8\n")
        return 2
    lines = text.split("\n")
    if line >= len(lines):
        sys.stderr.write(f"splice: {path} has {len(lines)} lines; line {line + 1} is past the end\n")
        return 2
    if col > len(lines[line].rstrip("\r")):
        sys.stderr.write(f"splice: line {line + 1} has {len(lines[line].rstrip(chr(13)))} characters; "
                         f"column {col + 1} is past its end (+1)\n")
        return 2
    offset = sum(len(x) + 1 for x in lines[:line]) + col

    workspace = workspace_of(path)
    pipeline = await local_pipeline(workspace, args.index_timeout)
    settings, engine = pipeline.settings, pipeline.engine
    embedded = embedded_of(engine)
    if embedded is not None:
        embedded.document_changed(str(path.resolve()), text.replace("\r\n", "\n"))
    try:
        rel = path.resolve().relative_to(workspace)
    except ValueError:
        rel = path
    snippets = await asyncio.to_thread(repository_snippets, settings, workspace, str(rel), text, offset)
    request = CompletionInput(
        path=str(rel), language=language_for_path(str(path)), prefix=text[:offset], suffix=text[offset:],
        eol="\r\n" if "\r\n" in text else "\n", invoked=True, repo=workspace.name,
        document_path=str(path.resolve()), extra_snippets=snippets,
    )
    try:
        result = await pipeline.complete(request)
    except EngineError as exc:
        sys.stderr.write(f"splice: the engine failed: {exc.message}\n")
        return 1
    finally:
        await engine.aclose()
    best = result.proposals[0].text if result.proposals else ""
    if args.json:
        _write(json.dumps({
            "suggestion": best, "replaceSuffix": result.proposals[0].replace_suffix if result.proposals else 0,
            "alternatives": [p.text for p in result.proposals[1:]], "engine": result.engine,
            "fallback": result.fallback or None,
            "promptTokens": result.prompt_tokens, "sources": list(result.sources),
            "multiline": result.multiline, "timingsMs": result.timings_ms, "dropped": result.dropped,
        }, indent=2))
        return 0
    if args.explain:
        _write(f"engine:        {result.engine}" + (f" (fallback: {result.fallback})" if result.fallback else ""))
        _write(f"workspace:     {workspace}")
        _write(f"prompt tokens: {result.prompt_tokens}")
        _write(f"sources:       {', '.join(result.sources)}")
        _write(f"mode:          {'multi-line' if result.multiline else 'single-line'}")
        _write("timings (ms):  " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings_ms.items()))
        if result.dropped:
            _write(f"dropped:       {len(result.dropped)} candidate(s): " + "; ".join(result.dropped[:4]))
        _write("suggestion:")
    if not best:
        sys.stderr.write("splice: no suggestion at this position\n")
        return 0
    current = lines[line].rstrip("\r")
    if args.explain:
        _write(f"  {current[:col]}\x1b[2m{best}\x1b[0m{current[col:]}" if sys.stdout.isatty()
               else f"  {current[:col]}⟨{best}⟩{current[col:]}")
    else:
        _write(best)
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``complete``."""
    complete = commands.add_parser("complete", help="print the suggestion an editor would show at FILE:LINE:COL")
    complete.add_argument("location", type=_location, metavar="FILE:LINE:COL", help="1-based line and column")
    complete.add_argument("--explain", action="store_true", help="show engine, prompt size, sources and timings")
    complete.add_argument("--json", action="store_true", help="print the result as JSON")
    complete.add_argument("--index-timeout", type=arguments.seconds, default=60.0, metavar="SECONDS",
                          help="how long to wait for the workspace index (default 60)")
