"""P7: analytic class-incremental learning."""
