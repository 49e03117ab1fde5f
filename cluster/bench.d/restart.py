"""The `restart` scenario of cluster/bench (issue 16, item 2): restarting with a deep queue.

Single node (127.75.0.3): restarted with an empty queue, then again with --restart-depth queued
5 KB messages (default 1,000,000; --quick 20,000), deferred by the bench receiver (421 to
everything, as in an outage) so they carry retry times and leases. Each restart is SIGTERM, wait
for exit, start; measured from the start: the 220 greeting, the first 250 to a message
(`acceptSeconds...`, target under 10 s), `raft started` in the log (the log opened and replayed),
and `delivery.lease_recovery_done` (the scheduler took back the leases it held).

Three-node cluster (127.75.1.1-3): the same at --restart-cluster-depth (default a tenth of
--restart-depth), filled through all three members at once (one smtp-source per member; followers
forward the enqueue to the leader): a follower restart and a leader restart, each timed to its
first 250 and to the moment its applied index reaches the leader's commit index; then a follower is stopped while more mail
arrives and the leader compacts its log, so it comes back through a spool snapshot
(`installed a spool snapshot`): snapshot install time and catch-up time.

SIGKILL with leases held (single node, then the cluster member holding the leases): a second
route (`hold.test`) goes to a receiver that keeps every message's DATA unanswered, so the node
holds leases on the messages in flight; the node is SIGKILLed, the receiver stops holding, the
node starts again: `leaseRecoveryDoneSeconds` and `leaseRecoveryExamined` from its log, and
`allDeliveredSeconds` when every accepted hold.test message has reached the receiver
(`lost` = accepted minus distinct delivered, must be 0).

Raft log replay (cluster): a follower stopped while a few thousand entries are committed (fewer
than the leader retains) comes back through log replay: entries behind, seconds from start until
its applied index reaches the leader's commit index, entries per second.

Snapshot install (cluster): the nodes run with compaction settings lowered through the
environment (`SENDARIX_RAFT_COMPACT_THRESHOLD`, `..._RETAINED_ENTRIES`,
`..._COMPACTION_HOLD_SECONDS`; RaftLog.Options+Environment.swift) so the leader compacts past a
stopped follower within seconds; on restart the follower receives a spool snapshot, re-executes
itself to install it, and accepts: snapshot bytes (leader's `snapshot sent`), receive / install
seconds, seconds until it accepts and until it caught up.

Each node's data directory is a fresh ext4 on a loop device of its own (deepqueue.data_filesystem,
a sparse image sized for the depth, deleted at the end): `fill` reports the sectors those devices
wrote per message queued (`deviceBytesPerMsg`, all members together, and `deviceBytesPerMsgPerNode`),
from a sync before each fill chunk to a sync after it.

--restart-no-single runs the cluster only (a 10⁶ cluster and a 10⁶ single node do not fit one
25-minute invocation); --restart-minutes M skips the cluster phases not yet begun after M minutes;
the snapshot phase is skipped when the disk has less than about twice a node's data free (the
leader's spool copy and the follower's received copy). `fill` reports the fill rates.

Ratios: each `acceptSeconds...` at depth over the same restart with the empty queue;
`ratioWorstAcceptToBudget` = the slowest first 250 after any restart / 10 s."""
import asyncio
import json
import os
import re
import signal
import shutil
import threading
import time

import deepqueue as dq
from outage_receiver import Receiver

B = __import__("__main__")

MODE = {"retrySchedule": [3600, 7200, 14400], "breakerOpenSeconds": 30, "shapedRate": 300, "maxConnections": 10}


NET = "127.75."  # this bench's loopback range (the outage bench keeps 127.63.x)
RECEIVER_IP = NET + "0.50"
HOLD_IP = NET + "0.51"
HOLD_DOMAIN = "hold.test"
# Compaction settings of the cluster part (environment overrides, RaftLog.Options+Environment):
# a stopped member stops holding back compaction after HOLD_SECONDS, the log is compacted when
# it holds more than THRESHOLD entries, keeping RETAINED behind.
COMPACT_ENV = {"SENDARIX_RAFT_COMPACT_THRESHOLD": "20000", "SENDARIX_RAFT_RETAINED_ENTRIES": "8000",
               "SENDARIX_RAFT_COMPACTION_HOLD_SECONDS": "5"}


