"""wcbc benchmark: drives the in-process sandbox with realistic latency and BC's real limits.

Run ``python -m bench.run --help``; see bench/README.md for the figures and how to read them.
"""
