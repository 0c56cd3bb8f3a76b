"""Evaluation throughput and peak memory: N synthetic certificates across every source
against all shipped rules. Target (issue 2): 100,000 certificates in under 2 s of CPU on
one core, peak memory under 400 MB. Each size runs in a fresh process so peak RSS is its own."""

import json
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

SIZES = (1_000, 10_000, 100_000)
AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)


def synthetic(n: int, seed: int = 7):
    from scanner.model import Certificate, ValidationRecord
    rng = random.Random(seed)
    sources = ("aws.acm", "aws.acm", "aws.acm", "aws.iam", "azure.keyvault", "file", "tls")
    for i in range(n):
        source = sources[i % len(sources)]
        domain = f"{'*.' if i % 17 == 0 else ''}host{i}.example.com"
        not_after = AS_OF + timedelta(days=rng.randint(-60, 400), hours=rng.randint(0, 23))
        kw = dict(id=f"{source}/{i:07d}", source=source, account=f"{100000000000 + i % 31}", region="eu-west-1",
                  domain=domain, sans=[domain], not_before=not_after - timedelta(days=rng.choice((90, 198, 397))),
                  not_after=not_after, key_algorithm="RSA" if i % 5 else "EC", key_size=2048 if i % 5 else 256,
                  in_use=bool(i % 3), tags={"owner": "team"} if i % 4 else {})
        if source == "aws.acm":
            kw.update(status="ISSUED", type="AMAZON_ISSUED" if i % 2 else "IMPORTED", validation_method="DNS",
                      ct_logging="ENABLED", validation=[ValidationRecord(domain, f"_x.{domain}.", "CNAME", "_y.",
                                                                         "present" if i % 11 else "missing")])
        elif source == "azure.keyvault":
            kw.update(enabled=True, renewal_action="AutoRenew", renew_days_before_expiry=30, validity_months=12)
        elif source == "tls":
            kw.update(hostname_match=True, chain_complete=bool(i % 9), self_signed=False, trusted=True)
        yield Certificate(**kw)


def reference_cpu() -> float:
    """CPU seconds of a fixed pure-Python loop, timed beside each evaluation: on a shared VM
    the same work can take twice as long from one minute to the next, and this shows how
    fast the machine was when the evaluation ran."""
    start = time.process_time()
    sum(len(str(i)) for i in range(1_000_000))
    return time.process_time() - start


def measure(n: int) -> dict:
    from scanner.evaluate.evaluation import evaluate_inventory
    from scanner.model import Inventory
    from scanner.packs.loader import load_rules
    rules = load_rules()
    inventory = Inventory(collected_at=AS_OF, certificates=list(synthetic(n)))
    reference = reference_cpu()
    start = time.process_time()
    evaluation = evaluate_inventory(inventory, rules, [], AS_OF)
    cpu = time.process_time() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"certificates": n, "rules": len(rules), "results": len(evaluation.results), "cpu_s": round(cpu, 3),
            "reference_s": round(reference, 3), "peak_rss_mb": round(peak_mb, 1)}


REPEATS = 5  # this machine's speed drifts; the minimum is the least disturbed run (as timeit advises)


def main() -> None:
    rows = []
    for n in SIZES:
        runs = []
        for _ in range(REPEATS):
            out = subprocess.run([sys.executable, "-c", f"import json, bench.evaluation as b; print(json.dumps(b.measure({n})))"],
                                 capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout))
        cpu = sorted(r["cpu_s"] for r in runs)
        reference = sorted(r["reference_s"] for r in runs)
        rows.append({**runs[0], "cpu_s": cpu[0], "cpu_median": cpu[len(cpu) // 2], "cpu_max": cpu[-1],
                     "reference": f"{reference[0]}-{reference[-1]}",
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)})
    print(f"{'certificates':>12} {'results':>9} {'cpu s min':>9} {'median':>7} {'max':>7} {'us/result':>9} "
          f"{'reference s':>12} {'peak MB':>8}")
    for r in rows:
        print(f"{r['certificates']:>12} {r['results']:>9} {r['cpu_s']:>9} {r['cpu_median']:>7} {r['cpu_max']:>7} "
              f"{1e6 * r['cpu_s'] / r['results']:>9.2f} {r['reference']:>12} {r['peak_rss_mb']:>8}")
    first, last = rows[0], rows[-1]
    slope = (last["cpu_s"] - first["cpu_s"]) / (last["certificates"] - first["certificates"])
    print(f"slope: {slope * 1e6:.2f} us CPU per certificate ({len(rows)} sizes, {rows[-1]['rules']} rules, "
          f"min of {REPEATS} runs each)")
    target = rows[-1]
    # the target is held by the median run, not the best one
    ok = target["certificates"] >= 100_000 and target["cpu_median"] < 2.0 and target["peak_rss_mb"] < 400
    print(f"target 100k < 2 s CPU (median of {REPEATS}) and < 400 MB: {'met' if ok else 'NOT met'} "
          f"(min {target['cpu_s']} s, median {target['cpu_median']} s, max {target['cpu_max']} s, "
          f"peak {target['peak_rss_mb']} MB; reference loop {target['reference']} s)")