class Node(dq.Node):
    """A deep-queue node whose routes point at this bench's receivers (`example.test` to the
    deferring one, `hold.test` to the HoldReceiver), started with `env` added to the environment."""

    def __init__(self, *args, hold_port=None, receiver_port=None, env=None, **kw):
        super().__init__(*args, **kw)
        self.env = dict(os.environ, **(env or {}))
        with open(self.config) as f:
            cfg = json.load(f)
        cfg["routes"] = [{"domain": "example.test", "hosts": ["%s:%d" % (RECEIVER_IP, receiver_port)], "tls": "none"},
                         {"domain": HOLD_DOMAIN, "hosts": ["%s:%d" % (HOLD_IP, hold_port)], "tls": "none"}]
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)

    def start(self, wait=True):
        self.proc = B.PROCS.spawn("sendarix-" + self.id, [self.binary, "serve", "--config", self.config],
                                  stdout=self.logfile, stderr=self.logfile, env=self.env)
        if wait:
            B.wait_smtp_ready(self.ip, self.port, 120.0, self.proc, what="sendarix " + self.id)

    def kill(self):
        """SIGKILL (the whole process group), then reaps it."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        B.PROCS.stop(self.proc)
        self.proc = None


class HoldReceiver:
    """A receiving MTA that, while `holding` is set, reads each message and then does not answer
    the end of DATA (the sending node keeps the message leased and in flight); otherwise it answers
    250. Records the distinct `X-Restart-Seq` values of messages answered 250. Only 127.0.0.0/8."""

    def __init__(self, ip, port):
        self.ip, self.port = ip, port
        self.holding = True
        self.lock = threading.Lock()
        self.held = 0
        self.delivered = set()
        self.duplicates = 0
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        if not self.ready.wait(10):
            raise B.Unavailable("hold receiver did not start on %s:%d" % (self.ip, self.port))

    def stop(self):
        def shut():
            if self.server is not None:
                self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(shut)
        self.thread.join(timeout=10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._session, self.ip, self.port, backlog=1024, reuse_address=True))
        self.ready.set()
        self.loop.run_forever()

    def counts(self):
        with self.lock:
            return self.held, len(self.delivered), self.duplicates

    async def _session(self, reader, writer):
        try:
            writer.write(b"220 hold.bench.test ESMTP\r\n")
            await writer.drain()
            while True:
                line = await reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-hold.bench.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    seq = None
                    while True:
                        l = await reader.readline()
                        if not l or l == b".\r\n":
                            break
                        if seq is None and l.lower().startswith(b"x-restart-seq:"):
                            seq = l.split(b":", 1)[1].strip()
                    if not l:
                        return
                    if self.holding:
                        with self.lock:
                            self.held += 1
                        while self.holding:  # the sender's death ends this session (read sees EOF)
                            try:
                                await asyncio.wait_for(reader.read(1), 0.2)
                                if reader.at_eof():
                                    return
                            except asyncio.TimeoutError:
                                pass
                    with self.lock:
                        if seq in self.delivered:
                            self.duplicates += 1
                        self.delivered.add(seq)
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"250 2.0.0 ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass


def send_hold(node, start, count, tag):
    """Sends hold.test messages numbered start..start+count-1 through `node`; returns the numbers
    answered 250."""
    accepted = []
    c = B.SMTPConn(node.ip, node.port, timeout=30)
    c.greet()
    c.ehlo()
    for i in range(start, start + count):
        seq = "%s-%d" % (tag, i)
        body = ("From: <%s>\r\nTo: <h@%s>\r\nSubject: hold %s\r\nX-Restart-Seq: %s\r\n\r\n" % (
            B.SENDER, HOLD_DOMAIN, seq, seq)).encode() + (b"y" * 76 + b"\r\n") * 60 + b".\r\n"
        try:
            c.cmd("MAIL FROM:<%s>" % B.SENDER, expect=2)
            c.cmd("RCPT TO:<h%d@%s>" % (i, HOLD_DOMAIN), expect=2)
            c.cmd("DATA", expect=3)
            c.sock.sendall(body)
            code, _ = c.reply()
            if code == 250:
                accepted.append(seq.encode())
        except (OSError, B.SMTPError):
            c.close()
            c = B.SMTPConn(node.ip, node.port, timeout=30)
            c.greet()
            c.ehlo()
    c.quit_and_close()
    return accepted


def kill_with_leases(node, hold, accepted, stop_nodes=(), leader_of=None, wait_held=10):
    """SIGKILLs `node` once the hold receiver holds `wait_held` messages, restarts it with the
    receiver answering, and times lease recovery and the delivery of every accepted message."""
    deadline = time.monotonic() + 120
    while hold.counts()[0] < wait_held and time.monotonic() < deadline:
        time.sleep(0.05)
    held = hold.counts()[0]
    inflight = metric(node, "sendarix_deliveries_in_flight")
    node.kill()
    hold.holding = False
    watch = LogWatch(node.logfile, PATTERNS)
    watch.start()
    t0 = time.monotonic()
    node.start(wait=False)
    acc = first_accept(node)
    want = set(accepted)
    delivered_at = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with hold.lock:
            missing = len(want - hold.delivered)
        if missing == 0:
            delivered_at = time.monotonic()
            break
        time.sleep(0.05)
    while "leaseRecoveryDone" not in watch.seen and time.monotonic() < t0 + 120:
        time.sleep(0.05)
    seen = watch.finish()
    with hold.lock:
        lost = len(want - hold.delivered)
        dups = hold.duplicates
    out = {"accepted": len(want), "heldAtKill": held, "inFlightAtKill": inflight,
           "acceptSeconds": round(acc - t0, 3) if acc else None,
           "allDeliveredSeconds": round(delivered_at - t0, 3) if delivered_at else None,
           "lost": lost, "duplicates": dups}
    for name in ("raftStarted", "leaseRecoveryDone"):
        if name in seen:
            out[name + "Seconds"] = round(seen[name][0] - t0, 3)
    if "leaseRecoveryDone" in seen:
        f = log_fields(seen["leaseRecoveryDone"][1])
        out["leaseRecoveryExamined"] = int(f.get("examined", 0))
        out["leaseRecoveryMs"] = int(f.get("ms", 0))
    return out


def log_fields(line):
    try:
        return json.loads(line)
    except ValueError:
        return {}


class LogWatch(threading.Thread):
    """Tails a node's log from its current end; records when each pattern first appears."""

    def __init__(self, path, patterns):
        super().__init__(daemon=True)
        self.path, self.patterns = path, patterns
        self.seen = {}
        self.every = {}
        self.stop_event = threading.Event()
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0

    def run(self):
        buf = b""
        while not self.stop_event.is_set():
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.offset)
                    data = f.read()
            except OSError:
                data = b""
            if data:
                self.offset += len(data)
                buf += data
                lines = buf.split(b"\n")
                buf = lines.pop()
                now = time.monotonic()
                for line in lines:
                    for name, pat in self.patterns.items():
                        if pat in line:
                            hit = (now, line.decode("utf-8", "replace")[:4000])
                            self.seen.setdefault(name, hit)
                            self.every.setdefault(name, []).append(hit)
            self.stop_event.wait(0.02)

    def finish(self):
        self.stop_event.set()
        self.join(timeout=5)
        return self.seen


