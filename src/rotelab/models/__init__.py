"""Model families: seq2seq (Marian-style) and its decoding, the causal LM, the classifier, and
batched ensembles of any of them."""
