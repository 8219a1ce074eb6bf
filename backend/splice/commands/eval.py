"""``splice eval``: the hidden-line benchmark over real repositories, with ablations and a latency report.

Writes the report as JSON (``--json``) and optionally as a self-contained HTML page (``--html``), and prints
a summary table. Problems a person can fix (an empty repository, no supported language, fewer candidates
than ``--tasks``, an output path that cannot be written) get a one-line message, never a traceback; an
interrupted run (Ctrl-C) and a run whose output path fails at the end still keep what was computed: the
report goes to the path asked for, or else to a temporary file whose name is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from splice.commands import arguments, interruption
from splice.commands.interruption import EXIT_INTERRUPTED
from splice.commands.progress_bar import CountBar

EXIT_USAGE = 2
# The evaluation's own names, spelled here so that building the parser (which `splice serve` does too)
# imports nothing; a unit test checks they match splice.evaluation.
ABLATION_NAMES = ("prefix_only", "infile", "open_files", "project_index", "retrieval", "customized")
KINDS = ("line", "block", "span")
DEFAULT_OPEN_FILES = 4
EXIT_LEAKAGE = 3
TYPING_ABLATIONS = "retrieval"  # the typing replay's default row (splice.evaluation.typing_harness)


def _say(text: str) -> None:
    sys.stderr.write(f"splice eval: {text}\n")


def _save(data: dict[str, Any], json_path: Path, html_path: Path | None,
          render: Callable[[dict[str, Any]], str] | None = None) -> bool:
    """Write the report (the page by ``render``, the hidden-line page by default); on failure write it to a
    temporary file instead. Whether the asked paths worked."""
    from splice.evaluation.report import write_json  # noqa: PLC0415 - see run

    ok = True
    try:
        write_json(data, json_path)
    except OSError as exc:
        ok = False
        fallback = Path(tempfile.mkstemp(prefix="splice-eval-", suffix=".json")[1])
        write_json(data, fallback)
        _say(f"cannot write {json_path} ({exc.strerror or exc}); the report is in {fallback}")
    if html_path is not None:
        if render is None:
            from splice.evaluation.html_report import render_html  # noqa: PLC0415 - matplotlib loads only for --html

            render = render_html
        page = render(data)
        try:
            html_path.write_text(page, encoding="utf-8")
        except OSError as exc:
            ok = False
            handle, name = tempfile.mkstemp(prefix="splice-eval-", suffix=".html")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(page)
            _say(f"cannot write {html_path} ({exc.strerror or exc}); the page is in {name}")
    return ok


def _table(data: dict[str, Any]) -> str:
    lines = [f"{'ablation':<13} {'n':>5} {'exact':>7} {'edit':>7} {'bleu':>7} {'id-F1':>7} "
             f"{'p50 ms':>8} {'p95 ms':>8}  exact-match lift over prefix_only [95% CI]"]
    for name, row in data["ablations"].items():
        if not row.get("available"):
            lines.append(f"{name:<13} unavailable: {row.get('reason')}")
            continue
        latency = row["latency_ms"]

        def cell(value: Any, width: int = 7, digits: int = 3) -> str:
            return f"{value:>{width}.{digits}f}" if isinstance(value, float) else f"{'-':>{width}}"

        lift = data["lifts"].get(name, {}).get("over_prefix_only", {}).get("exact_match")
        lift_text = ""
        if lift and lift.get("delta") is not None:
            ratio = f"  x{lift['ratio']:.2f}" if lift.get("ratio") else ""
            lift_text = f"  {lift['delta']:+.3f} [{lift['ci95'][0]:+.3f}, {lift['ci95'][1]:+.3f}]{ratio}"
        lines.append(
            f"{name:<13} {row['n']:>5} {cell(row['exact_match'])} {cell(row['edit_similarity'])} "
            f"{cell(row['bleu'])} {cell(row['identifier_f1'])} {cell(latency['p50'], 8, 1)} "
            f"{cell(latency['p95'], 8, 1)}{lift_text}"
        )
        if row.get("fallback_answers"):
            lines.append(f"{'':<13} {row['fallback_answers']} of {row['n']} answered by the fallback engine, "
                         f"not {data['settings'].get('engine', 'the configured one')}")
    return "\n".join(lines)


async def stopped_early(work: Awaitable[object]) -> int:
    """Await an evaluation: 0 when it finished, else the exit code of why it stopped, said on stderr."""
    from splice.errors import SpliceError  # noqa: PLC0415 - see run
    from splice.evaluation.isolation import LeakageError  # noqa: PLC0415

    try:
        await work
    except asyncio.CancelledError:
        _say("interrupted; writing what was computed")
        return EXIT_INTERRUPTED
    except LeakageError as exc:
        _say(f"stopped: {exc}")
        return EXIT_LEAKAGE
    except SpliceError as exc:
        _say(f"stopped: {exc.message}")
        return 1
    except (OSError, TimeoutError, ValueError, RuntimeError) as exc:  # RuntimeError: a server that failed
        _say(f"stopped: {exc}")
        return 1
    return 0


async def run(args: argparse.Namespace) -> int:
    """Sample, evaluate every ablation, write the reports and print the summary."""
    # Imported here so that `splice serve` and `splice --help` never load the evaluation code.
    from splice import config  # noqa: PLC0415
    from splice.evaluation.harness import EvalOptions, Evaluation  # noqa: PLC0415

    ablations = _checked_ablations(args)
    if isinstance(ablations, str):
        _say(ablations)
        return EXIT_USAGE
    if (problem := _engine_environment(args)) is not None:
        _say(problem)
        return EXIT_USAGE
    settings, _ = config.from_environment()  # the problems were printed as the command started
    if args.kind == "typing":
        from splice.commands import eval_typing  # noqa: PLC0415 - see above

        return await eval_typing.run(args, ablations)
    siblings = _siblings(args.repo, args.sibling)
    if isinstance(siblings, str):
        _say(siblings)
        return EXIT_USAGE
    options = EvalOptions(
        tasks=args.tasks, seed=args.seed, kind=args.kind, ablations=ablations, via=args.via,
        open_files=args.open_files, index_timeout=args.index_timeout, resamples=args.bootstrap,
        tenant=args.tenant, workdir=args.workdir, siblings=siblings,
    )
    progress = CountBar(unit="req", desc="eval")

    evaluation = Evaluation(args.repo, options, settings=settings, on_progress=progress)
    sample = evaluation.prepare()
    for problem in evaluation.problems:
        _say(problem)
    if not sample.tasks:
        _say("no tasks to evaluate: nothing in the given repositories can be hidden")
        _save(evaluation.report().as_json(), args.json, args.html)
        return EXIT_USAGE
    languages = sorted({t.language for t in sample.tasks})
    _say(f"{len(sample.tasks)} {args.kind} tasks in {', '.join(languages)}; via {args.via}")
    for name, reason in evaluation.unavailable.items():
        _say(f"{name}: unavailable ({reason})")
    try:
        code = await stopped_early(evaluation.run())
    finally:
        progress.close()
    partial = code != 0
    with interruption.saving():  # an interrupted run still writes what it computed
        data = evaluation.report(partial=partial).as_json()
        saved = _save(data, args.json, args.html)
    if not saved:
        code = code or 1
    sys.stdout.write(_table(data) + "\n")
    latency = data["latency_ms"]
    if latency.get("p50") is not None:
        sys.stdout.write(f"latency ({data['latency_ablation']}, full pipeline): p50 {latency['p50']:.1f} ms, "
                         f"p95 {latency['p95']:.1f} ms, p99 {latency['p99']:.1f} ms\n")
    return code


def _checked_ablations(args: argparse.Namespace) -> tuple[str, ...] | str:
    """The ablations to run, or what is wrong with the command's arguments."""
    for path in (args.json, args.html):
        if path is not None and (reason := arguments.file_problem(path)) is not None:
            return f"cannot write the report: {reason}"
    missing = [str(r) for r in args.repo if not r.is_dir()]
    if missing:
        return f"not a directory: {', '.join(missing)}"
    if args.tasks < 1:
        return "--tasks must be at least 1"
    chosen = args.ablations or (TYPING_ABLATIONS if args.kind == "typing" else ",".join(ABLATION_NAMES))
    ablations = tuple(name.strip() for name in chosen.split(",") if name.strip())
    unknown = [name for name in ablations if name not in ABLATION_NAMES]
    if unknown or not ablations:
        return f"unknown ablation {', '.join(unknown) or '(none given)'}; choose from {', '.join(ABLATION_NAMES)}"
    return ablations


