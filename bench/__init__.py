"""Benchmarks (not tests): run with `make bench`. Each module has main() that prints its figures."""
