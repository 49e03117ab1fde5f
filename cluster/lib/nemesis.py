"""cluster/nemesis: a bounded run of mixed faults on a local 3-node cluster under retrying SMTP
load, with delivery checked end to end at a receiver of our own (the checks of cluster/roll).

Faults, chosen from --seed: SIGKILL of a random node or of the leader (restarted after a few
seconds); SIGSTOP of a node or of the leader for longer than the election timeout, then SIGCONT;
iptables partitions on loopback (one node isolated both ways, one node unable to reach another,
the leader isolated), healed after a few seconds; one node's clock jumped forward and back through
its clock-offset file; one node's data directory (a small tmpfs) filled with a ballast file for a
while. --leader-kills N first kills the leader N times back to back, each time waiting for a new
leader and for acceptance to resume. After the load: acknowledged / delivered / lost / duplicated
/ stuck messages, body mismatches, the longest interval without any 250 across all clients, and
per fault its figures and anomalies. The last stdout line is a JSON object.
Exit status: 0 when nothing was lost, stuck, altered, late or anomalous; 1 otherwise; 2 on a harness
error. Everything it starts (receiver, nodes, iptables chain, tmpfs, directory) is removed on every
exit path.
"""
import argparse
import collections
import errno
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roll  # noqa: E402  (cluster/lib/roll.py: receiver, cluster driver, load, checks)

KINDS = ["kill", "pause", "partition", "clock", "disk"]
IPTABLES = "/usr/sbin/iptables"
PEER_PORT = 7700


