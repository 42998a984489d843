"""P1: LoRA and memorization in (federated) fine-tuning of causal LMs."""
