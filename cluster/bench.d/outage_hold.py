"""The hold phase of the `outage` scenario (issue 16 item 1): after the queue reached its target
depth, the outage goes on for --hold seconds (SENDARIX_BENCH_OUTAGE_HOLD, default 400 on a full
run, 0 with --quick) while the bench measures an accept chunk every `interval` seconds.

Messages postponed beyond parking's memory bound come due again one postpone horizon (300 s) after
they were postponed, so only a run that lasts past that horizon measures accepting while they are
re-postponed (the "re-postpone wave" that took 10^6 to an accept ratio of 0.665). Each row holds the
accept rate, the node's CPU per second and the postponed messages per second since the row before
(first postpones of the chunk's own messages included)."""
import os
import time

import deepqueue as dq

B = __import__("__main__")


def hold_seconds(quick):
    """Seconds to hold the outage after the last checkpoint."""
    text = os.environ.get("SENDARIX_BENCH_OUTAGE_HOLD")
    return int(text) if text else (0 if quick else 400)


def hold(node, root, measure, seconds, interval=45.0):
    """Measured accept chunks every `interval` seconds for `seconds`; returns the rows."""
    rows = []
    start = time.monotonic()
    prev_t, prev = time.monotonic(), node.sample()
    prev_postponed = node.metrics().get("sendarix_deliveries_postponed_total") or 0
    while time.monotonic() - start < seconds:
        time.sleep(max(0.0, interval - (time.monotonic() - prev_t)))
        row = dq.measured_chunk(node, measure, root, "hold-%d" % len(rows), perf=False)
        now_t, now = time.monotonic(), node.sample()
        postponed = node.metrics().get("sendarix_deliveries_postponed_total") or 0
        wall = max(now_t - prev_t, 1e-9)
        row["heldSeconds"] = round(now_t - start, 1)
        row["cpuPerSecond"] = round((now["cpu"] - prev["cpu"]) / wall, 3)
        row["postponedPerSecond"] = round((postponed - prev_postponed) / wall, 1)
        row["depth"] = now["depth"]
        rows.append(row)
        B.log("outage: held %.0f s: %s" % (row["heldSeconds"], row))
        prev_t, prev, prev_postponed = now_t, now, postponed
    return rows
