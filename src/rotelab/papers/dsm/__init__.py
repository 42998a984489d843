"""P2: large learning rates in denoising score matching."""
