"""Benchmark harness of the sandbox: `make bench` (or `python bench/run.py --quick`)."""
