"""Encoders, aligners, fusers and loss-weighting strategies (contracts in :mod:`mmbench.components.base`)."""
