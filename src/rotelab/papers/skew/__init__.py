"""P4: skewed memorization in LLM fine-tuning."""
