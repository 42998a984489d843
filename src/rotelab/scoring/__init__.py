"""Per-example scores: token log-probabilities, translation metrics, canary exposure,
causal-LM extraction and membership scores."""
