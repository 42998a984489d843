"""P3: memorization inheritance in sequence-level knowledge distillation."""
