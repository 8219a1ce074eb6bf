"""``splice complete FILE:LINE:COL``: the suggestion an editor would show there, through the same pipeline.

``--explain`` adds the engine that answered, the prompt's size in tokens, the context sources and each
stage's time. This command writes to stdout on purpose: only ``serve`` speaks the protocol there.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splice import config
from splice.commands import arguments

if TYPE_CHECKING:
    from splice.engines.embedded import ProjectCache
    from splice.pipeline import CompletionResult


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


def _open_indexes(settings: config.Settings, workspace: Path) -> tuple[Any, Any]:
    """The workspace's persistent retrieval index (the one ``splice index`` and ``splice serve`` keep) and
    the tenant's artifact when one is configured.

    An index that exists is used as it is: reading every file to look for changes is what makes a large
    workspace slow, and ``splice serve`` and ``splice index`` keep it fresh. A missing one is built first,
    saying so on stderr."""
    if settings.retrieval_deadline_ms <= 0 or settings.max_snippets <= 0:
        return None, None
    from splice.errors import SpliceError  # noqa: PLC0415 - loaded only when retrieval runs
    from splice.retrieval.live import Retrieval  # noqa: PLC0415 - as above

    repository = artifact = None
    try:
        repository = Retrieval.for_workspace(workspace)
        if not repository.index.digests():
            sys.stderr.write(f"splice: indexing {workspace} for retrieval (once; `splice index` refreshes it)\n")
            report = repository.rebuild()
            sys.stderr.write(f"splice: indexed {report.indexed} file(s) in {report.seconds:.1f} s\n")
        if settings.tenant and settings.artifacts_dir:
            artifact = Retrieval.for_tenant(config.artifacts_root(settings), settings.tenant)
    except SpliceError as exc:
        sys.stderr.write(f"splice: repository retrieval is off: {exc.message}\n")
    return repository, artifact


def _project_cache(workspace: Path) -> ProjectCache:
    """The engine's stored index of ``workspace``: read back when it is fresh, and when it must be built,
    a progress bar and a line saying so on stderr (stdout carries only the suggestion)."""
    from splice.commands.progress_bar import ProgressBar  # noqa: PLC0415 - as below
    from splice.engines.embedded import ProjectCache  # noqa: PLC0415 - as below

    def notice(message: str) -> None:
        sys.stderr.write(f"splice: {message}\n")

    return ProjectCache.for_workspace(workspace, progress=ProgressBar(), notice=notice)


def _read(path: Path, line: int, col: int) -> tuple[str, int] | str:
    """The file's text and the cursor's offset in it, or why not."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return (f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                "Splice reads source files as UTF-8")
    lines = text.split("\n")
    if line >= len(lines):
        return f"{path} has {len(lines)} lines; line {line + 1} is past the end"
    if col > len(lines[line].rstrip("\r")):
        length = len(lines[line].rstrip("\r"))
        return f"line {line + 1} has {length} characters; column {col + 1} is past its end (+1)"
    return text, sum(len(x) + 1 for x in lines[:line]) + col


async def _suggest(args: argparse.Namespace, path: Path, text: str, offset: int,
                   workspace: Path) -> CompletionResult | str:
    """The pipeline's result at ``offset``, or the engine's failure as a message."""
    from splice.documents import lf_line_ends  # noqa: PLC0415 - as below
    from splice.engines.factory import create_engine  # noqa: PLC0415 - as above
    from splice.errors import EngineError  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.languages import language_for_path  # noqa: PLC0415 - as above
    from splice.local import open_local  # noqa: PLC0415 - as above
    from splice.open_documents import OpenDocument  # noqa: PLC0415 - as above
    from splice.pipeline import CompletionInput  # noqa: PLC0415 - as above

    settings, _ = config.from_environment()  # the problems were printed as the command started
    engine = create_engine(settings, workspace, cache=_project_cache(workspace))
    await engine.start()  # the engine indexes on its thread while the retrieval index opens on another
    repository, artifact = await asyncio.to_thread(_open_indexes, settings, workspace)
    try:
        local = await open_local(settings, workspace, index_timeout=args.index_timeout, repository=repository,
                                 artifact=artifact, engine=engine)
    except TimeoutError as exc:
        return str(exc)
    resolved = str(path.resolve())
    try:
        rel = str(path.resolve().relative_to(workspace))
    except ValueError:
        rel = str(path)
    local.documents.update(OpenDocument(key=resolved, path=resolved, shown=rel, version=1,
                                        text=lf_line_ends(text)))
    request = CompletionInput(
        path=rel, language=language_for_path(str(path)), prefix=text[:offset], suffix=text[offset:],
        eol="\r\n" if "\r\n" in text else "\n", invoked=True, repo=workspace.name, document_path=resolved,
        key=resolved,
    )
    try:
        return await local.pipeline.complete(request)
    except EngineError as exc:
        return f"the engine failed: {exc.message}"
    finally:
        await local.aclose()