def log(msg):
    print(f"[nemesis {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def longest_gap(times, start, end):
    """Longest interval inside [start, end] without any of `times` (sorted), edges included."""
    points = [start] + [t for t in times if start < t < end] + [end]
    return max((b - a for a, b in zip(points, points[1:])), default=0.0)


# ---------------------------------------------------------------------------------------------
# Fault machinery


class Firewall:
    """DROP rules in a chain of our own, jumped to from OUTPUT (all loopback traffic passes it).
    The chain's name comes from the base address, so a run killed before it could clean up has its
    leftovers flushed by the next run on the same addresses."""

    def __init__(self, base):
        self.chain = "SXNEM_" + base.rstrip(".").replace(".", "_")
        self.active = False

    def ipt(self, *args, check=True):
        r = subprocess.run([IPTABLES, "-w", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"iptables {' '.join(args)}: {r.stderr.strip()}")
        return r.returncode == 0

    def setup(self):
        self.active = True
        self.ipt("-N", self.chain, check=False)
        self.ipt("-F", self.chain)
        if not self.ipt("-C", "OUTPUT", "-j", self.chain, check=False):
            self.ipt("-I", "OUTPUT", "1", "-j", self.chain)

    def drop(self, src, dst, port=None):
        rule = ["-s", src, "-d", dst] + (["-p", "tcp", "--dport", str(port)] if port else []) + ["-j", "DROP"]
        self.ipt("-A", self.chain, *rule)

    def heal(self):
        self.ipt("-F", self.chain)

    def rules(self):
        r = subprocess.run([IPTABLES, "-w", "-S", self.chain], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return [l for l in r.stdout.splitlines() if l.startswith("-A")]

    def teardown(self):
        if not self.active:
            return
        while self.ipt("-D", "OUTPUT", "-j", self.chain, check=False):
            pass
        self.ipt("-F", self.chain, check=False)
        self.ipt("-X", self.chain, check=False)
        self.active = False


class Nemesis:
    """Runs the faults against a roll.Cluster under a roll.Load and records what each did."""

    def __init__(self, a, cluster, load, firewall, disk_node):
        self.a, self.cluster, self.load, self.fw, self.disk_node = a, cluster, load, firewall, disk_node
        self.paused = set()  # pids stopped by us, continued on every exit path
        self.records = []
        self.anomalies = []

    # -- cluster state ----------------------------------------------------------------------

    def pid(self, nid):
        try:
            return int(open(os.path.join(self.cluster.dir, nid, "pid")).read())
        except (OSError, ValueError):
            return None

    def alive(self, nid):
        p = self.pid(nid)
        if p is None:
            return False
        try:
            os.kill(p, 0)
        except OSError:
            return False
        try:  # a zombie (exited, not yet reaped by its nohup shell) is dead
            return open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def role(self, nid):
        try:
            status, h = self.cluster.admin(nid, "/health", timeout=1)
            if status == 200:
                r = h.get("raft", {})
                return r.get("role"), r.get("term", 0)
        except Exception:
            pass
        return None, 0

    def leader(self, among=None, seconds=30):
        """The node that says it is leader (highest term), waiting up to `seconds`; None if none."""
        end = time.time() + seconds
        while True:
            best = None
            for nid in among or self.cluster.ids:
                role, term = self.role(nid)
                if role == "leader" and (best is None or term > best[1]):
                    best = (nid, term)
            if best or time.time() >= end:
                return best[0] if best else None
            time.sleep(0.05)

    def last_ack(self):
        with self.load.lock:
            if not self.load.acked:
                return 0.0
            return next(reversed(self.load.acked.values()))["at"]

    def wait_ack_after(self, t, seconds):
        """Time of the first acknowledgement after `t` (waiting up to `seconds`), or None."""
        end = time.time() + seconds
        while time.time() < end:
            at = self.last_ack()
            if at > t:
                with self.load.lock:
                    return min(v["at"] for v in list(self.load.acked.values())[-200:] if v["at"] > t)
            time.sleep(0.02)
        return None

    def log_tail(self, nid, n=15):
        try:
            return open(os.path.join(self.cluster.dir, nid, "node.log"), errors="replace").read().splitlines()[-n:]
        except OSError:
            return []

    def recover(self, rec, seconds=60):
        """After a fault is healed: every node running (an unexpected exit is an anomaly, and the
        node is restarted) and healthy with a leader; records the seconds it took."""
        for nid in self.cluster.ids:
            if not self.alive(nid):
                self.anomaly(rec, f"{nid} exited during the fault (not killed by us); log tail: "
                             + " | ".join(self.log_tail(nid, 8)))
                self.cluster.script("restart", nid)
        t = time.time()
        if not self.cluster.wait_healthy(self.cluster.ids, seconds):
            states = {n: self.role(n) for n in self.cluster.ids}
            self.anomaly(rec, f"not every node healthy with a leader {seconds:g} s after the fault ended: {states}")
            if not self.cluster.wait_healthy(self.cluster.ids, 120):
                raise RuntimeError("the cluster did not recover in 180 s after a fault")
        rec["recoverySeconds"] = round(time.time() - t, 2)

    def anomaly(self, rec, text):
        log(f"ANOMALY ({rec['kind']}): {text}")
        rec.setdefault("anomalies", []).append(text)
        self.anomalies.append(f"{rec['kind']} #{rec['n']}: {text}")

    def refusals_between(self, start, end):
        with self.load.lock:
            return collections.Counter(label for t, label in self.load.refusals if start <= t <= end)

    # -- faults -------------------------------------------------------------------------------

    def run(self, rng, kind, n):
        rec = {"n": n, "kind": kind, "start": time.time()}
        getattr(self, "fault_" + kind)(rng, rec)
        rec["healedAt"] = time.time()
        self.recover(rec)
        rec["end"] = time.time()
        rec["refusals"] = dict(self.refusals_between(rec["start"], rec["end"]))
        self.records.append(rec)
        log(f"fault {n} {kind}/{rec.get('variant')} on {rec.get('node', rec.get('nodes'))}: "
            f"healthy {rec['recoverySeconds']:.1f} s after the end; refusals {rec['refusals']}")
        return rec

    def kill(self, nid, rec):
        live = [x for x in self.cluster.ids if x != nid]
        rec["killedAt"] = time.time()
        self.cluster.script("kill", nid)
        rec["leased"], _ = roll.leased_by(self.cluster, nid, live, rec["killedAt"])

    def fault_kill(self, rng, rec):
        variant = rng.choice(["leader", "random"])
        down = rng.uniform(1, 4)
        nid = self.leader() if variant == "leader" else rng.choice(self.cluster.ids)
        nid = nid or rng.choice(self.cluster.ids)
        rec.update(variant=variant, node=nid, downSeconds=round(down, 1))
        self.kill(nid, rec)
        time.sleep(down)
        self.cluster.script("restart", nid)

    def leader_kill(self, rec):
        """One SIGKILL of the leader: waits for a new leader and the first 250 after the kill, then
        restarts the dead node after --down s in all."""
        old = self.leader()
        if old is None:
            raise RuntimeError("no leader to kill")
        live = [x for x in self.cluster.ids if x != old]
        rec.update(variant="leader", node=old)
        self.kill(old, rec)
        new = self.leader(live, 30)
        rec["newLeader"] = new
        rec["electionSeconds"] = round(time.time() - rec["killedAt"], 2) if new else None
        first = self.wait_ack_after(rec["killedAt"], 30)
        if new is None:
            self.anomaly(rec, "no new leader 30 s after the leader was killed")
        if first is None:
            self.anomaly(rec, "no message acknowledged 30 s after the leader was killed")
        rec["firstAckAfterKillSeconds"] = round(first - rec["killedAt"], 2) if first else None
        time.sleep(max(0.0, rec["killedAt"] + self.a.down - time.time()))
        self.cluster.script("restart", old)

    def fault_pause(self, rng, rec):
        variant = rng.choice(["leader", "random"])
        hold = rng.uniform(self.a.pause_min, self.a.pause_max)
        nid = (self.leader() if variant == "leader" else None) or rng.choice(self.cluster.ids)
        rec.update(variant=variant, node=nid, holdSeconds=round(hold, 1))
        rec["wasLeader"] = self.leader(seconds=1) == nid
        others = [x for x in self.cluster.ids if x != nid]
        p = self.pid(nid)
        t0 = time.time()
        os.kill(p, signal.SIGSTOP)
        self.paused.add(p)
        new_leader = None
        while time.time() < t0 + hold:
            if rec["wasLeader"] and new_leader is None:
                new_leader = self.leader(others, 0)
                if new_leader:
                    rec.update(newLeader=new_leader, newLeaderSeconds=round(time.time() - t0, 2))
            time.sleep(0.1)
        first = self.wait_ack_after(t0, 0.01)
        rec["acceptedWhilePaused"] = first is not None
        if first is not None:
            rec["firstAckSeconds"] = round(first - t0, 2)
        os.kill(p, signal.SIGCONT)
        self.paused.discard(p)
        if rec["wasLeader"] and new_leader is None:
            self.anomaly(rec, f"no other node became leader while the leader {nid} was stopped for {hold:.1f} s")

    def fault_partition(self, rng, rec):
        variant = rng.choice(["isolate", "oneway", "leader"])
        hold = rng.uniform(3, 6)
        ip = self.cluster.ip
        if variant == "oneway":
            # A's packets to B's peer port are dropped: A cannot dial B (so cannot send it anything),
            # while B still reaches A and gets its answers (a node writes only on connections it dialled).
            a_, b_ = rng.sample(self.cluster.ids, 2)
            rec.update(nodes=[a_, b_], leaderAtStart=self.leader(seconds=2))
            self.fw.drop(ip[a_], ip[b_], PEER_PORT)
        else:
            nid = (self.leader() if variant == "leader" else None) or rng.choice(self.cluster.ids)
            rec["node"] = nid
            for other in self.cluster.ids:
                if other != nid:
                    self.fw.drop(ip[nid], ip[other])
                    self.fw.drop(ip[other], ip[nid])
        rec.update(variant=variant, holdSeconds=round(hold, 1), rules=len(self.fw.rules()))
        time.sleep(hold)
        if variant != "oneway":
            # The isolated node must refuse (451) rather than acknowledge: its 250s would be lost.
            rec["leaderDuringCut"] = self.leader([x for x in self.cluster.ids if x != rec["node"]], 1)
        self.fw.heal()

    def write_offset(self, nid, ms):
        path = os.path.join(self.cluster.dir, nid, "clock-offset")
        if ms == 0:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return
        tmp = path + ".tmp"
        open(tmp, "w").write(f"{ms}\n")
        os.replace(tmp, path)

    def fault_clock(self, rng, rec):
        nid = rng.choice(self.cluster.ids)
        jump = int(self.a.clock_jump * 1000)
        rec.update(variant=f"+{self.a.clock_jump:g}s/-{self.a.clock_jump:g}s", node=nid, holdSeconds=self.a.clock_hold)
        try:
            self.write_offset(nid, jump)
            time.sleep(self.a.clock_hold)
            self.write_offset(nid, -jump)
            time.sleep(self.a.clock_hold)
        finally:
            self.write_offset(nid, 0)
        time.sleep(0.6)  # the node re-reads the file every 0.5 s

    def fault_disk(self, rng, rec):
        nid = self.disk_node
        path = os.path.join(self.cluster.dir, nid, "data", "ballast")
        rec.update(variant="ballast", node=nid, holdSeconds=self.a.disk_hold, wasLeader=self.leader(seconds=1) == nid)
        filled = 0
        try:
            with open(path, "wb", buffering=0) as f:
                for chunk in (1 << 20, 1 << 12):
                    block = b"\0" * chunk
                    while True:
                        try:
                            filled += f.write(block)
                        except OSError as e:
                            if e.errno != errno.ENOSPC:
                                raise
                            break
            st = os.statvfs(os.path.dirname(path))
            rec["ballastMiB"] = round(filled / 1048576, 1)
            rec["freeBytesWhileFull"] = st.f_bavail * st.f_frsize
            log(f"disk: {nid}'s data dir full ({rec['ballastMiB']} MiB ballast); holding {self.a.disk_hold:g} s")
            end = time.time() + self.a.disk_hold
            died = None
            while time.time() < end:
                if died is None and not self.alive(nid):
                    died = time.time()
                time.sleep(0.1)
            rec["nodeAliveWhileFull"] = died is None
            rec["roleWhileFull"] = self.role(nid)[0]
            rec["leaderWhileFull"] = self.leader(seconds=1)
        finally:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


# ---------------------------------------------------------------------------------------------


def plan(rng, kinds, count):
    """`count` fault kinds: each enabled kind once first (shuffled), then random ones."""
    first = list(kinds)
    rng.shuffle(first)
    out = first[:count]
    while len(out) < count:
        out.append(rng.choice(kinds))
    return out


def main():
    ap = argparse.ArgumentParser(prog="cluster/nemesis", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, help="seed of the fault choices (default: random, printed)")
    ap.add_argument("--faults", type=int, help="number of mixed faults (default 10 unless --duration "
                    "or --leader-kills); each enabled kind comes once before any repeats")
    ap.add_argument("--duration", type=float, help="inject mixed faults until this many seconds have passed")
    ap.add_argument("--only", default=",".join(KINDS), help="comma list of fault kinds: " + ",".join(KINDS))
    ap.add_argument("--leader-kills", type=int, default=0, help="first SIGKILL the leader N times back to back")
    ap.add_argument("--down", type=float, default=1.5, help="seconds from a leader kill to the restart (--leader-kills)")
    ap.add_argument("--pause-min", type=float, default=4, help="shortest SIGSTOP, s (election timeout < 4 s)")
    ap.add_argument("--pause-max", type=float, default=6, help="longest SIGSTOP, s")
    ap.add_argument("--clock-jump", type=float, default=30, help="clock jump, s (forward, then back)")
    ap.add_argument("--clock-hold", type=float, default=5, help="seconds each clock jump lasts")
    ap.add_argument("--disk-size", type=int, default=256, help="MiB of the tmpfs holding the disk node's data")
    ap.add_argument("--disk-hold", type=float, default=8, help="seconds the disk stays full")
    ap.add_argument("--settle", type=float, default=1.5, help="pause between faults, s")
    ap.add_argument("--clients", type=int, default=8, help="retrying SMTP client threads")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load before the first fault")
    ap.add_argument("--drain", type=float, default=60, help="longest wait for delivery after the load")
    ap.add_argument("--base", default="127.0.0.",
                    help="address prefix of the nodes; 127.0.0. uses cluster/up, another writes its configs")
    ap.add_argument("--receiver", help="receiver address (default: prefix + 50)")
    ap.add_argument("--dir", help="cluster directory (default: a new temporary one); removed at the end")
    ap.add_argument("--keep", action="store_true", help="keep the cluster directory (logs) after stopping")
    ap.add_argument("--fault", help="receiver fault to prove the checks fail: drop:N, corrupt:N, dup:N or defer:N")
    ap.add_argument("--timeout", type=float, default=0, help="overall limit in seconds (default: computed)")
    a = ap.parse_args()
    kinds = [k.strip() for k in a.only.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        ap.error(f"--only takes a comma list of {','.join(KINDS)}")
    if a.faults is None and a.duration is None:
        a.faults = 0 if a.leader_kills else 10
    if a.leader_kills < 0 or (a.faults or 0) < 0 or a.clients < 1 or a.pause_min > a.pause_max:
        ap.error("counts must be >= 0, --clients >= 1, --pause-min <= --pause-max")
    if not a.base.endswith("."):
        a.base += "."
    fault = None
    if a.fault:
        kind, _, k = a.fault.partition(":")
        if kind not in ("drop", "corrupt", "dup", "defer") or not k.isdigit() or int(k) < 1:
            ap.error("--fault must be drop:N, corrupt:N, dup:N or defer:N")
        fault = (kind, int(k))
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)
    kinds_planned = plan(rng, kinds, a.faults) if a.faults else []
    with_disk = "disk" in kinds and (a.duration or "disk" in kinds_planned)
    disk_node = rng.choice([f"n{i}" for i in (1, 2, 3)]) if with_disk else None
    limit = a.timeout or (300 + a.warmup + a.leader_kills * 60 + (a.faults or 0) * 120 + (a.duration or 0) * 3 + a.drain)

    directory = a.dir or tempfile.mkdtemp(prefix="sx-nemesis-")
    token = "nemesis-admin-" + uuid.uuid4().hex
    cluster = roll.Cluster(directory, 3, a.base, token)
    fw = Firewall(a.base)
    receiver = load = nem = None
    mounted = None

    def on_signal(sig, _frame):
        raise SystemExit(f"cluster/nemesis: {signal.Signals(sig).name}")

    def on_alarm(_sig, _frame):
        raise SystemExit(f"cluster/nemesis: over {limit:.0f} s, stopped")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(limit))
    try:
        log(f"seed {seed}; plan: {a.leader_kills} leader kills, then "
            + (f"faults for {a.duration:g} s of {kinds}" if a.duration else f"{kinds_planned}")
            + (f"; disk node {disk_node}" if disk_node else ""))
        fw.setup()
        if disk_node:
            mounted = os.path.join(directory, disk_node, "data")
            os.makedirs(mounted, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={a.disk_size}m,mode=0700", "sx-nemesis", mounted],
                           check=True)
        receiver = roll.Receiver(a.receiver or f"{a.base}50", fault)
        password = "nemesis-pass-" + uuid.uuid4().hex[:12]
        overlay = {
            "users": [{"name": "roll", "password": password, "tenant": "roll"}],
            "routes": [{"domain": d, "hosts": [receiver.address], "tls": "none"} for d in roll.DOMAINS],
        }
        log(f"receiver on {receiver.address}; cluster of 3 on {a.base}1-3 in {directory}")
        cluster.up(overlay)
        if not cluster.wait_healthy(cluster.ids, 60):
            raise RuntimeError("the cluster did not become healthy in 60 s")
        load = roll.Load(cluster, a.clients, "roll", password)
        load.start()
        load_start = time.time()
        bodies = roll.BodyCheck(cluster)
        nem = Nemesis(a, cluster, load, fw, disk_node)
        time.sleep(a.warmup)

        n = 0
        for i in range(a.leader_kills):
            n += 1
            rec = {"n": n, "kind": "leaderKill", "start": time.time()}
            nem.leader_kill(rec)
            rec["healedAt"] = time.time()
            nem.recover(rec)
            rec["end"] = time.time()
            rec["refusals"] = dict(nem.refusals_between(rec["start"], rec["end"]))
            nem.records.append(rec)
            log(f"leader kill {i + 1}/{a.leader_kills}: {rec['node']} -> {rec.get('newLeader')}; leader after "
                f"{rec.get('electionSeconds')} s; "
                f"{len(rec['leased'])} leased; healthy {rec['recoverySeconds']:.1f} s after the restart")
            if i % 10 == 9:
                bodies.sample(cluster.ids, 20)
            time.sleep(a.settle)
        if a.duration:
            end = time.time() + a.duration
            while time.time() < end:
                n += 1
                nem.run(rng, rng.choice(kinds), n)
                bodies.sample(cluster.ids, 20)
                time.sleep(a.settle)
        else:
            for kind in kinds_planned:
                n += 1
                nem.run(rng, kind, n)
                bodies.sample(cluster.ids, 20)
                time.sleep(a.settle)
        time.sleep(a.settle)
        load_end = time.time()
        load.finish(60)
        log(f"load ended: {len(load.acked)} acknowledged, {load.retries} retried attempts, "
            f"{len(load.gave_up)} unacknowledged at the end")
        bodies.sample(cluster.ids, 200)
        c = roll.check_delivery(cluster, load, receiver, bodies, load_end, a.drain)
        got, acked = c["got"], c["acked"]

        # Acceptance gaps: overall (first 250 to the end of the load) and per fault.
        ack_times = sorted(v["at"] for v in acked.values())
        first_ack = ack_times[0] if ack_times else load_start
        max_gap = longest_gap(ack_times, first_ack, load_end)
        gap_start = next((t for t, u in zip([first_ack] + ack_times, ack_times + [load_end])
                          if t >= first_ack and abs((u - t) - max_gap) < 1e-9), first_ack)
        gap_fault = max((r["n"] for r in nem.records if r["start"] <= gap_start + 0.001), default=None)
        # Duplicates, attributed to the last fault that started before the first copy arrived + 2 s
        # (a copy delivered just before a kill whose outcome did not commit belongs to that kill).
        starts = [r["start"] for r in nem.records]
        dup_by_fault = collections.Counter()
        for rid, arr in got.items():
            if len(arr) < 2:
                continue
            idx = max((i for i, s in enumerate(starts) if s <= arr[0][0] + 2), default=None)
            dup_by_fault[idx] += len(arr) - 1
        faults_out = []
        for i, r in enumerate(nem.records):
            nxt = starts[i + 1] if i + 1 < len(starts) else load_end
            out = {k: v for k, v in r.items() if k not in ("leased", "start", "end", "healedAt", "killedAt")}
            out["seconds"] = round(r["end"] - r["start"], 2)
            out["acceptGapSeconds"] = round(longest_gap(ack_times, r["start"], nxt), 2)
            out["duplicates"] = dup_by_fault.get(i, 0)
            if "leased" in r:
                worst, missing = roll.takeover(r["leased"], r["killedAt"], got)
                out.update(leased=len(r["leased"]), takeoverSeconds=round(worst, 2), undelivered=missing)
                if missing:
                    nem.anomaly(r, f"{missing} messages leased by the killed node never delivered")
                    out["anomalies"] = r["anomalies"]
            faults_out.append(out)
        counts = collections.Counter(r["kind"] for r in nem.records)
        variants = collections.Counter(f"{r['kind']}/{r.get('variant')}" for r in nem.records)
        kills = [f for f in faults_out if f["kind"] == "leaderKill"]
        takeovers = [f["takeoverSeconds"] for f in faults_out if "takeoverSeconds" in f and f["leased"]]
        kill_gaps = [f["acceptGapSeconds"] for f in kills]
        refusals = collections.Counter(label for _, label in load.refusals)
        unacked_delivered = sum(1 for rid in load.gave_up if rid in got)

        lost, stuck, mismatches, late = c["lost"], c["stuck"], c["mismatches"], c["late"]
        print(f"cluster/nemesis: seed {seed}, 3 nodes on {a.base}1-3, {a.clients} clients, "
              f"{len(nem.records)} faults: {dict(counts)}")
        print(f"  acknowledged {len(acked)}, delivered {len(c['delivered'])}, lost {len(lost)}, stuck {len(stuck)}, "
              f"duplicates {c['duplicates']} ({c['redeliveries']} redeliveries, {c['resubmissions']} resubmissions), "
              f"body mismatches {len(mismatches)}, late {len(late)}, rejected {len(load.rejected)}")
        print(f"  longest interval without any 250: {max_gap:.2f} s, from {gap_start - load_start:.1f} s after the "
              f"load started ({'before the first fault' if gap_fault is None else f'after fault #{gap_fault} began'}); drain {c['drain']:.2f} s after the load; "
              f"unacknowledged at the end {len(load.gave_up)} ({unacked_delivered} delivered); "
              f"unknown arrivals {len(c['unknown'])}; queued bodies compared {bodies.compared}")
        print(f"  refused attempts: {dict(refusals.most_common(8))}")
        for f in faults_out:
            what = f.get("node") or f.get("nodes")
            extra = ""
            if "takeoverSeconds" in f:
                extra = f", {f['leased']} leased -> delivered {f['takeoverSeconds']:.2f} s after the kill"
            if f["kind"] == "leaderKill":
                extra += f", new leader {f.get('newLeader')} after {f.get('electionSeconds')} s"
            if f["kind"] == "disk":
                extra += f", {f.get('ballastMiB')} MiB ballast, alive {f.get('nodeAliveWhileFull')}"
            print(f"  #{f['n']:>3} {f['kind']}/{f.get('variant')} {what}: gap {f['acceptGapSeconds']:.2f} s, "
                  f"healthy {f['recoverySeconds']:.1f} s after, {f['duplicates']} dup{extra}; refusals {f['refusals']}")
        if kills:
            print(f"  leader kills {len(kills)}: acceptance gap p50 {percentile(kill_gaps, 50):.2f} s, max "
                  f"{max(kill_gaps):.2f} s; takeover "
                  f"p50 {percentile(takeovers, 50):.2f} s, max {max(takeovers, default=0):.2f} s; duplicates per kill "
                  f"{sum(f['duplicates'] for f in kills) / len(kills):.2f}")
        for rid in lost[:20]:
            print(f"  LOST {rid} {acked[rid]}")
        for s in stuck[:20]:
            print(f"  STUCK {json.dumps(s)}")
        for m in mismatches[:20]:
            print(f"  MISMATCH {m}")
        for r in load.rejected[:5]:
            print(f"  REJECTED {r}")
        for x in nem.anomalies[:20]:
            print(f"  ANOMALY {x}")
        ok = not lost and not stuck and not mismatches and not late and not load.rejected and not nem.anomalies
        print("  result: " + ("PASS" if ok else "FAIL"))
        print(json.dumps({
            "nemesis.seed": seed, "nemesis.clients": a.clients,
            "nemesis.faultCount": len(nem.records), "nemesis.faultCounts": dict(counts),
            "nemesis.faultVariants": dict(variants),
            "nemesis.acknowledged": len(acked), "nemesis.delivered": len(c["delivered"]), "nemesis.lost": len(lost),
            "nemesis.duplicates": c["duplicates"], "nemesis.redeliveries": c["redeliveries"],
            "nemesis.resubmissions": c["resubmissions"], "nemesis.stuck": len(stuck),
            "nemesis.mismatches": len(mismatches), "nemesis.late": len(late), "nemesis.rejected": len(load.rejected),
            "nemesis.unacknowledged": len(load.gave_up), "nemesis.anomalies": nem.anomalies,
            "nemesis.refusals": dict(refusals), "nemesis.maxAcceptGapSeconds": round(max_gap, 2),
            "nemesis.maxAcceptGapStartSeconds": round(gap_start - load_start, 2), "nemesis.maxAcceptGapFault": gap_fault,
            "nemesis.drainSeconds": round(c["drain"], 2), "nemesis.bodiesCompared": bodies.compared,
            "nemesis.leaderKills": len(kills),
            "nemesis.p50AcceptGapSeconds": round(percentile(kill_gaps, 50), 2) if kills else None,
            "nemesis.p50TakeoverSeconds": round(percentile(takeovers, 50), 2),
            "nemesis.maxTakeoverSeconds": round(max(takeovers, default=0.0), 2),
            "nemesis.duplicatesPerKill": round(sum(f["duplicates"] for f in kills) / len(kills), 3) if kills else None,
            "nemesis.faults": faults_out, "nemesis.ok": ok,
        }), flush=True)
        if not ok and not a.keep:
            a.keep = True
            log("a check failed: keeping the directory (node logs) for a look")
        return 0 if ok else 1
    except SystemExit as e:
        log(str(e.code))
        return 2
    except Exception as e:
        import traceback
        log(f"error: {e!r}\n{traceback.format_exc()}")
        return 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if nem is not None:
            for p in list(nem.paused):
                try:
                    os.kill(p, signal.SIGCONT)
                except OSError:
                    pass
            for nid in cluster.ids:
                nem.write_offset(nid, 0)
        try:
            fw.teardown()
        except Exception as e:
            log(f"iptables cleanup: {e}")
        if load is not None:
            load.stop.set()
            load.hard_stop.set()
        if receiver is not None:
            receiver.stop()
        cluster.down(purge=False)
        if mounted:
            try:
                os.unlink(os.path.join(mounted, "ballast"))
            except OSError:
                pass
            subprocess.run(["umount", "-l", mounted])  # node.log is outside the tmpfs: --keep keeps it
        if a.keep:
            log(f"kept {directory}")
        elif os.path.isdir(directory):
            subprocess.run(["rm", "-rf", "--one-file-system", "--", directory])


if __name__ == "__main__":
    sys.exit(main())
