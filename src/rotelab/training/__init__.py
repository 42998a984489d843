"""Training loops: seq2seq, the causal-LM fine-tuning regimes (full, LoRA, federated,
DP-SGD, goldfish) and the fused output-layer loss."""
