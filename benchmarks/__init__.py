"""Reproducible speed and scale measurements. `python -m benchmarks` runs them all and writes BENCHMARKS.md."""
