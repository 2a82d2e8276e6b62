"""Benchmarks: separate commands, not part of the test suite."""
