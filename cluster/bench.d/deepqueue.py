"""Shared parts of the deep-queue benches (issue 16: `outage`, `restart`): Sendarix nodes on
127.63.x with delivery to a bench receiver, filling the queue with smtp-source in timed chunks,
and the process figures sampled around each chunk (CPU, RSS and RssAnon, bytes written,
fsyncs, the spool's LMDB map use and data file size). The `costTable` rows of the final JSON
come from these samples.

Bytes written are the sectors written by the device of the node's data directory: each node's
dataDir is a fresh ext4 on a loop device of its own (`data_filesystem`, relaybytes.LoopFS), as in
relaybytes, clusterbytes and sessions, and the count runs from a `sync -f` before to a `sync -f`
after (`device_sectors`). /proc/PID/io write_bytes is kept beside it as pageCacheDirtiedPerMsg:
on this kernel it is not a byte count (see `proc_io`). Without a loop device (not root, no
losetup) the device figures are None and `deviceBytesUnavailable` says why."""
import http.client
import json
import os
import signal
import subprocess
import time

from relaybytes import LoopFS, allocated_bytes  # noqa: F401 (allocated_bytes: also used by restart.py)

B = __import__("__main__")  # bench.py: PROCS, pick_port, wait_smtp_ready, SMTPConn, ADMIN_TOKEN, log

NET = "127.63.0."
RECEIVER_IP = NET + "50"


def proc_io(pid):
    """write_bytes of /proc/PID/io: page-cache bytes the process dirtied. Not the bytes written:
    the kernel charges a whole folio each time a clean one becomes dirty, and with ext4's large
    folios (kernel 6.16+) a 4 KiB LMDB page write into a read-ahead file counts up to 2 MiB
    (sessions_bench.write_diagnostics). Compare these rows only with each other, on one kernel;
    device bytes are what relaybytes, clusterbytes and sessions count."""
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# Bytes of a node's data directory per queued 5 KB message: the spool map holds about 7.8 KB
# (body, records, events); a cluster member also keeps the bodies in its raft log.
DATA_BYTES_PER_MESSAGE = 10 * 1024
CLUSTER_DATA_BYTES_PER_MESSAGE = 16 * 1024


def image_bytes(messages, per_message=DATA_BYTES_PER_MESSAGE, copies=1.0):
    """The size of a sparse loop image for a data directory that will hold `messages` queued
    messages (`copies` times: snapshots write a second copy), plus 3 GiB: the spool's free-space
    reserve (1 GiB by default) and the journal. At least 4 GiB."""
    return max(4 << 30, int(messages * per_message * copies) + (3 << 30))


def data_filesystem(directory, size_bytes, before_stop=None):
    """A fresh ext4 on a loop device mounted at `directory` (a node's dataDir; the sparse image
    beside it, `directory`.img) so that node's bytes written are counted on a device of its own.
    Returns (fs, None), or (None, reason) when one cannot be made (not root, no losetup, no
    mkfs.ext4). The run's cleanup (signals, errors) calls `before_stop` (stop the node using it)
    and then unmounts, detaches and deletes the image; the caller does the same in its own
    `finally` through `release_filesystem`."""
    try:
        fs = LoopFS(directory + ".img", directory, size_bytes)
    except (RuntimeError, OSError) as e:
        return None, "no loop filesystem: %s" % e

    def stopper():
        try:
            if before_stop is not None:
                before_stop()
        finally:
            fs.stop()
    fs.stopper = stopper
    B.PROCS.add_stopper(stopper)
    return fs, None


def release_filesystem(fs):
    """Unmounts, detaches and deletes a `data_filesystem` (its node already stopped). Idempotent."""
    if fs is None:
        return
    B.PROCS.remove_stopper(fs.stopper)
    fs.stop()


