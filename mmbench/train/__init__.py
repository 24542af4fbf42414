"""Model assembly, the training loop and metrics for one cell."""