def first_accept(node, timeout=120.0):
    """Seconds (monotonic) at which the node first answered 250 to a message, polling."""
    body = B.make_body(1024, "restart")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = None
        try:
            c = B.SMTPConn(node.ip, node.port, timeout=5)
            c.greet()
            c.ehlo()
            c.send_message(body)
            c.quit_and_close()
            return time.monotonic()
        except (OSError, B.SMTPError):
            if c is not None:  # a probe left open would hold up the node's shutdown drain
                c.close()
            time.sleep(0.02)
    return None


def greeting(node, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = B.SMTPConn(node.ip, node.port, timeout=5)
            c.greet()
            c.close()
            return time.monotonic()
        except (OSError, B.SMTPError):
            time.sleep(0.01)
    return None


def metric(node, name):
    st, body = node.admin("/metrics", timeout=5)
    if st != 200:
        return None
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


PATTERNS = {"raftStarted": b"raft started", "leaseRecoveryDone": b"lease_recovery_done",
            "snapshotReceiving": b"receiving a spool snapshot", "snapshotReceived": b"spool snapshot received",
            "snapshotInstalled": b"installed a spool snapshot", "role": b"raft role", "ready": b'"event":"ready"',
            "restartForSnapshot": b"restarting to install the spool snapshot",
            "shutdownDraining": b'"phase":"draining"', "deliveryStopped": b"delivery.stopped",
            "shutdownDone": b'"phase":"done"'}


def restart(node, leader_of=None, stop_grace=60.0):
    """Stops and starts `node`; returns the timings (seconds from the start of the new process)."""
    t_stop = time.monotonic()
    node.stop(grace=stop_grace)
    stopped = time.monotonic() - t_stop
    watch = LogWatch(node.logfile, PATTERNS)
    watch.start()
    t0 = time.monotonic()
    node.start(wait=False)
    g = greeting(node)
    acc = first_accept(node)
    out = {"stopSeconds": round(stopped, 2),
           "greetingSeconds": round(g - t0, 3) if g else None,
           "acceptSeconds": round(acc - t0, 3) if acc else None}
    if leader_of is not None:
        # Caught up: applied index at the leader's commit index of the moment.
        target = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if target is None:
                target = metric(leader_of(), "sendarix_raft_commit_index")
            applied = metric(node, "sendarix_raft_applied_index")
            if target is not None and applied is not None and applied >= target:
                out["caughtUpSeconds"] = round(time.monotonic() - t0, 3)
                break
            time.sleep(0.05)
    # Lease recovery runs after start; allow it a while.
    deadline = time.monotonic() + 120
    while "leaseRecoveryDone" not in watch.seen and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = watch.finish()
    for name in ("raftStarted", "leaseRecoveryDone", "snapshotInstalled"):
        if name in seen:
            out[name + "Seconds"] = round(seen[name][0] - t0, 3)
    if "leaseRecoveryDone" in seen:
        m = re.search(r'examined[^0-9]*([0-9]+)', seen["leaseRecoveryDone"][1])
        if m:
            out["leaseRecoveryExamined"] = int(m.group(1))
    return out


FILL_STATS = {}  # tag prefix -> {"messages", "seconds", ...}: the fill rates of the run
FILL_SESSIONS = [20]  # SMTP sessions of each smtp-source of a fill (--restart-fill-sessions)


def machine_busy():
    """(busy, total) jiffies of all CPUs from /proc/stat: the machine's load over an interval."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def fill(node, depth, d, tag, via=None, bounded=False):
    """Queues 5 KB messages until `node` reports `depth` queued, in chunks of up to 50,000. `via`
    (default [node]) are the nodes smtp-source sends to, one smtp-source process (FILL_SESSIONS
    sessions, --restart-fill-sessions) per node at once, the chunk split evenly: in the cluster
    every member accepts (followers forward the enqueue to the leader), so the SMTP work of the
    fill is spread over three processes. `bounded`: stop early when --restart-minutes leaves only
    the time kept for the restarts. The fill's CPU seconds per message (Sendarix processes and the
    whole machine, other work on it included) go into FILL_STATS."""
    via = list(via or [node])
    stats = FILL_STATS.setdefault(tag.split("-")[0], {"messages": 0, "seconds": 0.0, "nodeCPUSeconds": 0.0,
                                                      "machineBusyFraction": None, "sessionsPerSource": FILL_SESSIONS[0]})
    # The devices counted: every member's data directory the chunk's mail reaches (the senders and
    # the node whose depth is watched, i.e. all running members of the cluster).
    counted = [n for n in dict.fromkeys(via + [node]) if n.proc is not None]
    filesystems = [n.fs for n in counted]
    while True:
        have = node.depth()
        if have >= depth:
            return have
        if bounded and fill_out_of_time():
            B.log("restart: %s fill stopped at depth %d (of %d): --restart-minutes" % (tag, have, depth))
            return have
        n = min(50_000, depth - have)
        parts = [n // len(via) + (1 if i < n % len(via) else 0) for i in range(len(via))]
        results = [None] * len(via)

        def one(i):
            results[i] = dq.run_source(via[i], parts[i], d, "%s-%d-%d" % (tag, have, i), sessions=FILL_SESSIONS[0])
        cpu0 = sum(B.tree_cpu_seconds(n.proc.pid) or 0 for n in via if n.proc is not None)
        sectors0 = dq.device_sectors(filesystems)
        busy0 = machine_busy()
        t0 = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(via)) if parts[i] > 0]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.monotonic() - t0
        busy1 = machine_busy()
        sectors1 = dq.device_sectors(filesystems)
        stats["nodeCPUSeconds"] += sum(B.tree_cpu_seconds(n.proc.pid) or 0 for n in via if n.proc is not None) - cpu0
        stats["busy"] = stats.get("busy", 0) + busy1[0] - busy0[0]
        stats["jiffies"] = stats.get("jiffies", 0) + busy1[1] - busy0[1]
        stats["machineBusyFraction"] = round(stats["busy"] / max(1, stats["jiffies"]), 3)
        done = [r for r in results if r is not None]
        ok = all(r[0] for r in done)
        tail = "; ".join(r[2] for r in done if not r[0])
        now = node.depth()
        stats["messages"] += max(0, now - have)
        stats["seconds"] += secs
        if sectors0 is not None and sectors1 is not None:
            stats["deviceBytes"] = stats.get("deviceBytes", 0) + (sectors1 - sectors0) * 512
            stats["deviceMessages"] = stats.get("deviceMessages", 0) + max(0, now - have)
            stats["nodesCounted"] = len(filesystems)
        B.log("restart: %s filled %d in %.1f s (%.0f msg/s, %d smtp-source), depth %d, disk free %.1f GB%s"
              % (tag, n, secs, n / max(secs, 1e-9), len(threads), now, disk_free_gb(d), "" if ok else ": " + tail))
        if not ok and secs < 1:
            raise B.Unavailable("smtp-source failed: " + tail)


def disk_free_gb(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 2 ** 30


def data_gb(nodes):
    return sum(dq.allocated_bytes(n.data) for n in nodes) / 2 ** 30


DEADLINE = [None]  # monotonic end of the run (--restart-minutes)
FILL_RESERVE = 7 * 60  # seconds of the run kept for the restarts after the cluster fill
PHASE_NEEDS = {"replay": 90, "kill": 90, "snapshot": 360}  # seconds a cluster phase is given at least


def fill_out_of_time():
    return DEADLINE[0] is not None and time.monotonic() > DEADLINE[0] - FILL_RESERVE


def out_of_time(phase):
    return DEADLINE[0] is not None and time.monotonic() > DEADLINE[0] - PHASE_NEEDS.get(phase, 0)


def single(bench, d, receiver, hold, depth):
    a = bench.args
    map_mb = max(16_384, int(depth * 16 * 1024 / 2 ** 20) + 4096)
    node = Node(d, a.sendarix_bin, NET + "0.3", "r1", receiver.port, MODE, map_mb=map_mb,
                hold_port=hold.port, receiver_port=receiver.port)
    out = {}
    fs = None
    try:
        fs, why = dq.data_filesystem(node.data, dq.image_bytes(depth + 10_000), before_stop=node.stop)
        node.fs = fs
        if fs is None:
            out["deviceBytesUnavailable"] = why
        node.start()
        first_accept(node)
        out["empty"] = restart(node)
        B.log("restart: single node, empty queue: %s" % out["empty"])
        t_fill = time.monotonic()
        fill(node, depth, d, "single", bounded=True)
        out["fillSeconds"] = round(time.monotonic() - t_fill, 1)
        out["depth"] = node.depth()
        s = node.sample()
        out["diskBytes"] = s["diskBytes"]
        out["deep"] = restart(node)
        out["deep"]["rssMBAfter"] = round((node.sample()["rssKB"] or 0) / 1024, 1)
        B.log("restart: single node, depth %d: %s" % (out["depth"], out["deep"]))
        try:
            hold.holding = True
            accepted = send_hold(node, 0, 200, "s")
            out["kill"] = kill_with_leases(node, hold, accepted)
        except Exception as e:  # the SIGTERM figures stand
            hold.holding = False
            out["kill"] = {"error": repr(e)[:300]}
        B.log("restart: single node SIGKILL with leases held, depth %d: %s" % (out["depth"], out["kill"]))
    finally:
        node.stop()
        dq.release_filesystem(fs)
        shutil.rmtree(node.data, ignore_errors=True)
    return out


def wait_pattern(watch, name, timeout):
    deadline = time.monotonic() + timeout
    while name not in watch.seen and time.monotonic() < deadline:
        time.sleep(0.05)
    return watch.seen.get(name)


def caught_up(node, target, timeout=900, progress=None, start=None):
    """Monotonic time at which `node`'s applied index reached `target`, or None. With `progress`
    (a dict) and `start` (the applied index before), records progress["first"] = (time, applied)
    when the applied index first moved past `start`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        applied = metric(node, "sendarix_raft_applied_index")
        if progress is not None and "first" not in progress and applied is not None and start is not None \
                and applied > start:
            progress["first"] = (time.monotonic(), applied)
        if target is not None and applied is not None and applied >= target:
            return time.monotonic()
        time.sleep(0.02)
    return None