async def run(args: argparse.Namespace) -> int:
    """Complete at the given location and print the result."""
    # One suggestion, then the process ends: the cyclic collector's passes over the many objects that loading
    # creates cost about a tenth of a warm run, for a few reference cycles the exit frees anyway.
    gc.disable()
    try:
        return await _complete(args)
    finally:
        gc.enable()


async def _complete(args: argparse.Namespace) -> int:
    from splice.workspace import project_root  # noqa: PLC0415 - `splice serve` starts faster without it

    path, line, col = args.location
    read = _read(path, line, col)
    if isinstance(read, str):
        sys.stderr.write(f"splice: {read}\n")
        return 2
    text, offset = read
    workspace = args.workspace.resolve() if args.workspace is not None else project_root(path)
    result = await _suggest(args, path, text, offset, workspace)
    if isinstance(result, str):
        sys.stderr.write(f"splice: {result}\n")
        return 1
    _print(args, result, workspace, text.split("\n")[line].rstrip("\r"), col)
    return 0


def _print(args: argparse.Namespace, result: CompletionResult, workspace: Path, current: str, col: int) -> None:
    best = result.proposals[0].text if result.proposals else ""
    if args.json:
        _write(json.dumps({
            "suggestion": best, "replaceSuffix": result.proposals[0].replace_suffix if result.proposals else 0,
            "alternatives": [p.text for p in result.proposals[1:]], "engine": result.engine,
            "fallback": result.fallback or None, "workspace": str(workspace),
            "promptTokens": result.prompt_tokens, "sources": list(result.sources),
            "multiline": result.multiline, "timingsMs": result.timings_ms, "dropped": result.dropped,
            "confidence": round(result.proposals[0].confidence, 4) if result.proposals else None,
        }, indent=2))
        return
    if args.explain:
        _write(f"engine:        {result.engine}" + (f" (fallback: {result.fallback})" if result.fallback else ""))
        _write(f"workspace:     {workspace}")
        _write(f"prompt tokens: {result.prompt_tokens}")
        _write(f"sources:       {', '.join(result.sources)}")
        _write(f"mode:          {'multi-line' if result.multiline else 'single-line'}")
        _write("timings (ms):  " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings_ms.items()))
        if result.dropped:
            _write(f"dropped:       {len(result.dropped)} candidate(s): " + "; ".join(result.dropped[:4]))
        if result.proposals:
            floor = config.from_environment()[0].min_confidence
            verdict = "shown" if result.proposals[0].confidence >= floor else "not shown"
            _write(f"confidence:    {result.proposals[0].confidence:.2f} (while typing: {verdict}, "
                   f"minConfidence {floor:g})")
        _write("suggestion:")
    if not best:
        sys.stderr.write("splice: no suggestion at this position\n")
        return
    if args.explain:
        _write(f"  {current[:col]}\x1b[2m{best}\x1b[0m{current[col:]}" if sys.stdout.isatty()
               else f"  {current[:col]}⟨{best}⟩{current[col:]}")
    else:
        _write(best)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``complete``."""
    complete = commands.add_parser("complete", help="print the suggestion an editor would show at FILE:LINE:COL")
    complete.add_argument("location", type=_location, metavar="FILE:LINE:COL", help="1-based line and column")
    complete.add_argument("--explain", action="store_true", help="show engine, prompt size, sources and timings")
    complete.add_argument("--json", action="store_true", help="print the result as JSON")
    complete.add_argument("--index-timeout", type=arguments.seconds, default=60.0, metavar="SECONDS",
                          help="how long to wait for the workspace index (default 60)")
    complete.add_argument("--workspace", type=Path, metavar="DIR",
                          help="the workspace root (default: the nearest folder with .git, pyproject.toml, "
                               "package.json, go.mod, Cargo.toml, pom.xml, ...)")
