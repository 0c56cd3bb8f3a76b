"""The product path, end to end: the installed ``certscan`` command in a subprocess on saved
inventories, as a user runs it. Wall time, CPU and peak RSS of the command per size, and
per phase from its opt-in timing log (CERTSCAN_TIMINGS).

    python -m bench.end_to_end [--sizes 1000,10000,100000] [--runs 3] [--formats json|all|both]
                               [--work-dir DIR] [--keep]

Targets (issue 14): 100,000 certificates, ``scan --inventory --format json``: under 10 s wall
and 1.5 GB peak RSS; every format: under 20 s and 2 GB; 1,000,000 runs to completion with
peak RSS growing linearly. Each size is measured in several runs (min / median / max), each
with the reference loop of bench.evaluation timed just before it: the machine is a shared VM
whose speed drifts.

The inventories are bench.outputs.synthetic_inventory estates saved with save_inventory and
kept in the work directory (default /tmp/certscan-bench) between invocations.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALL_FORMATS = "json,sarif,junit,markdown,csv,html,evidence"
TARGETS = {  # (certificates, formats) -> (wall s, peak MB)
    (100_000, "json"): (10.0, 1536),
    (100_000, ALL_FORMATS): (20.0, 2048),
}


COMMAND: list[str] = []  # --certscan, e.g. another installation to compare with


def certscan_command() -> str:
    """The installed console script next to this interpreter (a user's command, not a module)."""
    if COMMAND:
        return COMMAND[0]
    found = Path(sys.executable).with_name("certscan")
    if not found.exists():
        sys.exit(f"certscan is not installed next to {sys.executable}: pip install -e . first")
    return str(found)


def inventory_file(work: Path, count: int) -> Path:
    path = work / f"inventory-{count}.json"
    if not path.exists():
        from bench.outputs import synthetic_inventory
        from scanner.inputs.inventory_file import save_inventory
        print(f"  saving a {count:,}-certificate inventory to {path} ...", flush=True)
        save_inventory(synthetic_inventory(count), path)
    return path


def reference() -> tuple[float, float]:
    """The fixed loop of bench.evaluation: (CPU s, wall s). CPU shows the core's speed; wall
    over CPU shows how busy the shared machine was (other processes taking the cores)."""
    from bench.evaluation import reference_cpu as loop
    start = time.perf_counter()
    cpu = loop()
    return cpu, time.perf_counter() - start


def run_once(inventory: Path, formats: str, out: Path) -> dict:
    """One `certscan scan` in a child process; its own rusage from wait4 (not the children total)."""
    timings = out / "timings.jsonl"
    env = {**os.environ, "CERTSCAN_TIMINGS": str(timings), "COLUMNS": "120", "NO_COLOR": "1"}
    argv = [certscan_command(), "scan", "--inventory", str(inventory), "--as-of", "2026-06-01",
            "--format", formats, "--fail-on", "none", "--allow-partial", "--output-dir", str(out / "reports")]
    reference_cpu, reference_wall = reference()
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"certscan exited {child.returncode}: {stderr[-2000:]}")
    phases: dict[str, dict] = {}
    for line in timings.read_text().splitlines():
        record = json.loads(line)
        phases[record["phase"]] = record
    sizes = {p.name: p.stat().st_size for p in (out / "reports").iterdir()}
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "reference_s": reference_cpu, "reference_wall_s": reference_wall, "phases": phases, "sizes": sizes}


def spread(values: list[float], digits: int = 2) -> str:
    return (f"{round(min(values), digits)} / {round(statistics.median(values), digits)} / "
            f"{round(max(values), digits)}")


def measure(work: Path, count: int, formats: str, runs: int) -> dict:
    inventory = inventory_file(work, count)
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(dir=work) as folder:
            results.append(run_once(inventory, formats, Path(folder)))
    label = "json" if formats == "json" else "all formats"
    print(f"\n{count:,} certificates, --format {label} ({runs} runs, min / median / max), "
          f"inventory {inventory.stat().st_size / 1e6:.0f} MB")
    print(f"  wall s {spread([r['wall_s'] for r in results])}   CPU s {spread([r['cpu_s'] for r in results])}   "
          f"peak RSS MB {spread([r['peak_rss_mb'] for r in results], 0)}   "
          f"reference loop CPU s {spread([r['reference_s'] for r in results])} "
          f"(wall {spread([r['reference_wall_s'] for r in results])})")
    print(f"  {'phase':<30} {'wall s min / median / max':>28} {'CPU s median':>13} {'peak RSS MB after':>18}")
    for name in results[0]["phases"]:
        walls = [r["phases"][name]["wall_s"] for r in results if name in r["phases"]]
        cpus = [r["phases"][name]["cpu_s"] for r in results if name in r["phases"]]
        rss = max(r["phases"][name]["peak_rss_mb"] for r in results if name in r["phases"])
        print(f"  {name:<30} {spread(walls):>28} {statistics.median(cpus):>13.2f} {rss:>18.0f}")
    for name, size in sorted(results[0]["sizes"].items()):
        print(f"    {name:<30} {size / 1e6:10.1f} MB")
    target = TARGETS.get((count, formats))
    if target:
        wall = statistics.median(r["wall_s"] for r in results)
        peak = max(r["peak_rss_mb"] for r in results)
        met = wall < target[0] and peak < target[1]
        print(f"  target < {target[0]:.0f} s wall (median) and < {target[1]} MB peak: "
              f"{'met' if met else 'NOT met'} ({wall:.1f} s, {peak:.0f} MB)")
    return {"certificates": count, "formats": formats, "runs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", choices=("json", "all", "both"), default="both")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "certscan-bench")
    parser.add_argument("--save", type=Path, help="also write every run's figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the saved inventories in --work-dir")
    parser.add_argument("--certscan", help="the certscan command to measure (default: the one installed here)")
    args = parser.parse_args()
    if args.certscan:
        COMMAND.append(args.certscan)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    chosen = {"json": ["json"], "all": [ALL_FORMATS], "both": ["json", ALL_FORMATS]}[args.formats]
    print(f"certscan end to end: {certscan_command()}")
    rows = []
    try:
        for count in (int(s) for s in args.sizes.split(",")):
            for formats in chosen:
                rows.append(measure(args.work_dir, count, formats, args.runs))
    finally:
        if not args.keep:
            shutil.rmtree(args.work_dir, ignore_errors=True)
    if args.save:
        args.save.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
