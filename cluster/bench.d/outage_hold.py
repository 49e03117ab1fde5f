"""The hold phase of the `outage` scenario (issue 16 item 1): after the queue reached its target
depth, the outage goes on for --hold seconds (SENDARIX_BENCH_OUTAGE_HOLD, default 400 on a full
run, 0 with --quick) while the bench measures an accept chunk every `interval` seconds.

Messages postponed beyond parking's memory bound come due again one postpone horizon (300 s) after
they were postponed, so only a run that lasts past that horizon measures accepting while they are
re-postponed (the "re-postpone wave" that took 10^6 to an accept ratio of 0.665). Each row holds the
accept rate, the node's CPU per second and the postponed messages per second since the row before
(first postpones of the chunk's own messages included), and what tells Sendarix's share of a dip from
the machine's: the machine's load average, the spool writer thread's CPU share and the share of wall
time spent in spool commits (`sendarix_spool_commit_duration_seconds_sum`), since the row before."""
import os
import time

import deepqueue as dq

B = __import__("__main__")


def hold_seconds(quick):
    """Seconds to hold the outage after the last checkpoint."""
    text = os.environ.get("SENDARIX_BENCH_OUTAGE_HOLD")
    return int(text) if text else (0 if quick else 400)


def thread_cpu_seconds(pid, name):
    """CPU seconds (user + system) of the threads of `pid` named `name` (0.0 when none)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm != name:
            continue
        fields = text[text.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def hold(node, root, measure, seconds, interval=45.0):
    """Measured accept chunks every `interval` seconds for `seconds`; returns the rows."""
    rows = []
    start = time.monotonic()
    prev_t, prev = time.monotonic(), node.sample()
    m0 = node.metrics()
    prev_postponed = m0.get("sendarix_deliveries_postponed_total") or 0
    prev_commit = m0.get("sendarix_spool_commit_duration_seconds_sum") or 0
    prev_writer = thread_cpu_seconds(node.proc.pid, "spool-writer")
    while time.monotonic() - start < seconds:
        time.sleep(max(0.0, interval - (time.monotonic() - prev_t)))
        # The same figures over the measured chunk alone (where a dip shows).
        c_m = node.metrics()
        c_t, c_w = time.monotonic(), thread_cpu_seconds(node.proc.pid, "spool-writer")
        c_load = os.getloadavg()[0]
        row = dq.measured_chunk(node, measure, root, "hold-%d" % len(rows), perf=False)
        c_wall = max(time.monotonic() - c_t, 1e-9)
        c_m2 = node.metrics()
        row["chunkNodeCpuShare"] = round(row["cpuPerMsgMs"] * measure / 1000 / c_wall, 3)
        row["chunkWriterCpuShare"] = round((thread_cpu_seconds(node.proc.pid, "spool-writer") - c_w) / c_wall, 3)
        row["chunkCommitBusyShare"] = round(((c_m2.get("sendarix_spool_commit_duration_seconds_sum") or 0)
                                             - (c_m.get("sendarix_spool_commit_duration_seconds_sum") or 0)) / c_wall, 3)
        row["chunkPostponedPerSecond"] = round(((c_m2.get("sendarix_deliveries_postponed_total") or 0)
                                                - (c_m.get("sendarix_deliveries_postponed_total") or 0)) / c_wall, 1)
        row["chunkLoadavg1"] = [round(c_load, 2), round(os.getloadavg()[0], 2)]
        now_t, now = time.monotonic(), node.sample()
        m = node.metrics()
        postponed = m.get("sendarix_deliveries_postponed_total") or 0
        commit = m.get("sendarix_spool_commit_duration_seconds_sum") or 0
        writer = thread_cpu_seconds(node.proc.pid, "spool-writer")
        wall = max(now_t - prev_t, 1e-9)
        row["loadavg1"] = round(os.getloadavg()[0], 2)
        row["writerCpuShare"] = round((writer - prev_writer) / wall, 3)
        row["commitBusyShare"] = round((commit - prev_commit) / wall, 3)
        row["heldSeconds"] = round(now_t - start, 1)
        row["cpuPerSecond"] = round((now["cpu"] - prev["cpu"]) / wall, 3)
        row["postponedPerSecond"] = round((postponed - prev_postponed) / wall, 1)
        row["depth"] = now["depth"]
        rows.append(row)
        B.log("outage: held %.0f s: %s" % (row["heldSeconds"], row))
        prev_t, prev, prev_postponed, prev_commit, prev_writer = now_t, now, postponed, commit, writer
    return rows
