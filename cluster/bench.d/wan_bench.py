"""The `wan` scenario of cluster/bench (issue 14): accept latency and throughput of a cluster whose
regions are 40 ms +- 5 ms apart, per leader placement, on deploy/lab (network namespaces, root).
For each layout (3n2r, 5n3r) the lab is brought up under its own prefix, `deploy/lab scenario
latency` moves leadership to each region in turn and clients in every region send for a few
seconds; then the lab is removed. No Postfix counterpart (a single MTA has no leader to place):
the ratios compare placements within the same run."""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lab(prefix, *args, timeout=300):
    """deploy/lab with the prefix: `up|down ...` or `scenario NAME ...`."""
    head = ["scenario", "--prefix", prefix] if args[0] == "scenario" else ["--prefix", prefix, args[0]]
    return subprocess.run(["/bin/bash", os.path.join(ROOT, "deploy", "lab"), *head, *args[1:]],
                          capture_output=True, text=True, timeout=timeout)


def run(bench):
    b = __import__("__main__")
    a = bench.args
    res = {"delay_ms": 40, "jitter_ms": 5}
    if os.geteuid() != 0:
        bench.results["wan"] = {"available": False, "reason": "deploy/lab needs root"}
        return
    seconds = "5" if a.quick else "10"
    for layout in ("3n2r", "5n3r"):
        prefix = "sxbench-%d-" % os.getpid()
        try:
            up = lab(prefix, "up", "--layout", layout, "--bin", os.path.abspath(a.sendarix_bin))
            if up.returncode != 0:
                res[layout] = {"available": False, "reason": up.stderr[-400:]}
                continue
            out = lab(prefix, "scenario", "latency", "--duration", seconds, "--workers", "4")
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            runs = {r["leaderRegion"]: r for r in figures["runs"]}
            res[layout] = {"runs": runs, "loadavg": figures["loadavg"]}
            res["ratio_%s_best_over_worst_placement_msgs_per_s" % layout] = figures.get("bestOverWorstThroughputRatio")
            b.log("wan %s: %s" % (layout, ", ".join("leader in %s %.1f msg/s" % (k, v["messagesPerSecond"])
                                                     for k, v in sorted(runs.items()))))
        except (OSError, ValueError, KeyError, IndexError, subprocess.TimeoutExpired) as e:
            res[layout] = {"available": False, "reason": str(e)}
        finally:
            lab(prefix, "down", timeout=120)
    bench.results["wan"] = res
