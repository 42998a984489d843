"""P5: the privacy onion effect."""
