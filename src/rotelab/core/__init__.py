"""Plumbing every stage shares: atomic file IO, job logs, statistics with intervals, device and
thread selection, and the name registries that config keys resolve through."""
