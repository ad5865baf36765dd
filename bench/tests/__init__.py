"""Tests of the benchmark harness (server, measurement, report, our rows)."""
