"""Inputs: translation corpora and their splits, the tokenizer, canaries, causal-LM text and QA
sources, classification datasets."""
