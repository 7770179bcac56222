"""Benchmark scenarios: each module has ``run(options) -> dict`` returning one scenario's report."""
