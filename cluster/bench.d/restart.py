"""The `restart` scenario of cluster/bench (issue 16, item 2): restarting with a deep queue.

Single node (127.63.0.3): restarted with an empty queue, then again with --restart-depth queued
5 KB messages (default 1,000,000; --quick 20,000), deferred by the bench receiver (421 to
everything, as in an outage) so they carry retry times and leases. Each restart is SIGTERM, wait
for exit, start; measured from the start: the 220 greeting, the first 250 to a message
(`acceptSeconds...`, target under 10 s), `raft started` in the log (the log opened and replayed),
and `delivery.lease_recovery_done` (the scheduler took back the leases it held).

Then a SIGKILL while the receiver takes mail (deliveries in flight hold leases): the restart's
timings, the leases recovered, and `lost` (acknowledged messages neither queued nor delivered,
counted by the relay's queue IDs at the receiver; must be 0).

Three-node cluster (127.63.1.1-3) at the same depth: a follower restart and a leader restart, each
timed to its first 250, to `raft started` (the Raft log opened and replayed) and to the moment its
applied index reaches the leader's commit index; then a follower is stopped for longer than the
compaction hold (SNAPSHOT_HOLD, lowered for the bench through the environment) while more mail
arrives and the leader compacts its log, so it comes back through a spool snapshot
(`installed a spool snapshot`): snapshot install time and catch-up time; last the leader is
the node delivering (holding leases) is SIGKILLed as above.

Ratios: each `acceptSeconds...` at depth over the same restart with the empty queue."""
import os
import re
import shutil
import threading
import time

import deepqueue as dq
from outage_receiver import Receiver

B = __import__("__main__")

# Compaction settings of the cluster nodes (environment overrides; the defaults are 600 s and 50,000).
SNAPSHOT_HOLD = 15
COMPACT_AT = 20_000

MODE = {"retrySchedule": [60, 300, 900], "breakerOpenSeconds": 30, "shapedRate": 300, "maxConnections": 10}


class LogWatch(threading.Thread):
    """Tails a node's log from its current end; records when each pattern first appears."""

    def __init__(self, path, patterns):
        super().__init__(daemon=True)
        self.path, self.patterns = path, patterns
        self.seen = {}
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
                        if name not in self.seen and pat in line:
                            self.seen[name] = (now, line.decode("utf-8", "replace")[:400])
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
        try:
            c = B.SMTPConn(node.ip, node.port, timeout=5)
            c.greet()
            c.ehlo()
            c.send_message(body)
            c.quit_and_close()
            return time.monotonic()
        except (OSError, B.SMTPError):
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
            "snapshotInstalled": b"installed a spool snapshot", "role": b"raft role"}


def restart(node, leader_of=None, stop_grace=60.0, kill=False):
    """Stops (SIGTERM, or SIGKILL with `kill`) and starts `node`; returns the timings (seconds from
    the start of the new process)."""
    t_stop = time.monotonic()
    if kill and node.proc is not None:
        node.proc.kill()  # SIGKILL: no outcome recorded, leases left behind
        node.proc.wait(timeout=60)
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


def kill_restart(pick, receiver, depth_of, leader_of=None):
    """SIGKILL of the node `pick()` names once the receiver takes mail (deliveries in flight hold
    leases), then a start:
    timings as `restart`, the leases recovered, and the check that no acknowledged message is lost:
    every one is still queued or reached the receiver (distinct queue IDs; a delivery whose outcome
    the kill cut off is sent again, counted in `duplicates`)."""
    u0, _ = receiver.unique_delivered()
    expected = depth_of() + u0
    receiver.deferring = False
    # The breaker opened during the outage: the first probe after it reopens starts the drain.
    deadline = time.monotonic() + 150
    while receiver.unique_delivered()[0] < u0 + 100 and time.monotonic() < deadline:
        time.sleep(0.1)
    node = pick()
    out = {"killed": node.id, "deliveredBeforeKill": receiver.unique_delivered()[0] - u0,
           "inFlightAtKill": metric(node, "sendarix_deliveries_in_flight")}
    out.update(restart(node, leader_of=(lambda: leader_of(node)) if leader_of else None, kill=True))
    expected += 1  # the message first_accept sent after the start
    u1, _ = receiver.unique_delivered()
    time.sleep(10)
    out["deliveredInTenSecondsAfterStart"] = receiver.unique_delivered()[0] - u1
    receiver.deferring = True
    time.sleep(3)  # attempts in flight finish
    depth = depth_of()
    u2, dup = receiver.unique_delivered()
    out["expected"] = expected
    out["queuedAfter"] = depth
    out["deliveredTotal"] = u2 - u0
    out["duplicates"] = dup
    out["lost"] = max(0, expected - (depth + u2))
    return out


