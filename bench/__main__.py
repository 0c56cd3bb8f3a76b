"""Runs every benchmark in turn: python -m bench [name ...]."""

import importlib
import sys

BENCHMARKS = ["bench.evaluation", "bench.aws_calls", "bench.aws_wall"]


def main(argv: list[str]) -> None:
    chosen = [b for b in BENCHMARKS if not argv or b.split(".")[-1] in argv]
    for name in chosen:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main()


main(sys.argv[1:])
