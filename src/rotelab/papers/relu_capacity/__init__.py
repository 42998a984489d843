"""P6: memorization capacity of small ReLU networks."""