def fill(node, depth, d, tag):
    while True:
        have = node.depth()
        if have >= depth:
            return have
        n = min(50_000, depth - have)
        ok, secs, tail = dq.run_source(node, n, d, "%s-%d" % (tag, have))
        B.log("restart: %s filled %d in %.1f s, depth %d%s" % (tag, n, secs, node.depth(), "" if ok else ": " + tail))
        if not ok and secs < 1:
            raise B.Unavailable("smtp-source failed: " + tail)


def single(bench, d, receiver, depth):
    a = bench.args
    map_mb = max(16_384, int(depth * 16 * 1024 / 2 ** 20) + 4096)
    node = dq.Node(d, a.sendarix_bin, dq.NET + "3", "r1", receiver.port, MODE, map_mb=map_mb)
    out = {}
    try:
        node.start()
        first_accept(node)
        out["empty"] = restart(node)
        B.log("restart: single node, empty queue: %s" % out["empty"])
        fill(node, depth, d, "single")
        out["depth"] = node.depth()
        s = node.sample()
        out["diskBytes"] = s["diskBytes"]
        out["deep"] = restart(node)
        out["deep"]["rssMBAfter"] = round((node.sample()["rssKB"] or 0) / 1024, 1)
        B.log("restart: single node, depth %d: %s" % (out["depth"], out["deep"]))
        out["kill"] = kill_restart(lambda: node, receiver, node.depth)
        B.log("restart: single node SIGKILL at depth %d: %s" % (out["depth"], out["kill"]))
    finally:
        node.stop()
        shutil.rmtree(node.data, ignore_errors=True)
    return out


