"""``splice publish-adapter --adapter DIR --tenant NAME --artifacts ROOT``: check an adapter, then publish it.

Reads the training manifest ``splice train-adapter`` wrote (base model, family, the held-out files), runs
the adapter guardrail (:mod:`splice.evaluation.adapter_guardrail`: base against base + adapter on hidden
lines of the held-out files, through the in-process pipeline) and, only when the lift is measurable,
publishes the adapter as the tenant's next adapter version with the training and guardrail figures in its
manifest. A refusal says why, keeps the current version and exits 3; ``--rollback`` makes the previous
version current again. A neural engine with that tenant set (``splice complete``, ``splice serve``) loads
the current version. Needs the ``train`` extra.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from splice.commands import arguments

EXIT_REFUSED = 3
TRAINING_MANIFEST = "splice-adapter.json"  # what `splice train-adapter` writes beside the adapter


def _say(text: str) -> None:
    sys.stderr.write(f"splice: {text}\n")


def _training_manifest(adapter: Path) -> dict[str, Any] | str:
    """The training manifest in ``adapter``, or why it cannot be read."""
    try:
        manifest = json.loads((adapter / TRAINING_MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{adapter} has no {TRAINING_MANIFEST}: give a directory written by splice train-adapter"
    except (OSError, ValueError) as exc:
        return f"{adapter / TRAINING_MANIFEST} is unreadable: {exc}"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("held_out"), dict):
        return f"{adapter / TRAINING_MANIFEST} records no held-out files (written by an older splice train-adapter)"
    return manifest


def _guardrail_settings(args: argparse.Namespace, manifest: dict[str, Any]) -> Any:
    """Settings for both guardrail runs: the adapter's own base model and family, small budgets."""
    from splice import config  # noqa: PLC0415 - with the other imports of run()

    settings, _ = config.from_environment()
    return dataclasses.replace(settings, neural_model=str(manifest.get("base_model", "")),
                               model_family=str(manifest.get("family", settings.model_family)),
                               neural_threads=args.threads, max_new_tokens=args.max_new_tokens,
                               context_tokens=args.context_tokens)


def _report(metrics: dict[str, Any]) -> None:
    if "lift" not in metrics:
        return
    summary, lift = metrics["summary"], metrics["lift"]
    _say(f"guardrail: {metrics['tasks']} held-out lines; exact match {summary['base']['exact_match']:.3f} -> "
         f"{summary['adapter']['exact_match']:.3f} (lift {lift['exact_match']['delta']:+.3f}, 95% CI "
         f"{lift['exact_match']['ci95'][0]:+.3f}..{lift['exact_match']['ci95'][1]:+.3f}); edit similarity "
         f"{summary['base']['edit_similarity']:.3f} -> {summary['adapter']['edit_similarity']:.3f} (lift "
         f"{lift['edit_similarity']['delta']:+.3f}, 95% CI {lift['edit_similarity']['ci95'][0]:+.3f}.."
         f"{lift['edit_similarity']['ci95'][1]:+.3f}); quality score {metrics['quality_score']}/10")


async def _publish(args: argparse.Namespace) -> int:
    from splice.evaluation.adapter_guardrail import evaluate_adapter  # noqa: PLC0415 - loads the evaluation
    from splice.retrieval.artifact import publish_adapter  # noqa: PLC0415 - as above

    adapter = Path(args.adapter).expanduser().resolve()
    manifest = _training_manifest(adapter)
    if isinstance(manifest, str):
        _say(manifest)
        return 2
    metrics = await evaluate_adapter(adapter, manifest["held_out"].get("files", {}),
                                     _guardrail_settings(args, manifest), tasks=args.guardrail_tasks,
                                     seed=args.seed)
    _report(metrics)
    if metrics.get("refused"):
        _say(f"not published: {metrics['refused']}; the tenant's current adapter stays")
        if args.json:
            sys.stdout.write(json.dumps({"published": None, "guardrail": metrics}, indent=2) + "\n")
        return EXIT_REFUSED
    version = publish_adapter(Path(args.artifacts), args.tenant, adapter, {**manifest, "guardrail": metrics})
    _say(f"published tenant {args.tenant}'s adapter as {version}")
    if args.json:
        sys.stdout.write(json.dumps({"published": str(version), "guardrail": metrics}, indent=2) + "\n")
    return 0


async def run(args: argparse.Namespace) -> int:
    """Check and publish the adapter, or roll the tenant's adapter back."""
    from splice.errors import SpliceError  # noqa: PLC0415 - kept out of the parser's imports
    from splice.retrieval.artifact import check_tenant, rollback_adapter  # noqa: PLC0415 - as above

    problem = arguments.directory_problem(Path(args.artifacts))
    if problem is not None:
        _say(f"--artifacts cannot hold artifacts: {problem}")
        return 2
    try:
        check_tenant(args.tenant)
        if args.rollback:
            _say(f"tenant {args.tenant}'s current adapter is now {rollback_adapter(Path(args.artifacts), args.tenant)}")
            return 0
        if not args.adapter:
            _say("give --adapter DIR (or --rollback)")
            return 2
        if importlib.util.find_spec("torch") is None or importlib.util.find_spec("peft") is None:
            _say("publish-adapter needs the train extra (scripts/setup-neural installs it)")
            return 2
        return await _publish(args)
    except SpliceError as exc:
        _say(exc.message)
        return 1
    except (FileNotFoundError, ValueError, TimeoutError) as exc:
        _say(str(exc))
        return 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``publish-adapter``."""
    parser = commands.add_parser("publish-adapter",
                                 help="check a trained adapter against its base model and publish it for a tenant")
    parser.add_argument("--adapter", default="", metavar="DIR", help="a directory written by splice train-adapter")
    parser.add_argument("--tenant", required=True, metavar="NAME")
    parser.add_argument("--artifacts", required=True, metavar="ROOT", help="the tenants' artifacts root")
    parser.add_argument("--rollback", action="store_true", help="make the previous adapter version current")
    parser.add_argument("--guardrail-tasks", type=arguments.integer(2), default=30, metavar="N",
                        help="held-out lines the guardrail compares on (default 30)")
    parser.add_argument("--seed", type=arguments.integer(0), default=0)
    parser.add_argument("--threads", type=arguments.integer(1), default=1, help="CPU threads for torch (default 1)")
    parser.add_argument("--max-new-tokens", type=arguments.integer(1), default=16, metavar="N",
                        help="tokens generated per held-out line (default 16)")
    parser.add_argument("--context-tokens", type=arguments.integer(256), default=512, metavar="N",
                        help="prompt budget per held-out line (default 512)")
    parser.add_argument("--json", action="store_true", help="print the outcome and the figures as JSON")
