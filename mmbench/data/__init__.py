"""Datasets: specs, loading through Hugging Face datasets, validation and built-in benchmarks."""