def cluster(bench, d, receiver, hold, depth):
    a = bench.args
    ips = [NET + "1.%d" % (i + 1) for i in range(3)]
    secret = os.path.join(d, "cluster.key")
    with open(secret, "w") as f:
        f.write("bench-outage-secret-%d" % os.getpid())
    nodes = []
    map_mb = max(16_384, int(depth * 16 * 1024 / 2 ** 20) + 4096)
    for i, ip in enumerate(ips):
        peers = [{"id": "c%d" % (j + 1), "address": "%s:7700" % other} for j, other in enumerate(ips) if other != ip]
        nodes.append(Node(d, a.sendarix_bin, ip, "c%d" % (i + 1), receiver.port, MODE, peers=peers,
                          secret=secret, map_mb=map_mb, hold_port=hold.port, receiver_port=receiver.port,
                          env=COMPACT_ENV))
    out = {"compaction": dict(COMPACT_ENV)}
    filesystems = []

    def leader():
        for n in nodes:
            if n.proc is None:
                continue
            if metric(n, "sendarix_raft_is_leader") == 1:
                return n
        return None

    def wait_leader(timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lead = leader()
            if lead is not None:
                return lead
            time.sleep(0.1)
        raise B.Unavailable("no leader within %d s" % timeout)

    try:
        # Each member's data directory on a device of its own, with room for the spool snapshot the
        # leader writes and the follower receives (about a second copy of a member's data).
        size = dq.image_bytes(depth + 110_000, dq.CLUSTER_DATA_BYTES_PER_MESSAGE, copies=2.3)
        for n in nodes:
            n.fs, why = dq.data_filesystem(n.data, size, before_stop=n.stop)
            filesystems.append(n.fs)
            if n.fs is None:
                out["deviceBytesUnavailable"] = why
        for n in nodes:
            n.start(wait=False)
        for n in nodes:
            B.wait_smtp_ready(n.ip, n.port, 120.0, n.proc, what="sendarix " + n.id)
        lead = wait_leader()
        first_accept(lead)
        follower = next(n for n in nodes if n is not lead)
        out["emptyFollower"] = restart(follower, leader_of=lambda: leader() or lead)
        lead = wait_leader()
        out["emptyLeader"] = restart(lead, leader_of=lambda: leader() or nodes[0])
        lead = wait_leader()
        t_fill = time.monotonic()
        marks = [m for m in CHECKPOINTS if m < depth]
        if marks:
            out["checkpoints"] = []
        for mark in marks:
            # Restarts on the way to the full depth: the same follower / leader SIGTERM at each mark.
            if fill(lead, mark, d, "cluster", via=nodes, bounded=True) < mark:
                break
            out["checkpoints"].append(checkpoint(nodes, lead, leader, wait_leader))
            B.log("restart: cluster checkpoint: %s" % out["checkpoints"][-1])
            lead = wait_leader()
        fill(lead, depth, d, "cluster", via=nodes, bounded=True)
        out["fillSeconds"] = round(time.monotonic() - t_fill, 1)
        out["depth"] = lead.depth()
        out["dataGBPerNode"] = round(data_gb(nodes) / len(nodes), 2)
        out["diskKBPerMessagePerNode"] = round(data_gb(nodes) * 2 ** 30 / len(nodes) / max(1, out["depth"]) / 1024, 2)
        if a.restart_fill_only:
            return out
        follower = next(n for n in nodes if n is not lead)
        out["deepFollower"] = restart(follower, leader_of=lambda: leader() or lead)
        B.log("restart: cluster follower at depth %d: %s" % (out["depth"], out["deepFollower"]))
        lead = wait_leader()
        out["deepLeader"] = restart(lead, leader_of=lambda: leader() or nodes[0])
        B.log("restart: cluster leader at depth %d: %s" % (out["depth"], out["deepLeader"]))

        def replay_phase():
            # Raft log replay: a follower misses fewer entries than the leader retains.
            lead = wait_leader()
            follower = next(n for n in nodes if n is not lead)
            applied0 = metric(follower, "sendarix_raft_applied_index")
            follower.stop(grace=60)
            fill(lead, lead.depth() + 1_500, d, "replay", via=[n for n in nodes if n.proc is not None])
            target = metric(lead, "sendarix_raft_commit_index")
            watch = LogWatch(follower.logfile, PATTERNS)
            watch.start()
            t0 = time.monotonic()
            follower.start(wait=False)
            progress, accepted_at = {}, []
            prober = threading.Thread(target=lambda: accepted_at.append(first_accept(follower)))
            prober.start()  # the first 250 and the applied index are watched at once
            done = caught_up(follower, target, progress=progress, start=applied0)
            prober.join()
            acc = accepted_at[0] if accepted_at else None
            seen = watch.finish()
            behind = int(target - applied0) if target is not None and applied0 is not None else None
            secs = round(done - t0, 3) if done else None
            out["replay"] = {"entriesBehind": behind, "acceptSeconds": round(acc - t0, 3) if acc else None,
                             "caughtUpSeconds": secs,
                             "entriesPerSecond": round(behind / secs) if behind and secs else None,
                             "snapshotInstalled": "snapshotInstalled" in seen}
            if done and progress.get("first") is not None:
                # The first applied entry after the start: the leader's re-dial to the restarted
                # member (its backoff) is before it; the apply rate is after it.
                first_t, first_applied = progress["first"]
                out["replay"]["firstAppliedSeconds"] = round(first_t - t0, 3)
                if done > first_t and target is not None and target > first_applied:
                    out["replay"]["entriesPerSecondAfterFirst"] = round((target - first_applied) / (done - first_t))
            if "raftStarted" in seen:
                out["replay"]["raftStartedSeconds"] = round(seen["raftStarted"][0] - t0, 3)
            B.log("restart: follower replaying its log: %s" % out["replay"])

        def kill_phase():
            # SIGKILL of the member holding leases on messages in flight.
            hold.holding = True
            with hold.lock:
                hold.held = 0
            lead = wait_leader()
            follower = next(n for n in nodes if n is not lead)
            accepted = send_hold(follower, 0, 200, "c")
            deadline = time.monotonic() + 120
            while hold.counts()[0] < 10 and time.monotonic() < deadline:
                time.sleep(0.05)
            holder = max(nodes, key=lambda n: metric(n, "sendarix_deliveries_in_flight") or 0)
            out["kill"] = kill_with_leases(holder, hold, accepted)
            out["kill"]["killedRole"] = "leader" if holder is lead else "follower"
            B.log("restart: cluster %s SIGKILL with leases held: %s" % (out["kill"]["killedRole"], out["kill"]))

        def snapshot_phase():
            # Snapshot install: a follower stopped while the leader compacts past it.
            lead = wait_leader()
            follower = next(n for n in nodes if n is not lead)
            applied0 = metric(follower, "sendarix_raft_applied_index") or 0
            follower.stop(grace=60)
            lwatch = LogWatch(lead.logfile, {"compacted": b"raft log compacted", "snapshotSent": b"snapshot sent",
                                             "streamStarted": b"snapshot stream started"})
            lwatch.start()
            sent = 0
            compacted = False
            while sent < 100_000 and not compacted:
                fill(lead, lead.depth() + 5_000, d, "behind-%d" % sent, via=[n for n in nodes if n.proc is not None])
                sent += 5_000
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and not compacted:
                    for t, line in lwatch.every.get("compacted", []):
                        if int(log_fields(line).get("through", 0)) > applied0:
                            compacted = True
                    time.sleep(0.2)
            snap = {"missedMessages": sent, "leaderCompactedPastFollower": compacted}
            watch = LogWatch(follower.logfile, PATTERNS)
            watch.start()
            t0 = time.monotonic()
            follower.start(wait=False)
            acc = first_accept(follower)
            installed = wait_pattern(watch, "snapshotInstalled", 600)
            acc2 = first_accept(follower) if installed else None
            target = metric(leader() or lead, "sendarix_raft_commit_index")
            done = caught_up(follower, target) if installed else None
            seen = watch.finish()
            lseen = lwatch.finish()
            snap.update({"acceptSeconds": round(acc - t0, 3) if acc else None,
                         "acceptAfterInstallSeconds": round(acc2 - t0, 3) if acc2 else None,
                         "caughtUpSeconds": round(done - t0, 3) if done else None})
            for name in ("snapshotReceiving", "snapshotReceived", "restartForSnapshot", "shutdownDraining",
                         "deliveryStopped", "shutdownDone", "snapshotInstalled"):
                if name in seen:
                    snap[name + "Seconds"] = round(seen[name][0] - t0, 3)
            if "snapshotReceived" in seen and installed:
                snap["installSeconds"] = round(installed[0] - seen["snapshotReceived"][0], 3)
            if "snapshotReceiving" in seen and "snapshotReceived" in seen:
                snap["transferSeconds"] = round(seen["snapshotReceived"][0] - seen["snapshotReceiving"][0], 3)
            if "snapshotSent" in lseen:
                snap["snapshotBytes"] = int(log_fields(lseen["snapshotSent"][1]).get("bytes", 0)) or None
            out["snapshot"] = snap
            B.log("restart: follower %d messages behind, by snapshot: %s" % (sent, snap))

        for name, phase in (("replay", replay_phase), ("kill", kill_phase), ("snapshot", snapshot_phase)):
            if out_of_time(name):
                B.log("restart: cluster %s phase skipped: past --restart-minutes" % name)
                out[name] = {"skipped": "past --restart-minutes"}
                continue
            if name == "snapshot":
                # The leader writes a compacted copy of its spool with the queued bodies, the
                # follower receives a second copy: about twice a node's data on top of it.
                need = 2.2 * data_gb(nodes) / len(nodes) + 5
                if disk_free_gb(d) < need:
                    B.log("restart: cluster snapshot phase skipped: %.1f GB free, needs %.1f" % (disk_free_gb(d), need))
                    out[name] = {"skipped": "disk: %.1f GB free, needs %.1f" % (disk_free_gb(d), need)}
                    continue
                # Each member's own filesystem holds one of those copies beside its data.
                need_each = 1.1 * data_gb(nodes) / len(nodes) + 1.5
                tight = [n.id for n in nodes if n.fs is not None and disk_free_gb(n.data) < need_each]
                if tight:
                    B.log("restart: cluster snapshot phase skipped: %s has less than %.1f GB free" % (tight, need_each))
                    out[name] = {"skipped": "data filesystem of %s: less than %.1f GB free" % (tight, need_each)}
                    continue
            try:
                for n in nodes:  # a failed phase may have left a member stopped
                    if n.proc is None:
                        n.start()
                phase()
            except Exception as e:  # one phase failing leaves the figures of the others
                B.log("restart: cluster %s phase failed: %r" % (name, e))
                out.setdefault(name, {})["error"] = repr(e)[:300]
                hold.holding = False
    finally:
        for n in nodes:
            n.stop()
        for fs in filesystems:
            dq.release_filesystem(fs)
        for n in nodes:
            shutil.rmtree(n.data, ignore_errors=True)
    return out


CHECKPOINTS = []  # cluster depths at which a follower and the leader are restarted on the way (--restart-checkpoints)


def checkpoint(nodes, lead, leader, wait_leader):
    """At a fill checkpoint: disk per message, then a follower and the leader restarted (SIGTERM)."""
    depth = lead.depth()
    gb = data_gb(nodes) / len(nodes)
    row = {"depth": depth, "dataGBPerNode": round(gb, 2),
           "diskKBPerMessagePerNode": round(gb * 2 ** 30 / max(1, depth) / 1024, 2)}
    fill_stats = FILL_STATS.get("cluster") or {}
    if fill_stats.get("seconds"):
        row["fillMsgsPerSecondSoFar"] = round(fill_stats["messages"] / fill_stats["seconds"])
    follower = next(n for n in nodes if n is not lead)
    row["follower"] = restart(follower, leader_of=lambda: leader() or lead)
    lead = wait_leader()
    row["leader"] = restart(lead, leader_of=lambda: leader() or nodes[0])
    return row


def ratio(deep, empty, key="acceptSeconds"):
    if not deep or not empty or deep.get(key) is None or not empty.get(key):
        return None
    return round(deep[key] / empty[key], 3)


def headline(res, s, c):
    """The flat figures of `results.restart` from the scenario dicts (single `s`, cluster `c`;
    either may be None)."""
    if s is not None:
        headline_single(res, s)
    if c is not None:
        headline_cluster(res, c)


def headline_single(res, s):
    res["acceptSecondsSingleEmpty"] = s["empty"].get("acceptSeconds")
    res["acceptSecondsSingleDeep"] = s["deep"].get("acceptSeconds")
    res["ratioAcceptSingleDeepToEmpty"] = ratio(s["deep"], s["empty"])
    res["leaseRecoverySecondsSingleDeep"] = s["deep"].get("leaseRecoveryDoneSeconds")
    k = s.get("kill") or {}
    res["acceptSecondsSingleKill"] = k.get("acceptSeconds")
    res["leaseRecoverySecondsSingleKill"] = k.get("leaseRecoveryDoneSeconds")
    res["leasesRecoveredSingleKill"] = k.get("leaseRecoveryExamined")
    res["allDeliveredSecondsSingleKill"] = k.get("allDeliveredSeconds")
    res["lostSingleKill"] = k.get("lost")


def headline_cluster(res, c):
    res["acceptSecondsFollowerDeep"] = (c.get("deepFollower") or {}).get("acceptSeconds")
    res["acceptSecondsLeaderDeep"] = (c.get("deepLeader") or {}).get("acceptSeconds")
    res["ratioAcceptFollowerDeepToEmpty"] = ratio(c.get("deepFollower"), c.get("emptyFollower"))
    res["ratioAcceptLeaderDeepToEmpty"] = ratio(c.get("deepLeader"), c.get("emptyLeader"))
    res["ratioCatchUpFollowerDeepToEmpty"] = ratio(c.get("deepFollower"), c.get("emptyFollower"), "caughtUpSeconds")
    r = c.get("replay") or {}
    res["acceptSecondsReplayFollower"] = r.get("acceptSeconds")
    res["replayEntries"] = r.get("entriesBehind")
    res["replaySeconds"] = r.get("caughtUpSeconds")
    res["replayEntriesPerSecond"] = r.get("entriesPerSecond")
    res["replayEntriesPerSecondAfterFirst"] = r.get("entriesPerSecondAfterFirst")
    res["replayFirstAppliedSeconds"] = r.get("firstAppliedSeconds")
    k = c.get("kill") or {}
    res["acceptSecondsClusterKill"] = k.get("acceptSeconds")
    res["leaseRecoverySecondsClusterKill"] = k.get("leaseRecoveryDoneSeconds")
    res["leasesRecoveredClusterKill"] = k.get("leaseRecoveryExamined")
    res["allDeliveredSecondsClusterKill"] = k.get("allDeliveredSeconds")
    res["lostClusterKill"] = k.get("lost")
    n = c.get("snapshot") or {}
    res["acceptSecondsSnapshotFollower"] = n.get("acceptSeconds")
    res["snapshotBytes"] = n.get("snapshotBytes")
    res["snapshotTransferSeconds"] = n.get("transferSeconds")
    res["snapshotInstallSeconds"] = n.get("installSeconds")
    res["snapshotCaughtUpSeconds"] = n.get("caughtUpSeconds")
    if n.get("acceptAfterInstallSeconds") is not None and n.get("snapshotReceivedSeconds") is not None:
        # The node is down from the snapshot's arrival (it re-executes itself) until it accepts again.
        res["acceptSecondsAfterSnapshotRestart"] = round(n["acceptAfterInstallSeconds"] - n["snapshotReceivedSeconds"], 3)


def report_rows(results):
    """Rows for bench.py's printed table: (metric, postfix, sendarix, ratio, better)."""
    r = results.get("restart") or {}
    if not r.get("available"):
        return []
    out = []
    for k in sorted(r):
        if r[k] is None or isinstance(r[k], dict):
            continue
        if k.startswith("acceptSeconds"):
            out.append(("restart: " + k, "", str(r[k]), "", "< 10 s"))
        elif k.startswith("lost"):
            out.append(("restart: " + k, "", str(r[k]), "", "0"))
        elif k.startswith(("ratio", "leaseRecovery", "leasesRecovered", "allDelivered", "replay", "snapshot")):
            out.append(("restart: " + k, "", str(r[k]), "", ""))
    return out


def fill_row(v):
    """The reported figures of one FILL_STATS entry."""
    row = {k: v[k] for k in ("messages", "seconds", "machineBusyFraction", "sessionsPerSource") if k in v}
    row["seconds"] = round(v["seconds"], 1)
    row["msgsPerSecond"] = round(v["messages"] / v["seconds"]) if v["seconds"] else None
    if v["messages"]:
        # All Sendarix processes of the fill together (three members in the cluster).
        row["nodeCPUMsPerMessage"] = round(v["nodeCPUSeconds"] * 1000 / v["messages"], 3)
    if v.get("deviceMessages"):
        # Sectors the members' data devices wrote per message queued, all members together and
        # per member.
        row["deviceBytesPerMsg"] = round(v["deviceBytes"] / v["deviceMessages"])
        row["deviceBytesPerMsgPerNode"] = round(v["deviceBytes"] / v["deviceMessages"] / max(1, v["nodesCounted"]))
    return row


def run(bench):
    a = bench.args
    FILL_SESSIONS[0] = getattr(a, "restart_fill_sessions", None) or 20
    CHECKPOINTS[:] = sorted(int(x) for x in (getattr(a, "restart_checkpoints", None) or "").split(",") if x.strip())
    depth = a.restart_depth or (20_000 if a.quick else 1_000_000)
    cdepth = a.restart_cluster_depth or max(2_000, depth // 10)
    if a.restart_no_single and a.restart_no_cluster:
        bench.results["restart"] = {"available": False, "reason": "--restart-no-single with --restart-no-cluster"}
        return
    if a.restart_minutes:
        DEADLINE[0] = time.monotonic() + a.restart_minutes * 60
    res = {"available": True, "depth": None if a.restart_no_single else depth,
           "clusterDepth": None if a.restart_no_cluster else cdepth,
           "loadavgStart": round(os.getloadavg()[0], 2), "diskFreeGBStart": round(disk_free_gb(bench.dir("restart")), 1)}
    d = bench.dir("restart")
    receiver = Receiver(RECEIVER_IP, B.pick_port(RECEIVER_IP, 2527))
    hold = HoldReceiver(HOLD_IP, B.pick_port(HOLD_IP, 2528))
    try:
        receiver.start()
        hold.start()
        s = None
        if not a.restart_no_single:
            s = single(bench, d, receiver, hold, depth)
            res["single"] = s
        c = None
        if not a.restart_no_cluster:
            c = cluster(bench, d, receiver, hold, cdepth)
            res["cluster"] = c
        headline(res, s, c)
        worst = max([v for k, v in res.items() if k.startswith("acceptSeconds") and v is not None] or [0])
        res["ratioWorstAcceptToBudget"] = round(worst / 10.0, 3)
        lost = [v for k, v in res.items() if k.startswith("lost") and v is not None]
        res["lostMessages"] = sum(lost) if lost else None
        res["fill"] = {k: fill_row(v) for k, v in FILL_STATS.items()}
        B.log("restart: fill: %s" % json.dumps(res["fill"]))
        res["loadavgEnd"] = round(os.getloadavg()[0], 2)
    except B.Unavailable as e:
        res.update({"available": False, "reason": str(e)})
    finally:
        receiver.stop()
        hold.stop()
    bench.results["restart"] = res
