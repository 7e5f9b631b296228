"""Benchmarks: `python -m benchmarks.bench_executor`, … (figures in benchmarks/README.md)."""
