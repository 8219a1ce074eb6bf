"""LoRA target modules by the names TensorRT-LLM's ``--lora_target_modules`` uses, and the module names of
Llama-style Hugging Face checkpoints they stand for. Kept free of torch so the command line can check a
``--targets`` value before anything heavy loads."""

from __future__ import annotations

TARGET_MODULES = {
    "attn_q": "q_proj", "attn_k": "k_proj", "attn_v": "v_proj", "attn_dense": "o_proj",
    "mlp_h_to_4h": "gate_proj", "mlp_gate": "up_proj", "mlp_4h_to_h": "down_proj",
}


def target_modules(text: str) -> tuple[str, ...]:
    """``"attn_q,attn_v"`` as a tuple; ValueError naming the valid names for anything else."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in TARGET_MODULES]
    if unknown or not names:
        raise ValueError(f"unknown target module(s) {', '.join(unknown) or '(none given)'}; "
                         f"use {', '.join(TARGET_MODULES)}")
    return names