def cluster(bench, d, receiver, depth):
    a = bench.args
    ips = ["127.63.1.%d" % (i + 1) for i in range(3)]
    secret = os.path.join(d, "cluster.key")
    with open(secret, "w") as f:
        f.write("bench-outage-secret-%d" % os.getpid())
    nodes = []
    map_mb = max(16_384, int(depth * 16 * 1024 / 2 ** 20) + 4096)
    for i, ip in enumerate(ips):
        peers = [{"id": "c%d" % (j + 1), "address": "%s:7700" % other} for j, other in enumerate(ips) if other != ip]
        nodes.append(dq.Node(d, a.sendarix_bin, ip, "c%d" % (i + 1), receiver.port, MODE, peers=peers,
                             secret=secret, map_mb=map_mb))
        # A member down for more than SNAPSHOT_HOLD seconds no longer holds back compaction, which
        # starts at COMPACT_AT entries: a follower away that long comes back through a snapshot.
        nodes[-1].env = {"SENDARIX_RAFT_COMPACTION_HOLD_SECONDS": str(SNAPSHOT_HOLD),
                         "SENDARIX_RAFT_COMPACT_THRESHOLD": str(COMPACT_AT)}
    out = {}

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
        fill(lead, depth, d, "cluster")
        out["depth"] = lead.depth()
        follower = next(n for n in nodes if n is not lead)
        out["deepFollower"] = restart(follower, leader_of=lambda: leader() or lead)
        B.log("restart: cluster follower at depth %d: %s" % (out["depth"], out["deepFollower"]))
        lead = wait_leader()
        out["deepLeader"] = restart(lead, leader_of=lambda: leader() or nodes[0])
        B.log("restart: cluster leader at depth %d: %s" % (out["depth"], out["deepLeader"]))
        # A follower that misses more than the leader keeps in its log comes back by snapshot.
        lead = wait_leader()
        follower = next(n for n in nodes if n is not lead)
        follower.stop(grace=60)
        t_down = time.monotonic()
        more = max(2_000, min(depth // 10, 20_000), COMPACT_AT)
        fill(lead, out["depth"] + more, d, "behind")
        time.sleep(max(0.0, SNAPSHOT_HOLD + 5 - (time.monotonic() - t_down)))
        # More entries after the hold, so the leader compacts past the follower.
        fill(lead, lead.depth() + 2_000, d, "behind2")
        more += 2_000
        watch = LogWatch(follower.logfile, PATTERNS)
        watch.start()
        t0 = time.monotonic()
        follower.start(wait=False)
        g = greeting(follower)
        acc = first_accept(follower)
        target = metric(leader() or lead, "sendarix_raft_commit_index")
        caught = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            applied = metric(follower, "sendarix_raft_applied_index")
            if target is not None and applied is not None and applied >= target:
                caught = time.monotonic()
                break
            time.sleep(0.1)
        seen = watch.finish()
        behind = {"missedMessages": more, "greetingSeconds": round(g - t0, 3) if g else None,
                  "acceptSeconds": round(acc - t0, 3) if acc else None,
                  "caughtUpSeconds": round(caught - t0, 3) if caught else None}
        for name in ("raftStarted", "snapshotInstalled", "leaseRecoveryDone"):
            if name in seen:
                behind[name + "Seconds"] = round(seen[name][0] - t0, 3)
        out["behindFollower"] = behind
        B.log("restart: follower %d messages behind: %s" % (more, behind))
        lead = wait_leader()

        def busiest():
            # The node delivering example.test (its preferred owner) holds the leases.
            return max(nodes, key=lambda n: metric(n, "sendarix_deliveries_in_flight") or 0)

        def other_leader(killed):
            lead_now = leader()
            return lead_now if lead_now is not None and lead_now is not killed else \
                next(n for n in nodes if n is not killed)

        out["killDelivering"] = kill_restart(busiest, receiver, lambda: (leader() or lead).depth(),
                                             leader_of=other_leader)
        B.log("restart: cluster SIGKILL of the delivering node: %s" % out["killDelivering"])
    finally:
        for n in nodes:
            n.stop()
        for n in nodes:
            shutil.rmtree(n.data, ignore_errors=True)
    return out


def ratio(deep, empty, key="acceptSeconds"):
    if not deep or not empty or deep.get(key) is None or not empty.get(key):
        return None
    return round(deep[key] / empty[key], 3)


def run(bench):
    a = bench.args
    depth = a.restart_depth or (20_000 if a.quick else 1_000_000)
    cdepth = depth  # the cluster restarts at the same depth as the single node
    res = {"available": True, "depth": depth, "clusterDepth": cdepth, "loadavgStart": round(os.getloadavg()[0], 2)}
    d = bench.dir("restart")
    receiver = Receiver(dq.RECEIVER_IP, B.pick_port(dq.RECEIVER_IP, 2527))
    try:
        receiver.start()
        s = single(bench, d, receiver, depth)
        res["single"] = s
        res["acceptSecondsSingleEmpty"] = s["empty"].get("acceptSeconds")
        res["acceptSecondsSingleDeep"] = s["deep"].get("acceptSeconds")
        res["ratioAcceptSingleDeepToEmpty"] = ratio(s["deep"], s["empty"])
        res["leaseRecoverySecondsSingleDeep"] = s["deep"].get("leaseRecoveryDoneSeconds")
        k = s.get("kill", {})
        res["acceptSecondsSingleKilled"] = k.get("acceptSeconds")
        res["leaseRecoverySecondsSingleKilled"] = k.get("leaseRecoveryDoneSeconds")
        res["leasesRecoveredSingleKilled"] = k.get("leaseRecoveryExamined")
        res["lostSingleKilled"] = k.get("lost")
        if not a.restart_no_cluster:
            c = cluster(bench, d, receiver, cdepth)
            res["cluster"] = c
            res["acceptSecondsFollowerDeep"] = c["deepFollower"].get("acceptSeconds")
            res["acceptSecondsLeaderDeep"] = c["deepLeader"].get("acceptSeconds")
            res["ratioAcceptFollowerDeepToEmpty"] = ratio(c["deepFollower"], c["emptyFollower"])
            res["ratioAcceptLeaderDeepToEmpty"] = ratio(c["deepLeader"], c["emptyLeader"])
            res["ratioCatchUpFollowerDeepToEmpty"] = ratio(c["deepFollower"], c["emptyFollower"], "caughtUpSeconds")
            res["acceptSecondsBehindFollower"] = c["behindFollower"].get("acceptSeconds")
            res["snapshotInstallSeconds"] = c["behindFollower"].get("snapshotInstalledSeconds")
            res["raftReplaySecondsLeaderDeep"] = c["deepLeader"].get("raftStartedSeconds")
            res["raftReplaySecondsFollowerDeep"] = c["deepFollower"].get("raftStartedSeconds")
            kl = c.get("killDelivering", {})
            res["acceptSecondsClusterKilled"] = kl.get("acceptSeconds")
            res["leaseRecoverySecondsClusterKilled"] = kl.get("leaseRecoveryDoneSeconds")
            res["lostClusterKilled"] = kl.get("lost")
        worst = max([v for k, v in res.items() if k.startswith("acceptSeconds") and v is not None] or [0])
        res["ratioWorstAcceptToBudget"] = round(worst / 10.0, 3)
        res["loadavgEnd"] = round(os.getloadavg()[0], 2)
    except B.Unavailable as e:
        res.update({"available": False, "reason": str(e)})
    finally:
        receiver.stop()
    bench.results["restart"] = res
