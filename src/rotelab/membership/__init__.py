"""Membership inference: the IN/OUT matrix, the attacks and their registry, LiRA,
scores over reference ensembles, the causal-LM references, and the engine's ROC figure."""
