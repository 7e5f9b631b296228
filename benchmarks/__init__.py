"""The benchmark suite: `python -m benchmarks [--quick] [--only P1,P2] [--json FILE]` prints the
table; the interface of a benchmark module is in `benchmarks/common.py`; the latest figures, the
machine they came from and how to reproduce them are in benchmarks/README.md."""
