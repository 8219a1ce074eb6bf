"""LoRA adapters: FIM training examples from a tenant's code, the base model they adapt, and training."""