def _engine_environment(args: argparse.Namespace) -> str | None:
    """Apply ``--engine`` and ``--adapter`` as the ``SPLICE_*`` variables every runner reads (the servers
    of a stdio or typing run inherit them), or say what is wrong with them."""
    if args.adapter is not None:
        if args.engine not in (None, "neural"):
            return f"--adapter applies to the neural engine, not --engine {args.engine}"
        if not (args.adapter / "adapter_config.json").is_file():
            return f"--adapter {args.adapter}: not an adapter directory (no adapter_config.json)"
        os.environ["SPLICE_ENGINE"] = "neural"
        os.environ["SPLICE_NEURAL_ADAPTER"] = str(args.adapter.resolve())
    if args.engine is not None:
        os.environ["SPLICE_ENGINE"] = args.engine
    return None


def _siblings(repos: list[Path], pairs: list[str]) -> dict[Path, tuple[Path, ...]] | str:
    """``REPO=PATH`` declarations as evaluated repository -> siblings, or what is wrong with one. ``REPO``
    is one of the ``--repo`` paths or its folder's name."""
    by_name = {repo.resolve().name: repo.resolve() for repo in repos}
    by_path = {repo.resolve(): repo.resolve() for repo in repos}
    found: dict[Path, list[Path]] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        repo = by_path.get(Path(name).resolve()) or by_name.get(name)
        if not sep or not path or repo is None:
            return f"--sibling {pair!r}: expected REPO=PATH with REPO one of the --repo paths or names"
        sibling = Path(path)
        if not sibling.is_dir():
            return f"--sibling {pair!r}: not a directory: {path}"
        found.setdefault(repo, []).append(sibling.resolve())
    return {repo: tuple(paths) for repo, paths in found.items()}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``eval``."""
    parser = commands.add_parser("eval", help="measure hidden-line reproduction on real repositories")
    parser.add_argument("--repo", type=Path, action="append", required=True, metavar="PATH",
                        help="a repository to sample tasks from (repeat for several)")
    parser.add_argument("--tasks", type=arguments.integer(1), default=200, metavar="N",
                        help="how many tasks (default 200)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="sampling seed (default 0)")
    parser.add_argument("--json", type=Path, required=True, metavar="OUT", help="where to write the JSON report")
    parser.add_argument("--html", type=Path, metavar="OUT", help="also write a self-contained HTML report")
    parser.add_argument("--via", choices=("inprocess", "stdio"), default="inprocess",
                        help="run tasks in this process, or through a real `splice serve` (default inprocess)")
    parser.add_argument("--kind", choices=(*KINDS, "typing"), default="line",
                        help="hide single lines, block bodies, or spans starting mid-line; or replay typing "
                             "regions keystroke by keystroke through `splice serve` (default line)")
    parser.add_argument("--ablations", metavar="A,B",
                        help=f"which rows to run (default all: {','.join(ABLATION_NAMES)}; "
                             f"for --kind typing: {TYPING_ABLATIONS})")
    parser.add_argument("--engine", choices=("embedded", "triton", "neural"),
                        help="the engine to measure (default: SPLICE_ENGINE, else the embedded engine or Triton "
                             "when SPLICE_TRITON_URL is set); a run waits for it to be ready and reports any "
                             "answer its fallback gave instead")
    parser.add_argument("--adapter", type=Path, metavar="DIR",
                        help="a LoRA adapter (`splice train-adapter --out`) applied to the neural engine's model")
    parser.add_argument("--open-files", type=arguments.integer(0), default=DEFAULT_OPEN_FILES, metavar="K",
                        help=f"files the simulated editor has open beside the target (default {DEFAULT_OPEN_FILES})")
    parser.add_argument("--tenant", default="eval", type=arguments.tenant,
                        help="tenant name for the customized row's artifact")
    parser.add_argument("--sibling", action="append", default=[], metavar="REPO=PATH",
                        help="another repository of REPO's organization; the customized row's artifact is built "
                             "from these (repeatable)")
    parser.add_argument("--bootstrap", type=arguments.integer(1), default=2000, metavar="B",
                        help="bootstrap resamples (default 2000)")
    parser.add_argument("--index-timeout", type=arguments.seconds, default=600.0, metavar="SECONDS",
                        help="how long to wait for a repository index (default 600)")
    parser.add_argument("--workdir", type=Path, metavar="DIR",
                        help="keep the masked repository copies here (default: a temporary directory, removed)")
