"""The organization's other code, for the customized row: the tenant artifact built from sibling repositories.

Customization exists for code a developer uses from another repository: the organization's internal
libraries and APIs. The customized row measures exactly that: an evaluated repository declares the
sibling repositories of the same organization (``splice eval --sibling REPO=SIBLING``), the tenant
artifact is built from those, never from the evaluated repository, and the row runs on the repositories
that declare siblings (its ``n`` says how many tasks that is; with none it is reported unavailable, with
the reason). Its lift is paired with the rows above on exactly those tasks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping, Sequence
from pathlib import Path

from splice.evaluation.ablations import Ablation
from splice.retrieval.selection import Knobs


def unavailable_reason(ablation: Ablation, repos: Sequence[Path],
                       siblings: Mapping[Path, Sequence[Path]]) -> str | None:
    """Why ``ablation`` cannot run on ``repos``, or None when it can."""
    if not ablation.customized:
        return None
    if not any(siblings.get(repo.resolve()) for repo in repos):
        return ("no sibling repositories declared (the artifact is built from the organization's other code: "
                "--sibling REPO=PATH)")
    for repo in repos:
        if repo.resolve() in {sibling.resolve() for sibling in siblings.get(repo.resolve(), ())}:
            return f"{repo.name} is declared its own sibling: its hidden lines would be in the artifact"
    return None


def build_artifact(roots: Sequence[Path], *, tenant: str, artifacts_root: Path, knobs: Knobs) -> None:
    """Build and publish ``tenant``'s artifact from ``roots`` (no guardrail) under ``artifacts_root``.

    It embeds its chunks whenever the workspace index does (the static model is installed), so the
    customized row differs from the retrieval row by the artifact's code alone, not by a weaker index."""
    from splice.retrieval.customization import customize  # noqa: PLC0415 - loads the indexer
    from splice.retrieval.indexing import Source  # noqa: PLC0415 - as above
    from splice.retrieval.live import optional_encoder  # noqa: PLC0415 - as above

    semantic = optional_encoder(None) is not None
    job = customize(artifacts_root, tenant, [Source(root.name, root) for root in roots], knobs=knobs,
                    semantic=semantic)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(job)
        return
    # Called from inside an event loop: build on a thread with its own loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, job).result()
