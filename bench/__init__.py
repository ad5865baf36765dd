"""Benchmark harness for inference-core (``python -m bench``); see docs/benchmarks.md."""
