"""Claims, verdicts and the docs generated from them."""
