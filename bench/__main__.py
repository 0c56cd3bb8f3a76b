"""Runs every benchmark in turn: python -m bench [name ...]."""

import importlib
import sys

BENCHMARKS = ["bench.evaluation", "bench.aws_calls", "bench.aws_wall", "bench.aws_scaling", "bench.bench_sources",
              "bench.outputs", "bench.end_to_end"]


def main(argv: list[str]) -> None:
    unknown = [name for name in argv if f"bench.{name}" not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: "
                 f"{', '.join(b.split('.')[-1] for b in BENCHMARKS)}")
    chosen = [b for b in BENCHMARKS if not argv or b.split(".")[-1] in argv]
    for name in chosen:
        print(f"== {name}", flush=True)
        sys.argv = [f"python -m {name}"]  # each benchmark runs with its own defaults
        importlib.import_module(name).main()


main(sys.argv[1:])
