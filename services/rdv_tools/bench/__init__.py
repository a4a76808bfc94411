"""Benchmarks: figures measured on this machine, reported as ratios to the floor of the same run."""