def device_sectors(filesystems):
    """Sectors written so far by the devices of `filesystems` (summed), after a `sync -f` of each
    (what the kernel would still write back later, journal commits and dirty pages, is counted
    now). None when any is missing."""
    if not filesystems or any(fs is None for fs in filesystems):
        return None
    total = 0
    for fs in filesystems:
        fs.sync()
        total += fs.sectors_written()
    return total


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class FsyncCounter:
    """Counts fsync, fdatasync, msync and sync_file_range calls of one process (all its threads)
    through perf's syscall tracepoints (cheap: no ptrace). `None` figures when perf is missing or
    cannot attach (not root, no tracefs). Used by the deep-queue and sessions benches."""

    EVENTS = ("syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_msync,"
              "syscalls:sys_enter_sync_file_range")

    def __init__(self, pid, path):
        self.path = path
        self.proc = None
        try:
            self.proc = subprocess.Popen(["perf", "stat", "-x", ",", "-o", path, "-e", self.EVENTS,
                                          "-p", str(pid)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            self.proc = None

    def stop(self):
        if self.proc is None:
            return None
        try:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
            return None
        total, seen = 0, False
        try:
            with open(self.path) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and parts[2].startswith("syscalls:") and parts[0].isdigit():
                        total += int(parts[0])
                        seen = True
        except OSError:
            return None
        return total if seen else None


class Node:
    """One `sendarix serve` process with its config, data dir and admin API."""

    def __init__(self, root, binary, ip, node_id, receiver_port, mode, peers=None, secret=None,
                 map_mb=None, extra_delivery=None):
        self.root, self.binary, self.ip, self.id = root, binary, ip, node_id
        self.port = B.pick_port(ip, 2525)
        self.admin_port = B.pick_port(ip, 8025)
        self.data = os.path.join(root, node_id)
        self.logfile = os.path.join(root, node_id + ".log")
        self.config = os.path.join(root, node_id + ".json")
        self.proc = None
        self.env = None  # extra environment variables of the node process
        self.fs = None  # the data directory's loop filesystem (data_filesystem), when mounted
        delivery = {"rateLimitStaticRoutes": True,
                    "retrySchedule": mode["retrySchedule"],
                    "retryJitter": 0.1,
                    "circuitBreaker": {"failureThreshold": 5, "openSeconds": mode["breakerOpenSeconds"],
                                       "maxOpenSeconds": mode.get("breakerMaxOpenSeconds", 300)},
                    "shaping": {"default": {"messagesPerSecond": mode["shapedRate"],
                                            "maxConnections": mode["maxConnections"]}},
                    # Short suspensions, so a bench-length outage is followed by the drain.
                    "throttle": {"suspendSeconds": 20, "maxSuspendSeconds": 60, "recoverySeconds": 30}}
        delivery.update(extra_delivery or {})
        cfg = {
            "node": {"id": node_id, "hostname": node_id + ".outage.test", "dataDir": self.data},
            "listen": {"submission": [], "smtps": [], "relay": ["%s:%d" % (ip, self.port)],
                       "admin": "%s:%d" % (ip, self.admin_port)},
            "policy": {"trustedNetworks": ["127.0.0.0/8"], "maxConnectionsPerIP": 1000},
            "limits": {"maxConnections": 10000},
            "routes": [{"domain": "example.test", "hosts": ["%s:%d" % (RECEIVER_IP, receiver_port)],
                        "tls": "none"}],
            "delivery": delivery,
            "adminToken": B.ADMIN_TOKEN,
        }
        if map_mb:
            cfg["spool"] = {"mapSizeMB": map_mb}
        if peers:
            cfg["listen"]["peer"] = "%s:7700" % ip
            cfg["cluster"] = {"secretFile": secret, "peers": peers}
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)

    def start(self, wait=True):
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = B.PROCS.spawn("sendarix-" + self.id, [self.binary, "serve", "--config", self.config],
                                  stdout=self.logfile, stderr=self.logfile, env=env)
        if wait:
            B.wait_smtp_ready(self.ip, self.port, 120.0, self.proc, what="sendarix " + self.id)

    def stop(self, grace=30.0):
        if self.proc is not None:
            B.PROCS.stop(self.proc, grace=grace)
            self.proc = None

    def admin(self, path, timeout=10):
        try:
            c = http.client.HTTPConnection(self.ip, self.admin_port, timeout=timeout)
            c.request("GET", path, headers={"Authorization": "Bearer " + B.ADMIN_TOKEN})
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, body
        except (OSError, http.client.HTTPException):
            return None, b""

    def metrics(self):
        """Selected /metrics figures: queue depth, map size/used, spool commits."""
        st, body = self.admin("/metrics")
        out = {}
        if st != 200:
            return out
        for line in body.decode("utf-8", "replace").splitlines():
            if line.startswith("#"):
                continue
            for key in ("sendarix_queue_messages", "sendarix_lmdb_map_size_bytes", "sendarix_lmdb_map_used_bytes",
                        "sendarix_spool_commit_duration_seconds_count", "sendarix_deliveries_in_flight",
                        "sendarix_recipients_deferred_total", "sendarix_deliveries_parked",
                        "sendarix_deliveries_parked_total", "sendarix_deliveries_postponed_total",
                        "sendarix_lmdb_map_grown_total", "sendarix_spool_commit_duration_seconds_sum",
                        "sendarix_deliveries_pulled_total", "sendarix_deliveries_fresh_first_total"):
                if line.startswith(key + " ") or line.startswith(key + "{"):
                    try:
                        out[key] = out.get(key, 0) + float(line.rsplit(" ", 1)[1])
                    except ValueError:
                        pass
        return out

    def depth(self, timeout=30.0):
        """Queued messages (the /metrics gauge; waits for the admin API to answer)."""
        deadline = time.monotonic() + timeout
        while True:
            v = int(self.metrics().get("sendarix_queue_messages", -1))
            if v >= 0 or time.monotonic() > deadline:
                return v
            time.sleep(0.1)

    def sample(self):
        """Process and spool figures now."""
        pid = self.proc.pid
        st = B.proc_stat(pid)
        m = self.metrics()
        disk = allocated_bytes(self.data)  # spool, Raft log
        return {"t": time.monotonic(), "cpu": B.tree_cpu_seconds(pid), "rssKB": status_kb(pid, "VmRSS"),
                "rssAnonKB": status_kb(pid, "RssAnon"), "writeBytes": proc_io(pid),
                "deviceSectors": device_sectors([self.fs]) if self.fs is not None else None,
                "depth": int(m.get("sendarix_queue_messages", -1)),
                "mapSize": m.get("sendarix_lmdb_map_size_bytes"), "mapUsed": m.get("sendarix_lmdb_map_used_bytes"),
                "commits": m.get("sendarix_spool_commit_duration_seconds_count"), "diskBytes": disk,
                "inFlight": m.get("sendarix_deliveries_in_flight"),
                "deferred": m.get("sendarix_recipients_deferred_total", 0),
                "parked": m.get("sendarix_deliveries_parked_total", 0),
                "postponed": m.get("sendarix_deliveries_postponed_total", 0)}


def run_source(node, count, root, tag, sessions=20, size=5120):
    """smtp-source of `count` x `size` into the node; returns (ok, seconds, output tail)."""
    out = os.path.join(root, "smtp-source-%s.log" % tag)
    argv = ["smtp-source", "-s", str(sessions), "-l", str(size), "-m", str(count),
            "-f", B.SENDER, "-t", B.RECIPIENT, "%s:%d" % (node.ip, node.port)]
    t0 = time.monotonic()
    p = B.PROCS.spawn("smtp-source", argv, stdout=out, stderr=out)
    try:
        rc = p.wait(timeout=600 + count * 0.05)
    except subprocess.TimeoutExpired:
        B.PROCS.stop(p)
        return False, time.monotonic() - t0, "timed out"
    elapsed = time.monotonic() - t0
    B.PROCS.stop(p)
    with open(out, "rb") as f:
        text = f.read().decode("latin-1", "replace").strip()
    return rc == 0, elapsed, text[-300:]


def measured_chunk(node, count, root, tag, perf=True):
    """Sends `count` messages with smtp-source and returns the rate and the per-message costs
    over the chunk (CPU, bytes written, fsyncs, LMDB commits), with the samples before/after.
    bytesPerMsg: sectors the data directory's device wrote from a sync before the chunk to a sync
    after it x 512 / `count` (everything the node wrote meanwhile, retry bookkeeping included);
    pageCacheDirtiedPerMsg: the process's write_bytes over the same chunk (not bytes: `proc_io`)."""
    before = node.sample()
    counter = FsyncCounter(node.proc.pid, os.path.join(root, "perf-%s.txt" % tag)) if perf else None
    ok, seconds, tail = run_source(node, count, root, tag)
    fsyncs = counter.stop() if counter else None
    after = node.sample()
    accepted = max(1, after["depth"] - before["depth"]) if after["depth"] >= 0 else count
    n = count
    row = {"messages": count, "seconds": round(seconds, 2), "msgsPerSecond": round(count / max(seconds, 1e-9), 1),
           "ok": ok, "depthBefore": before["depth"], "depthAfter": after["depth"],
           "cpuPerMsgMs": round((after["cpu"] - before["cpu"]) / n * 1000, 4),
           "rssMB": round((after["rssKB"] or 0) / 1024, 1), "rssAnonMB": round((after["rssAnonKB"] or 0) / 1024, 1)}
    if before["deviceSectors"] is not None and after["deviceSectors"] is not None:
        row["bytesPerMsg"] = round((after["deviceSectors"] - before["deviceSectors"]) * 512 / n)
        row["bytesCounted"] = "device writes of the data directory's loop filesystem"
    else:
        row["bytesPerMsg"] = None
    if before["writeBytes"] is not None and after["writeBytes"] is not None:
        row["pageCacheDirtiedPerMsg"] = round((after["writeBytes"] - before["writeBytes"]) / n)
    if fsyncs is not None:
        row["fsyncsPerMsg"] = round(fsyncs / n, 3)
    if before["commits"] is not None and after["commits"] is not None:
        row["commitsPerMsg"] = round((after["commits"] - before["commits"]) / n, 3)
    if after["mapUsed"] is not None and after["depth"] > 0:
        row["mapUsedBytesPerQueued"] = round(after["mapUsed"] / after["depth"])
    if after["diskBytes"] is not None and after["depth"] > 0:
        row["diskBytesPerQueued"] = round(after["diskBytes"] / after["depth"])
    row["mapUsedMB"] = round((after["mapUsed"] or 0) / 2 ** 20, 1)
    row["mapSizeMB"] = round((after["mapSize"] or 0) / 2 ** 20, 1)
    if not ok:
        row["error"] = tail
    del accepted
    return row


def idle_cpu(node, seconds):
    """Over `seconds` without load (the scheduler's retry work): the node's CPU per wall second,
    retries come due per second (deferrals, plus retries parked while their destination is down),
    CPU ms per retry (None without retries), and the data directory's device bytes written per
    second (None without a loop filesystem)."""
    a = node.sample()
    time.sleep(seconds)
    b = node.sample()
    wall = b["t"] - a["t"]
    cpu = b["cpu"] - a["cpu"]
    retries = (b["deferred"] or 0) - (a["deferred"] or 0) + (b.get("parked") or 0) - (a.get("parked") or 0) \
        + (b.get("postponed") or 0) - (a.get("postponed") or 0)
    device = None
    if a["deviceSectors"] is not None and b["deviceSectors"] is not None:
        device = round((b["deviceSectors"] - a["deviceSectors"]) * 512 / wall)
    return (round(cpu / wall, 4), round(retries / wall, 1),
            round(cpu / retries * 1000, 3) if retries >= 20 else None, device)


def cost_row(scenario, depth, row):
    """One costTable row from a measured chunk: bytesPerMsg counts the data directory's device
    (None without a loop filesystem), pageCacheDirtiedPerMsg the process's write_bytes."""
    return {"scenario": scenario, "depth": depth, "cpuPerMsg": row.get("cpuPerMsgMs"),
            "bytesPerMsg": row.get("bytesPerMsg"), "pageCacheDirtiedPerMsg": row.get("pageCacheDirtiedPerMsg"),
            "fsyncsPerMsg": row.get("fsyncsPerMsg"),
            "rssMB": row.get("rssMB"), "unit": "cpuPerMsg in ms; bytesPerMsg: device bytes written"}


def add_cost_rows(bench, rows):
    bench.results.setdefault("costTable", {"rows": []})["rows"].extend(rows)


def report_rows(results):
    """Rows for bench.py's printed table: (metric, postfix, sendarix, ratio, better)."""
    out = []
    o = results.get("outage") or {}
    if o.get("available"):
        out.append(("outage: accept msgs/s at depth %s / empty" % o.get("maxDepth"), "",
                    "%s / %s" % (o.get("acceptRateAtMaxDepth"), o.get("acceptRateEmpty")),
                    "%.2fx" % o["acceptRatio"] if o.get("acceptRatio") else "-", ">= 0.9"))
        out.append(("outage: idle CPU s/s at max depth / at first checkpoint", "",
                    "%s / %s" % (o.get("idleCpuAtMaxDepth"), o.get("idleCpuFirst")),
                    "%.2fx" % o["idleCpuRatio"] if o.get("idleCpuRatio") else "-", ""))
        out.append(("outage: scheduler CPU ms per retry, deepest / shallowest with retries", "",
                    "%s / %s" % (o.get("cpuPerRetryMsDeep"), o.get("cpuPerRetryMsFirst")),
                    "%.2fx" % o["schedulerCpuPerRetryRatio"] if o.get("schedulerCpuPerRetryRatio") else "-", "~1"))
        out.append(("outage: receiver connections/s during outage (mean / max)", "",
                    "%s / %s" % (o.get("outageConnectionsPerSecond"), o.get("outageMaxConnectionsPerSecond")), "",
                    "low"))
        out.append(("outage: drain msgs/s (shaped at %s)" % o.get("shapedRate"), "", str(o.get("drainRate")),
                    "%.2fx" % o["drainRatio"] if o.get("drainRatio") else "-", "~1"))
        out.append(("outage: fresh mail latency p50 / p99 s during drain", "",
                    "%s / %s" % (o.get("freshLatencyP50"), o.get("freshLatencyP99")), "", "low"))
    import restart
    out.extend(restart.report_rows(results))
    for row in (results.get("costTable") or {}).get("rows", []):
        if row.get("depth") is not None:
            where = "depth %s" % row["depth"]
        elif row.get("sessions") is not None:
            where = "%s sessions" % row["sessions"]
        else:
            continue
        out.append(("cost at %s (%s): CPU ms / bytes / fsyncs per msg, RSS MB"
                    % (where, row["scenario"]), "",
                    "%s / %s / %s / %s" % (row.get("cpuPerMsg"), row.get("bytesPerMsg"), row.get("fsyncsPerMsg"),
                                           row.get("rssMB")), "", "flat"))
    return out
