"""The workflow's side of the library: config loading and checks, the config reference
docs, job size estimates for the scheduler, and the library path jobs import from."""
